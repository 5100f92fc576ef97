//! Idempotency keys: a created hold's key is remembered with the fingerprint of its request and
//! the token it created, so a retry under the same key answers the first reservation instead of
//! taking a second slot, and the same key with a different request is refused. Only successful
//! creates are remembered (a failed create's retry is evaluated afresh). Keys are forgotten after
//! [`limits::IDEMPOTENCY_SECONDS`], and the oldest go first past
//! [`limits::IDEMPOTENCY_KEYS_MAX`], so the memory of keys follows recent traffic, not history.

use super::{Book, HoldOutcome};
use crate::core::command::Idempotency;
use crate::core::error::BookError;
use crate::limits;
use uuid::Uuid;

/// What an idempotency key remembers: the request's fingerprint and the token it created.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IdempotencyRecord {
    pub fingerprint: u64,
    pub token: Uuid,
    pub created_at_ms: i64,
}

impl IdempotencyRecord {
    /// Whether the key is past its memory at `now_ms`: forgotten, and new again to a create.
    fn is_forgotten_at(&self, now_ms: i64) -> bool {
        now_ms >= self.created_at_ms + limits::IDEMPOTENCY_SECONDS * 1_000
    }
}

impl Book {
    /// The remembered idempotency keys, oldest first.
    pub fn idempotency_records(&self) -> impl Iterator<Item = (&str, &IdempotencyRecord)> {
        self.idempotency_order.iter().filter_map(|(_, key)| {
            self.idempotency
                .get(key)
                .map(|record| (key.as_ref(), record))
        })
    }

    /// Whether a create under `key` at `now_ms` is answered from memory (the first answer
    /// replayed, or a mismatch refused) and so makes no new reservation: the key is remembered
    /// and the reservation it names is still kept. The engine-wide live limit lets such a retry
    /// through, since it adds nothing.
    pub fn answers_key_from_memory(&self, key: &str, now_ms: i64) -> bool {
        self.idempotency.get(key).is_some_and(|record| {
            !record.is_forgotten_at(now_ms) && self.reservations.contains_key(&record.token)
        })
    }

    /// Re-remembers an idempotency key (restore).
    pub fn restore_idempotency(&mut self, key: &str, record: IdempotencyRecord) {
        self.remember(key, record.fingerprint, record.token, record.created_at_ms);
    }

    /// The remembered answer for a keyed request, if its key is remembered; a mismatch if the
    /// key was used with a different request.
    pub(super) fn replay(
        &mut self,
        idempotency: &Idempotency,
        now_ms: i64,
    ) -> Result<Option<HoldOutcome>, BookError> {
        let Some(record) = self.idempotency.get(idempotency.key().as_str()).copied() else {
            return Ok(None);
        };
        if record.is_forgotten_at(now_ms) {
            return Ok(None);
        }
        if record.fingerprint != idempotency.fingerprint() {
            return Err(BookError::IdempotencyMismatch);
        }
        if self.touch(record.token, now_ms).is_err() {
            // Dropped by retention (only when retention is shorter than a day): answer afresh.
            return Ok(None);
        }
        Ok(Some(HoldOutcome {
            reservation: self.view(record.token, now_ms),
            replayed: true,
        }))
    }

    /// Remembers `key` for the hold `token` just created, making room past the bound by
    /// forgetting the oldest keys.
    pub(super) fn remember(&mut self, key: &str, fingerprint: u64, token: Uuid, now_ms: i64) {
        while self.idempotency.len() >= limits::IDEMPOTENCY_KEYS_MAX {
            let Some((_, oldest)) = self.idempotency_order.pop_front() else {
                break;
            };
            self.idempotency.remove(&oldest);
        }
        let key: Box<str> = key.into();
        let record = IdempotencyRecord {
            fingerprint,
            token,
            created_at_ms: now_ms,
        };
        if self.idempotency.insert(key.clone(), record).is_none() {
            self.idempotency_order.push_back((now_ms, key));
        }
    }

    /// Forgets the keys remembered longer than [`limits::IDEMPOTENCY_SECONDS`] ago.
    pub(super) fn forget_idempotency_keys(&mut self, now_ms: i64) {
        while let Some((created_at_ms, _)) = self.idempotency_order.front() {
            if now_ms < created_at_ms + limits::IDEMPOTENCY_SECONDS * 1_000 {
                break;
            }
            if let Some((_, key)) = self.idempotency_order.pop_front() {
                // A key re-remembered after expiry has a newer record: keep that one.
                let forgotten = self
                    .idempotency
                    .get(&key)
                    .is_some_and(|r| r.is_forgotten_at(now_ms));
                if forgotten {
                    self.idempotency.remove(&key);
                }
            }
        }
    }
}
