//! The error answers of each operation, as `/openapi.json` states them: one response set per
//! operation (`CreateHoldProblems`, ...), each a list of [`ProblemType`]s, and one schema per
//! problem type. Statuses, `type` words and titles come from `ProblemType`, the same list
//! `error::ApiError` answers with, so a status cannot be documented for one type and answered
//! for another. Every error is documented as `application/problem+json`, the type the server
//! writes.
//!
//! A set names what its operation can answer, and nothing else: the `Book` errors its core
//! operation returns, the edge's refusals of the request's parts (the company id, the token,
//! the query, the body, its size and type), the keys (when configured), a new company past the
//! server's maximum of companies (429, on every company route), and the server not taking
//! requests or changes (503). `tests/http_openapi.rs` provokes each of these statuses but 503 and
//! finds it in the document for its operation.

use crate::http::error::{ProblemType, PROBLEM_JSON};
use crate::limits;
use std::collections::BTreeMap;
use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::response::{Response, ResponseBuilder};
use utoipa::openapi::schema::{
    AdditionalProperties, ArrayBuilder, ObjectBuilder, OneOfBuilder, Schema, SchemaType, Type,
};
use utoipa::openapi::{ContentBuilder, Ref, RefOr};

/// What an answer of this type means, for the document.
fn meaning(kind: ProblemType) -> String {
    match kind {
        ProblemType::InvalidRequest => "a malformed or invalid request: JSON, an unknown field or \
            parameter, a query string where none is taken, a bad time, `end <= start`, an \
            invalid company or resource id, a limit broken; `field` names the part at fault"
            .into(),
        ProblemType::Unauthorized => "keys are configured and the request carries no known \
            `Authorization: Bearer` key"
            .into(),
        ProblemType::Forbidden => "a valid key that does not reach this: another company's, or \
            a company key on an admin endpoint"
            .into(),
        ProblemType::NotFound => "no such token in this company (a token of another company, or \
            a segment that is not a hyphenated UUID, is also not found); on a resource's \
            configuration, the resource has none"
            .into(),
        ProblemType::MethodNotAllowed => "the path exists, the method does not".into(),
        ProblemType::Conflict => {
            "the time overlaps live reservations, listed in `conflicts`".into()
        }
        ProblemType::NoSlot => "a first-available search found no free start".into(),
        ProblemType::InvalidState => "the reservation's status does not allow this; \
            `current_status` says what it is"
            .into(),
        ProblemType::IdempotencyMismatch => {
            "the `Idempotency-Key` was used before with a different body".into()
        }
        ProblemType::OutsideHours => "the time is outside the opening hours of `resource`, or in \
            one of its closures, on the company's wall clock"
            .into(),
        ProblemType::Expired => "the hold has expired".into(),
        ProblemType::PayloadTooLarge => {
            format!(
                "the body is over {} bytes ({} on the voice routes)",
                limits::BODY_BYTES_MAX,
                limits::VOICE_BODY_BYTES_MAX
            )
        }
        ProblemType::UnsupportedMediaType => "the body is declared as something other than JSON \
            (`application/json` or a `+json` type)"
            .into(),
        ProblemType::LimitReached => "a limit is reached: the company's or the server's live \
            reservations or the company's resources (a new hold), or the server's companies (a \
            request that would start a company)"
            .into(),
        ProblemType::Unavailable => "the server is starting or draining, or the disk does not \
            take changes (nothing was changed)"
            .into(),
    }
}

/// The name of the type's schema among the document's components (`ConflictProblem`).
pub fn schema_name(kind: ProblemType) -> String {
    let words: String = kind
        .word()
        .split('_')
        .map(|word| {
            let mut chars = word.chars();
            chars
                .next()
                .map(|first| first.to_ascii_uppercase().to_string() + chars.as_str())
                .unwrap_or_default()
        })
        .collect();
    format!("{words}Problem")
}

fn one_value(kind: Type, value: serde_json::Value) -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(SchemaType::new(kind))
        .enum_values(Some([value]))
}

