//! `Store`: where a `Book` keeps its reservations, by token, and which of them share a call id.
//!
//! Memory is the reason this is not a `HashMap<Uuid, Reservation>`. A hash map sizes its table in
//! powers of two and stores values in it, so at a million reservations (just past a doubling)
//! half the table is empty and every empty bucket is a whole reservation wide. Here reservations
//! live densely in a slab (`Vec`, with a free list for reuse) and the hash table maps a token to
//! a four-byte slot. Calls are indexed the same way: a table from the call id's hash to the first
//! slot of that call, and a `next` link per slot chaining the call's reservations, instead of a
//! map from each call id to its own `Vec`.
//!
//! Invariants: `by_token` names exactly the occupied slots; every occupied slot with a call id
//! is on the chain of its call's hash exactly once; free slots are on no chain.

use crate::core::reservation::Reservation;
use rustc_hash::FxHashMap;
use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use uuid::Uuid;

/// Position of a reservation in the slab.
pub type Slot = u32;

/// End of a call chain.
const NO_SLOT: Slot = Slot::MAX;

/// Reservations by token, densely stored, with the call-id chains.
#[derive(Debug, Default)]
pub struct Store {
    slots: Vec<Option<Reservation>>,
    /// Next slot of the same call-id hash, parallel to `slots`.
    call_next: Vec<Slot>,
    free: Vec<Slot>,
    /// Tokens are server-made random UUIDs, so a fast unkeyed hash cannot be flooded.
    by_token: FxHashMap<Uuid, Slot>,
    /// Call ids come from callers: hashed with a random key (`call_hasher`), then 32 bits of the
    /// hash index this table (8-byte entries). Calls that share those bits share a chain, and
    /// `call_tokens` compares the ids themselves, so a collision costs a step, never a mix-up.
    call_heads: FxHashMap<u32, Slot>,
    call_hasher: RandomState,
}

impl Store {
    /// Number of reservations stored.
    pub fn len(&self) -> usize {
        self.by_token.len()
    }

    /// Whether no reservation is stored.
    pub fn is_empty(&self) -> bool {
        self.by_token.is_empty()
    }

    /// Whether `token` is stored.
    pub fn contains_key(&self, token: &Uuid) -> bool {
        self.by_token.contains_key(token)
    }

    /// The reservation with `token`.
    pub fn get(&self, token: &Uuid) -> Option<&Reservation> {
        let slot = *self.by_token.get(token)?;
        self.slots[slot as usize].as_ref()
    }

    /// The reservation with `token`, to change. Its token and call id must not change.
    pub fn get_mut(&mut self, token: &Uuid) -> Option<&mut Reservation> {
        let slot = *self.by_token.get(token)?;
        self.slots[slot as usize].as_mut()
    }

    /// Every stored reservation, in slot order.
    pub fn values(&self) -> impl Iterator<Item = &Reservation> {
        self.slots.iter().filter_map(Option::as_ref)
    }

    /// The reservation in `slot`, if one is stored there (audits).
    pub fn get_slot(&self, slot: Slot) -> Option<&Reservation> {
        self.slots.get(slot as usize)?.as_ref()
    }

    /// The reservation in `slot`; the caller holds a slot it got from [`Store::insert`] for a
    /// reservation still stored (a stale slot is a bug).
    pub fn by_slot(&self, slot: Slot) -> &Reservation {
        self.slots[slot as usize]
            .as_ref()
            .expect("slot of a stored reservation")
    }

    /// Stores a reservation whose token is not stored yet; answers its slot.
    pub fn insert(&mut self, reservation: Reservation) -> Slot {
        debug_assert!(!self.by_token.contains_key(&reservation.token));
        let call_hash = reservation.call_id.as_deref().map(|c| self.call_hash(c));
        let token = reservation.token;
        let slot = match self.free.pop() {
            Some(slot) => {
                self.slots[slot as usize] = Some(reservation);
                slot
            }
            None => {
                self.slots.push(Some(reservation));
                self.call_next.push(NO_SLOT);
                (self.slots.len() - 1) as Slot
            }
        };
        self.by_token.insert(token, slot);
        if let Some(hash) = call_hash {
            let head = self.call_heads.insert(hash, slot).unwrap_or(NO_SLOT);
            self.call_next[slot as usize] = head;
        }
        slot
    }

    /// Removes and returns the reservation with `token`.
    pub fn remove(&mut self, token: &Uuid) -> Option<Reservation> {
        let slot = self.by_token.remove(token)?;
        let reservation = self.slots[slot as usize].take()?;
        if let Some(call_id) = reservation.call_id.as_deref() {
            self.unchain(self.call_hash(call_id), slot);
        }
        self.call_next[slot as usize] = NO_SLOT;
        self.free.push(slot);
        Some(reservation)
    }

    /// Tokens of the reservations of `call_id`, newest chained first.
    pub fn call_tokens(&self, call_id: &str) -> Vec<Uuid> {
        let mut tokens = Vec::new();
        let mut slot = self
            .call_heads
            .get(&self.call_hash(call_id))
            .copied()
            .unwrap_or(NO_SLOT);
        while slot != NO_SLOT {
            if let Some(reservation) = &self.slots[slot as usize] {
                // Different call ids may share a hash: compare the ids themselves.
                if reservation.call_id.as_deref() == Some(call_id) {
                    tokens.push(reservation.token);
                }
            }
            slot = self.call_next[slot as usize];
        }
        tokens
    }

    /// Number of reservations on all call chains (audits).
    pub fn chained_count(&self) -> usize {
        self.call_heads
            .values()
            .map(|&head| {
                let mut count = 0;
                let mut slot = head;
                while slot != NO_SLOT {
                    count += 1;
                    slot = self.call_next[slot as usize];
                }
                count
            })
            .sum()
    }

    fn call_hash(&self, call_id: &str) -> u32 {
        // Truncation on purpose: see `call_heads`.
        self.call_hasher.hash_one(call_id) as u32
    }

    fn unchain(&mut self, hash: u32, slot: Slot) {
        let Some(&head) = self.call_heads.get(&hash) else {
            return;
        };
        let next = self.call_next[slot as usize];
        if head == slot {
            if next == NO_SLOT {
                self.call_heads.remove(&hash);
            } else {
                self.call_heads.insert(hash, next);
            }
            return;
        }
        let mut previous = head;
        while previous != NO_SLOT {
            let following = self.call_next[previous as usize];
            if following == slot {
                self.call_next[previous as usize] = next;
                return;
            }
            previous = following;
        }
    }
}

impl std::ops::Index<&Uuid> for Store {
    type Output = Reservation;

    /// The reservation with `token`; the caller knows it is stored (a broken index is a bug).
    fn index(&self, token: &Uuid) -> &Reservation {
        self.get(token).expect("token is stored")
    }
}
