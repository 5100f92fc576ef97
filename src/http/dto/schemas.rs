//! The OpenAPI schemas of the wire's kinds of value (ids, free texts, phones, instants, lengths
//! of time, lists), built from `limits.rs`, so that `/openapi.json` states the same bounds the
//! server checks and cannot keep an old one when a limit changes. Fields and parameters name
//! them with `#[schema(schema_with = ...)]`; parameters with `#[param(value_type = ...,
//! inline)]` and one of the kind types below, because `schema_with` on a parameter drops its
//! `required` and its description.
//!
//! A schema is never narrower than what the server takes, and where it can say so, no wider:
//! lengths are counted in characters by JSON Schema and in bytes by the server, so a text of
//! multi-byte characters within the documented length may still be refused (400).
//! The `_or_null` forms are the optional body fields: the server reads `null` as "left out".

use crate::limits;
use utoipa::openapi::schema::{
    AdditionalProperties, ArrayBuilder, Object, ObjectBuilder, Schema, SchemaFormat,
};
use utoipa::openapi::schema::{KnownFormat, SchemaType, Type};
use utoipa::openapi::{Ref, RefOr};

/// What an id (company, resource, cancel reason) may contain.
const ID_PATTERN: &str = "^[A-Za-z0-9_-]+$";

/// A free text: no control characters (`char::is_control`, Unicode category Cc).
const TEXT_PATTERN: &str = r"^[^\x00-\x1F\x7F-\x9F]+$";

/// What a header value may carry (`HeaderValue::to_str`): visible ASCII, spaces and tabs.
const HEADER_TEXT_PATTERN: &str = r"^[\t\x20-\x7E]+$";

/// An instant as the server reads it: RFC 3339 with `T`, at most millisecond precision (more
/// digits only as trailing zeros), a local date from 1970 on (1969-12-31 too, which a negative
/// offset can bring to 1970 in UTC). The year 9999 with a negative offset passes the pattern
/// and is refused past 9999-12-31T23:59:59.999Z.
const INSTANT_PATTERN: &str = "^(1969-12-31|(19[7-9][0-9]|[2-9][0-9]{3})-[0-9]{2}-[0-9]{2})\
    [Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]{1,3}0*)?([Zz]|[+-][0-9]{2}:[0-9]{2})$";

/// A token in its one accepted text form: a hyphenated UUID.
const TOKEN_PATTERN: &str =
    "^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$";

fn typed(kind: Type, nullable: bool) -> ObjectBuilder {
    let schema_type = if nullable {
        SchemaType::from_iter([kind, Type::Null])
    } else {
        SchemaType::new(kind)
    };
    ObjectBuilder::new().schema_type(schema_type)
}

fn id_schema(nullable: bool) -> Object {
    typed(Type::String, nullable)
        .min_length(Some(1))
        .max_length(Some(limits::ID_BYTES_MAX))
        .pattern(Some(ID_PATTERN))
        .description(Some(format!(
            "An id: 1 to {} characters of A-Z, a-z, 0-9, '_' and '-'.",
            limits::ID_BYTES_MAX
        )))
        .build()
}

fn text_schema(nullable: bool) -> Object {
    typed(Type::String, nullable)
        .min_length(Some(1))
        .max_length(Some(limits::TEXT_BYTES_MAX))
        .pattern(Some(TEXT_PATTERN))
        .description(Some(format!(
            "1 to {} bytes of UTF-8, no control characters.",
            limits::TEXT_BYTES_MAX
        )))
        .build()
}

fn instant_schema(nullable: bool) -> Object {
    typed(Type::String, nullable)
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::DateTime)))
        .pattern(Some(INSTANT_PATTERN))
        .description(Some(
            "RFC 3339. Read with any offset, at most millisecond precision, from \
             1970-01-01T00:00:00Z to 9999-12-31T23:59:59.999Z; written in UTC.",
        ))
        .build()
}

/// How a whole number must be written: serde reads an integer field from an integer token only.
const WHOLE_NUMBER: &str = "Written as a JSON integer: `300`, not `300.0` or `3e2`.";

fn whole_number_schema(nullable: bool, minimum: i64, maximum: i64) -> Object {
    typed(Type::Integer, nullable)
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64)))
        .minimum(Some(minimum))
        .maximum(Some(maximum))
        .description(Some(WHOLE_NUMBER))
        .build()
}

/// A company or resource id, or a cancel reason.
pub fn id() -> Object {
    id_schema(false)
}

/// An optional id in a body.
pub fn id_or_null() -> Object {
    id_schema(true)
}

/// A free text (call id, service id, appointment id) in a query.
pub fn text() -> Object {
    text_schema(false)
}

