//! The write-ahead log's records: what one logged change is on disk, converted by hand from and
//! to the core's commands, and how replay re-runs it on a book. Version 2 ([`LogRecordV2`])
//! wraps every version 1 record ([`LogRecordV1`], the reservation changes, unchanged) and adds
//! the company's configuration (settings, resources); a version 1 segment's records read back as
//! [`LogRecordV2::Change`]. Version 3 ([`LogRecordV3`], the current one) is version 2's records,
//! the same variants in the same order, plus webhook endpoints (configured, removed, and how far
//! each got); older segments read back through `From`.
//!
//! The core is deterministic given a command, the token it was given and the `now_ms` it ran at,
//! so a record is exactly that, and replay re-runs it through the same `Book` method. These are
//! their own versioned types, never derived on the core's, because a derive on a live type
//! changes the format silently the day someone adds a field: changing their bytes needs a new
//! record version and a format version bump (`tests/fixtures/v1/` and `tests/fixtures/v2/` hold
//! records that must always read).

use crate::core::book::Book;
use crate::core::command::{
    FindRequest, HoldOptions, HoldRequest, HoldTarget, SegmentRequest, Segments,
};
use crate::core::error::BookError;
use crate::durability::config::{ResourceConfigV2, SettingsV2, WebhookConfigV3};
use crate::durability::fingerprint::idempotency_of;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// One logged change: the command, the token it used and the time it ran at.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum LogRecordV1 {
    Hold {
        company: String,
        token: [u8; 16],
        now_ms: i64,
        request: HoldRequestV1,
    },
    Confirm {
        company: String,
        token: [u8; 16],
        now_ms: i64,
        appointment_id: Option<String>,
    },
    Extend {
        company: String,
        token: [u8; 16],
        now_ms: i64,
        ttl_seconds: i64,
    },
    Cancel {
        company: String,
        token: [u8; 16],
        now_ms: i64,
        reason: Option<String>,
    },
    /// Holds expired by the expiry wheel or by a read's lazy expiry.
    Expire {
        company: String,
        now_ms: i64,
        tokens: Vec<[u8; 16]>,
    },
    /// A housekeeping pass that dropped reservations past their retention.
    Housekeeping { company: String, now_ms: i64 },
}

/// A hold request as logged.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HoldRequestV1 {
    pub target: HoldTargetV1,
    pub ttl_seconds: i64,
    pub call_id: Option<String>,
    pub customer_phone: Option<String>,
    pub service_id: Option<String>,
    pub replace_call_holds: bool,
    pub idempotency_key: Option<String>,
}

/// What a logged hold asked for.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum HoldTargetV1 {
    Segments(Vec<SegmentRequestV1>),
    Find {
        resources: Vec<String>,
        earliest_ms: i64,
        latest_ms: i64,
        duration_ms: i64,
        step_ms: i64,
    },
}

/// One requested segment as logged.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SegmentRequestV1 {
    pub resource: String,
    pub start_ms: i64,
    pub end_ms: i64,
}

impl HoldRequestV1 {
    /// The logged form of a core hold request.
    pub fn from_core(request: &HoldRequest) -> HoldRequestV1 {
        let target = match request.target() {
            HoldTarget::Segments(segments) => HoldTargetV1::Segments(
                segments
                    .iter()
                    .map(|s| SegmentRequestV1 {
                        resource: s.resource().to_owned(),
                        start_ms: s.start_ms(),
                        end_ms: s.end_ms(),
                    })
                    .collect(),
            ),
            HoldTarget::Find(find) => HoldTargetV1::Find {
                resources: find.resources().to_vec(),
                earliest_ms: find.earliest_ms(),
                latest_ms: find.latest_ms(),
                duration_ms: find.duration_ms(),
                step_ms: find.step_ms(),
            },
        };
        HoldRequestV1 {
            target,
            ttl_seconds: request.ttl_seconds(),
            call_id: request.call_id().map(str::to_owned),
            customer_phone: request.customer_phone().map(str::to_owned),
            service_id: request.service_id().map(str::to_owned),
            replace_call_holds: request.replace_call_holds(),
            idempotency_key: request.idempotency_key().map(|k| k.as_str().to_owned()),
        }
    }

