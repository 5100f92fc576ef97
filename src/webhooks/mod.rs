//! Webhooks: a company's events delivered to its endpoints by HTTP, signed per the Standard
//! Webhooks specification. So far: [`signature`] (secrets and the signature of a delivery) and
//! [`destination`] (which URLs and resolved addresses a delivery may go to).

pub mod destination;
pub mod signature;
