//! When each flow starts. Closed loop: a caller starts its next flow as soon as the last one
//! ends, until the deadline. Open loop (`--rate R`): flow `i` is scheduled at `start + i / R`
//! whatever happens to earlier flows, and its first request's latency is measured from that
//! scheduled time, so that a slow answer, which delays the callers, is counted in full rather
//! than hidden ("coordinated omission").
//!
//! Tokio's timer has a resolution of one millisecond, too coarse at 20,000 flows a second (one
//! every 50 us): waking callers with it would add up to a millisecond of the tool's own delay to
//! every latency. So a pacer thread wakes every [`limits::PACER_TICK_MICROS`] and adds one
//! permit to a fair (first come, first served) semaphore per flow that fell due; a caller takes a
//! permit, then the next ticket. A ticket is only an index, so nothing queues, and ticket `i` is
//! never taken before `i + 1` permits exist: a flow never starts before its time. Each permit
//! wakes exactly one waiting caller (waking them all on every tick cost more CPU than the
//! requests).

use crate::limits;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;

/// Permits added at the end of a phase so that every waiting caller wakes, takes a ticket past
/// the end and stops (far below the semaphore's maximum, far above any number of callers).
const PERMITS_AT_END: usize = u32::MAX as usize;

/// The schedule of one phase of a run.
pub struct Pacer {
    start: Instant,
    end: Instant,
    open: Option<OpenLoop>,
}

struct OpenLoop {
    /// Time between two scheduled flows, in nanoseconds.
    interval_nanos: f64,
    /// The next ticket to hand out.
    next_ticket: AtomicU64,
    /// One permit per flow due so far.
    due: Arc<Semaphore>,
    /// Set when the pacer thread should end early (the phase was abandoned).
    stop: Arc<AtomicBool>,
}

impl Pacer {
    /// A closed loop lasting `duration` from now.
    pub fn closed(duration: Duration) -> Pacer {
        let start = Instant::now();
        Pacer {
            start,
            end: start + duration,
            open: None,
        }
    }

    /// An open loop at `rate_per_second` flows for `duration` from now, with its pacer thread.
    pub fn open(duration: Duration, rate_per_second: u64) -> Pacer {
        let start = Instant::now();
        let end = start + duration;
        let interval_nanos = 1e9 / rate_per_second.max(1) as f64;
        let due = Arc::new(Semaphore::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (thread_due, thread_stop) = (due.clone(), stop.clone());
        std::thread::spawn(move || {
            release_permits(start, end, interval_nanos, &thread_due, &thread_stop)
        });
        Pacer {
            start,
            end,
            open: Some(OpenLoop {
                interval_nanos,
                next_ticket: AtomicU64::new(0),
                due,
                stop,
            }),
        }
    }

    /// When the phase started.
    pub fn start(&self) -> Instant {
        self.start
    }

    /// The time the caller's next flow is scheduled for (now, in a closed loop), once it is due;
    /// `None` once the phase is over.
    pub async fn next(&self) -> Option<Instant> {
        let Some(open) = &self.open else {
            let now = Instant::now();
            return (now < self.end).then_some(now);
        };
        // The semaphore is never closed, so `acquire` only fails if it were: end the phase.
        open.due.acquire().await.ok()?.forget();
        let ticket = open.next_ticket.fetch_add(1, Ordering::Relaxed);
        let offset = Duration::from_nanos((ticket as f64 * open.interval_nanos) as u64);
        let scheduled = self.start + offset;
        (scheduled < self.end).then_some(scheduled)
    }
}

impl Drop for Pacer {
    fn drop(&mut self) {
        if let Some(open) = &self.open {
            open.stop.store(true, Ordering::Relaxed);
        }
    }
}

/// The pacer thread: every tick, adds a permit per flow scheduled up to now; at the end (or when
/// stopped), adds enough for every caller to wake and see that the phase is over.
fn release_permits(
    start: Instant,
    end: Instant,
    interval_nanos: f64,
    due: &Semaphore,
    stop: &AtomicBool,
) {
    let tick = Duration::from_micros(limits::PACER_TICK_MICROS);
    let mut released: u64 = 0;
    loop {
        let now = Instant::now();
        if now >= end || stop.load(Ordering::Relaxed) {
            break;
        }
        let scheduled = ((now - start).as_nanos() as f64 / interval_nanos) as u64 + 1;
        if scheduled > released {
            due.add_permits((scheduled - released) as usize);
            released = scheduled;
        }
        std::thread::sleep(tick);
    }
    due.add_permits(PERMITS_AT_END);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Goal: an open loop hands out exactly `rate x duration` tickets, each scheduled at its
    /// own slot of the schedule (not when it was taken), then `None`.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn open_loop_hands_out_the_schedule() {
        let pacer = Arc::new(Pacer::open(Duration::from_millis(200), 1_000));
        let mut tasks = Vec::new();
        for _ in 0..4 {
            let pacer = pacer.clone();
            tasks.push(tokio::spawn(async move {
                let mut scheduled = Vec::new();
                while let Some(at) = pacer.next().await {
                    assert!(Instant::now() >= at, "a flow never starts before its time");
                    scheduled.push(at);
                }
                scheduled
            }));
        }
        let mut all = Vec::new();
        for task in tasks {
            all.extend(task.await.unwrap());
        }
        all.sort();
        assert_eq!(all.len(), 200);
        for (index, at) in all.iter().enumerate() {
            let expected = pacer.start() + Duration::from_micros(1_000 * index as u64);
            assert!(
                at.duration_since(expected) < Duration::from_micros(1),
                "ticket {index}"
            );
        }
    }

    /// Goal: a closed loop answers `now` before its deadline and `None` after it.
    #[tokio::test]
    async fn closed_loop_ends_at_the_deadline() {
        let running = Pacer::closed(Duration::from_secs(3_600));
        let first = running.next().await.expect("a flow at once");
        assert!(first >= running.start());
        let over = Pacer::closed(Duration::ZERO);
        assert!(over.next().await.is_none());
    }
}
