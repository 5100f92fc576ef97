//! The request parts a handler receives, each checked on the way in: the company (after the key
//! check, so a handler cannot forget it), the token, the resource, the `Idempotency-Key`, and
//! the JSON body.
//!
//! The body extractor is ours rather than `web::Json` with a `JsonConfig` error handler because
//! the API promises that `detail` names the field at fault, and `serde_json` errors do not name
//! it ("invalid type: string, expected i64 at line 1 column 17"); `serde_path_to_error` does
//! ("find.duration_seconds"), and it needs the deserializer in hand. Path segments are read
//! raw from the match info and checked against the id alphabet and the UUID form, so no serde
//! step is left for a `PathConfig` or `QueryConfig` handler to catch.
//!
//! Handlers list `CompanyAccess` (or `AdminAccess`) first: actix resolves extractors in order
//! and stops at the first error, so an unauthorised caller gets 401/403 before any parsing.

use crate::core::command::validate_id;
use crate::core::error::BookError;
use crate::http::dto::{schemas, ObjectOnly};
use crate::http::error::ApiError;
use crate::http::AppState;
use crate::limits;
use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::web::{self, BytesMut};
use actix_web::{FromRequest, HttpRequest};
use futures::future::{ready, LocalBoxFuture, Ready};
use futures::StreamExt;
use serde::de::DeserializeOwned;
use utoipa::IntoParams;
use uuid::Uuid;

/// The length of a token in its one accepted text form, hyphenated (`8-4-4-4-12` hex digits).
const TOKEN_TEXT_BYTES: usize = 36;

fn state(request: &HttpRequest) -> Result<&AppState, ApiError> {
    request
        .app_data::<web::Data<AppState>>()
        .map(|data| data.get_ref())
        .ok_or_else(|| ApiError::Unavailable("the server's state is not installed".into()))
}

/// A company the request's key may reach, with a valid id. As a parameter of `/openapi.json`,
/// the `{company}` path segment.
#[derive(Clone, Debug, IntoParams)]
#[into_params(names("company"), parameter_in = Path)]
pub struct CompanyAccess(
    /// The company.
    #[param(value_type = schemas::Id, inline)]
    pub String,
);

impl FromRequest for CompanyAccess {
    type Error = ApiError;
    type Future = Ready<Result<CompanyAccess, ApiError>>;

    fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready((|| {
            let company = request.match_info().get("company").unwrap_or_default();
            let authorization = request.headers().get(header::AUTHORIZATION);
            state(request)?
                .keys
                .authorize_company(authorization, company)?;
            validate_id("company", company)?;
            Ok(CompanyAccess(company.to_owned()))
        })())
    }
}

/// A request carrying the admin key (or any request, on an open server).
#[derive(Clone, Copy, Debug)]
pub struct AdminAccess;

impl FromRequest for AdminAccess {
    type Error = ApiError;
    type Future = Ready<Result<AdminAccess, ApiError>>;

    fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
        let authorization = request.headers().get(header::AUTHORIZATION);
        ready(
            state(request)
                .and_then(|state| state.keys.authorize_admin(authorization))
                .map(|()| AdminAccess),
        )
    }
}

/// The `{token}` path segment. A text that is not a hyphenated UUID names no reservation, so it
/// is answered like an unknown token: 404 `not_found`.
#[derive(Clone, Copy, Debug, IntoParams)]
#[into_params(names("token"), parameter_in = Path)]
pub struct TokenPath(
    /// The reservation's token (a hyphenated UUID; any other text is answered 404).
    #[param(value_type = schemas::Token, inline)]
    pub Uuid,
);

impl FromRequest for TokenPath {
    type Error = ApiError;
    type Future = Ready<Result<TokenPath, ApiError>>;

    fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
        let text = request.match_info().get("token").unwrap_or_default();
        let token = (text.len() == TOKEN_TEXT_BYTES)
            .then(|| Uuid::try_parse(text).ok())
            .flatten();
        ready(
            token
                .map(TokenPath)
                .ok_or(ApiError::Book(BookError::NotFound)),
        )
    }
}

/// The `{resource}` path segment of a resource's configuration, a valid id. A text that is not
/// one is 400 naming `resource`, answered before any company actor hears of it.
#[derive(Clone, Debug, IntoParams)]
#[into_params(names("resource"), parameter_in = Path)]
pub struct ResourcePath(
    /// The resource.
    #[param(value_type = schemas::Id, inline)]
    pub String,
);