/// An optional free text in a body.
pub fn text_or_null() -> Object {
    text_schema(true)
}

/// An optional phone number in a body: `+` and 6 to 15 digits.
pub fn phone_or_null() -> Object {
    typed(Type::String, true)
        .pattern(Some(format!(
            r"^\+[0-9]{{{},{}}}$",
            limits::PHONE_DIGITS_MIN,
            limits::PHONE_DIGITS_MAX
        )))
        .build()
}

/// An instant a caller sends in a query, or one the server writes.
pub fn instant() -> Object {
    instant_schema(false)
}

/// The instants of an availability answer.
pub fn instants() -> Schema {
    ArrayBuilder::new().items(instant()).build().into()
}

/// An optional instant in a body.
pub fn instant_or_null() -> Object {
    instant_schema(true)
}

/// An optional time to live of a hold in a body, in seconds.
pub fn ttl_seconds_or_null() -> Object {
    whole_number_schema(true, limits::TTL_SECONDS_MIN, limits::TTL_SECONDS_MAX)
}

/// A length of time (a duration or a step), in whole seconds.
pub fn length_seconds() -> Object {
    whole_number_schema(false, 1, limits::SPAN_SECONDS_MAX)
}

/// An optional length of time in a body, in whole seconds.
pub fn length_seconds_or_null() -> Object {
    whole_number_schema(true, 1, limits::SPAN_SECONDS_MAX)
}

/// The resources a search or availability query names.
pub fn resources() -> Schema {
    ArrayBuilder::new()
        .items(id())
        .min_items(Some(1))
        .max_items(Some(limits::QUERY_RESOURCES_MAX))
        .build()
        .into()
}

/// The optional segments of a compound hold.
pub fn segments_or_null() -> Schema {
    ArrayBuilder::new()
        .schema_type(SchemaType::from_iter([Type::Array, Type::Null]))
        .items(RefOr::Ref(Ref::from_schema_name("SegmentBody")))
        .min_items(Some(1))
        .max_items(Some(limits::SEGMENTS_MAX))
        .build()
        .into()
}

/// `limit` of a list.
pub fn list_limit() -> Object {
    typed(Type::Integer, false)
        .minimum(Some(1))
        .maximum(Some(limits::LIST_LIMIT_MAX as i64))
        .description(Some(format!(
            "Default {}, at most {}; digits only.",
            limits::LIST_LIMIT_DEFAULT,
            limits::LIST_LIMIT_MAX
        )))
        .build()
}

/// The `Idempotency-Key` header.
pub fn idempotency_key() -> Object {
    typed(Type::String, false)
        .min_length(Some(1))
        .max_length(Some(limits::IDEMPOTENCY_KEY_BYTES_MAX))
        .pattern(Some(HEADER_TEXT_PATTERN))
        .build()
}

/// The `{token}` path segment.
pub fn token() -> Object {
    typed(Type::String, false)
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::Uuid)))
        .pattern(Some(TOKEN_PATTERN))
        .build()
}

/// A time of day as opening hours write it: `HH:MM`, 24-hour, `24:00` only as a close (the
/// schema cannot tell an open from a close, so `24:00` as an open passes it and is refused, 400).
const CLOCK_PATTERN: &str = "^(([01][0-9]|2[0-3]):[0-5][0-9]|24:00)$";

/// A resource's label: a name a person reads, no control characters (empty is allowed).
const LABEL_PATTERN: &str = r"^[^\x00-\x1F\x7F-\x9F]*$";

/// An IANA time zone name, as a company's settings answer it.
pub fn time_zone() -> Object {
    typed(Type::String, false)
        .min_length(Some(1))
        .description(Some(
            "An IANA time zone name (`Europe/Berlin`, `UTC`); any other name is refused (400).",
        ))
        .build()
}

/// An optional time zone in a settings body.
pub fn time_zone_or_null() -> Object {
    let mut schema = time_zone();
    schema.schema_type = SchemaType::from_iter([Type::String, Type::Null]);
    schema
}

/// The locales of spoken answers.
const LOCALES: [&str; 2] = ["en", "de"];

/// The language of spoken answers, as the settings answer it.
pub fn locale() -> Object {
    one_of(&LOCALES)
}

/// An optional locale in a settings body.
pub fn locale_or_null() -> Object {
    typed(Type::String, true)
        .enum_values(Some(LOCALES.iter().copied().map(Some).chain([None])))
        .build()
}

fn minutes_schema(nullable: bool) -> Object {
    let mut schema =
        whole_number_schema(nullable, 1, i64::from(limits::DEFAULT_DURATION_MINUTES_MAX));
    schema.format = Some(SchemaFormat::KnownFormat(KnownFormat::Int32));
    schema
}

