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
//! A snapshot copies the store a chunk at a time while its owner goes on changing it
//! ([`Store::begin_export`], [`Store::export_chunk`]): copy on write by slot. Every change to a
//! slot that the chunked walk has not reached yet first saves the slot's reservation as it was,
//! so the copy is the store at the moment the export began, however long the walk takes, and no
//! single step of it copies more than one chunk.
//!
//! Invariants: `by_token` names exactly the occupied slots; every occupied slot with a call id
//! is on the chain of its call's hash exactly once; free slots are on no chain. During an export,
//! every slot below its `end` is copied exactly once, as it was when the export began: by the walk
//! if it had not changed by then, or just before its first change.

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
    /// The point-in-time copy under way, if any (see the module doc).
    export: Option<Export>,
}

/// A point-in-time copy of the store, taken a chunk at a time.
#[derive(Debug)]
struct Export {
    /// Slots at and past this one were added after the export began: not part of it.
    end: Slot,
    /// The next slot the chunked walk visits.
    next: Slot,
    /// One bit per slot below `end`: the slot was saved (or found empty) just before a change, so
    /// the walk must skip it. Only bits at or past `next` are ever set.
    saved: Vec<u64>,
    /// Reservations as they were when the export began, saved just before they changed; handed
    /// out with the next chunk.
    before_change: Vec<Reservation>,
}

impl Export {
    /// Whether the walk has yet to visit `slot`, and no change has saved it.
    fn unsaved(&self, slot: Slot) -> bool {
        slot >= self.next
            && slot < self.end
            && self.saved[(slot / 64) as usize] & (1 << (slot % 64)) == 0
    }

    fn mark_saved(&mut self, slot: Slot) {
        self.saved[(slot / 64) as usize] |= 1 << (slot % 64);
    }
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
        self.save_before_change(slot);
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
                // A slot freed before the export began: the walk must not copy the newcomer.
                self.save_before_change(slot);
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
        self.save_before_change(slot);
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

    /// Begins a point-in-time copy of every stored reservation, taken by [`Store::export_chunk`]
    /// calls. An export already under way is abandoned (its owner stopped asking for chunks).
    pub fn begin_export(&mut self) {
        let end = self.slots.len() as Slot;
        self.export = Some(Export {
            end,
            next: 0,
            saved: vec![0; (end as usize).div_ceil(64)],
            before_change: Vec::new(),
        });
    }

    /// Whether an export is under way.
    pub fn exporting(&self) -> bool {
        self.export.is_some()
    }

    /// Hands `visit` the next part of the export under way: the reservations saved before a
    /// change since the last call, then those of at most `slots_max` further slots. Answers
    /// whether the export is complete (then it is over, and further calls visit nothing).
    /// Every reservation stored when the export began is visited exactly once, as it was then.
    pub fn export_chunk(&mut self, slots_max: usize, mut visit: impl FnMut(&Reservation)) -> bool {
        let Some(export) = &mut self.export else {
            return true;
        };
        for reservation in export.before_change.drain(..) {
            visit(&reservation);
        }
        let stop = export
            .end
            .min(export.next.saturating_add(slots_max as Slot));
        for slot in export.next..stop {
            if export.unsaved(slot) {
                if let Some(reservation) = &self.slots[slot as usize] {
                    visit(reservation);
                }
            }
        }
        export.next = stop;
        let complete = stop == export.end;
        if complete {
            self.export = None;
        }
        complete
    }

    /// Saves the reservation in `slot` for the export under way, before it changes, unless the
    /// walk has already copied it or a change has already saved it.
    fn save_before_change(&mut self, slot: Slot) {
        let Some(export) = &mut self.export else {
            return;
        };
        if !export.unsaved(slot) {
            return;
        }
        export.mark_saved(slot);
        if let Some(reservation) = &self.slots[slot as usize] {
            export.before_change.push(reservation.clone());
        }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::reservation::{Segment, Status};
    use proptest::prelude::*;

    #[derive(Clone, Debug)]
    enum Op {
        Insert(Option<u8>),
        Remove(usize),
        Change(usize),
        Begin,
        Chunk(usize),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            4 => prop::option::of(0..3u8).prop_map(Op::Insert),
            2 => (0..64usize).prop_map(Op::Remove),
            2 => (0..64usize).prop_map(Op::Change),
            1 => Just(Op::Begin),
            3 => (1..5usize).prop_map(Op::Chunk),
        ]
    }

    fn reservation(n: u64, call: Option<u8>) -> Reservation {
        Reservation {
            token: Uuid::from_u128(u128::from(n) + 1),
            seq: n,
            status: Status::Active,
            segments: Box::new([Segment {
                resource: 0,
                start_ms: n as i64,
                end_ms: n as i64 + 1,
            }]),
            call_id: call.map(|c| format!("call-{c}").into()),
            customer_phone: None,
            service_id: None,
            reserved_at_ms: 0,
            expires_at_ms: 1,
            outcome: None,
        }
    }

    /// Every stored reservation, sorted by token: what an export begun now must hand out.
    fn contents(store: &Store) -> Vec<Reservation> {
        let mut all: Vec<Reservation> = store.values().cloned().collect();
        all.sort_unstable_by_key(|r| r.token);
        all
    }

    /// Finishes the export under way one slot at a time, adding to `copied`.
    fn drain(store: &mut Store, copied: &mut Vec<Reservation>) {
        while !store.export_chunk(1, |r| copied.push(r.clone())) {}
    }

    proptest! {
        /// Goal: an export taken a chunk at a time, while reservations are inserted (into fresh
        /// and into reused slots), changed and removed between chunks, hands out exactly the
        /// reservations stored when it began, each once and as it was then.
        #[test]
        fn a_chunked_export_is_the_store_when_it_began(ops in prop::collection::vec(op(), 1..120)) {
            let mut store = Store::default();
            let mut tokens: Vec<Uuid> = Vec::new();
            let mut next = 0u64;
            let mut export: Option<(Vec<Reservation>, Vec<Reservation>)> = None;
            for op in ops {
                match op {
                    Op::Insert(call) => {
                        let r = reservation(next, call);
                        next += 1;
                        tokens.push(r.token);
                        store.insert(r);
                    }
                    Op::Remove(i) if !tokens.is_empty() => {
                        let token = tokens.swap_remove(i % tokens.len());
                        prop_assert!(store.remove(&token).is_some());
                    }
                    Op::Change(i) if !tokens.is_empty() => {
                        let r = store.get_mut(&tokens[i % tokens.len()]).unwrap();
                        r.status = Status::Converted;
                        r.expires_at_ms += 1;
                    }
                    Op::Begin => {
                        store.begin_export();
                        export = Some((contents(&store), Vec::new()));
                    }
                    Op::Chunk(slots) => {
                        if let Some((expected, mut copied)) = export.take() {
                            if store.export_chunk(slots, |r| copied.push(r.clone())) {
                                copied.sort_unstable_by_key(|r| r.token);
                                prop_assert_eq!(copied, expected);
                                prop_assert!(!store.exporting());
                            } else {
                                export = Some((expected, copied));
                            }
                        }
                    }
                    Op::Remove(_) | Op::Change(_) => {}
                }
            }
            if let Some((expected, mut copied)) = export {
                drain(&mut store, &mut copied);
                copied.sort_unstable_by_key(|r| r.token);
                prop_assert_eq!(copied, expected);
            }
        }
    }
}
