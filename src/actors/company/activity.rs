//! The company's last hour, minute by minute, for the admin page's charts: holds created,
//! converted and expired (counted from the kept events), and the hold latency the actor
//! measured (kept here, a minute per slot, for the last hour only: a glance, not a record).

use super::CompanyActor;
use crate::core::events::EventKind;
use crate::limits;
use actix::prelude::*;
use std::collections::VecDeque;

/// The hold latency of the last hour, a minute per entry.
#[derive(Debug, Default)]
pub struct LatencyMinutes {
    /// `(minute since the epoch, holds, summed micros, largest micros)`, oldest first.
    minutes: VecDeque<(i64, u64, u64, u64)>,
}

impl LatencyMinutes {
    /// Records a hold's latency at `now_ms`.
    pub fn record(&mut self, now_ms: i64, micros: u64) {
        let minute = now_ms.div_euclid(60_000);
        match self.minutes.back_mut() {
            Some(last) if last.0 == minute => {
                last.1 += 1;
                last.2 += micros;
                last.3 = last.3.max(micros);
            }
            _ => self.minutes.push_back((minute, 1, micros, micros)),
        }
        while self.minutes.len() > limits::ADMIN_ACTIVITY_MINUTES {
            self.minutes.pop_front();
        }
    }
}

/// One minute of a company's activity.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MinuteActivity {
    pub created: u32,
    pub converted: u32,
    pub expired: u32,
    /// Mean and largest hold latency of the minute, in microseconds (0 without holds).
    pub latency_avg_micros: u64,
    pub latency_max_micros: u64,
}

/// Read the last hour's activity, oldest minute first, the current minute last.
#[derive(Message)]
#[rtype(result = "Vec<MinuteActivity>")]
pub struct ReadActivity;

impl Handler<ReadActivity> for CompanyActor {
    type Result = MessageResult<ReadActivity>;

    fn handle(&mut self, _: ReadActivity, _: &mut Context<Self>) -> Self::Result {
        let count = limits::ADMIN_ACTIVITY_MINUTES;
        let now_minute = self.clock.now_ms().div_euclid(60_000);
        let first_minute = now_minute - count as i64 + 1;
        let mut minutes = vec![MinuteActivity::default(); count];
        let slot = |minute: i64| {
            (minute >= first_minute && minute <= now_minute)
                .then(|| (minute - first_minute) as usize)
        };
        let since_ms = first_minute * 60_000;
        for event in self
            .book
            .event_log()
            .kept()
            .rev()
            .take_while(|event| event.occurred_at_ms >= since_ms)
        {
            let Some(at) = slot(event.occurred_at_ms.div_euclid(60_000)) else {
                continue;
            };
            match event.kind {
                EventKind::Created => minutes[at].created += 1,
                EventKind::Converted => minutes[at].converted += 1,
                EventKind::Expired => minutes[at].expired += 1,
                EventKind::Extended | EventKind::Cancelled => {}
            }
        }
        for (minute, holds, sum, max) in &self.latency.minutes {
            if let Some(at) = slot(*minute) {
                minutes[at].latency_avg_micros = sum / holds.max(&1);
                minutes[at].latency_max_micros = *max;
            }
        }
        MessageResult(minutes)
    }
}