/// The length of a voice agent's holds when it names none, in minutes.
pub fn duration_minutes() -> Object {
    minutes_schema(false)
}

/// An optional default length in a settings body, in minutes.
pub fn duration_minutes_or_null() -> Object {
    minutes_schema(true)
}

/// The time to live of a hold that names none, in seconds.
pub fn ttl_seconds() -> Object {
    whole_number_schema(false, limits::TTL_SECONDS_MIN, limits::TTL_SECONDS_MAX)
}

fn capacity_schema(nullable: bool) -> Object {
    let mut schema = whole_number_schema(nullable, 1, i64::from(limits::RESOURCE_CAPACITY_MAX));
    schema.format = Some(SchemaFormat::KnownFormat(KnownFormat::Int32));
    schema
}

/// A resource's capacity: how many live reservations may overlap at any instant.
pub fn capacity() -> Object {
    capacity_schema(false)
}

/// An optional capacity in a resource body (default 1).
pub fn capacity_or_null() -> Object {
    capacity_schema(true)
}

/// A resource's label, or `null` when it has none.
pub fn label_or_null() -> Object {
    typed(Type::String, true)
        .max_length(Some(limits::RESOURCE_LABEL_CHARS_MAX))
        .pattern(Some(LABEL_PATTERN))
        .description(Some(format!(
            "At most {} characters, no control characters.",
            limits::RESOURCE_LABEL_CHARS_MAX
        )))
        .build()
}

/// One opening interval: `["HH:MM", "HH:MM"]`, open then close.
fn opening_interval() -> ArrayBuilder {
    let clock = typed(Type::String, false).pattern(Some(CLOCK_PATTERN));
    ArrayBuilder::new()
        .items(clock)
        .min_items(Some(2))
        .max_items(Some(2))
        .description(Some(
            "`[open, close)`: `HH:MM`, 24-hour; close after open, `24:00` for the end of the day.",
        ))
}

/// A resource's weekly opening hours, or `null` when it is open around the clock.
pub fn hours_or_null() -> Object {
    let day = ArrayBuilder::new()
        .items(opening_interval())
        .max_items(Some(limits::OPENING_INTERVALS_PER_DAY_MAX))
        .description(Some(
            "The day's opening intervals, sorted, not overlapping (touching is allowed).",
        ))
        .build();
    let mut week = typed(Type::Object, true)
        .additional_properties(Some(AdditionalProperties::FreeForm(false)))
        .description(Some(
            "Opening intervals per weekday, on the wall clock of the company's time zone; a \
             weekday left out is closed. `null` (or left out): open around the clock.",
        ));
    for weekday in crate::core::schedule::WEEKDAYS {
        week = week.property(weekday, day.clone());
    }
    week.build()
}

/// A resource's closures, a request's or an answer's: absolute ranges when it is not open.
fn closures_schema(nullable: bool, item: &str) -> Schema {
    let schema_type = if nullable {
        SchemaType::from_iter([Type::Array, Type::Null])
    } else {
        SchemaType::new(Type::Array)
    };
    ArrayBuilder::new()
        .schema_type(schema_type)
        .items(RefOr::Ref(Ref::from_schema_name(item)))
        .max_items(Some(limits::CLOSURES_PER_RESOURCE_MAX))
        .build()
        .into()
}

/// The optional closures of a resource body (default: none).
pub fn closures_or_null() -> Schema {
    closures_schema(true, "ClosureBody")
}

/// The closures of a resource, as answered.
pub fn closures() -> Schema {
    closures_schema(false, "ClosureDto")
}

/// An instant the server writes on the company's wall clock: RFC 3339 with the offset of the
/// company's time zone at that instant.
pub fn local_instant() -> Object {
    typed(Type::String, false)
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::DateTime)))
        .pattern(Some(INSTANT_PATTERN))
        .description(Some(
            "RFC 3339 with the offset of the company's time zone at that instant (`Z` where \
             it is zero; in UTC where the zone's offset is not whole minutes or the local \
             year would pass 9999).",
        ))
        .build()
}