/// The body of an answer of this type, exactly: its `type`, `title` and `status` are fixed, and
/// it has the extra member of its type (and no other).
pub fn problem_schema(kind: ProblemType) -> Schema {
    let mut schema = ObjectBuilder::new()
        .description(Some(format!("`{}`: {}.", kind.word(), meaning(kind))))
        .property("type", one_value(Type::String, kind.word().into()))
        .required("type")
        .property("title", one_value(Type::String, kind.title().into()))
        .required("title")
        .property(
            "status",
            one_value(Type::Integer, kind.status().as_u16().into()),
        )
        .required("status")
        .property(
            "detail",
            ObjectBuilder::new().schema_type(SchemaType::new(Type::String)),
        )
        .required("detail")
        .additional_properties(Some(AdditionalProperties::FreeForm(false)));
    schema = match kind {
        ProblemType::InvalidRequest => schema
            .property(
                "field",
                ObjectBuilder::new()
                    .schema_type(SchemaType::new(Type::String))
                    .description(Some("The part of the request at fault.")),
            )
            .required("field"),
        ProblemType::Conflict => schema
            .property(
                "conflicts",
                ArrayBuilder::new()
                    .items(RefOr::Ref(Ref::from_schema_name("ConflictDto")))
                    .max_items(Some(limits::CONFLICTS_REPORTED_MAX))
                    .description(Some(
                        "What is in the way (never another caller's token or personal data).",
                    )),
            )
            .required("conflicts"),
        ProblemType::InvalidState => schema
            .property(
                "current_status",
                RefOr::Ref(Ref::from_schema_name("StatusDto")),
            )
            .required("current_status"),
        ProblemType::OutsideHours => schema
            .property(
                "resource",
                ObjectBuilder::new()
                    .schema_type(SchemaType::new(Type::String))
                    .description(Some("The resource that is not open then.")),
            )
            .required("resource"),
        _ => schema,
    };
    schema.build().into()
}

/// Every problem type's schema, named for the document's components.
pub fn problem_schemas() -> Vec<(String, RefOr<Schema>)> {
    ProblemType::ALL
        .iter()
        .map(|&kind| (schema_name(kind), RefOr::T(problem_schema(kind))))
        .collect()
}

/// The responses of `kinds`: one per status, its body the schema of its one type or one of the
/// schemas of its types, as `application/problem+json`.
pub fn problem_responses(kinds: &[ProblemType]) -> BTreeMap<String, RefOr<Response>> {
    let mut by_status: BTreeMap<u16, Vec<ProblemType>> = BTreeMap::new();
    for &kind in kinds {
        by_status
            .entry(kind.status().as_u16())
            .or_default()
            .push(kind);
    }
    by_status
        .into_iter()
        .map(|(status, kinds)| (status.to_string(), RefOr::T(response(&kinds))))
        .collect()
}

fn response(kinds: &[ProblemType]) -> Response {
    let description = kinds
        .iter()
        .map(|&kind| format!("`{}`: {}.", kind.word(), meaning(kind)))
        .collect::<Vec<_>>()
        .join(" ");
    let schema_ref = |kind: ProblemType| RefOr::Ref(Ref::from_schema_name(schema_name(kind)));
    let schema: RefOr<Schema> = match kinds {
        [kind] => schema_ref(*kind),
        _ => RefOr::T(
            kinds
                .iter()
                .fold(OneOfBuilder::new(), |one_of, &kind| {
                    one_of.item(schema_ref(kind))
                })
                .build()
                .into(),
        ),
    };
    let mut response = ResponseBuilder::new().description(description).content(
        PROBLEM_JSON,
        ContentBuilder::new().schema(Some(schema)).build(),
    );
    if kinds.contains(&ProblemType::Unauthorized) {
        response = response.header(
            "WWW-Authenticate",
            HeaderBuilder::new()
                .schema(one_value(Type::String, "Bearer".into()))
                .description(Some("The scheme the key is expected in."))
                .build(),
        );
    }
    response.build()
}

