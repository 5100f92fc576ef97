//! `LiveBudget`: the engine-wide count of live reservations (active holds and bookings) over
//! every company, and the limit past which new holds are refused (`--total-live-limit`).
//!
//! The per-company live limit bounds one company; this bounds the process, so that a flood
//! spread over many companies meets a 429 instead of the kernel's out-of-memory killer. The
//! registry hands one budget to every company actor it starts. Each actor keeps the count in
//! step with its own book (`CompanyActor::sync_live_budget`), and takes a place before its book
//! sees a hold ([`LiveBudget::try_take`]), so the check and the take are one atomic step over
//! every thread: the limit is exact, not approximate.
//!
//! The count is an atomic, not a message to a counting actor: every hold would otherwise wait
//! for a second mailbox. Relaxed ordering is enough: the count guards no other memory, and the
//! read-modify-writes on one atomic are totally ordered whatever the ordering asked for.

use crate::limits;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// The engine-wide live count and its limit. Cheap to clone: every clone shares one count.
#[derive(Clone, Debug)]
pub struct LiveBudget {
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    /// Live reservations over every company, plus places taken for holds under way.
    live: AtomicU64,
    /// Most live reservations the engine takes new holds for.
    limit: u64,
}

impl LiveBudget {
    /// A budget of `limit` live reservations, none counted yet.
    pub fn new(limit: u64) -> LiveBudget {
        LiveBudget {
            shared: Arc::new(Shared {
                live: AtomicU64::new(0),
                limit,
            }),
        }
    }

    /// A budget no count reaches: a company actor started on its own (tests) counts for nobody.
    pub fn unbounded() -> LiveBudget {
        LiveBudget::new(u64::MAX)
    }

    /// The limit.
    pub fn limit(&self) -> u64 {
        self.shared.limit
    }

    /// Live reservations counted now over every company (with places taken for holds under way).
    pub fn live(&self) -> u64 {
        self.shared.live.load(Ordering::Relaxed)
    }

    /// Takes one place for a hold about to be made, if the count is below the limit. The place
    /// is the caller's to give back (through [`LiveBudget::change`]) if the hold makes nothing.
    pub fn try_take(&self) -> bool {
        self.shared
            .live
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |live| {
                (live < self.shared.limit).then_some(live + 1)
            })
            .is_ok()
    }

    /// Changes the count by `delta` live reservations, whatever the limit: what a book gained or
    /// lost is a fact, not a request (a book restored above the limit only refuses new holds).
    pub fn change(&self, delta: i64) {
        let magnitude = delta.unsigned_abs();
        if delta >= 0 {
            self.shared.live.fetch_add(magnitude, Ordering::Relaxed);
        } else {
            let before = self.shared.live.fetch_sub(magnitude, Ordering::Relaxed);
            debug_assert!(before >= magnitude, "the live count went below zero");
        }
    }
}

/// The default `--total-live-limit`: [`limits::MEMORY_PERCENT_FOR_LIVE_RESERVATIONS`] of the
/// machine's memory (`MemTotal` of `/proc/meminfo`, or [`limits::MEMORY_BYTES_ASSUMED`] when it
/// cannot be read) at [`limits::LIVE_RESERVATION_BYTES_BUDGETED`] each, within the setting's
/// range.
pub fn total_live_limit_default() -> u64 {
    let memory_bytes = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|text| mem_total_bytes(&text))
        .unwrap_or(limits::MEMORY_BYTES_ASSUMED);
    total_live_limit_for(memory_bytes)
}

/// The default limit on a machine with `memory_bytes` of memory.
pub fn total_live_limit_for(memory_bytes: u64) -> u64 {
    // In u128, so that any memory size, however absurd, multiplies without overflow.
    let percent = u128::from(limits::MEMORY_PERCENT_FOR_LIVE_RESERVATIONS);
    let share_bytes = (u128::from(memory_bytes) * percent / 100) as u64;
    (share_bytes / limits::LIVE_RESERVATION_BYTES_BUDGETED)
        .clamp(1, limits::TOTAL_LIVE_RESERVATIONS_MAX_SETTING)
}

/// `MemTotal` of a `/proc/meminfo` text, in bytes (the file states it in kB, meaning KiB).
fn mem_total_bytes(meminfo: &str) -> Option<u64> {
    let line = meminfo.lines().find(|line| line.starts_with("MemTotal:"))?;
    let mut words = line["MemTotal:".len()..].split_whitespace();
    let kibibytes: u64 = words.next()?.parse().ok()?;
    match words.next() {
        Some("kB") => kibibytes.checked_mul(1_024),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Goal: `MemTotal` is read in KiB, and anything else is not guessed at.
    #[test]
    fn reads_mem_total() {
        let text = "MemTotal:       24683584 kB\nMemFree:         6975424 kB\n";
        assert_eq!(mem_total_bytes(text), Some(24_683_584 * 1_024));
        assert_eq!(mem_total_bytes("MemFree: 1 kB\n"), None);
        assert_eq!(mem_total_bytes("MemTotal: lots kB\n"), None);
        assert_eq!(mem_total_bytes("MemTotal: 12\n"), None);
        assert_eq!(mem_total_bytes("MemTotal: 12 MB\n"), None);
    }

    /// Goal: the default is half the memory at 512 bytes each, and stays inside the setting's
    /// range on the smallest and the largest machines.
    #[test]
    fn default_follows_memory() {
        assert_eq!(total_live_limit_for(16 << 30), 16_777_216);
        assert_eq!(
            total_live_limit_for(limits::MEMORY_BYTES_ASSUMED),
            4_194_304
        );
        assert_eq!(total_live_limit_for(0), 1);
        assert_eq!(
            total_live_limit_for(u64::MAX),
            limits::TOTAL_LIVE_RESERVATIONS_MAX_SETTING
        );
        let default = total_live_limit_default();
        assert!((1..=limits::TOTAL_LIVE_RESERVATIONS_MAX_SETTING).contains(&default));
    }

    /// Goal: a place is taken only below the limit, and what is given back frees it again.
    #[test]
    fn takes_places_up_to_the_limit() {
        let budget = LiveBudget::new(2);
        let shared = budget.clone();
        assert!(budget.try_take());
        assert!(shared.try_take());
        assert!(!budget.try_take(), "at the limit");
        assert_eq!(shared.live(), 2);
        budget.change(-1);
        assert!(shared.try_take());
        shared.change(5);
        assert_eq!(budget.live(), 7, "a change is counted past the limit");
        assert!(!budget.try_take());
        budget.change(-7);
        assert_eq!(budget.live(), 0);
    }
}
