//! The hold command: what a hold asks for ([`HoldTarget`]: given [`Segments`] or a
//! first-available [`FindRequest`]), and the rest of what it carries ([`HoldOptions`]). Every
//! type here is checked by its constructor and has private fields, so a value is always valid:
//! the `Book` takes it without a second look, and whoever builds one (the HTTP edge, log replay,
//! a bench) meets the same rules in the same order with the same words.
//!
//! The order of the checks is part of the answer (the first fault is the one named), so it is
//! kept as the API has always given it: a hold's options first (ttl, call id, phone, service,
//! key), then its target; segments by their count, then one by one, then their overlaps.

use super::rules::{
    validate_id, validate_idempotency_key, validate_interval, validate_length, validate_phone,
    validate_resources, validate_text, validate_ttl,
};
use crate::core::error::BookError;
use crate::limits;
use std::ops::Deref;

/// One requested interval `[start_ms, end_ms)` on one resource, by the resource's name.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct SegmentRequest {
    resource: String,
    start_ms: i64,
    end_ms: i64,
}

impl SegmentRequest {
    /// A checked segment: `resource` an id, the interval valid, non-empty and within the span
    /// limit. A fault names `resource`, `start` or `end`, the fields of a single hold; a
    /// compound hold's [`Segments::collect`] names them by position (`segments[1].end`).
    pub fn new(
        resource: impl Into<String>,
        start_ms: i64,
        end_ms: i64,
    ) -> Result<SegmentRequest, BookError> {
        let resource = resource.into();
        validate_id("resource", &resource)?;
        validate_interval("start", "end", start_ms, end_ms)?;
        Ok(SegmentRequest {
            resource,
            start_ms,
            end_ms,
        })
    }

    /// The segment a search found; valid because the search's own request was (`pub(crate)`:
    /// only the `Book` makes segments this way).
    pub(crate) fn found(resource: &str, start_ms: i64, end_ms: i64) -> SegmentRequest {
        SegmentRequest {
            resource: resource.to_owned(),
            start_ms,
            end_ms,
        }
    }

    /// The resource's name.
    pub fn resource(&self) -> &str {
        &self.resource
    }

    /// Where the interval starts (inclusive), in milliseconds since the epoch.
    pub fn start_ms(&self) -> i64 {
        self.start_ms
    }

    /// Where the interval ends (exclusive), in milliseconds since the epoch.
    pub fn end_ms(&self) -> i64 {
        self.end_ms
    }
}

/// The segments of a single or compound hold: 1 to [`limits::SEGMENTS_MAX`], no two on the same
/// resource overlapping each other. Reads as a slice of its segments.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Segments(Vec<SegmentRequest>);

impl Segments {
    /// Checks segments already built: their count, then their overlaps.
    pub fn new(segments: Vec<SegmentRequest>) -> Result<Segments, BookError> {
        Segments::collect(segments.into_iter().map(Ok))
    }

    /// Builds the segments of a hold as the caller checks them one by one: the count first, then
    /// each segment in order (a fault named by its position, `segments[1].end`), then the
    /// overlaps, so that a request with several faults is answered with the first in that order.
    pub fn collect<I>(segments: I) -> Result<Segments, BookError>
    where
        I: ExactSizeIterator<Item = Result<SegmentRequest, BookError>>,
    {
        if segments.len() == 0 || segments.len() > limits::SEGMENTS_MAX {
            return Err(BookError::invalid(
                "segments",
                format!("must have 1 to {} segments", limits::SEGMENTS_MAX),
            ));
        }
        let segments = segments
            .enumerate()
            .map(|(index, segment)| segment.map_err(|e| e.within(&format!("segments[{index}]"))))
            .collect::<Result<Vec<_>, _>>()?;
        for (i, a) in segments.iter().enumerate() {
            for (j, b) in segments.iter().enumerate().skip(i + 1) {
                if a.resource == b.resource && a.start_ms < b.end_ms && b.start_ms < a.end_ms {
                    return Err(BookError::invalid(
                        format!("segments[{j}]"),
                        format!("overlaps segments[{i}] on the same resource"),
                    ));
                }
            }
        }
        Ok(Segments(segments))
    }
}

