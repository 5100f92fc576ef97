//! Webhooks: a company's events delivered to its endpoints by HTTP, signed per the Standard
//! Webhooks specification: [`signature`] (secrets and the signature of a delivery),
//! [`destination`] (which URLs and resolved addresses a delivery may go to), [`deliveries`] (one
//! task per endpoint: in order, retried, progress reported to the book) and [`metrics`] (attempts
//! by outcome, delivery lag). What an endpoint is (its configuration and progress) is the core's
//! (`crate::core::webhooks`), kept and logged by the company's book.

pub mod deliveries;
pub mod destination;
pub mod metrics;
pub mod signature;

pub use deliveries::{Deliveries, DeliveryOptions, DeliveryState, DeliveryStatus};