impl FromRequest for ResourcePath {
    type Error = ApiError;
    type Future = Ready<Result<ResourcePath, ApiError>>;

    fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
        let resource = request.match_info().get("resource").unwrap_or_default();
        ready(
            validate_id("resource", resource)
                .map(|()| ResourcePath(resource.to_owned()))
                .map_err(ApiError::from),
        )
    }
}

/// The `{id}` path segment of a webhook endpoint, a valid id. A text that is not one is 400
/// naming `id`, answered before any company actor hears of it.
#[derive(Clone, Debug, IntoParams)]
#[into_params(names("id"), parameter_in = Path)]
pub struct WebhookPath(
    /// The endpoint.
    #[param(value_type = schemas::Id, inline)]
    pub String,
);

impl FromRequest for WebhookPath {
    type Error = ApiError;
    type Future = Ready<Result<WebhookPath, ApiError>>;

    fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
        let id = request.match_info().get("id").unwrap_or_default();
        ready(
            validate_id("id", id)
                .map(|()| WebhookPath(id.to_owned()))
                .map_err(ApiError::from),
        )
    }
}

/// The `Idempotency-Key` header, if given once (its length is checked with the request).
#[derive(Clone, Debug, Default, IntoParams)]
#[into_params(names("Idempotency-Key"), parameter_in = Header)]
pub struct IdempotencyKey(
    /// A retry with the same key and body answers the first result for 24 hours; the same key
    /// with another body is 409 `idempotency_mismatch`.
    #[param(value_type = schemas::HeaderText, inline, required = false)]
    pub Option<String>,
);

/// The header's name.
pub const IDEMPOTENCY_KEY: &str = "idempotency-key";

impl FromRequest for IdempotencyKey {
    type Error = ApiError;
    type Future = Ready<Result<IdempotencyKey, ApiError>>;

    fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
        let mut values = request.headers().get_all(IDEMPOTENCY_KEY);
        let key = match (values.next(), values.next()) {
            (None, _) => Ok(None),
            (Some(_), Some(_)) => Err(ApiError::invalid(
                "Idempotency-Key",
                "must be given at most once",
            )),
            (Some(value), None) => value
                .to_str()
                .map(|text| Some(text.to_owned()))
                .map_err(|_| ApiError::invalid("Idempotency-Key", "must be visible ASCII")),
        };
        ready(key.map(IdempotencyKey))
    }
}

/// A required JSON body, parsed strictly (see the module doc).
#[derive(Debug)]
pub struct StrictJson<T>(pub T);

/// An optional JSON body: an empty body is `T::default()`.
#[derive(Debug)]
pub struct OptionalJson<T>(pub T);

impl<T: DeserializeOwned + 'static> FromRequest for StrictJson<T> {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<StrictJson<T>, ApiError>>;

    fn from_request(request: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let body = read_body(request, payload);
        Box::pin(async move {
            let bytes = body.await?;
            if bytes.is_empty() {
                return Err(ApiError::invalid("body", "a JSON object is required"));
            }
            parse_json(&bytes).map(StrictJson)
        })
    }
}

impl<T: DeserializeOwned + Default + 'static> FromRequest for OptionalJson<T> {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<OptionalJson<T>, ApiError>>;

    fn from_request(request: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let body = read_body(request, payload);
        Box::pin(async move {
            let bytes = body.await?;
            if bytes.is_empty() {
                return Ok(OptionalJson(T::default()));
            }
            parse_json(&bytes).map(OptionalJson)
        })
    }
}

/// Checks the declared type and size, then reads the body up to `limits::BODY_BYTES_MAX`. The
/// checks run before the future is returned so that no byte is read for a refused body.
fn read_body(
    request: &HttpRequest,
    payload: &mut Payload,
) -> LocalBoxFuture<'static, Result<BytesMut, ApiError>> {
    read_body_up_to(request, payload, limits::BODY_BYTES_MAX)
}

