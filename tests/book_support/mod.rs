//! What the scenario tests of the core `Book` share (`tests/book*.rs`): a grid of minutes, the
//! builders of the commands they send, and `Harness`, a book with its clock and tokens whose
//! `check` runs the book's invariants after every hold.

#![allow(dead_code)] // each test binary uses its own part of this module

use holdfast::core::book::{Book, Settings};
use holdfast::core::command::{
    FindRequest, HoldOptions, HoldRequest, HoldTarget, SegmentRequest, Segments,
};
use holdfast::core::error::{BookError, ErrorType};
use holdfast::core::reservation::Status;
use holdfast::durability::fingerprint::idempotency_of;
use uuid::Uuid;

pub const BASE_MS: i64 = 1_798_761_600_000;
pub const MINUTE_MS: i64 = 60_000;

/// Minute `minutes` of the grid, in milliseconds.
pub fn at(minutes: i64) -> i64 {
    BASE_MS + minutes * MINUTE_MS
}

/// `[from_minute, to_minute)` on `resource`.
pub fn segment(resource: &str, from_minute: i64, to_minute: i64) -> SegmentRequest {
    SegmentRequest::new(resource, at(from_minute), at(to_minute)).expect("a valid segment")
}

/// The options most tests use: a five-minute hold, nothing else.
pub fn options() -> HoldOptions {
    HoldOptions::default()
        .with_ttl_seconds(300)
        .expect("a valid ttl")
}

/// A hold of `segments` with `options`.
pub fn request_with(segments: Vec<SegmentRequest>, options: HoldOptions) -> HoldRequest {
    let segments = Segments::new(segments).expect("valid segments");
    HoldRequest::with_options(HoldTarget::Segments(segments), options)
}

/// A five-minute hold of `segments`.
pub fn request(segments: Vec<SegmentRequest>) -> HoldRequest {
    request_with(segments, options())
}

/// A five-minute first-available hold, times in grid minutes.
pub fn find(
    resources: &[&str],
    earliest: i64,
    latest: i64,
    duration: i64,
    step: i64,
) -> HoldRequest {
    let find = FindRequest::new(
        resources.iter().map(|r| r.to_string()).collect(),
        at(earliest),
        at(latest),
        duration * MINUTE_MS,
        step * MINUTE_MS,
    )
    .expect("a valid search");
    HoldRequest::with_options(HoldTarget::Find(find), options())
}

/// A book, a clock and a token counter: the `check` helper of this layer.
pub struct Harness {
    pub book: Book,
    pub now_ms: i64,
    next_token: u128,
}

impl Harness {
    pub fn new() -> Harness {
        Harness::with_settings(Settings::default())
    }

    pub fn with_settings(settings: Settings) -> Harness {
        Harness {
            book: Book::new("acme", settings),
            now_ms: at(-600),
            next_token: 1,
        }
    }

    /// The next token, as the company actor would make it.
    pub fn token(&mut self) -> Uuid {
        let token = Uuid::from_u128(self.next_token);
        self.next_token += 1;
        token
    }

    /// Sends a hold as the company actor does (with its key's fingerprint, if it has a key) and
    /// checks the invariants after it.
    pub fn hold(&mut self, request: HoldRequest) -> Result<Uuid, BookError> {
        let token = self.token();
        let idempotency = idempotency_of(&request);
        let outcome = self.book.hold(request, idempotency, token, self.now_ms)?;
        self.check();
        Ok(outcome.reservation.token)
    }

    pub fn status(&mut self, token: Uuid) -> Status {
        self.book.get(token, self.now_ms).expect("exists").status
    }

    /// The free starts on `resource` from minute `from` to `to`, every `duration` minutes.
    pub fn free_slots(&mut self, resource: &str, from: i64, to: i64, duration: i64) -> Vec<i64> {
        let request = holdfast::core::command::AvailabilityRequest::new(
            vec![resource.into()],
            at(from),
            at(to),
            duration * MINUTE_MS,
            duration * MINUTE_MS,
        )
        .expect("a valid query");
        let answer = self
            .book
            .availability(&request, self.now_ms)
            .expect("valid");
        answer[0]
            .slots_ms
            .iter()
            .map(|ms| (ms - BASE_MS) / MINUTE_MS)
            .collect()
    }

    pub fn advance_minutes(&mut self, minutes: i64) {
        self.now_ms += minutes * MINUTE_MS;
    }

    pub fn check(&self) {
        self.book.check_invariants(self.now_ms).expect("invariants");
    }
}

/// The type of the error `result` must be.
pub fn error_type<T: std::fmt::Debug>(result: Result<T, BookError>) -> ErrorType {
    result.expect_err("expected an error").error_type()
}