/// Declares a kind of value for parameters: a type whose schema is `$schema`.
macro_rules! value_kind {
    ($(#[$doc:meta])* $name:ident => $schema:path) => {
        $(#[$doc])*
        pub struct $name;

        impl utoipa::PartialSchema for $name {
            fn schema() -> RefOr<Schema> {
                RefOr::T($schema().into())
            }
        }

        impl utoipa::ToSchema for $name {}
    };
}

value_kind!(
    /// An id parameter: a company, a resource, a cancel reason.
    Id => id
);
value_kind!(
    /// A free-text parameter.
    Text => text
);
value_kind!(
    /// An instant parameter.
    Time => instant
);
value_kind!(
    /// A length of time parameter, in whole seconds.
    Seconds => length_seconds
);
value_kind!(
    /// A list's `limit`.
    ListLimit => list_limit
);
value_kind!(
    /// The resources of an availability query, each a parameter of its own.
    Resources => resources
);
value_kind!(
    /// The `Idempotency-Key` header.
    HeaderText => idempotency_key
);
value_kind!(
    /// The `{token}` path segment.
    Token => token
);

/// A string that is one of `words`.
fn one_of(words: &[&str]) -> Object {
    typed(Type::String, false)
        .enum_values(Some(words.iter().copied()))
        .build()
}

/// What kind of reservation blocked a hold.
pub fn conflict_kind() -> Object {
    one_of(&["hold", "booking"])
}

/// How a criterion's value must compare with its target.
pub fn comparison() -> Object {
    one_of(&[">", "<"])
}

/// The names of the seed system's criteria, as the metrics answer lists them (a test holds
/// this list to the report's).
pub const CRITERION_NAMES: [&str; 4] = [
    "conversion_rate",
    "error_rate",
    "avg_time_to_conversion_seconds",
    "booking_success_rate",
];

/// The seed system's criteria, by name.
pub fn criterion_name() -> Object {
    one_of(&CRITERION_NAMES)
}

/// What `/healthz` answers when it is well.
pub fn health_status() -> Object {
    one_of(&["ok"])
}

/// A webhook destination as the server takes it: `http://` or `https://` (any case), then no
/// whitespace or control character (a URL's spaces are percent-encoded).
const WEBHOOK_URL_PATTERN: &str = r"^[Hh][Tt][Tt][Pp][Ss]?://[^\s\x00-\x1F\x7F]+$";

/// A Standard Webhooks secret: `whsec_` and standard base64 with its padding.
const WEBHOOK_SECRET_PATTERN: &str = "^whsec_[A-Za-z0-9+/]+={0,2}$";

/// A webhook endpoint's URL.
pub fn webhook_url() -> Object {
    typed(Type::String, false)
        .max_length(Some(limits::WEBHOOK_URL_BYTES_MAX))
        .pattern(Some(WEBHOOK_URL_PATTERN))
        .description(Some(format!(
            "An absolute http or https URL of at most {} bytes, without a user name or \
             password. Its host must resolve to public addresses only (unless the server runs \
             with --webhook-allow-private), or the PUT is refused (400).",
            limits::WEBHOOK_URL_BYTES_MAX
        )))
        .build()
}

fn event_types_schema(nullable: bool) -> Schema {
    let names: Vec<&str> = crate::core::events::EventKind::ALL
        .iter()
        .map(|kind| kind.as_str())
        .collect();
    let mut array = ArrayBuilder::new().items(one_of(&names)).min_items(Some(1));
    if nullable {
        array = array.schema_type(SchemaType::from_iter([Type::Array, Type::Null]));
    }
    array.build().into()
}

/// The event types an endpoint takes.
pub fn event_types() -> Schema {
    event_types_schema(false)
}

/// The optional event types of a webhook body (left out: every type).
pub fn event_types_or_null() -> Schema {
    event_types_schema(true)
}

/// An optional Standard Webhooks secret in a body, or in the answer of the `PUT` that set it.
pub fn webhook_secret_or_null() -> Object {
    let prefix = crate::webhooks::signature::SECRET_PREFIX.len();
    typed(Type::String, true)
        .min_length(Some(
            prefix + limits::WEBHOOK_SECRET_BYTES_MIN.div_ceil(3) * 4,
        ))
        .max_length(Some(
            prefix + limits::WEBHOOK_SECRET_BYTES_MAX.div_ceil(3) * 4,
        ))
        .pattern(Some(WEBHOOK_SECRET_PATTERN))
        .description(Some(format!(
            "`whsec_` and the standard base64 of {} to {} random bytes.",
            limits::WEBHOOK_SECRET_BYTES_MIN,
            limits::WEBHOOK_SECRET_BYTES_MAX
        )))
        .build()
}

/// Where an endpoint's deliveries stand.
pub fn webhook_state() -> Object {
    one_of(&["ok", "retrying", "failing"])
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Goal: the criterion names the document lists are the ones a metrics answer carries.
    #[test]
    fn criterion_names_are_the_reports() {
        let report = crate::core::metrics::Metrics::default().report(0, 0);
        let names: Vec<&str> = report.criteria.iter().map(|c| c.name).collect();
        assert_eq!(names, CRITERION_NAMES);
    }
}
