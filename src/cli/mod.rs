//! The operator's subcommands, as library functions the binary calls, so that tests call them
//! too: [`snapshot`] (`holdfast snapshot inspect FILE`), [`metrics`] (`holdfast metrics`). The
//! load tool is a crate of its own (`bench/`, the `holdfast-bench` binary), so that the server
//! carries none of its dependencies.

pub mod metrics;
pub mod snapshot;