/// Declares an operation's response set: a type whose `IntoResponses` is the problem responses
/// of the listed types.
macro_rules! problem_set {
    ($(#[$doc:meta])* $name:ident: [$($kind:ident),* $(,)?]) => {
        $(#[$doc])*
        pub struct $name;

        impl $name {
            /// The problem types of this set.
            pub const KINDS: &'static [ProblemType] = &[$(ProblemType::$kind),*];
        }

        impl utoipa::IntoResponses for $name {
            fn responses() -> BTreeMap<String, RefOr<Response>> {
                problem_responses(Self::KINDS)
            }
        }
    };
}

problem_set!(
    /// `POST /holds`.
    CreateHoldProblems: [
        InvalidRequest, Unauthorized, Forbidden, Conflict, NoSlot, IdempotencyMismatch,
        OutsideHours, PayloadTooLarge, UnsupportedMediaType, LimitReached, Unavailable,
    ]
);

problem_set!(
    /// `GET /holds/{token}`.
    GetHoldProblems: [InvalidRequest, Unauthorized, Forbidden, NotFound, LimitReached, Unavailable]
);

problem_set!(
    /// `GET /holds`, `GET /availability`, the company's `GET /metrics`, `GET /settings` and
    /// `GET /resources`: reads of the company as a whole.
    CompanyReadProblems: [InvalidRequest, Unauthorized, Forbidden, LimitReached, Unavailable]
);

problem_set!(
    /// `POST /holds/{token}/confirm` and `POST /holds/{token}/extend`.
    ChangeHoldProblems: [
        InvalidRequest, Unauthorized, Forbidden, NotFound, InvalidState, Expired,
        PayloadTooLarge, UnsupportedMediaType, LimitReached, Unavailable,
    ]
);

problem_set!(
    /// `DELETE /holds/{token}`: cancelling takes no body, and an expired hold is `invalid_state`.
    CancelHoldProblems: [
        InvalidRequest, Unauthorized, Forbidden, NotFound, InvalidState, LimitReached,
        Unavailable,
    ]
);

problem_set!(
    /// `PUT /settings` and `PUT /resources/{resource}`: a JSON body, and a change (a new
    /// resource past the company's maximum of resources is 429).
    ConfigChangeProblems: [
        InvalidRequest, Unauthorized, Forbidden, PayloadTooLarge, UnsupportedMediaType,
        LimitReached, Unavailable,
    ]
);

problem_set!(
    /// `GET /resources/{resource}` and `DELETE /resources/{resource}`: 404 when the resource has
    /// no configuration.
    ResourceProblems: [InvalidRequest, Unauthorized, Forbidden, NotFound, LimitReached, Unavailable]
);

problem_set!(
    /// `GET /v1/admin/companies` and `POST /v1/admin/snapshot` (a snapshot that cannot be
    /// written is 503 too).
    AdminProblems: [InvalidRequest, Unauthorized, Forbidden, Unavailable]
);

problem_set!(
    /// `GET /metrics` (Prometheus): a query string is ignored, so no 400.
    PrometheusProblems: [Unauthorized, Forbidden, Unavailable]
);

problem_set!(
    /// `POST /v1/voice/retell/{company}` and its `/events`: a signature that does not verify
    /// is 401 (there is no bearer key, so no 403); bodies up to 1 MiB.
    VoiceRetellProblems: [
        InvalidRequest, Unauthorized, PayloadTooLarge, UnsupportedMediaType, LimitReached,
        Unavailable,
    ]
);

problem_set!(
    /// `POST /v1/voice/vapi/{company}`: the company's bearer key; bodies up to 1 MiB.
    VoiceProblems: [
        InvalidRequest, Unauthorized, Forbidden, PayloadTooLarge, UnsupportedMediaType,
        LimitReached, Unavailable,
    ]
);

problem_set!(
    /// `GET /healthz`: 503 is its answer while the server does not serve.
    HealthProblems: [Unavailable]
);

#[cfg(test)]
mod tests {
    use super::*;

    /// Goal: every problem type has a schema of its own name, fixing its word and status.
    #[test]
    fn one_schema_per_type() {
        let schemas = problem_schemas();
        assert_eq!(schemas.len(), ProblemType::ALL.len());
        assert_eq!(
            schema_name(ProblemType::InvalidRequest),
            "InvalidRequestProblem"
        );
        let conflict = serde_json::to_value(problem_schema(ProblemType::Conflict)).unwrap();
        assert_eq!(conflict["properties"]["type"]["enum"][0], "conflict");
        assert_eq!(conflict["properties"]["status"]["enum"][0], 409);
        assert!(conflict["required"]
            .as_array()
            .unwrap()
            .contains(&"conflicts".into()));
    }

    /// Goal: a status shared by several types is one response whose body is one of theirs.
    #[test]
    fn shared_status_is_one_of() {
        let responses = problem_responses(CreateHoldProblems::KINDS);
        let conflict = serde_json::to_value(&responses["409"]).unwrap();
        let one_of = &conflict["content"][PROBLEM_JSON]["schema"]["oneOf"];
        assert_eq!(one_of.as_array().unwrap().len(), 4);
        let unauthorized = serde_json::to_value(&responses["401"]).unwrap();
        assert!(unauthorized["headers"]["WWW-Authenticate"].is_object());
    }
}
