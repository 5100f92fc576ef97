//! The settings of `holdfast serve`: parsed by clap from flags and `HOLDFAST_*` environment
//! variables, checked here, and turned into the engine's [`Settings`] and the HTTP shim's
//! [`HttpOptions`]. The durability settings (`--durability`, `--snapshot-interval`,
//! `--keep-snapshots`, `--data-dir`) are parsed and checked here; the durability work acts on
//! them.
//!
//! Also here, because they are settings with a safety rule: the log output, and the refusal to
//! serve an open (keyless) API beyond loopback.

use crate::actors::budget::total_live_limit_default;
use crate::actors::engine::EngineConfig;
use crate::actors::expiry::ExpiryConfig;
use crate::core::book::Settings;
use crate::durability::log::DurabilityMode;
use crate::durability::DurabilityConfig;
use crate::http::auth::{Keys, KeysError};
use crate::http::HttpOptions;
use crate::limits;
use crate::server::ServerConfig;
use crate::webhooks::DeliveryOptions;
use clap::{Args, ValueEnum};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// How changes reach the disk.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Durability {
    /// A write-ahead log synced before each answer, plus periodic snapshots.
    Wal,
    /// Periodic snapshots only: a crash loses what happened since the last one.
    Snapshot,
}

impl From<Durability> for DurabilityMode {
    fn from(durability: Durability) -> DurabilityMode {
        match durability {
            Durability::Wal => DurabilityMode::Wal,
            Durability::Snapshot => DurabilityMode::Snapshot,
        }
    }
}

/// How log lines are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

/// The default log filter: start-up, shutdown and warnings, but not one line per reservation.
/// The core logs every create, confirm, cancel and expiry at `info`; at tens of thousands of
/// holds a second those lines would cost more than the holds. `--log-filter
/// info` (or `holdfast::core=info`) brings them back.
pub const LOG_FILTER_DEFAULT: &str = "info,holdfast::core=warn";

/// `holdfast serve`.
#[derive(Clone, Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "HOLDFAST_BIND", default_value = "127.0.0.1:8080")]
    pub bind: SocketAddr,

    /// Directory of snapshots and the write-ahead log.
    #[arg(long, env = "HOLDFAST_DATA_DIR", default_value = "./snapshots")]
    pub data_dir: PathBuf,

    /// TOML file with an admin key and per-company keys; without it the API is open.
    #[arg(long, env = "HOLDFAST_KEYS")]
    pub keys: Option<PathBuf>,

    /// How changes reach the disk.
    #[arg(long, env = "HOLDFAST_DURABILITY", value_enum, default_value = "wal")]
    pub durability: Durability,

    /// Time between snapshots (`500ms`, `5s`, `2m`).
    #[arg(long, env = "HOLDFAST_SNAPSHOT_INTERVAL", default_value = "5s",
          value_parser = parse_duration)]
    pub snapshot_interval: Duration,

    /// Snapshots kept on disk (the newest ones).
    #[arg(long, env = "HOLDFAST_KEEP_SNAPSHOTS", default_value_t = limits::KEEP_SNAPSHOTS_DEFAULT as u32,
          value_parser = clap::value_parser!(u32).range(1..=limits::KEEP_SNAPSHOTS_MAX as i64))]
    pub keep_snapshots: u32,

    /// Log line format.
    #[arg(long, env = "HOLDFAST_LOG_FORMAT", value_enum, default_value = "text")]
    pub log_format: LogFormat,

    /// Log filter, in `tracing` `EnvFilter` syntax.
    #[arg(long, env = "HOLDFAST_LOG_FILTER", default_value = LOG_FILTER_DEFAULT)]
    pub log_filter: String,

    /// Serve without keys on a non-loopback address (anyone who can connect reaches every
    /// company).
    #[arg(long, env = "HOLDFAST_INSECURE_OPEN")]
    pub insecure_open: bool,

    /// Deliver webhooks to loopback and private addresses too (and accept such endpoints);
    /// without it, a destination that resolves to one is refused, so that whoever may add an
    /// endpoint cannot make the server call into its own network.
    #[arg(long, env = "HOLDFAST_WEBHOOK_ALLOW_PRIVATE")]
    pub webhook_allow_private: bool,

    /// Threads that serve HTTP and run the companies' actors; default one per core.
    #[arg(long, env = "HOLDFAST_WORKERS",
          value_parser = clap::value_parser!(u16).range(1..=limits::WORKERS_MAX as i64))]
    pub workers: Option<u16>,

    /// Live reservations (holds and bookings) one company may have at once.
    #[arg(long, env = "HOLDFAST_LIVE_LIMIT", default_value_t = limits::LIVE_RESERVATIONS_MAX_DEFAULT)]
    pub live_limit: usize,

    /// Live reservations (holds and bookings) over every company at once; past it holds are
    /// refused with 429. Default: half the machine's memory at 512 bytes each.
    #[arg(long, env = "HOLDFAST_TOTAL_LIVE_LIMIT", default_value_t = total_live_limit_default())]
    pub total_live_limit: u64,

    /// How far past `reserved_at` an extension may push a hold's expiry (`1h`).
    #[arg(long, env = "HOLDFAST_EXTEND_CAP", default_value = "1h", value_parser = parse_duration)]
    pub extend_cap: Duration,

    /// How long finished reservations and past bookings stay readable (`24h`).
    #[arg(long, env = "HOLDFAST_RETENTION", default_value = "24h", value_parser = parse_duration)]
    pub retention: Duration,

    /// Tick of the expiry wheel: a hold is expired at the first tick at or after its
    /// `expires_at` (`10ms`; reads treat it as expired at once regardless).
    #[arg(long, env = "HOLDFAST_EXPIRY_TICK", default_value = "10ms", value_parser = parse_expiry_tick)]
    pub expiry_tick: Duration,

    /// Longest wait for in-flight requests at shutdown (`30s`).
    #[arg(long, env = "HOLDFAST_SHUTDOWN_TIMEOUT", default_value = "30s",
          value_parser = parse_duration)]
    pub shutdown_timeout: Duration,
}

