//! The four functions a voice agent calls, the same for every platform: `check_availability`,
//! `hold_slot`, `book_appointment` and `cancel_hold`, and the release at the end of a call.
//! Each is the engine's ordinary commands keyed by the platform's call id (no reservation logic
//! of its own): a new hold of a call replaces the call's earlier one (`replace_call_holds`),
//! booking confirms the call's hold, and the answer speaks the company's language and local
//! time. The model never sees a token: the call id is the handle.
//!
//! A function's arguments are the model's words, checked in [`super::args`]: a bad date,
//! `25:00` or an argument of the wrong type is an `error` result, never an HTTP error.

pub use super::args::VoiceFunction;
use super::speech::{self, Sentences};
use crate::actors::engine::{Engine, EngineError};
use crate::core::command::{
    validate_phone, AvailabilityRequest, FindRequest, HoldOptions, HoldRequest, HoldTarget,
    ListFilter,
};
use crate::core::error::BookError;
use crate::core::reservation::{ReservationView, Status};
use crate::core::schedule::CompanySettings;
use crate::http::time;
use crate::limits;
use chrono::{Days, NaiveDate, NaiveDateTime, NaiveTime};
use chrono_tz::Tz;
use serde::Serialize;

/// Where a function call comes from.
#[derive(Clone, Debug)]
pub struct VoiceCall {
    pub company: String,
    /// The platform's call id: ties the call's holds together.
    pub call_id: String,
    /// The caller's number, when the platform gives one in the API's form.
    pub from_number: Option<String>,
}

/// A slot as an agent reads it.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct SpokenSlot {
    pub resource: String,
    /// RFC 3339 with the company's offset.
    pub start: String,
    pub spoken: String,
}

/// What a function answers (fields that do not apply are left out). At most
/// [`limits::VOICE_ANSWER_BYTES_MAX`] bytes as JSON.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct VoiceAnswer {
    /// `held`, `taken`, `none`, `booked`, `expired`, `cancelled` or `error`.
    pub result: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub slot: Option<SpokenSlot>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub alternatives: Vec<SpokenSlot>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_in_seconds: Option<i64>,
    pub message: String,
}

impl VoiceAnswer {
    fn new(result: &'static str, message: String) -> VoiceAnswer {
        VoiceAnswer {
            result,
            slot: None,
            alternatives: Vec::new(),
            expires_in_seconds: None,
            message,
        }
    }

    /// An `error` result saying what to fix.
    pub fn error(message: impl Into<String>) -> VoiceAnswer {
        let mut message: String = message.into();
        // The answer stays small whatever the detail (a model may echo a long argument).
        if message.len() > limits::VOICE_MESSAGE_BYTES_MAX {
            let mut end = limits::VOICE_MESSAGE_BYTES_MAX;
            while !message.is_char_boundary(end) {
                end -= 1;
            }
            message.truncate(end);
        }
        VoiceAnswer::new("error", message)
    }

    /// The answer as the single-line JSON text a platform hands its model.
    pub fn to_json(&self) -> String {
        // Strings and numbers only: serializing into memory cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// Runs `function` for `call`. `Err` only when the server cannot answer now (the platform
/// retries); every outcome of the booking itself is an answer.
pub async fn run(
    engine: &Engine,
    call: &VoiceCall,
    function: VoiceFunction,
) -> Result<VoiceAnswer, EngineError> {
    engine.call_metrics().call(&call.company, &call.call_id);
    let settings = engine.settings(&call.company).await?;
    let context = Context {
        engine,
        call,
        settings,
        now_ms: engine.clock().now_ms(),
    };
    let answer = match function {
        VoiceFunction::CheckAvailability {
            date,
            time,
            resources,
            duration_minutes,
        } => context.check(date, time, resources, duration_minutes).await,
        VoiceFunction::HoldSlot { start, resource } => context.hold_exactly(start, resource).await,
        VoiceFunction::BookAppointment { appointment_id } => context.book(appointment_id).await,
        VoiceFunction::CancelHold => context
            .cancel("caller_declined")
            .await
            .map(|count| VoiceAnswer::new("cancelled", context.sentences().cancelled(count))),
    };
    match answer {
        Ok(answer) => Ok(answer),
        Err(EngineError::Book(error)) => Ok(VoiceAnswer::error(error.to_string())),
        Err(other) => Err(other),
    }
}

/// Cancels `call`'s active holds at the end of the call; answers how many.
pub async fn release(engine: &Engine, call: &VoiceCall) -> Result<usize, EngineError> {
    let settings = engine.settings(&call.company).await?;
    let context = Context {
        engine,
        call,
        settings,
        now_ms: engine.clock().now_ms(),
    };
    let released = context.cancel("call_ended").await?;
    if released > 0 {
        engine.call_metrics().released(&call.company);
    }
    Ok(released)
}

struct Context<'a> {
    engine: &'a Engine,
    call: &'a VoiceCall,
    settings: CompanySettings,
    now_ms: i64,
}

impl Context<'_> {
    fn zone(&self) -> Tz {
        self.settings.time_zone()
    }