    /// The core hold request this record logged, checked as any command is: a record that
    /// breaks a rule (damaged, or from a build with other limits) is refused, naming the field,
    /// in the order the API checks a hold (its options, then its target).
    pub fn to_core(&self) -> Result<HoldRequest, BookError> {
        let mut options = HoldOptions::default().with_ttl_seconds(self.ttl_seconds)?;
        if let Some(call_id) = &self.call_id {
            options = options.with_call_id(call_id.as_str())?;
        }
        if let Some(customer_phone) = &self.customer_phone {
            options = options.with_customer_phone(customer_phone.as_str())?;
        }
        if let Some(service_id) = &self.service_id {
            options = options.with_service_id(service_id.as_str())?;
        }
        options = options.replacing_call_holds(self.replace_call_holds);
        if let Some(key) = &self.idempotency_key {
            options = options.with_idempotency_key(key.as_str())?;
        }
        let target = match &self.target {
            HoldTargetV1::Segments(segments) => HoldTarget::Segments(Segments::collect(
                segments
                    .iter()
                    .map(|s| SegmentRequest::new(s.resource.as_str(), s.start_ms, s.end_ms)),
            )?),
            HoldTargetV1::Find {
                resources,
                earliest_ms,
                latest_ms,
                duration_ms,
                step_ms,
            } => HoldTarget::Find(FindRequest::new(
                resources.clone(),
                *earliest_ms,
                *latest_ms,
                *duration_ms,
                *step_ms,
            )?),
        };
        Ok(HoldRequest::with_options(target, options))
    }
}

impl LogRecordV1 {
    /// The company the record belongs to.
    pub fn company(&self) -> &str {
        match self {
            LogRecordV1::Hold { company, .. }
            | LogRecordV1::Confirm { company, .. }
            | LogRecordV1::Extend { company, .. }
            | LogRecordV1::Cancel { company, .. }
            | LogRecordV1::Expire { company, .. }
            | LogRecordV1::Housekeeping { company, .. } => company,
        }
    }

    /// Re-runs the logged change on `book`, exactly as it first ran. A hold whose token the
    /// book already holds is refused (the core asserts that tokens are new): it can only come
    /// from a damaged log, and a damaged log must not crash start-up.
    pub fn apply(&self, book: &mut Book) -> Result<(), BookError> {
        match self {
            LogRecordV1::Hold { token, .. } if book.contains(Uuid::from_bytes(*token)) => Err(
                BookError::invalid("token", "the logged hold's token is already held"),
            ),
            LogRecordV1::Hold {
                token,
                now_ms,
                request,
                ..
            } => {
                // Refused before the book sees it, so counted here, as the book counts a refusal.
                let request = request
                    .to_core()
                    .inspect_err(|error| book.record_rejected(error.error_type(), None))?;
                let idempotency = idempotency_of(&request);
                book.hold(request, idempotency, Uuid::from_bytes(*token), *now_ms)
                    .map(drop)
            }
            LogRecordV1::Confirm {
                token,
                now_ms,
                appointment_id,
                ..
            } => book
                .confirm(Uuid::from_bytes(*token), appointment_id.clone(), *now_ms)
                .map(drop),
            LogRecordV1::Extend {
                token,
                now_ms,
                ttl_seconds,
                ..
            } => book
                .extend(Uuid::from_bytes(*token), *ttl_seconds, *now_ms)
                .map(drop),
            LogRecordV1::Cancel {
                token,
                now_ms,
                reason,
                ..
            } => book
                .cancel(Uuid::from_bytes(*token), reason.clone(), *now_ms)
                .map(drop),
            LogRecordV1::Expire { tokens, now_ms, .. } => {
                let tokens: Vec<Uuid> = tokens.iter().map(|t| Uuid::from_bytes(*t)).collect();
                book.expire_due(&tokens, *now_ms);
                Ok(())
            }
            LogRecordV1::Housekeeping { now_ms, .. } => {
                book.housekeeping(*now_ms);
                Ok(())
            }
        }
    }
}

/// One logged change, version 2: a reservation change as version 1 logs it, or a change of the
/// company's configuration. A configuration record holds the whole value the change left (not
/// the fields a caller sent), so replay needs nothing but the record. Read from version 2
/// segments only, as [`LogRecordV3`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum LogRecordV2 {
    Change(LogRecordV1),
    Settings {
        company: String,
        now_ms: i64,
        settings: SettingsV2,
    },
    PutResource {
        company: String,
        now_ms: i64,
        resource: String,
        config: ResourceConfigV2,
    },
    DeleteResource {
        company: String,
        now_ms: i64,
        resource: String,
    },
}

