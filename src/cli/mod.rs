//! The operator's subcommands, as library functions the binary calls, so that tests call them
//! too: [`snapshot`] (`holdfast snapshot inspect FILE`), [`metrics`] (`holdfast metrics`).

pub mod metrics;
pub mod snapshot;
