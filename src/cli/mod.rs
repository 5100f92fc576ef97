//! The operator's subcommands, as library functions the binary calls, so that tests call them
//! too: [`snapshot`] (`holdfast snapshot inspect FILE`), [`metrics`] (`holdfast metrics`), [`bench`]
//! (`holdfast bench SCENARIO`).

pub mod bench;
pub mod metrics;
pub mod snapshot;
