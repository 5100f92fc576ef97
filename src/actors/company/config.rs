//! The company actor's configuration messages: the company's settings and its resources'
//! configuration. A change is logged as a version 2 record holding the whole value it left, and
//! is answered through the engine's change path (after the log sync) like a reservation change.
//! A change that changes nothing (deleting what is not configured) logs nothing.

use super::CompanyActor;
use crate::core::error::BookError;
use crate::core::schedule::{CompanySettings, ResourceConfig, SettingsPatch};
use crate::durability::config::{ResourceConfigV2, SettingsV2};
use crate::durability::log::LogRecordV3;
use actix::prelude::*;

/// Read the company's settings.
#[derive(Message)]
#[rtype(result = "CompanySettings")]
pub struct ReadSettings;

impl Handler<ReadSettings> for CompanyActor {
    type Result = MessageResult<ReadSettings>;

    fn handle(&mut self, _: ReadSettings, _: &mut Context<Self>) -> Self::Result {
        MessageResult(*self.book.company_settings())
    }
}

/// Change some of the company's settings; answers the settings it left.
#[derive(Message)]
#[rtype(result = "Result<CompanySettings, BookError>")]
pub struct UpdateSettings {
    pub patch: SettingsPatch,
}

impl Handler<UpdateSettings> for CompanyActor {
    type Result = Result<CompanySettings, BookError>;

    fn handle(&mut self, message: UpdateSettings, _: &mut Context<Self>) -> Self::Result {
        let now_ms = self.clock.now_ms();
        let settings = self.book.company_settings().patched(message.patch);
        self.book.set_company_settings(settings);
        self.log(|company| LogRecordV3::Settings {
            company,
            now_ms,
            settings: SettingsV2::from_core(&settings),
        });
        Ok(settings)
    }
}

/// One configured resource, with the company's settings its hours and closures are read in.
#[derive(Clone, Debug)]
pub struct ResourceEntry {
    pub resource: String,
    pub config: ResourceConfig,
}

/// Read one resource's configuration (`NotFound` when it has none).
#[derive(Message)]
#[rtype(result = "Result<(CompanySettings, ResourceEntry), BookError>")]
pub struct ReadResource {
    pub resource: String,
}

impl Handler<ReadResource> for CompanyActor {
    type Result = Result<(CompanySettings, ResourceEntry), BookError>;

    fn handle(&mut self, message: ReadResource, _: &mut Context<Self>) -> Self::Result {
        let config = self
            .book
            .resource_config(&message.resource)
            .ok_or(BookError::NotFound)?;
        let entry = ResourceEntry {
            resource: message.resource,
            config: config.clone(),
        };
        Ok((*self.book.company_settings(), entry))
    }
}

/// Every configured resource, sorted by name, with the company's settings.
#[derive(Message)]
#[rtype(result = "(CompanySettings, Vec<ResourceEntry>)")]
pub struct ListResources;

impl Handler<ListResources> for CompanyActor {
    type Result = MessageResult<ListResources>;

    fn handle(&mut self, _: ListResources, _: &mut Context<Self>) -> Self::Result {
        let entries = self
            .book
            .configured_resources()
            .into_iter()
            .map(|(name, config)| ResourceEntry {
                resource: name.to_string(),
                config: config.clone(),
            })
            .collect();
        MessageResult((*self.book.company_settings(), entries))
    }
}

/// Configure a resource (replacing its configuration); answers whether it was not configured
/// before.
#[derive(Message)]
#[rtype(result = "Result<bool, BookError>")]
pub struct PutResource {
    pub resource: String,
    pub config: ResourceConfig,
}

impl Handler<PutResource> for CompanyActor {
    type Result = Result<bool, BookError>;

    fn handle(&mut self, message: PutResource, _: &mut Context<Self>) -> Self::Result {
        let now_ms = self.clock.now_ms();
        let config = ResourceConfigV2::from_core(&message.config);
        let created = self.book.put_resource(&message.resource, message.config)?;
        self.log(|company| LogRecordV3::PutResource {
            company,
            now_ms,
            resource: message.resource,
            config,
        });
        Ok(created)
    }
}

/// Remove a resource's configuration; answers whether it had one (nothing is logged when not).
#[derive(Message)]
#[rtype(result = "Result<bool, BookError>")]
pub struct DeleteResource {
    pub resource: String,
}

impl Handler<DeleteResource> for CompanyActor {
    type Result = Result<bool, BookError>;

    fn handle(&mut self, message: DeleteResource, _: &mut Context<Self>) -> Self::Result {
        let now_ms = self.clock.now_ms();
        let existed = self.book.delete_resource(&message.resource);
        if existed {
            self.log(|company| LogRecordV3::DeleteResource {
                company,
                now_ms,
                resource: message.resource,
            });
        }
        Ok(existed)
    }
}
