//! A company's webhook endpoints as the book keeps them: where each delivers (a checked http or
//! https URL), which event types it takes, the key it signs with, and how far it got (the last
//! `seq` its receiver acknowledged). Delivering is not the core's business (the webhook actor
//! sends, over the network); the core keeps what must survive a restart, changed only through
//! logged commands like everything else, and holds on to the events an endpoint has not
//! acknowledged yet (see [`crate::core::events::EventLog`]).

use crate::core::command::validate_id;
use crate::core::error::BookError;
use crate::core::events::EventKind;
use crate::limits::{
    WEBHOOK_SECRET_BYTES_MAX as SECRET_BYTES_MAX, WEBHOOK_SECRET_BYTES_MIN as SECRET_BYTES_MIN,
};
use std::sync::Arc;
use url::Url;

/// The event types an endpoint takes: a set of [`EventKind`]s.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct EventFilter {
    /// One bit per kind, at its [`EventKind::code`].
    bits: u8,
}

impl EventFilter {
    /// Every event type.
    pub fn all() -> EventFilter {
        EventFilter::of(EventKind::ALL)
    }

    /// These event types (at least one; an empty set is refused by [`EventFilter::named`]).
    pub fn of(kinds: impl IntoIterator<Item = EventKind>) -> EventFilter {
        let bits = kinds
            .into_iter()
            .fold(0u8, |bits, kind| bits | 1 << kind.code());
        EventFilter { bits }
    }

    /// The filter of API type names (`field` names them in an error): each must be known, and
    /// at least one given.
    pub fn named<S: AsRef<str>>(field: &str, names: &[S]) -> Result<EventFilter, BookError> {
        let mut kinds = Vec::with_capacity(names.len());
        for name in names {
            let name = name.as_ref();
            let kind = EventKind::parse(name).ok_or_else(|| {
                let known: Vec<&str> = EventKind::ALL.iter().map(|k| k.as_str()).collect();
                BookError::invalid(
                    field,
                    format!("unknown event type {name:?}; known: {}", known.join(", ")),
                )
            })?;
            kinds.push(kind);
        }
        if kinds.is_empty() {
            return Err(BookError::invalid(
                field,
                "must name at least one event type (leave it out for every type)",
            ));
        }
        Ok(EventFilter::of(kinds))
    }

    /// Whether the endpoint takes events of `kind`.
    pub fn takes(self, kind: EventKind) -> bool {
        self.bits & (1 << kind.code()) != 0
    }

    /// The kinds taken, in [`EventKind::ALL`] order.
    pub fn kinds(self) -> Vec<EventKind> {
        EventKind::ALL
            .into_iter()
            .filter(|kind| self.takes(*kind))
            .collect()
    }

    /// The stored form: the kinds' codes.
    pub fn codes(self) -> Vec<u8> {
        self.kinds().into_iter().map(EventKind::code).collect()
    }

    /// The filter of stored codes (`None` when a code is unknown or none is given).
    pub fn from_codes(codes: &[u8]) -> Option<EventFilter> {
        let kinds: Option<Vec<EventKind>> =
            codes.iter().map(|c| EventKind::from_code(*c)).collect();
        kinds.filter(|k| !k.is_empty()).map(EventFilter::of)
    }
}

/// What a caller configures of an endpoint, checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WebhookConfig {
    url: Url,
    events: EventFilter,
    /// The signing key's bytes (the `whsec_` secret decoded).
    secret: Arc<[u8]>,
}

impl WebhookConfig {
    /// An endpoint's configuration; the key must hold [`SECRET_BYTES_MIN`] to
    /// [`SECRET_BYTES_MAX`] bytes (refused naming `secret`). The URL is checked by its parser
    /// (`crate::webhooks::destination::parse_url`): where it may resolve to is the edge's
    /// question, asked again at every delivery.
    pub fn new(url: Url, events: EventFilter, secret: Vec<u8>) -> Result<WebhookConfig, BookError> {
        if !(SECRET_BYTES_MIN..=SECRET_BYTES_MAX).contains(&secret.len()) {
            return Err(BookError::invalid(
                "secret",
                format!("must hold {SECRET_BYTES_MIN} to {SECRET_BYTES_MAX} bytes"),
            ));
        }
        Ok(WebhookConfig {
            url,
            events,
            secret: secret.into(),
        })
    }

    pub fn url(&self) -> &Url {
        &self.url
    }

    pub fn events(&self) -> EventFilter {
        self.events
    }

    pub fn secret(&self) -> &Arc<[u8]> {
        &self.secret
    }

    /// This configuration with `other`'s signing key.
    pub fn with_secret_of(self, other: &WebhookConfig) -> WebhookConfig {
        WebhookConfig {
            secret: other.secret.clone(),
            ..self
        }
    }
}

/// One endpoint: its configuration and its progress.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WebhookEndpoint {
    pub config: WebhookConfig,
    /// Every event up to this `seq` is acknowledged (or was not for this endpoint); delivery
    /// resumes after it.
    pub acknowledged_seq: u64,
    /// Set when events this endpoint had not acknowledged were dropped past the bound on what is
    /// kept for it: every event before this `seq` that it had not received is lost to it.
    pub lost_before_seq: Option<u64>,
}

/// Checks an endpoint id: the rules of every id in a path.
pub fn validate_webhook_id(id: &str) -> Result<(), BookError> {
    validate_id("id", id)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Goal: a filter takes exactly the kinds named, survives its stored form, and refuses an
    /// unknown name or an empty list naming the field.
    #[test]
    fn filters_take_what_they_name() {
        let filter = EventFilter::named("events", &["reservation.expired"]).unwrap();
        assert!(filter.takes(EventKind::Expired));
        assert!(!filter.takes(EventKind::Created));
        assert_eq!(EventFilter::from_codes(&filter.codes()), Some(filter));
        assert_eq!(EventFilter::all().kinds(), EventKind::ALL.to_vec());
        let unknown = EventFilter::named("events", &["reservation.moved"]).unwrap_err();
        assert_eq!(unknown.field(), Some("events"));
        let empty = EventFilter::named::<&str>("events", &[]).unwrap_err();
        assert_eq!(empty.field(), Some("events"));
        assert_eq!(EventFilter::from_codes(&[9]), None);
        assert_eq!(EventFilter::from_codes(&[]), None);
    }

    /// Goal: a key shorter or longer than the specification allows is refused naming `secret`.
    #[test]
    fn keys_are_bounded() {
        let url = Url::parse("https://app.example/h").unwrap();
        for bytes in [SECRET_BYTES_MIN - 1, SECRET_BYTES_MAX + 1] {
            let refused = WebhookConfig::new(url.clone(), EventFilter::all(), vec![7; bytes]);
            assert_eq!(refused.unwrap_err().field(), Some("secret"), "{bytes}");
        }
        assert!(WebhookConfig::new(url, EventFilter::all(), vec![7; 32]).is_ok());
    }
}