impl Deref for Segments {
    type Target = [SegmentRequest];

    fn deref(&self) -> &[SegmentRequest] {
        &self.0
    }
}

/// A first-available search: the earliest start `t` (stepping from `earliest_ms`) at which one of
/// `resources` is free for `duration_ms`, with `t + duration_ms <= latest_ms`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct FindRequest {
    resources: Vec<String>,
    earliest_ms: i64,
    latest_ms: i64,
    duration_ms: i64,
    step_ms: i64,
}

impl FindRequest {
    /// A checked search: 1 to [`limits::QUERY_RESOURCES_MAX`] resources, a valid window, a
    /// duration and a step of 1 second to the span limit, the duration inside the window.
    /// Faults name the fields of the API's `find` object (`find.duration_seconds`).
    pub fn new(
        resources: Vec<String>,
        earliest_ms: i64,
        latest_ms: i64,
        duration_ms: i64,
        step_ms: i64,
    ) -> Result<FindRequest, BookError> {
        validate_resources("find.resources", &resources)?;
        validate_interval("find.earliest", "find.latest", earliest_ms, latest_ms)?;
        validate_length("find.duration_seconds", duration_ms)?;
        validate_length("find.step_seconds", step_ms)?;
        if duration_ms > latest_ms - earliest_ms {
            return Err(BookError::invalid(
                "find.duration_seconds",
                "is longer than the window from earliest to latest",
            ));
        }
        Ok(FindRequest {
            resources,
            earliest_ms,
            latest_ms,
            duration_ms,
            step_ms,
        })
    }

    /// The resources searched, in the order ties go.
    pub fn resources(&self) -> &[String] {
        &self.resources
    }

    /// The first start tried.
    pub fn earliest_ms(&self) -> i64 {
        self.earliest_ms
    }

    /// The latest end allowed.
    pub fn latest_ms(&self) -> i64 {
        self.latest_ms
    }

    /// How long the hold is.
    pub fn duration_ms(&self) -> i64 {
        self.duration_ms
    }

    /// The grid of starts: `earliest_ms + k * step_ms`.
    pub fn step_ms(&self) -> i64 {
        self.step_ms
    }
}

/// What a hold asks for: given segments (single or compound), or a search. Each variant holds a
/// checked value, so a target is always valid.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum HoldTarget {
    Segments(Segments),
    Find(FindRequest),
}

impl HoldTarget {
    /// A single hold's target: one checked segment (faults named `resource`, `start`, `end`).
    pub fn single(
        resource: impl Into<String>,
        start_ms: i64,
        end_ms: i64,
    ) -> Result<HoldTarget, BookError> {
        let segment = SegmentRequest::new(resource, start_ms, end_ms)?;
        Ok(HoldTarget::Segments(Segments::new(vec![segment])?))
    }
}

/// A checked idempotency key: 1 to [`limits::IDEMPOTENCY_KEY_BYTES_MAX`] bytes. It names a
/// request; it is not part of its content (nor of its fingerprint).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct IdempotencyKey(Box<str>);

impl IdempotencyKey {
    /// Checks `key`; a fault names the header, `Idempotency-Key`.
    pub fn new(key: impl Into<String>) -> Result<IdempotencyKey, BookError> {
        let key = key.into();
        validate_idempotency_key("Idempotency-Key", &key)?;
        Ok(IdempotencyKey(key.into_boxed_str()))
    }

    /// The key's text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A keyed request's key with the fingerprint of its content: what the `Book` remembers to tell
/// a retry from a different request under the same key. The fingerprint is computed outside the
/// core, from the request's versioned on-disk bytes (`durability::fingerprint`), which the core
/// cannot see; the core takes it as an input, like a token or `now_ms`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Idempotency {
    key: IdempotencyKey,
    fingerprint: u64,
}

impl Idempotency {
    /// `key` with the fingerprint of the request it names.
    pub fn new(key: IdempotencyKey, fingerprint: u64) -> Idempotency {
        Idempotency { key, fingerprint }
    }

