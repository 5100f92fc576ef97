//! What the voice routes count per company: the calls seen (each platform call id once, while it
//! is remembered), the holds they made, the calls that booked, and the calls whose end released
//! a hold; `GET /metrics` renders them and a company's metrics answer them with the seed
//! system's conversion criterion per call (calls that booked over calls seen).
//!
//! These are counters of this run, like the webhook delivery counters: kept in memory by the
//! edge, not in the book (a call is the platform's notion; the book knows reservations). A
//! restart starts them at zero, which Prometheus' `rate` reads as a reset.

use crate::limits;
use parking_lot::Mutex;
use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;

/// One company's voice counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CallCounts {
    /// Calls seen (distinct call ids).
    pub calls: u64,
    /// Holds made for calls.
    pub holds: u64,
    /// Calls that booked (their hold confirmed; a platform's repeat not counted again).
    pub booked: u64,
    /// Calls whose end released at least one hold.
    pub released: u64,
}

impl CallCounts {
    /// Holds per call seen.
    pub fn holds_per_call(&self) -> Option<f64> {
        (self.calls > 0).then(|| self.holds as f64 / self.calls as f64)
    }

    /// The seed's conversion criterion per call: calls that booked over calls seen.
    pub fn conversion_per_call(&self) -> Option<f64> {
        (self.calls > 0).then(|| self.booked as f64 / self.calls as f64)
    }
}

/// Every company's voice counters.
#[derive(Debug, Default)]
pub struct CallMetrics {
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    counts: HashMap<Arc<str>, CallCounts>,
    /// Call ids seen, to count each call once: the newest [`limits::VOICE_CALLS_REMEMBERED_MAX`]
    /// over every company, oldest first in `order`.
    seen: HashSet<(Arc<str>, Box<str>)>,
    order: VecDeque<(Arc<str>, Box<str>)>,
}

impl CallMetrics {
    /// A function call of `call_id` reached `company`: counts the call the first time.
    pub fn call(&self, company: &str, call_id: &str) {
        let mut inner = self.inner.lock();
        let key: (Arc<str>, Box<str>) = (Arc::from(company), Box::from(call_id));
        if inner.seen.contains(&key) {
            return;
        }
        inner.seen.insert(key.clone());
        inner.order.push_back(key);
        while inner.order.len() > limits::VOICE_CALLS_REMEMBERED_MAX {
            if let Some(oldest) = inner.order.pop_front() {
                inner.seen.remove(&oldest);
            }
        }
        inner.counts.entry(Arc::from(company)).or_default().calls += 1;
    }

    /// A call of `company` made a hold.
    pub fn held(&self, company: &str) {
        self.count(company, |c| c.holds += 1);
    }

    /// A call of `company` booked.
    pub fn booked(&self, company: &str) {
        self.count(company, |c| c.booked += 1);
    }

    /// A call of `company` ended and released a hold.
    pub fn released(&self, company: &str) {
        self.count(company, |c| c.released += 1);
    }

    fn count(&self, company: &str, change: impl FnOnce(&mut CallCounts)) {
        let mut inner = self.inner.lock();
        change(inner.counts.entry(Arc::from(company)).or_default());
    }

    /// `company`'s counters.
    pub fn of(&self, company: &str) -> CallCounts {
        self.inner
            .lock()
            .counts
            .get(company)
            .copied()
            .unwrap_or_default()
    }

    /// Every company's counters, sorted by company.
    pub fn sample(&self) -> Vec<(Arc<str>, CallCounts)> {
        let inner = self.inner.lock();
        let mut all: Vec<_> = inner
            .counts
            .iter()
            .map(|(company, counts)| (company.clone(), *counts))
            .collect();
        all.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        all
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Goal: a call is counted once however many functions it calls, per company; holds,
    /// bookings and releases count each time; the criteria follow.
    #[test]
    fn calls_are_counted_once() {
        let metrics = CallMetrics::default();
        for _ in 0..3 {
            metrics.call("acme", "call-1");
        }
        metrics.call("acme", "call-2");
        metrics.call("beta", "call-1");
        metrics.held("acme");
        metrics.held("acme");
        metrics.held("acme");
        metrics.booked("acme");
        metrics.released("acme");
        let acme = metrics.of("acme");
        assert_eq!(
            acme,
            CallCounts {
                calls: 2,
                holds: 3,
                booked: 1,
                released: 1
            }
        );
        assert_eq!(acme.holds_per_call(), Some(1.5));
        assert_eq!(acme.conversion_per_call(), Some(0.5));
        assert_eq!(metrics.of("beta").calls, 1);
        assert_eq!(metrics.of("gamma").conversion_per_call(), None);
        assert_eq!(metrics.sample().len(), 2);
    }
}
