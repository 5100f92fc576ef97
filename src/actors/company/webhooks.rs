//! The company actor's webhook messages: configuring and removing an endpoint (logged with the
//! whole configuration, answered after the log sync like every change), reading endpoints with
//! their progress, and the delivery side's two needs: the events an endpoint is owed, and
//! recording what its receiver acknowledged (logged, so that delivery resumes after a restart
//! where it stopped).

use super::CompanyActor;
use crate::core::error::BookError;
use crate::core::events::EventPage;
use crate::core::webhooks::{WebhookConfig, WebhookEndpoint};
use crate::durability::config::WebhookConfigV3;
use crate::durability::log::{LogRecordV3, Ticket};
use actix::prelude::*;

/// Configure endpoint `id` (replacing its configuration, keeping its progress; with
/// `keep_secret`, an endpoint that exists keeps its key); answers whether it is new and the
/// configuration it has now.
#[derive(Message)]
#[rtype(result = "Result<(bool, WebhookConfig), BookError>")]
pub struct PutWebhook {
    pub id: String,
    pub config: WebhookConfig,
    pub keep_secret: bool,
}

impl Handler<PutWebhook> for CompanyActor {
    type Result = Result<(bool, WebhookConfig), BookError>;

    fn handle(&mut self, message: PutWebhook, _: &mut Context<Self>) -> Self::Result {
        let now_ms = self.clock.now_ms();
        let (created, config) =
            self.book
                .put_webhook(&message.id, message.config, message.keep_secret, now_ms)?;
        // The whole configuration the change left, key included: replay needs nothing else.
        let stored = WebhookConfigV3::from_core(&config);
        self.log(|company| LogRecordV3::PutWebhook {
            company,
            now_ms,
            id: message.id,
            config: stored,
        });
        Ok((created, config))
    }
}

/// Remove endpoint `id`; answers whether it existed (nothing is logged when not).
#[derive(Message)]
#[rtype(result = "Result<bool, BookError>")]
pub struct DeleteWebhook {
    pub id: String,
}

impl Handler<DeleteWebhook> for CompanyActor {
    type Result = Result<bool, BookError>;

    fn handle(&mut self, message: DeleteWebhook, _: &mut Context<Self>) -> Self::Result {
        let now_ms = self.clock.now_ms();
        let existed = self.book.delete_webhook(&message.id, now_ms);
        if existed {
            self.log(|company| LogRecordV3::DeleteWebhook {
                company,
                now_ms,
                id: message.id,
            });
        }
        Ok(existed)
    }
}

/// Record that endpoint `id` has every event up to `seq`; answers whether the endpoint exists.
#[derive(Message)]
#[rtype(result = "Result<bool, BookError>")]
pub struct AcknowledgeWebhook {
    pub id: String,
    pub seq: u64,
}

impl Handler<AcknowledgeWebhook> for CompanyActor {
    type Result = Result<bool, BookError>;

    fn handle(&mut self, message: AcknowledgeWebhook, _: &mut Context<Self>) -> Self::Result {
        let now_ms = self.clock.now_ms();
        let before = self.book.webhook(&message.id).map(|e| e.acknowledged_seq);
        let exists = self
            .book
            .acknowledge_webhook(&message.id, message.seq, now_ms);
        let after = self.book.webhook(&message.id).map(|e| e.acknowledged_seq);
        if after > before {
            self.log(|company| LogRecordV3::AcknowledgeWebhook {
                company,
                now_ms,
                id: message.id,
                seq: message.seq,
            });
        }
        Ok(exists)
    }
}

/// One endpoint as an operator reads it.
#[derive(Clone, Debug)]
pub struct WebhookEntry {
    pub id: String,
    pub endpoint: WebhookEndpoint,
    /// Events it takes after its acknowledged `seq`, not yet acknowledged.
    pub pending: u64,
}

/// Every endpoint (`id: None`) or one, sorted by id.
#[derive(Message)]
#[rtype(result = "Vec<WebhookEntry>")]
pub struct ReadWebhooks {
    pub id: Option<String>,
}

impl Handler<ReadWebhooks> for CompanyActor {
    type Result = MessageResult<ReadWebhooks>;

    fn handle(&mut self, message: ReadWebhooks, _: &mut Context<Self>) -> Self::Result {
        let entries = self
            .book
            .webhooks()
            .filter(|(id, _)| message.id.as_deref().is_none_or(|wanted| &***id == wanted))
            .map(|(id, endpoint)| WebhookEntry {
                id: id.to_string(),
                endpoint: endpoint.clone(),
                pending: self.book.webhook_pending(id),
            })
            .collect();
        MessageResult(entries)
    }
}

/// What a deliverer reads before a round: the endpoint as it is now, and the events after its
/// acknowledged `seq` or after `after` (what it delivered and has not reported yet), whichever
/// is later.
#[derive(Message)]
#[rtype(result = "Option<WebhookWork>")]
pub struct ReadWebhookWork {
    pub id: String,
    pub after: u64,
    pub limit: usize,
}

/// What [`ReadWebhookWork`] answers (`None`: the endpoint is gone).
#[derive(Clone, Debug)]
pub struct WebhookWork {
    pub endpoint: WebhookEndpoint,
    /// Events after the position asked for (of every type: the deliverer skips those the
    /// endpoint does not take), with a gap when some it was owed were dropped.
    pub page: EventPage,
    /// The log position the page's events wait for: they are delivered once it is durable.
    pub ticket: Ticket,
}

impl Handler<ReadWebhookWork> for CompanyActor {
    type Result = MessageResult<ReadWebhookWork>;

    fn handle(&mut self, message: ReadWebhookWork, _: &mut Context<Self>) -> Self::Result {
        let work = self.book.webhook(&message.id).cloned().map(|endpoint| {
            let after = endpoint.acknowledged_seq.max(message.after);
            let page = self.book.events_after(after, message.limit);
            WebhookWork {
                endpoint,
                page,
                ticket: self.ticket(),
            }
        });
        MessageResult(work)
    }
}