    /// The key.
    pub fn key(&self) -> &IdempotencyKey {
        &self.key
    }

    /// The fingerprint of the request's content.
    pub fn fingerprint(&self) -> u64 {
        self.fingerprint
    }
}

/// What a hold carries besides its target, each part checked as it is set; until then the API's
/// defaults: a time to live of [`limits::TTL_SECONDS_DEFAULT`], no call id, phone or service, no
/// replacing, no idempotency key.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct HoldOptions {
    ttl_seconds: i64,
    /// Whether the caller named a time to live; when not, the company's default applies
    /// ([`HoldRequest::with_default_ttl`]) instead of `ttl_seconds`.
    ttl_named: bool,
    call_id: Option<String>,
    customer_phone: Option<String>,
    service_id: Option<String>,
    replace_call_holds: bool,
    idempotency_key: Option<IdempotencyKey>,
}

impl Default for HoldOptions {
    fn default() -> HoldOptions {
        HoldOptions {
            ttl_seconds: limits::TTL_SECONDS_DEFAULT,
            ttl_named: false,
            call_id: None,
            customer_phone: None,
            service_id: None,
            replace_call_holds: false,
            idempotency_key: None,
        }
    }
}

impl HoldOptions {
    /// The hold's time to live: [`limits::TTL_SECONDS_MIN`] to [`limits::TTL_SECONDS_MAX`].
    pub fn with_ttl_seconds(mut self, ttl_seconds: i64) -> Result<HoldOptions, BookError> {
        validate_ttl("ttl_seconds", ttl_seconds)?;
        self.ttl_seconds = ttl_seconds;
        self.ttl_named = true;
        Ok(self)
    }

    /// The call the hold belongs to: free text of 1 to 128 bytes, no control characters.
    pub fn with_call_id(mut self, call_id: impl Into<String>) -> Result<HoldOptions, BookError> {
        let call_id = call_id.into();
        validate_text("call_id", Some(call_id.as_str()))?;
        self.call_id = Some(call_id);
        Ok(self)
    }

    /// The customer's phone: `+` and 6 to 15 digits.
    pub fn with_customer_phone(
        mut self,
        customer_phone: impl Into<String>,
    ) -> Result<HoldOptions, BookError> {
        let customer_phone = customer_phone.into();
        validate_phone("customer_phone", Some(customer_phone.as_str()))?;
        self.customer_phone = Some(customer_phone);
        Ok(self)
    }

    /// The service booked: free text of 1 to 128 bytes, no control characters.
    pub fn with_service_id(
        mut self,
        service_id: impl Into<String>,
    ) -> Result<HoldOptions, BookError> {
        let service_id = service_id.into();
        validate_text("service_id", Some(service_id.as_str()))?;
        self.service_id = Some(service_id);
        Ok(self)
    }

    /// Whether the hold, if it succeeds, cancels its call's other active holds in the same step
    /// (only with a call id; without one there is nothing to replace).
    pub fn replacing_call_holds(mut self, replace_call_holds: bool) -> HoldOptions {
        self.replace_call_holds = replace_call_holds;
        self
    }

    /// The key under which a retry of the hold answers the first reservation.
    pub fn with_idempotency_key(
        mut self,
        key: impl Into<String>,
    ) -> Result<HoldOptions, BookError> {
        self.idempotency_key = Some(IdempotencyKey::new(key)?);
        Ok(self)
    }
}

/// A request to create a hold: a target and its options, both checked.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct HoldRequest {
    target: HoldTarget,
    options: HoldOptions,
}

impl HoldRequest {
    /// A request for `target` with the API's defaults for the rest (benches and tools that only
    /// need a slot taken).
    pub fn new(target: HoldTarget) -> HoldRequest {
        HoldRequest::with_options(target, HoldOptions::default())
    }

    /// A request for `target` with `options`.
    pub fn with_options(target: HoldTarget, options: HoldOptions) -> HoldRequest {
        HoldRequest { target, options }
    }

