//! The actix shells around the core: one actor per company ([`company`]), the [`registry`] that
//! starts them on first use, the engine-wide live [`budget`] they share, the [`expiry`] wheel
//! that expires holds on time, the [`snapshotter`] that writes snapshots and starts a restored
//! engine, the [`recovery`] that brings the server back after its log failed, and the
//! [`engine`] facade the HTTP shim and tests call.

pub mod budget;
pub mod company;
pub mod engine;
pub mod expiry;
pub mod recovery;
pub mod registry;
pub mod snapshotter;