/// Parses the expiry tick: a humantime duration from 1 ms to `limits::EXPIRY_TICK_MS_MAX`.
fn parse_expiry_tick(text: &str) -> Result<Duration, String> {
    let tick = parse_duration(text)?;
    let millis = tick.as_millis();
    if millis < 1 || millis > limits::EXPIRY_TICK_MS_MAX as u128 {
        return Err(format!(
            "must be from 1ms to {}ms",
            limits::EXPIRY_TICK_MS_MAX
        ));
    }
    Ok(tick)
}

/// Parses a humantime duration (`500ms`, `5s`, `2m`): every duration flag of every subcommand.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    humantime::parse_duration(text).map_err(|error| error.to_string())
}

/// Why the serve settings were refused.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error(transparent)]
    Keys(#[from] KeysError),
    #[error(
        "refusing to serve without keys on {bind}, which is not a loopback address: give \
         --keys FILE, bind 127.0.0.1, or pass --insecure-open to accept that anyone who can \
         connect reaches every company"
    )]
    OpenBeyondLoopback { bind: SocketAddr },
    #[error("--{flag} must be {rule}")]
    Range { flag: &'static str, rule: String },
}

fn whole_seconds(
    flag: &'static str,
    duration: Duration,
    max_seconds: i64,
) -> Result<i64, ConfigError> {
    let seconds = duration.as_secs();
    if duration.subsec_nanos() != 0 || seconds == 0 || seconds > max_seconds as u64 {
        return Err(ConfigError::Range {
            flag,
            rule: format!("a whole number of seconds from 1s to {max_seconds}s"),
        });
    }
    Ok(seconds as i64)
}

impl ServeArgs {
    /// Everything the server needs to start, checked.
    pub fn server_config(&self) -> Result<ServerConfig, ConfigError> {
        Ok(ServerConfig {
            engine: EngineConfig {
                settings: self.engine_settings()?,
                expiry: ExpiryConfig {
                    resolution: self.expiry_tick,
                    ..ExpiryConfig::default()
                },
                total_live_limit: self.total_live_limit()?,
                arbiters: self.workers.map_or_else(num_cpus::get, usize::from),
                ..EngineConfig::default()
            },
            durability: self.durability_config(),
            http: self.http_options()?,
        })
    }

