//! When each flow starts. Closed loop: a caller starts its next flow as soon as the last one
//! ends, until the deadline. Open loop (`--rate R`): flow `i` is scheduled at `start + i / R`
//! whatever happens to earlier flows, and its first request's latency is measured from that
//! scheduled time, so that a slow answer, which delays the callers, is counted in full rather
//! than hidden ("coordinated omission").
//!
//! Tokio's timer has a resolution of one millisecond, too coarse at 20,000 flows a second (one
//! every 50 us): waking callers with it would add up to a millisecond of the tool's own delay to
//! every latency. So a pacer thread wakes every [`limits::BENCH_PACER_TICK_MICROS`], publishes
//! how many flows are due, and wakes the callers waiting for them. Nothing queues: a ticket is
//! just an index, taken by whichever caller is free first.

use crate::limits;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Notify;

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
    /// Tickets below this index are due.
    released: Arc<AtomicU64>,
    notify: Arc<Notify>,
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
        let released = Arc::new(AtomicU64::new(0));
        let notify = Arc::new(Notify::new());
        let stop = Arc::new(AtomicBool::new(false));
        let (thread_released, thread_notify, thread_stop) =
            (released.clone(), notify.clone(), stop.clone());
        std::thread::spawn(move || {
            release_tickets(
                start,
                end,
                interval_nanos,
                &thread_released,
                &thread_notify,
                &thread_stop,
            )
        });
        Pacer {
            start,
            end,
            open: Some(OpenLoop {
                interval_nanos,
                next_ticket: AtomicU64::new(0),
                released,
                notify,
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
        let ticket = open.next_ticket.fetch_add(1, Ordering::Relaxed);
        let offset = Duration::from_nanos((ticket as f64 * open.interval_nanos) as u64);
        let scheduled = self.start + offset;
        if scheduled >= self.end {
            return None;
        }
        loop {
            // Register before checking, so that a release between the check and the wait
            // still wakes this caller.
            let notified = open.notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if open.released.load(Ordering::Acquire) > ticket {
                return Some(scheduled);
            }
            notified.await;
        }
    }
}

impl Drop for Pacer {
    fn drop(&mut self) {
        if let Some(open) = &self.open {
            open.stop.store(true, Ordering::Relaxed);
        }
    }
}

/// The pacer thread: every tick, marks the tickets scheduled up to now as due and wakes the
/// callers; at the end (or when stopped), releases everything so that no caller waits forever.
fn release_tickets(
    start: Instant,
    end: Instant,
    interval_nanos: f64,
    released: &AtomicU64,
    notify: &Notify,
    stop: &AtomicBool,
) {
    let tick = Duration::from_micros(limits::BENCH_PACER_TICK_MICROS);
    loop {
        let now = Instant::now();
        if now >= end || stop.load(Ordering::Relaxed) {
            break;
        }
        let due = (now - start).as_nanos() as f64 / interval_nanos;
        released.store(due as u64 + 1, Ordering::Release);
        notify.notify_waiters();
        std::thread::sleep(tick);
    }
    released.store(u64::MAX, Ordering::Release);
    notify.notify_waiters();
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