    fn sentences(&self) -> Sentences {
        Sentences(self.settings.locale())
    }

    fn spoken_slot(&self, resource: &str, start_ms: i64) -> SpokenSlot {
        SpokenSlot {
            resource: resource.to_string(),
            start: speech::offset_time(self.zone(), start_ms),
            spoken: speech::spoken(self.settings.locale(), self.zone(), start_ms),
        }
    }

    /// The instant a local date and time names (see [`time::local_instant`]).
    fn instant(&self, local: NaiveDateTime) -> i64 {
        time::local_instant(self.zone(), local)
    }

    /// Midnight starting `date`, and the next, as instants.
    fn day(&self, date: NaiveDate) -> (i64, i64) {
        time::local_day(self.zone(), date)
    }

    fn duration_ms(&self, minutes: Option<i64>) -> i64 {
        minutes.unwrap_or(i64::from(self.settings.default_duration_minutes())) * 60_000
    }

    /// The resources named, or every configured one; an error result when there are none.
    async fn resources(&self, named: Option<Vec<String>>) -> Result<Vec<String>, EngineError> {
        if let Some(named) = named.filter(|n| !n.is_empty()) {
            return Ok(named);
        }
        let (_, entries) = self.engine.resources(&self.call.company).await?;
        let names: Vec<String> = entries
            .into_iter()
            .take(limits::QUERY_RESOURCES_MAX)
            .map(|entry| entry.resource)
            .collect();
        if names.is_empty() {
            return Err(BookError::invalid(
                "resources",
                "no resource is configured for this company and none was named: configure \
                 resources first (PUT /v1/companies/{company}/resources/{resource})",
            )
            .into());
        }
        Ok(names)
    }

    fn options(&self) -> Result<HoldOptions, BookError> {
        let mut options = HoldOptions::default()
            .with_call_id(self.call.call_id.as_str())?
            .replacing_call_holds(true);
        if let Some(phone) = &self.call.from_number {
            if validate_phone("customer_phone", Some(phone)).is_ok() {
                options = options.with_customer_phone(phone.as_str())?;
            }
        }
        Ok(options)
    }

    /// `check_availability`: the first free start at or after the time asked (not before now)
    /// that day, held for the call, and up to three more starts.
    async fn check(
        &self,
        date: NaiveDate,
        time: Option<NaiveTime>,
        named: Option<Vec<String>>,
        minutes: Option<i64>,
    ) -> Result<VoiceAnswer, EngineError> {
        let resources = self.resources(named).await?;
        let duration_ms = self.duration_ms(minutes);
        let (day_start, day_end) = self.day(date);
        let asked = match time {
            Some(time) => self.instant(date.and_time(time)),
            None => day_start,
        };
        let from = asked.max(self.next_start_after_now(day_start));
        self.hold_first(&resources, from, day_end, duration_ms, date)
            .await
    }

    /// The first start on the day's grid that is not in the past.
    fn next_start_after_now(&self, day_start: i64) -> i64 {
        let step = limits::VOICE_STEP_MINUTES * 60_000;
        if self.now_ms <= day_start {
            return day_start;
        }
        let elapsed = self.now_ms - day_start;
        day_start + (elapsed + step - 1) / step * step
    }

    /// Holds the first free start in `[from, until)` on `resources` for the call; `none` (with
    /// the next day that has a free start) when there is none.
    async fn hold_first(
        &self,
        resources: &[String],
        from: i64,
        until: i64,
        duration_ms: i64,
        date: NaiveDate,
    ) -> Result<VoiceAnswer, EngineError> {
        let step = limits::VOICE_STEP_MINUTES * 60_000;
        if from + duration_ms > until {
            return self.nothing_free(resources, duration_ms, date).await;
        }
        let find = FindRequest::new(resources.to_vec(), from, until, duration_ms, step)?;
        let request = HoldRequest::with_options(HoldTarget::Find(find), self.options()?);
        match self.engine.hold(&self.call.company, request).await {
            Ok(outcome) => {
                self.held(outcome.reservation, resources, until, duration_ms)
                    .await
            }
            Err(EngineError::Book(BookError::NoSlot)) => {
                self.nothing_free(resources, duration_ms, date).await
            }
            Err(other) => Err(other),
        }
    }

