//! Request bodies: the serde shapes of `POST /holds`, `POST /holds/{token}/confirm` and
//! `POST /holds/{token}/extend`, and stage two of a hold body, the raw form to a checked
//! `HoldRequest`. Stage one is strict: `deny_unknown_fields` on every body, and [`ObjectOnly`]
//! so a nested struct must arrive as a JSON object.

use crate::core::command::{
    FindRequest, HoldOptions, HoldRequest, HoldTarget, SegmentRequest, Segments,
};
use crate::core::error::BookError;
use crate::http::dto::schemas;
use crate::http::time::Instant;
use serde::Deserialize;
use utoipa::ToSchema;

/// A struct that must arrive as a JSON object. serde's derived structs also accept the
/// positional form (`[300]` for `{"ttl_seconds": 300}`), which is exactly the guessing a strict
/// API refuses; this wrapper asks the deserializer for a map only, then lets the derive (with
/// its `deny_unknown_fields`) read that map.
#[derive(Debug)]
pub struct ObjectOnly<T>(pub T);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for ObjectOnly<T> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct MapOnly<T>(std::marker::PhantomData<T>);

        impl<'de, T: Deserialize<'de>> serde::de::Visitor<'de> for MapOnly<T> {
            type Value = T;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON object")
            }

            fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<T, A::Error> {
                T::deserialize(serde::de::value::MapAccessDeserializer::new(map))
            }
        }

        deserializer
            .deserialize_map(MapOnly(std::marker::PhantomData))
            .map(ObjectOnly)
    }
}

fn segments_as_objects<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Vec<SegmentBody>>, D::Error> {
    let segments = Option::<Vec<ObjectOnly<SegmentBody>>>::deserialize(deserializer)?;
    Ok(segments.map(|segments| segments.into_iter().map(|s| s.0).collect()))
}

fn find_as_object<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<FindBody>, D::Error> {
    Ok(Option::<ObjectOnly<FindBody>>::deserialize(deserializer)?.map(|find| find.0))
}

/// One interval `[start, end)` on one resource.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SegmentBody {
    #[schema(schema_with = schemas::id, example = "staff-7")]
    pub resource: String,
    #[schema(schema_with = schemas::instant, example = "2026-12-01T10:00:00Z")]
    pub start: Instant,
    /// After `start`, at most 366 days later.
    #[schema(schema_with = schemas::instant, example = "2026-12-01T10:30:00Z")]
    pub end: Instant,
}

/// A first-available search: the earliest start, stepping from `earliest`, at which one of
/// `resources` is free for `duration_seconds` (ties go to the resource listed first).
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FindBody {
    #[schema(schema_with = schemas::resources)]
    pub resources: Vec<String>,
    #[schema(schema_with = schemas::instant)]
    pub earliest: Instant,
    /// After `earliest`, at most 366 days later.
    #[schema(schema_with = schemas::instant)]
    pub latest: Instant,
    #[schema(schema_with = schemas::length_seconds, example = 1800)]
    pub duration_seconds: i64,
    /// Default: `duration_seconds`.
    #[schema(schema_with = schemas::length_seconds_or_null, example = 900)]
    pub step_seconds: Option<i64>,
}

/// `POST /holds`: exactly one of `resource`+`start`+`end`, `segments`, or `find`, plus the
/// shared fields.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HoldBody {
    #[schema(schema_with = schemas::id_or_null)]
    pub resource: Option<String>,
    #[schema(schema_with = schemas::instant_or_null)]
    pub start: Option<Instant>,
    /// After `start`, at most 366 days later.
    #[schema(schema_with = schemas::instant_or_null)]
    pub end: Option<Instant>,
    /// 1 to 16 segments, no two overlapping on one resource; all are held or none.
    #[serde(default, deserialize_with = "segments_as_objects")]
    #[schema(schema_with = schemas::segments_or_null)]
    pub segments: Option<Vec<SegmentBody>>,
    #[serde(default, deserialize_with = "find_as_object")]
    pub find: Option<FindBody>,
    /// 1 to 3600; default: the company's `default_ttl_seconds` (300 unless changed).
    #[schema(schema_with = schemas::ttl_seconds_or_null)]
    pub ttl_seconds: Option<i64>,
    #[schema(schema_with = schemas::text_or_null)]
    pub call_id: Option<String>,
    /// `+` and 6 to 15 digits.
    #[schema(schema_with = schemas::phone_or_null)]
    pub customer_phone: Option<String>,
    #[schema(schema_with = schemas::text_or_null)]
    pub service_id: Option<String>,
    /// With `call_id`: cancel the call's other active holds (reason `replaced`) in the same
    /// step, only if this hold succeeds.
    pub replace_call_holds: Option<bool>,
}

/// `POST /holds/{token}/confirm` (the body is optional).
#[derive(Clone, Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConfirmBody {
    /// Default: the token.
    #[schema(schema_with = schemas::text_or_null, example = "A-17")]
    pub appointment_id: Option<String>,
}

/// `POST /holds/{token}/extend` (the body is optional).
#[derive(Clone, Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExtendBody {
    /// New `expires_at` = now + this; default 300, 1 to 3600.
    #[schema(schema_with = schemas::ttl_seconds_or_null, example = 300)]
    pub ttl_seconds: Option<i64>,
}

/// Seconds to milliseconds; an overflow saturates, and the core's range check refuses it.
pub(super) fn millis_of(seconds: i64) -> i64 {
    seconds.saturating_mul(1_000)
}

/// The target of a hold body, once its form is known.
enum TargetBody {
    Single(SegmentBody),
    Segments(Vec<SegmentBody>),
    Find(FindBody),
}