impl From<LogRecordV1> for LogRecordV2 {
    fn from(record: LogRecordV1) -> LogRecordV2 {
        LogRecordV2::Change(record)
    }
}

impl LogRecordV2 {
    /// The company the record belongs to.
    pub fn company(&self) -> &str {
        match self {
            LogRecordV2::Change(record) => record.company(),
            LogRecordV2::Settings { company, .. }
            | LogRecordV2::PutResource { company, .. }
            | LogRecordV2::DeleteResource { company, .. } => company,
        }
    }
}

/// One logged change, version 3: version 2's records (same variants, same order) and the
/// company's webhook endpoints. An acknowledgement is logged so that delivery resumes after a
/// restart where it stopped; it may lag the deliveries it covers (at least once: a lost one
/// means some events go again).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum LogRecordV3 {
    Change(LogRecordV1),
    Settings {
        company: String,
        now_ms: i64,
        settings: SettingsV2,
    },
    PutResource {
        company: String,
        now_ms: i64,
        resource: String,
        config: ResourceConfigV2,
    },
    DeleteResource {
        company: String,
        now_ms: i64,
        resource: String,
    },
    PutWebhook {
        company: String,
        now_ms: i64,
        id: String,
        config: WebhookConfigV3,
    },
    DeleteWebhook {
        company: String,
        now_ms: i64,
        id: String,
    },
    /// Endpoint `id` has every event up to `seq`.
    AcknowledgeWebhook {
        company: String,
        now_ms: i64,
        id: String,
        seq: u64,
    },
}

impl From<LogRecordV1> for LogRecordV3 {
    fn from(record: LogRecordV1) -> LogRecordV3 {
        LogRecordV3::Change(record)
    }
}

impl From<LogRecordV2> for LogRecordV3 {
    fn from(record: LogRecordV2) -> LogRecordV3 {
        match record {
            LogRecordV2::Change(change) => LogRecordV3::Change(change),
            LogRecordV2::Settings {
                company,
                now_ms,
                settings,
            } => LogRecordV3::Settings {
                company,
                now_ms,
                settings,
            },
            LogRecordV2::PutResource {
                company,
                now_ms,
                resource,
                config,
            } => LogRecordV3::PutResource {
                company,
                now_ms,
                resource,
                config,
            },
            LogRecordV2::DeleteResource {
                company,
                now_ms,
                resource,
            } => LogRecordV3::DeleteResource {
                company,
                now_ms,
                resource,
            },
        }
    }
}

impl LogRecordV3 {
    /// The company the record belongs to.
    pub fn company(&self) -> &str {
        match self {
            LogRecordV3::Change(record) => record.company(),
            LogRecordV3::Settings { company, .. }
            | LogRecordV3::PutResource { company, .. }
            | LogRecordV3::DeleteResource { company, .. }
            | LogRecordV3::PutWebhook { company, .. }
            | LogRecordV3::DeleteWebhook { company, .. }
            | LogRecordV3::AcknowledgeWebhook { company, .. } => company,
        }
    }

    /// Re-runs the logged change on `book`, exactly as it first ran; a stored configuration is
    /// checked as a caller's would be, so a damaged one is refused naming the field.
    pub fn apply(&self, book: &mut Book) -> Result<(), BookError> {
        match self {
            LogRecordV3::Change(record) => record.apply(book),
            LogRecordV3::Settings { settings, .. } => {
                book.set_company_settings(settings.to_core()?);
                Ok(())
            }
            LogRecordV3::PutResource {
                resource, config, ..
            } => book.put_resource(resource, config.to_core()?).map(drop),
            LogRecordV3::DeleteResource { resource, .. } => {
                book.delete_resource(resource);
                Ok(())
            }
            LogRecordV3::PutWebhook {
                id, config, now_ms, ..
            } => book
                .put_webhook(id, config.to_core()?, false, *now_ms)
                .map(drop),
            LogRecordV3::DeleteWebhook { id, now_ms, .. } => {
                book.delete_webhook(id, *now_ms);
                Ok(())
            }
            LogRecordV3::AcknowledgeWebhook {
                id, seq, now_ms, ..
            } => {
                book.acknowledge_webhook(id, *seq, *now_ms);
                Ok(())
            }
        }
    }
}
