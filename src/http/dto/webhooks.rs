//! Webhook endpoints on the wire: the body of `PUT .../webhooks/{id}`, its stage two into the
//! core's checked `WebhookConfig`, and the answers of the webhook routes.
//!
//! Stage two checks what needs no network: the URL's form (`http` or `https`, no credentials),
//! each event type, and the secret's form (`whsec_` and base64 of 24 to 64 bytes). Where the
//! URL's host resolves to is asked by the handler (it is a DNS lookup), and again at every
//! delivery.

use crate::actors::company::WebhookEntry;
use crate::core::error::BookError;
use crate::core::events::EventKind;
use crate::core::webhooks::{EventFilter, WebhookConfig};
use crate::http::dto::schemas;
use crate::webhooks::signature::{self, SecretError};
use crate::webhooks::{destination, DeliveryStatus};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// `PUT .../webhooks/{id}`: where to deliver, which event types, and the signing secret.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookBody {
    /// An `http` or `https` URL whose host resolves to public addresses only (unless the server
    /// runs with `--webhook-allow-private`).
    #[schema(schema_with = schemas::webhook_url, example = "https://app.example/hooks/holdfast")]
    pub url: String,
    /// The event types to deliver; left out (or `null`), every type.
    #[schema(schema_with = schemas::event_types_or_null)]
    pub events: Option<Vec<String>>,
    /// The Standard Webhooks secret, `whsec_` + base64 of 24 to 64 bytes. Left out (or `null`),
    /// a new endpoint gets one drawn at random (answered once, by this `PUT`) and an endpoint
    /// that exists keeps its own.
    #[schema(schema_with = schemas::webhook_secret_or_null)]
    pub secret: Option<String>,
}

/// A checked body: the configuration, and whether its secret is new (given by the caller, or
/// drawn because none was given).
#[derive(Clone, Debug)]
pub struct WebhookChange {
    pub config: WebhookConfig,
    /// The secret as the caller writes it, drawn when the body had none.
    pub secret_text: String,
    /// The body had no secret: an endpoint that exists keeps its own.
    pub secret_drawn: bool,
}

impl WebhookBody {
    /// Stage two (the error names the field): the URL's form, the event types, the secret.
    pub fn into_change(self) -> Result<WebhookChange, BookError> {
        let url = destination::parse_url(&self.url)
            .map_err(|e| BookError::invalid("url", e.to_string()))?;
        let events = match &self.events {
            Some(names) => EventFilter::named("events", names)?,
            None => EventFilter::all(),
        };
        let secret_drawn = self.secret.is_none();
        let secret_text = self.secret.unwrap_or_else(signature::new_secret);
        let key = signature::decode_secret(&secret_text)
            .map_err(|e: SecretError| BookError::invalid("secret", e.to_string()))?;
        Ok(WebhookChange {
            config: WebhookConfig::new(url, events, key)?,
            secret_text,
            secret_drawn,
        })
    }
}

/// One webhook endpoint and how its deliveries stand.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct WebhookDto {
    #[schema(schema_with = schemas::id)]
    pub id: String,
    #[schema(schema_with = schemas::webhook_url)]
    pub url: String,
    /// The event types delivered.
    #[schema(schema_with = schemas::event_types)]
    pub events: Vec<&'static str>,
    /// `ok`: delivering; `retrying`: attempts fail and are retried with growing pauses;
    /// `failing`: they have failed for 24 hours (still tried hourly, nothing skipped).
    #[schema(schema_with = schemas::webhook_state)]
    pub state: &'static str,
    /// Every event up to this `seq` was acknowledged (or is not of a type delivered here).
    #[schema(minimum = 0)]
    pub last_acknowledged_seq: u64,
    /// Events of the types delivered here not acknowledged yet.
    #[schema(minimum = 0)]
    pub pending: u64,
    /// Why the last failed attempt failed.
    #[schema(required = true)]
    pub last_error: Option<String>,
    /// Set when events this endpoint had not received were dropped past the bound kept for it:
    /// those before this `seq` never reach it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lost_before_seq: Option<u64>,
    /// The secret, answered only by the `PUT` that set it.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(schema_with = schemas::webhook_secret_or_null)]
    pub secret: Option<String>,
}

impl WebhookDto {
    pub fn new(entry: &WebhookEntry, status: &DeliveryStatus) -> WebhookDto {
        let config = &entry.endpoint.config;
        WebhookDto {
            id: entry.id.clone(),
            url: config.url().as_str().to_string(),
            events: config
                .events()
                .kinds()
                .into_iter()
                .map(EventKind::as_str)
                .collect(),
            state: status.state.as_str(),
            last_acknowledged_seq: entry.endpoint.acknowledged_seq,
            pending: entry.pending,
            last_error: status.last_error.clone(),
            lost_before_seq: entry.endpoint.lost_before_seq,
            secret: None,
        }
    }
}

/// `GET .../webhooks`: every endpoint, sorted by id.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct WebhooksDto {
    pub webhooks: Vec<WebhookDto>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(url: &str, events: Option<Vec<&str>>, secret: Option<&str>) -> WebhookBody {
        WebhookBody {
            url: url.into(),
            events: events.map(|e| e.into_iter().map(String::from).collect()),
            secret: secret.map(String::from),
        }
    }

    fn field(body: WebhookBody) -> String {
        super::super::field_of(body.into_change().unwrap_err())
    }

    /// Goal: each part of a bad body is refused naming its field; a good one draws a secret
    /// when it gives none.
    #[test]
    fn bodies_are_checked_field_by_field() {
        assert_eq!(field(body("ftp://app.example/", None, None)), "url");
        assert_eq!(field(body("https://u:p@app.example/", None, None)), "url");
        let unknown = body(
            "https://app.example/",
            Some(vec!["reservation.moved"]),
            None,
        );
        assert_eq!(field(unknown), "events");
        assert_eq!(
            field(body("https://app.example/", Some(vec![]), None)),
            "events"
        );
        for secret in [
            "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            "whsec_!!",
            "whsec_c2hvcnQ=",
        ] {
            assert_eq!(
                field(body("https://app.example/", None, Some(secret))),
                "secret"
            );
        }
        let drawn = body("https://app.example/", None, None)
            .into_change()
            .unwrap();
        assert!(drawn.secret_drawn);
        assert!(drawn.secret_text.starts_with("whsec_"));
        let given = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        let kept = body(
            "https://app.example/",
            Some(vec!["reservation.expired"]),
            Some(given),
        );
        let kept = kept.into_change().unwrap();
        assert!(!kept.secret_drawn);
        assert_eq!(kept.secret_text, given);
        assert_eq!(kept.config.events().kinds(), [EventKind::Expired]);
    }
}