    /// Where and how the server keeps its state.
    pub fn durability_config(&self) -> DurabilityConfig {
        DurabilityConfig {
            data_dir: self.data_dir.clone(),
            mode: self.durability.into(),
            snapshot_interval: self.snapshot_interval,
            keep_snapshots: self.keep_snapshots as usize,
            disk: crate::durability::disk::Disk::real(),
        }
    }

    /// The engine's settings.
    pub fn engine_settings(&self) -> Result<Settings, ConfigError> {
        if self.live_limit == 0 || self.live_limit > limits::LIVE_RESERVATIONS_MAX_SETTING {
            return Err(ConfigError::Range {
                flag: "live-limit",
                rule: format!("1 to {}", limits::LIVE_RESERVATIONS_MAX_SETTING),
            });
        }
        Ok(Settings {
            live_reservations_max: self.live_limit,
            extend_cap_seconds: whole_seconds(
                "extend-cap",
                self.extend_cap,
                limits::EXTEND_CAP_SECONDS_MAX,
            )?,
            retention_seconds: whole_seconds(
                "retention",
                self.retention,
                limits::RETENTION_SECONDS_MAX,
            )?,
        })
    }

    /// The engine-wide live limit, checked: 0 would refuse every hold, and more than
    /// `limits::TOTAL_LIVE_RESERVATIONS_MAX_SETTING` is no bound on any machine.
    pub fn total_live_limit(&self) -> Result<u64, ConfigError> {
        let allowed = 1..=limits::TOTAL_LIVE_RESERVATIONS_MAX_SETTING;
        if !allowed.contains(&self.total_live_limit) {
            return Err(ConfigError::Range {
                flag: "total-live-limit",
                rule: format!("1 to {}", limits::TOTAL_LIVE_RESERVATIONS_MAX_SETTING),
            });
        }
        Ok(self.total_live_limit)
    }

    /// The keys: read from `--keys`, or none.
    pub fn load_keys(&self) -> Result<Keys, ConfigError> {
        match &self.keys {
            Some(path) => Ok(Keys::load(path)?),
            None => Ok(Keys::open()),
        }
    }

    /// The HTTP shim's options, with checked keys. Refuses an open server beyond loopback
    /// unless `--insecure-open`, and warns about an open server either way.
    pub fn http_options(&self) -> Result<HttpOptions, ConfigError> {
        let keys = self.load_keys()?;
        check_open_bind(self.bind, keys.is_open(), self.insecure_open)?;
        Ok(HttpOptions {
            keys,
            shutdown_timeout: self.shutdown_timeout,
            webhooks: DeliveryOptions {
                allow_private: self.webhook_allow_private,
            },
            ..HttpOptions::default()
        })
    }
}

/// The rule for keyless servers: loopback only, unless the operator insists. Logs a warning
/// whenever the server is open.
pub fn check_open_bind(
    bind: SocketAddr,
    open: bool,
    insecure_open: bool,
) -> Result<(), ConfigError> {
    if !open {
        return Ok(());
    }
    if !bind.ip().is_loopback() && !insecure_open {
        return Err(ConfigError::OpenBeyondLoopback { bind });
    }
    if bind.ip().is_loopback() {
        tracing::warn!(%bind, "no keys configured: the API is open to every local caller (loopback only)");
    } else {
        tracing::warn!(%bind, "no keys configured and --insecure-open given: anyone who can connect reaches every company");
    }
    Ok(())
}