    /// `held`, with the slot, its time to live and up to three more starts that day.
    async fn held(
        &self,
        reservation: ReservationView,
        resources: &[String],
        until: i64,
        duration_ms: i64,
    ) -> Result<VoiceAnswer, EngineError> {
        let Some(segment) = reservation.segments.first() else {
            return Ok(VoiceAnswer::error("the hold has no slot"));
        };
        self.engine.call_metrics().held(&self.call.company);
        let slot = self.spoken_slot(&segment.resource, segment.start_ms);
        let alternatives = self
            .alternatives(resources, segment.start_ms + 1, until, duration_ms)
            .await?;
        let ttl_seconds = (reservation.expires_at_ms - self.now_ms).max(0) / 1_000;
        let mut answer = VoiceAnswer::new(
            "held",
            self.sentences().held(&slot.spoken, (ttl_seconds + 59) / 60),
        );
        answer.slot = Some(slot);
        answer.alternatives = alternatives;
        answer.expires_in_seconds = Some(ttl_seconds);
        Ok(answer)
    }

    /// Up to [`limits::VOICE_ALTERNATIVES_MAX`] free starts in `[from, until)`, earliest first,
    /// each time once (on the first resource free then, in the order the resources were
    /// given).
    async fn alternatives(
        &self,
        resources: &[String],
        from: i64,
        until: i64,
        duration_ms: i64,
    ) -> Result<Vec<SpokenSlot>, EngineError> {
        let step = limits::VOICE_STEP_MINUTES * 60_000;
        // Starts on the grid of the day the search began on.
        let from = from + (step - from.rem_euclid(step)) % step;
        if from + duration_ms > until {
            return Ok(Vec::new());
        }
        let request = AvailabilityRequest::new(resources.to_vec(), from, until, duration_ms, step)?;
        let free = self
            .engine
            .availability(&self.call.company, request)
            .await?;
        let mut starts: Vec<(i64, usize, &str)> = free
            .iter()
            .enumerate()
            .flat_map(|(order, slots)| {
                slots
                    .slots_ms
                    .iter()
                    .take(limits::VOICE_ALTERNATIVES_MAX)
                    .map(move |start| (*start, order, &*slots.resource))
            })
            .collect();
        starts.sort_unstable();
        // One resource per time: a caller chooses a time, not a chair.
        starts.dedup_by_key(|(start, _, _)| *start);
        Ok(starts
            .into_iter()
            .take(limits::VOICE_ALTERNATIVES_MAX)
            .map(|(start, _, resource)| self.spoken_slot(resource, start))
            .collect())
    }

    /// `none`: the day has no free start; names the next day that has one, within
    /// [`limits::VOICE_LOOKAHEAD_DAYS`].
    async fn nothing_free(
        &self,
        resources: &[String],
        duration_ms: i64,
        date: NaiveDate,
    ) -> Result<VoiceAnswer, EngineError> {
        let locale = self.settings.locale();
        let (day_start, _) = self.day(date);
        let day = speech::spoken_day(locale, self.zone(), day_start);
        let mut next = None;
        for ahead in 1..=limits::VOICE_LOOKAHEAD_DAYS {
            let Some(later) = date.checked_add_days(Days::new(ahead)) else {
                break;
            };
            let (start, end) = self.day(later);
            let free = self
                .alternatives(resources, start.max(self.now_ms), end, duration_ms)
                .await?;
            if let Some(first) = free.into_iter().next() {
                next = Some((speech::spoken_day(locale, self.zone(), start), first));
                break;
            }
        }
        let mut answer = VoiceAnswer::new(
            "none",
            self.sentences()
                .none(&day, next.as_ref().map(|(day, _)| day.as_str())),
        );
        answer.alternatives = next.map(|(_, first)| vec![first]).unwrap_or_default();
        Ok(answer)
    }