impl HoldBody {
    /// Stage two: the checked core command. The parts are checked in the order the API has
    /// always named the first fault in: the form, the single form's required fields, the
    /// options, then the target.
    pub fn into_request(self, idempotency_key: Option<String>) -> Result<HoldRequest, BookError> {
        let single = self.resource.is_some() || self.start.is_some() || self.end.is_some();
        let target = match (single, self.segments, self.find) {
            (true, None, None) => TargetBody::Single(SegmentBody {
                resource: self.resource.ok_or_else(|| required("resource"))?,
                start: self.start.ok_or_else(|| required("start"))?,
                end: self.end.ok_or_else(|| required("end"))?,
            }),
            (false, Some(segments), None) => TargetBody::Segments(segments),
            (false, None, Some(find)) => TargetBody::Find(find),
            _ => {
                return Err(BookError::invalid(
                    "body",
                    "must give exactly one of: resource with start and end, segments, find",
                ))
            }
        };
        let mut options = HoldOptions::default();
        if let Some(ttl_seconds) = self.ttl_seconds {
            options = options.with_ttl_seconds(ttl_seconds)?;
        }
        if let Some(call_id) = self.call_id {
            options = options.with_call_id(call_id)?;
        }
        if let Some(customer_phone) = self.customer_phone {
            options = options.with_customer_phone(customer_phone)?;
        }
        if let Some(service_id) = self.service_id {
            options = options.with_service_id(service_id)?;
        }
        options = options.replacing_call_holds(self.replace_call_holds.unwrap_or(false));
        if let Some(key) = idempotency_key {
            options = options.with_idempotency_key(key)?;
        }
        let segment = |s: SegmentBody| SegmentRequest::new(s.resource, s.start.0, s.end.0);
        let target = match target {
            // Faults named as the caller sent them: `start`, not `segments[0].start`.
            TargetBody::Single(s) => HoldTarget::single(s.resource, s.start.0, s.end.0)?,
            TargetBody::Segments(bodies) => {
                HoldTarget::Segments(Segments::collect(bodies.into_iter().map(segment))?)
            }
            TargetBody::Find(find) => HoldTarget::Find(FindRequest::new(
                find.resources,
                find.earliest.0,
                find.latest.0,
                millis_of(find.duration_seconds),
                millis_of(find.step_seconds.unwrap_or(find.duration_seconds)),
            )?),
        };
        Ok(HoldRequest::with_options(target, options))
    }
}

pub(super) fn required(field: &str) -> BookError {
    BookError::invalid(field, "is required")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::dto::field_of;
    use crate::limits;

    fn hold(json: &str) -> Result<HoldRequest, BookError> {
        let body: HoldBody =
            serde_json::from_str(json).map_err(|e| BookError::invalid("serde", e.to_string()))?;
        body.into_request(None)
    }

    /// Goal: each of the three forms becomes its target, with the defaults of the API.
    #[test]
    fn three_forms() {
        let single = hold(
            r#"{"resource":"r1","start":"2026-12-01T10:00:00Z","end":"2026-12-01T10:30:00+00:00"}"#,
        )
        .unwrap();
        assert_eq!(single.ttl_seconds(), limits::TTL_SECONDS_DEFAULT);
        assert!(!single.replace_call_holds());
        let HoldTarget::Segments(segments) = single.target() else {
            panic!("not segments")
        };
        assert_eq!(segments[0].end_ms() - segments[0].start_ms(), 1_800_000);

        let find = hold(
            r#"{"find":{"resources":["a","b"],"earliest":"2026-12-01T10:00:00Z",
                "latest":"2026-12-01T12:00:00Z","duration_seconds":1800}}"#,
        )
        .unwrap();
        let HoldTarget::Find(find) = find.target() else {
            panic!("not find")
        };
        assert_eq!(
            find.step_ms(),
            1_800_000,
            "the step defaults to the duration"
        );

        let compound = hold(
            r#"{"segments":[{"resource":"a","start":"2026-12-01T10:00:00Z","end":"2026-12-01T10:30:00Z"},
                {"resource":"b","start":"2026-12-01T10:30:00Z","end":"2026-12-01T11:00:00Z"}],
                "ttl_seconds":60,"call_id":"c","replace_call_holds":true}"#,
        )
        .unwrap();
        assert_eq!(compound.ttl_seconds(), 60);
        assert!(compound.replace_call_holds());
    }

    /// Goal: mixed, partial and empty forms are refused naming the field at fault.
    #[test]
    fn form_errors_name_the_field() {
        let mixed = hold(
            r#"{"resource":"r1","start":"2026-12-01T10:00:00Z","end":"2026-12-01T10:30:00Z",
                "segments":[]}"#,
        );
        assert_eq!(field_of(mixed.unwrap_err()), "body");
        assert_eq!(field_of(hold("{}").unwrap_err()), "body");
        let partial = hold(r#"{"resource":"r1","start":"2026-12-01T10:00:00Z"}"#);
        assert_eq!(field_of(partial.unwrap_err()), "end");
        let backwards = hold(
            r#"{"resource":"r1","start":"2026-12-01T10:30:00Z","end":"2026-12-01T10:00:00Z"}"#,
        );
        assert_eq!(
            field_of(backwards.unwrap_err()),
            "end",
            "named as the caller sent it"
        );
        let huge = hold(
            r#"{"find":{"resources":["a"],"earliest":"2026-12-01T10:00:00Z",
                "latest":"2026-12-01T12:00:00Z","duration_seconds":9223372036854775807}}"#,
        );
        assert_eq!(field_of(huge.unwrap_err()), "find.duration_seconds");
    }
}