/// [`read_body`] with another bound, in bytes (the voice routes take whole call transcripts).
pub fn read_body_up_to(
    request: &HttpRequest,
    payload: &mut Payload,
    bytes_max: usize,
) -> LocalBoxFuture<'static, Result<BytesMut, ApiError>> {
    let declared = match check_headers(request, bytes_max) {
        Ok(declared) => declared,
        Err(error) => return Box::pin(ready(Err(error))),
    };
    let mut payload = payload.take();
    Box::pin(async move {
        // Sized once for a declared length (a large voice body would otherwise be copied each
        // time the buffer grows); never more than the bound, whatever a header claims.
        let mut body =
            BytesMut::with_capacity(declared.unwrap_or(0).min(bytes_max as u64) as usize);
        while let Some(chunk) = payload.next().await {
            let chunk = chunk.map_err(|error| match error {
                actix_web::error::PayloadError::Overflow => ApiError::PayloadTooLarge { bytes_max },
                other => ApiError::invalid("body", format!("could not be read: {other}")),
            })?;
            if body.len() + chunk.len() > bytes_max {
                return Err(ApiError::PayloadTooLarge { bytes_max });
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    })
}

/// Checks the declared type and length; answers the declared length, if any.
fn check_headers(request: &HttpRequest, bytes_max: usize) -> Result<Option<u64>, ApiError> {
    let headers = request.headers();
    if let Some(value) = headers.get(header::CONTENT_TYPE) {
        let text = value.to_str().unwrap_or("(not text)");
        let essence = text.split(';').next().unwrap_or("").trim();
        let json = essence.eq_ignore_ascii_case("application/json")
            || essence.len() > 5
                && essence.as_bytes()[essence.len() - 5..].eq_ignore_ascii_case(b"+json");
        if !json {
            return Err(ApiError::UnsupportedMediaType {
                content_type: text.chars().take(limits::ID_BYTES_MAX).collect(),
            });
        }
    }
    if let Some(value) = headers.get(header::CONTENT_LENGTH) {
        let length = value
            .to_str()
            .ok()
            .and_then(|text| text.parse::<u64>().ok());
        match length {
            Some(length) if length > bytes_max as u64 => {
                return Err(ApiError::PayloadTooLarge { bytes_max })
            }
            Some(length) => return Ok(Some(length)),
            None => return Err(ApiError::invalid("Content-Length", "must be a number")),
        }
    }
    Ok(None)
}

/// Parses one JSON object, naming the field at fault on error, and refuses trailing bytes.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value: ObjectOnly<T> =
        serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
            let path = error.path().to_string();
            let inner = error.into_inner();
            if inner.is_data() && path != "." {
                ApiError::invalid(path, inner.to_string())
            } else if inner.is_data() {
                ApiError::invalid("body", inner.to_string())
            } else {
                ApiError::invalid("body", format!("is not valid JSON: {inner}"))
            }
        })?;
    deserializer
        .end()
        .map_err(|_| ApiError::invalid("body", "has data after the JSON value"))?;
    Ok(value.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::dto::HoldBody;

    fn field(bytes: &[u8]) -> String {
        match parse_json::<HoldBody>(bytes) {
            Err(ApiError::Book(BookError::InvalidRequest { field, .. })) => field,
            other => panic!("expected an invalid request, got {other:?}"),
        }
    }

    /// Goal: serde errors become 400s that name the field, wherever it sits.
    #[test]
    fn errors_name_the_field() {
        assert_eq!(field(br#"{"ttl_seconds":"300"}"#), "ttl_seconds");
        assert_eq!(field(br#"{"ttl_seconds":1e400}"#), "body");
        assert_eq!(
            field(br#"{"segments":[{"resource":"a","start":"yesterday","end":"x"}]}"#),
            "segments[0].start"
        );
        assert_eq!(field(br#"{"find":{"resources":[1]}}"#), "find.resources[0]");
        assert_eq!(field(br#"{"resource":"a","start":"#), "body");
        assert_eq!(field(b"{\"call_id\":\"\xff\"}"), "body");
        assert_eq!(field(br#"{} {}"#), "body");
        assert_eq!(field(br#"["r1", "2026-12-01T10:00:00Z"]"#), "body");
        assert_eq!(field(br#"{"find":["a"]}"#), "find");
        assert_eq!(field(br#"{"segments":[["a"]]}"#), "segments[0]");
        let unknown = parse_json::<HoldBody>(br#"{"resourse":"a"}"#).unwrap_err();
        assert!(unknown.to_string().contains("resourse"), "{unknown}");
    }
}