    /// `hold_slot`: exactly that local start, on the resource named or the first configured
    /// one free then; `taken` with other starts that day when none is.
    async fn hold_exactly(
        &self,
        start: NaiveDateTime,
        resource: Option<String>,
    ) -> Result<VoiceAnswer, EngineError> {
        let resources = self.resources(resource.map(|r| vec![r])).await?;
        let duration_ms = self.duration_ms(None);
        let start_ms = self.instant(start);
        let (_, day_end) = self.day(start.date());
        let find = FindRequest::new(
            resources.clone(),
            start_ms,
            start_ms + duration_ms,
            duration_ms,
            duration_ms,
        )?;
        let request = HoldRequest::with_options(HoldTarget::Find(find), self.options()?);
        match self.engine.hold(&self.call.company, request).await {
            Ok(outcome) => {
                self.held(outcome.reservation, &resources, day_end, duration_ms)
                    .await
            }
            Err(EngineError::Book(
                BookError::NoSlot | BookError::Conflict { .. } | BookError::OutsideHours { .. },
            )) => {
                let mut answer = VoiceAnswer::new("taken", self.sentences().taken());
                answer.alternatives = self
                    .alternatives(&resources, start_ms.max(self.now_ms), day_end, duration_ms)
                    .await?;
                Ok(answer)
            }
            Err(other) => Err(other),
        }
    }

    /// The call's reservations, newest first.
    async fn call_reservations(&self) -> Result<Vec<ReservationView>, EngineError> {
        let filter = ListFilter::default()
            .with_call_id(self.call.call_id.as_str())?
            .with_limit(limits::VOICE_CALL_RESERVATIONS_MAX)?;
        Ok(self
            .engine
            .list(&self.call.company, filter)
            .await?
            .reservations)
    }

    /// `book_appointment`: confirms the call's hold; a repeat answers the same booking; a hold
    /// that ran out is `expired`, with a fresh hold of the first free start from its time.
    async fn book(&self, appointment_id: Option<String>) -> Result<VoiceAnswer, EngineError> {
        let reservations = self.call_reservations().await?;
        let Some(newest) = reservations
            .iter()
            .find(|r| r.status != Status::Cancelled)
            .cloned()
        else {
            return Ok(VoiceAnswer::error(self.sentences().nothing_held()));
        };
        let confirmed = match newest.status {
            Status::Converted => Ok(newest.clone()),
            Status::Active => {
                let confirmed = self
                    .engine
                    .confirm(&self.call.company, newest.token, appointment_id)
                    .await;
                if confirmed.is_ok() {
                    self.engine.call_metrics().booked(&self.call.company);
                }
                confirmed
            }
            _ => Err(EngineError::Book(BookError::Expired)),
        };
        match confirmed {
            Ok(booking) => {
                let segment = &booking.segments[0];
                let slot = self.spoken_slot(&segment.resource, segment.start_ms);
                let mut answer = VoiceAnswer::new("booked", self.sentences().booked(&slot.spoken));
                answer.slot = Some(slot);
                Ok(answer)
            }
            Err(EngineError::Book(BookError::Expired)) => self.offer_again(&newest).await,
            Err(other) => Err(other),
        }
    }

    /// `expired`: the call's hold ran out; the first free start from its time that day is held
    /// for the call instead (the agent offers it and books again).
    async fn offer_again(&self, lapsed: &ReservationView) -> Result<VoiceAnswer, EngineError> {
        let Some(segment) = lapsed.segments.first() else {
            return Ok(VoiceAnswer::new("expired", self.sentences().expired()));
        };
        let duration_ms = segment.end_ms - segment.start_ms;
        let date = speech::local(self.zone(), segment.start_ms).date_naive();
        let (day_start, day_end) = self.day(date);
        let resources: Vec<String> = lapsed
            .segments
            .iter()
            .map(|s| s.resource.to_string())
            .collect();
        let from = segment.start_ms.max(self.next_start_after_now(day_start));
        let fresh = self
            .hold_first(&resources, from, day_end, duration_ms, date)
            .await?;
        let mut answer = VoiceAnswer::new("expired", self.sentences().expired());
        if fresh.result == "held" {
            answer.message = format!("{} {}", answer.message, fresh.message);
            answer.expires_in_seconds = fresh.expires_in_seconds;
        }
        answer.slot = fresh.slot;
        answer.alternatives = fresh.alternatives;
        Ok(answer)
    }

    /// Cancels the call's active holds with `reason`; answers how many.
    async fn cancel(&self, reason: &str) -> Result<usize, EngineError> {
        let mut count = 0;
        for reservation in self.call_reservations().await? {
            if reservation.status != Status::Active {
                continue;
            }
            let cancelled = self
                .engine
                .cancel(
                    &self.call.company,
                    reservation.token,
                    Some(reason.to_string()),
                )
                .await;
            match cancelled {
                Ok(_) => count += 1,
                // Expired or converted meanwhile: nothing to release.
                Err(EngineError::Book(BookError::InvalidState { .. })) => {}
                Err(other) => return Err(other),
            }
        }
        Ok(count)
    }
}