    /// What the hold asks for.
    pub fn target(&self) -> &HoldTarget {
        &self.target
    }

    /// Its time to live, in seconds.
    pub fn ttl_seconds(&self) -> i64 {
        self.options.ttl_seconds
    }

    /// The same request with `default_ttl_seconds` (the company's, already checked) as its time
    /// to live when its caller named none. Resolved before the request is fingerprinted and
    /// logged, so that the log holds the time to live the hold got and replay needs no settings.
    pub fn with_default_ttl(mut self, default_ttl_seconds: i64) -> HoldRequest {
        if !self.options.ttl_named {
            self.options.ttl_seconds = default_ttl_seconds;
            self.options.ttl_named = true;
        }
        self
    }

    /// The call it belongs to.
    pub fn call_id(&self) -> Option<&str> {
        self.options.call_id.as_deref()
    }

    /// The customer's phone.
    pub fn customer_phone(&self) -> Option<&str> {
        self.options.customer_phone.as_deref()
    }

    /// The service booked.
    pub fn service_id(&self) -> Option<&str> {
        self.options.service_id.as_deref()
    }

    /// Whether it replaces its call's other active holds.
    pub fn replace_call_holds(&self) -> bool {
        self.options.replace_call_holds
    }

    /// The key it is sent under, if any.
    pub fn idempotency_key(&self) -> Option<&IdempotencyKey> {
        self.options.idempotency_key.as_ref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE_MS: i64 = 1_798_761_600_000;
    const HOUR_MS: i64 = 3_600_000;

    fn field_of<T: std::fmt::Debug>(result: Result<T, BookError>) -> String {
        match result {
            Err(BookError::InvalidRequest { field, .. }) => field,
            other => panic!("not an invalid request: {other:?}"),
        }
    }

    /// Goal: a single hold's faults are named as its fields; a compound hold's by position,
    /// the count first (17 segments with a bad one is a fault of `segments`), then each
    /// segment, then overlaps.
    #[test]
    fn segment_faults_are_named_by_position_after_the_count() {
        assert_eq!(
            field_of(HoldTarget::single("r 1", BASE_MS, BASE_MS + 1)),
            "resource"
        );
        assert_eq!(field_of(HoldTarget::single("r1", BASE_MS, BASE_MS)), "end");
        let bad_second = [("a", 0, 1), ("b", 1, 1)]
            .map(|(r, s, e)| SegmentRequest::new(r, BASE_MS + s * HOUR_MS, BASE_MS + e * HOUR_MS));
        assert_eq!(
            field_of(Segments::collect(bad_second.into_iter())),
            "segments[1].end"
        );
        let seventeen = (0..17).map(|n| {
            let end_ms = if n == 3 { BASE_MS } else { BASE_MS + HOUR_MS };
            SegmentRequest::new(format!("r{n}"), BASE_MS, end_ms)
        });
        assert_eq!(field_of(Segments::collect(seventeen)), "segments");
        let overlapping = vec![
            SegmentRequest::new("a", BASE_MS, BASE_MS + 2 * HOUR_MS).unwrap(),
            SegmentRequest::new("b", BASE_MS, BASE_MS + 2 * HOUR_MS).unwrap(),
            SegmentRequest::new("a", BASE_MS + HOUR_MS, BASE_MS + 3 * HOUR_MS).unwrap(),
        ];
        assert_eq!(field_of(Segments::new(overlapping)), "segments[2]");
    }

    /// Goal: an idempotency key is 1 to `IDEMPOTENCY_KEY_BYTES_MAX` bytes, its faults named as
    /// the header.
    #[test]
    fn idempotency_keys_are_bounded() {
        assert_eq!(field_of(IdempotencyKey::new("")), "Idempotency-Key");
        let longest = "k".repeat(limits::IDEMPOTENCY_KEY_BYTES_MAX);
        assert_eq!(
            IdempotencyKey::new(longest.clone()).unwrap().as_str(),
            longest
        );
        assert_eq!(
            field_of(IdempotencyKey::new(longest + "k")),
            "Idempotency-Key"
        );
    }
}
