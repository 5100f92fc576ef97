//! The company's webhook endpoints as the book keeps them: configured by an operator, advanced by
//! the webhook actor as receivers acknowledge. The book pins the events after the lowest
//! acknowledged `seq`, so that an endpoint resumes where it stopped, also after a restart.

use super::Book;
use crate::core::error::BookError;
use crate::core::webhooks::{validate_webhook_id, WebhookConfig, WebhookEndpoint};
use crate::limits;
use std::sync::Arc;

impl Book {
    /// Configures endpoint `id` (replacing its configuration, keeping its progress; with
    /// `keep_secret`, an endpoint that exists keeps its signing key instead of `config`'s);
    /// answers whether it is new and the configuration it has now. A new endpoint gets the
    /// events after now: the last `seq` made counts as acknowledged.
    pub fn put_webhook(
        &mut self,
        id: &str,
        mut config: WebhookConfig,
        keep_secret: bool,
        now_ms: i64,
    ) -> Result<(bool, WebhookConfig), BookError> {
        validate_webhook_id(id)?;
        if let Some(endpoint) = self.webhooks.get_mut(id) {
            if keep_secret {
                config = config.with_secret_of(&endpoint.config);
            }
            endpoint.config = config.clone();
            return Ok((false, config));
        }
        if self.webhooks.len() >= limits::WEBHOOKS_PER_COMPANY_MAX {
            return Err(BookError::LimitReached {
                detail: format!(
                    "the company has its maximum of {} webhook endpoints",
                    limits::WEBHOOKS_PER_COMPANY_MAX
                ),
            });
        }
        let endpoint = WebhookEndpoint {
            config: config.clone(),
            acknowledged_seq: self.events.next_seq() - 1,
            lost_before_seq: None,
        };
        self.webhooks.insert(Arc::from(id), endpoint);
        self.pin_owed_events(now_ms);
        Ok((true, config))
    }

    /// Removes endpoint `id`; answers whether it existed. The events it was owed are no longer
    /// kept for it.
    pub fn delete_webhook(&mut self, id: &str, now_ms: i64) -> bool {
        let existed = self.webhooks.remove(id).is_some();
        if existed {
            self.pin_owed_events(now_ms);
        }
        existed
    }

    /// Records that endpoint `id` has every event up to `seq` (never moves back, never past the
    /// last event made). When events it was owed were dropped before it got them (past the
    /// bound kept for it), the endpoint remembers where what it lost ends. Answers whether the
    /// endpoint exists (it may have been deleted while a delivery ran).
    pub fn acknowledge_webhook(&mut self, id: &str, seq: u64, now_ms: i64) -> bool {
        let first_kept = self.events.first_kept_seq();
        let last_made = self.events.next_seq() - 1;
        let Some(endpoint) = self.webhooks.get_mut(id) else {
            return false;
        };
        let seq = seq.min(last_made);
        if seq <= endpoint.acknowledged_seq {
            return true;
        }
        if endpoint.acknowledged_seq + 1 < first_kept {
            endpoint.lost_before_seq = Some(first_kept);
        }
        endpoint.acknowledged_seq = seq;
        self.pin_owed_events(now_ms);
        true
    }

    /// Endpoint `id`, if configured.
    pub fn webhook(&self, id: &str) -> Option<&WebhookEndpoint> {
        self.webhooks.get(id)
    }

    /// Every endpoint, sorted by id.
    pub fn webhooks(&self) -> impl Iterator<Item = (&Arc<str>, &WebhookEndpoint)> {
        self.webhooks.iter()
    }

    /// Puts back the endpoints a snapshot held (restore, before any replay), each checked as a
    /// caller's would be.
    pub fn restore_webhooks(
        &mut self,
        endpoints: Vec<(String, WebhookEndpoint)>,
    ) -> Result<(), BookError> {
        if endpoints.len() > limits::WEBHOOKS_PER_COMPANY_MAX {
            return Err(BookError::invalid(
                "webhooks",
                format!("more than {} endpoints", limits::WEBHOOKS_PER_COMPANY_MAX),
            ));
        }
        for (id, endpoint) in endpoints {
            validate_webhook_id(&id)?;
            if endpoint.acknowledged_seq >= self.events.next_seq() {
                return Err(BookError::invalid(
                    "acknowledged_seq",
                    "is past the last event made",
                ));
            }
            self.webhooks.insert(Arc::from(id), endpoint);
        }
        let lowest = self.webhooks.values().map(|e| e.acknowledged_seq).min();
        self.events.pin(lowest);
        Ok(())
    }

    /// Keeps the events after the lowest acknowledged `seq` for the endpoints, and drops what
    /// is no longer kept at `now_ms`.
    fn pin_owed_events(&mut self, now_ms: i64) {
        let lowest = self.webhooks.values().map(|e| e.acknowledged_seq).min();
        self.events.pin(lowest);
        self.events.drop_old(now_ms);
    }

    /// How many events after endpoint `id`'s acknowledged `seq` it takes and has not
    /// acknowledged (among the kept ones).
    pub fn webhook_pending(&self, id: &str) -> u64 {
        let Some(endpoint) = self.webhooks.get(id) else {
            return 0;
        };
        let filter = endpoint.config.events();
        self.events
            .kept()
            .rev()
            .take_while(|event| event.seq > endpoint.acknowledged_seq)
            .filter(|event| filter.takes(event.kind))
            .count() as u64
    }
}