/// Installs the global log subscriber. Fails if the filter does not parse.
pub fn init_logging(format: LogFormat, filter: &str) -> Result<(), String> {
    let filter = tracing_subscriber::EnvFilter::try_new(filter).map_err(|e| e.to_string())?;
    // Colour codes only on a terminal: piped into a file or a collector they are noise.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stdout());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi);
    let result = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
    result.map_err(|error| error.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Wrapper {
        #[command(flatten)]
        serve: ServeArgs,
    }

    fn parse(args: &[&str]) -> Result<ServeArgs, clap::Error> {
        let mut all = vec!["holdfast"];
        all.extend_from_slice(args);
        Wrapper::try_parse_from(all).map(|w| w.serve)
    }

    /// Goal: the defaults are the API's (this test's process sets no `HOLDFAST_*` variable).
    #[test]
    fn defaults() {
        let args = parse(&[]).unwrap();
        assert_eq!(args.bind, "127.0.0.1:8080".parse().unwrap());
        assert_eq!(args.data_dir, PathBuf::from("./snapshots"));
        assert_eq!(args.durability, Durability::Wal);
        assert_eq!(args.snapshot_interval, Duration::from_secs(5));
        assert_eq!(args.keep_snapshots, 3);
        assert_eq!(args.log_format, LogFormat::Text);
        assert_eq!(args.engine_settings().unwrap(), Settings::default());
        assert_eq!(args.total_live_limit, total_live_limit_default());
        assert_eq!(
            args.server_config().unwrap().engine.total_live_limit,
            total_live_limit_default()
        );
    }

    /// Goal: `--total-live-limit` reaches the engine's settings, and 0, a value past the
    /// setting's bound or one that is not a number stop start-up with an error naming the flag.
    #[test]
    fn total_live_limit() {
        let args = parse(&["--total-live-limit", "10"]).unwrap();
        assert_eq!(args.server_config().unwrap().engine.total_live_limit, 10);
        let largest = limits::TOTAL_LIVE_RESERVATIONS_MAX_SETTING.to_string();
        let args = parse(&["--total-live-limit", &largest]).unwrap();
        assert!(args.total_live_limit().is_ok());
        let too_large = (limits::TOTAL_LIVE_RESERVATIONS_MAX_SETTING + 1).to_string();
        for refused in ["0", too_large.as_str()] {
            let args = parse(&["--total-live-limit", refused]).unwrap();
            let Err(error) = args.server_config() else {
                panic!("--total-live-limit {refused} was taken");
            };
            let error = error.to_string();
            assert!(
                error.starts_with("--total-live-limit must be 1 to"),
                "{error}"
            );
        }
        for malformed in ["-1", "lots", "1e9"] {
            let flag = format!("--total-live-limit={malformed}");
            let error = parse(&[flag.as_str()]).expect_err("refused").to_string();
            assert!(error.contains("--total-live-limit"), "{error}");
        }
    }

    /// Goal: durations in humantime, enums by name, and out-of-range values refused.
    #[test]
    fn flags() {
        let args = parse(&[
            "--snapshot-interval",
            "500ms",
            "--durability",
            "snapshot",
            "--extend-cap",
            "2m",
            "--log-format",
            "json",
            "--keep-snapshots",
            "7",
        ])
        .unwrap();
        assert_eq!(args.snapshot_interval, Duration::from_millis(500));
        assert_eq!(args.durability, Durability::Snapshot);
        assert_eq!(args.engine_settings().unwrap().extend_cap_seconds, 120);
        assert!(parse(&["--snapshot-interval", "5 parsecs"]).is_err());
        assert!(parse(&["--keep-snapshots", "0"]).is_err());
        assert!(parse(&["--durability", "fsync"]).is_err());
        assert!(parse(&["--extend-cap", "1500ms"])
            .unwrap()
            .engine_settings()
            .is_err());
        assert!(parse(&["--live-limit", "0"])
            .unwrap()
            .engine_settings()
            .is_err());
    }

    /// Goal: an open server binds loopback only, unless told `--insecure-open`.
    #[test]
    fn open_server_stays_on_loopback() {
        let public: SocketAddr = "0.0.0.0:8080".parse().unwrap();
        let local: SocketAddr = "127.0.0.1:8080".parse().unwrap();
        let local6: SocketAddr = "[::1]:8080".parse().unwrap();
        assert!(matches!(
            check_open_bind(public, true, false),
            Err(ConfigError::OpenBeyondLoopback { .. })
        ));
        assert!(check_open_bind(public, true, true).is_ok());
        assert!(check_open_bind(public, false, false).is_ok());
        assert!(check_open_bind(local, true, false).is_ok());
        assert!(check_open_bind(local6, true, false).is_ok());
        let refused = parse(&["--bind", "0.0.0.0:0"]).unwrap().http_options();
        assert!(refused.is_err());
    }
}
