//! `holdfast-bench SCENARIO`: a load tool that plays many callers against a live holdfast and
//! measures the two numbers users pick holdfast for: how short the race window is, and that no
//! slot is ever booked twice.
//!
//! - [`client`]: one keep-alive HTTP/1.1 connection per caller (hyper);
//! - [`pacer`]: closed loop, or open loop at `--rate` measured from the scheduled send time;
//! - [`scenarios`]: the callers' flows (`voice`, `contention`, `throughput`);
//! - [`stats`]: counters and HDR histograms; [`report`]: the tables and the JSON object;
//! - [`audit`]: the double-booking audit that ends every run;
//! - [`server`]: the in-process server used when no `--url` is given.
//!
//! Each run works in companies of its own (`bench-<run id>-...`), so that it can run against a
//! server holding other data, and its audit reads back exactly what it could have touched.

pub mod admin_pages;
pub mod audit;
pub mod client;
pub mod limits;
pub mod pacer;
pub mod report;
pub mod scenarios;
pub mod server;
pub mod stats;
pub mod subscribers;
pub mod webhook;

use admin_pages::AdminPages;
use audit::AuditScope;
use client::{Connection, Target};
use holdfast::config::{parse_duration, Durability};
use pacer::Pacer;
use rand::{RngCore, SeedableRng};
use report::{BenchReport, RunFacts};
use scenarios::{Caller, Contention, Flow, Mix, Rounds, Throughput, Voice, SLOT_MS};
use stats::Recorder;
use std::sync::Arc;
use std::time::{Duration, Instant};
use subscribers::Subscribers;
use webhook::WebhookReceiver;

/// The scenarios.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Scenario {
    /// Callers run the voice-agent flow: availability -> first-available hold -> think ->
    /// confirm, cancel, or walk away and let the hold expire (`--mix`).
    Voice,
    /// All callers fight for a few slots on a few resources: first with the atomic
    /// first-available hold, then with the two-step flow (availability, then hold the slot it
    /// offered), each for half of `--duration`.
    Contention,
    /// Plain holds on random slots (the workload of `bench/holds.lua`, for wrk), as fast as answers
    /// come, or at `--rate`.
    Throughput,
}

impl Scenario {
    fn name(self) -> &'static str {
        match self {
            Scenario::Voice => "voice",
            Scenario::Contention => "contention",
            Scenario::Throughput => "throughput",
        }
    }
}

/// `holdfast-bench`.
#[derive(Clone, Debug, clap::Args)]
pub struct BenchArgs {
    /// What the callers do.
    #[arg(value_enum)]
    pub scenario: Scenario,

    /// The server to measure (`http://127.0.0.1:8080`); without it, the bench starts one in
    /// this process on a temporary data directory and a free loopback port.
    #[arg(long, env = "HOLDFAST_URL")]
    pub url: Option<String>,

    /// A key for a server with keys (the admin key: the bench makes its own companies).
    #[arg(long, env = "HOLDFAST_KEY", hide_env_values = true)]
    pub key: Option<String>,

    /// Simulated callers, each with its own keep-alive connection.
    #[arg(long, env = "HOLDFAST_CALLERS", default_value_t = limits::CALLERS_DEFAULT,
          value_parser = clap::value_parser!(u32).range(1..=limits::CALLERS_MAX as i64))]
    pub callers: u32,

    /// How long the load runs (`10s`, `2m`); `contention` splits it between its two flows.
    #[arg(long, env = "HOLDFAST_DURATION", default_value = "10s",
          value_parser = parse_duration)]
    pub duration: Duration,

    /// Open loop: flows started per second, whatever the answers do (latency counts from each
    /// flow's scheduled time). Without it: closed loop, each caller as fast as it is answered.
    #[arg(long, env = "HOLDFAST_RATE",
          value_parser = clap::value_parser!(u64).range(1..=limits::RATE_PER_SECOND_MAX))]
    pub rate: Option<u64>,

    /// Print one JSON object instead of tables.
    #[arg(long, env = "HOLDFAST_JSON")]
    pub json: bool,

    /// Durability of the in-process server (ignored with `--url`).
    #[arg(long, env = "HOLDFAST_DURABILITY", value_enum, default_value = "wal")]
    pub durability: Durability,

    /// Snapshot interval of the in-process server (ignored with `--url`): the `serve` default,
    /// so that the measurement includes the pause a snapshot costs each company.
    #[arg(long, env = "HOLDFAST_SNAPSHOT_INTERVAL", default_value = "5s",
          value_parser = parse_duration)]
    pub snapshot_interval: Duration,

    /// Threads of the callers' runtime; default one per core.
    #[arg(long, env = "HOLDFAST_THREADS",
          value_parser = clap::value_parser!(u16).range(1..=limits::THREADS_MAX as i64))]
    pub threads: Option<u16>,

    /// contention: resources fought over.
    #[arg(long, env = "HOLDFAST_RESOURCES", default_value_t = 2,
          value_parser = clap::value_parser!(u32).range(1..=holdfast::limits::QUERY_RESOURCES_MAX as i64))]
    pub resources: u32,

    /// contention: 30-minute slots per resource in each round.
    #[arg(long, env = "HOLDFAST_SLOTS", default_value_t = 4,
          value_parser = clap::value_parser!(u32).range(1..=limits::ROUND_SLOTS_MAX as i64))]
    pub slots: u32,

    /// voice: mean think time between the hold and the decision (drawn from half to 1.5x).
    #[arg(long, env = "HOLDFAST_THINK", default_value = "100ms", value_parser = parse_duration)]
    pub think: Duration,

    /// voice: TTL of the call's hold (whole seconds); walk-aways expire after it.
    #[arg(long, env = "HOLDFAST_HOLD_TTL", default_value = "2s", value_parser = parse_duration)]
    pub hold_ttl: Duration,

    /// voice: what callers do with their hold, in percent: CONFIRM,CANCEL,WALK_AWAY.
    #[arg(long, env = "HOLDFAST_MIX", default_value = "95,3,2")]
    pub mix: Mix,

    /// Seed of the callers' random choices (slots, think times, decisions); printed with
    /// the report. Default: from the clock.
    #[arg(long, env = "HOLDFAST_SEED")]
    pub seed: Option<u64>,

    /// Event streams (`GET .../events`, Server-Sent Events) open on each company the scenario
    /// uses while the load runs: what readers cost the callers.
    #[arg(long, env = "HOLDFAST_SUBSCRIBERS", default_value_t = 0,
          value_parser = clap::value_parser!(u32).range(0..=limits::SUBSCRIBERS_MAX as i64))]
    pub subscribers: u32,

    /// Event streams open on each company that never read a byte: what a stalled reader costs
    /// the callers (compare with a run without them).
    #[arg(long, env = "HOLDFAST_STALLED_SUBSCRIBERS", default_value_t = 0,
          value_parser = clap::value_parser!(u32).range(0..=limits::SUBSCRIBERS_MAX as i64))]
    pub stalled_subscribers: u32,

    /// Give each company the scenario uses a webhook endpoint taking every event, delivered to
    /// a receiver in this process that answers at once; the report gives the delivery lag. A
    /// server given by `--url` must run with `--webhook-allow-private`.
    #[arg(long, env = "HOLDFAST_WEBHOOK")]
    pub webhook: bool,

    /// Admin pages open on the first company's day while the load runs, each fetching what a
    /// browser fetches (the day every second, the table every two, the charts every ten, the
    /// live events stream): what watching costs the callers. The server must be open (the
    /// in-process one is).
    #[arg(long, env = "HOLDFAST_ADMIN_PAGES", default_value_t = 0,
          value_parser = clap::value_parser!(u32).range(0..=limits::SUBSCRIBERS_MAX as i64))]
    pub admin_pages: u32,

    /// `voice`: how the calls reach holdfast: `rest` (the HTTP API's holds) or `retell` (as a
    /// Retell agent's custom functions, `POST /v1/voice/retell/{company}`).
    #[arg(long, env = "HOLDFAST_VIA", value_enum, default_value = "rest")]
    pub via: Via,

    /// `voice --via retell`: bytes of transcript in each request's call object (Retell sends
    /// the whole call so far), 0 to 1,000,000.
    #[arg(long, env = "HOLDFAST_CALL_BYTES", default_value_t = 0,
          value_parser = clap::value_parser!(u32).range(0..=limits::CALL_BYTES_MAX as i64))]
    pub call_bytes: u32,

    /// `voice --via retell`: the company's Retell API key, to sign requests as Retell does (a
    /// server with a keys file checks the signatures).
    #[arg(long, env = "HOLDFAST_RETELL_KEY", hide_env_values = true)]
    pub retell_key: Option<String>,
}

/// How the voice scenario's calls reach holdfast.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Via {
    Rest,
    Retell,
}

/// Why a bench could not run (a failed audit is not one: it is in the report).
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    #[error("--{flag} must be {rule}")]
    Range { flag: &'static str, rule: String },
    #[error(transparent)]
    Target(#[from] client::TargetError),
    #[error("{0}")]
    Server(String),
    #[error("the server at {url} is not ready: {reason}")]
    NotReady { url: String, reason: String },
    #[error("cannot start the callers' runtime: {0}")]
    Runtime(#[from] std::io::Error),
}

/// The checked settings of a run.
struct Plan {
    scenario: Scenario,
    callers: usize,
    duration: Duration,
    rate: Option<u64>,
    threads: usize,
    resources: usize,
    slots: i64,
    think: Duration,
    ttl_seconds: i64,
    mix: Mix,
    seed: u64,
    subscribers: usize,
    stalled_subscribers: usize,
    webhook: bool,
    admin_pages: usize,
    via: Via,
    call_bytes: usize,
    retell_key: Option<String>,
}

impl BenchArgs {
    fn plan(&self) -> Result<Plan, BenchError> {
        if self.duration.is_zero() || self.duration.as_secs() >= limits::DURATION_SECONDS_MAX {
            return Err(BenchError::Range {
                flag: "duration",
                rule: format!(
                    "longer than 0 and shorter than {}s",
                    limits::DURATION_SECONDS_MAX
                ),
            });
        }
        if self.snapshot_interval.is_zero() {
            return Err(BenchError::Range {
                flag: "snapshot-interval",
                rule: "longer than 0".to_owned(),
            });
        }
        if self.think.as_millis() > u128::from(limits::THINK_MILLIS_MAX) {
            return Err(BenchError::Range {
                flag: "think",
                rule: format!("at most {}ms", limits::THINK_MILLIS_MAX),
            });
        }
        let ttl_seconds = self.hold_ttl.as_secs() as i64;
        if self.hold_ttl.subsec_nanos() != 0
            || !(holdfast::limits::TTL_SECONDS_MIN..=holdfast::limits::TTL_SECONDS_MAX)
                .contains(&ttl_seconds)
        {
            return Err(BenchError::Range {
                flag: "hold-ttl",
                rule: format!(
                    "whole seconds from {}s to {}s",
                    holdfast::limits::TTL_SECONDS_MIN,
                    holdfast::limits::TTL_SECONDS_MAX
                ),
            });
        }
        Ok(Plan {
            scenario: self.scenario,
            callers: self.callers as usize,
            duration: self.duration,
            rate: self.rate,
            threads: self.threads.map_or_else(num_cpus::get, usize::from),
            resources: self.resources as usize,
            slots: i64::from(self.slots),
            think: self.think,
            ttl_seconds,
            mix: self.mix,
            seed: self.seed.unwrap_or_else(|| rand::thread_rng().next_u64()),
            subscribers: self.subscribers as usize,
            stalled_subscribers: self.stalled_subscribers as usize,
            webhook: self.webhook,
            admin_pages: self.admin_pages as usize,
            via: self.via,
            call_bytes: self.call_bytes as usize,
            retell_key: self.retell_key.clone(),
        })
    }
}

/// Runs the bench: starts a server unless `--url`, plays the scenario, audits, reports.
pub fn run(args: &BenchArgs) -> Result<BenchReport, BenchError> {
    let plan = args.plan()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(plan.threads)
        .enable_all()
        .build()?;
    match &args.url {
        Some(url) => {
            let target = runtime.block_on(Target::resolve(url, args.key.as_deref()))?;
            runtime.block_on(run_against(target, url.clone(), None, &plan))
        }
        None => {
            let server = server::LocalServer::start(args.durability, args.snapshot_interval)
                .map_err(BenchError::Server)?;
            let target = Target::local(server.address);
            let durability = format!("{:?}", args.durability).to_lowercase();
            let result = runtime.block_on(run_against(
                target,
                format!("in-process http://{}", server.address),
                Some(durability),
                &plan,
            ));
            // Callers first, so that no connection is open while the server drains.
            drop(runtime);
            server.stop().map_err(BenchError::Server)?;
            result
        }
    }
}

/// The 1, 5 and 15-minute load averages, where the system tells them.
fn load_average() -> Option<[f64; 3]> {
    let text = std::fs::read_to_string("/proc/loadavg").ok()?;
    let mut fields = text.split_whitespace().map(|f| f.parse::<f64>().ok());
    Some([fields.next()??, fields.next()??, fields.next()??])
}

async fn check_ready(connection: &mut Connection, url: &str) -> Result<(), BenchError> {
    let not_ready = |reason: String| BenchError::NotReady {
        url: url.to_owned(),
        reason,
    };
    let answer = connection
        .send(hyper::Method::GET, "/healthz", None)
        .await
        .map_err(|e| not_ready(e.to_string()))?;
    match answer.status {
        200 => Ok(()),
        status => Err(not_ready(format!("/healthz answered {status}"))),
    }
}

async fn run_against(
    target: Target,
    target_name: String,
    durability: Option<String>,
    plan: &Plan,
) -> Result<BenchReport, BenchError> {
    let target = Arc::new(target);
    let mut control = Connection::new(target.clone());
    check_ready(&mut control, &target_name).await?;
    let load_average_before = load_average();
    let recorder = Arc::new(Recorder::new());
    let mut callers: Vec<Caller> = (0..plan.callers)
        .map(|index| Caller {
            index,
            connection: Connection::new(target.clone()),
            rng: rand::rngs::StdRng::seed_from_u64(plan.seed.wrapping_add(index as u64)),
            recorder: recorder.clone(),
            flows: 0,
        })
        .collect();
    let run_id = format!("{:08x}", plan.seed as u32);
    let base_ms = scenarios::schedule_base_ms(chrono::Utc::now().timestamp_millis());
    let (phases, scopes) = phases_of(plan, &run_id, base_ms);
    let companies: Vec<String> = scopes.iter().map(|s| s.company.clone()).collect();
    if plan.via == Via::Retell {
        // A Retell call names no time to live: the company's default is the run's `--hold-ttl`.
        for company in &companies {
            set_default_ttl(&mut control, company, plan.ttl_seconds, &target_name).await?;
        }
    }
    let receiver = match plan.webhook {
        true => Some(start_webhooks(&mut control, &companies, &target_name).await?),
        false => None,
    };
    let subscribers = Subscribers::open(
        &target,
        &companies,
        plan.subscribers,
        plan.stalled_subscribers,
    )
    .await
    .map_err(|e| BenchError::NotReady {
        url: target_name.clone(),
        reason: format!("an event stream did not open: {e}"),
    })?;
    let pages = match (plan.admin_pages, companies.first()) {
        (0, _) | (_, None) => None,
        (count, Some(company)) => {
            let date = chrono::DateTime::from_timestamp_millis(base_ms)
                .unwrap_or_default()
                .format("%Y-%m-%d")
                .to_string();
            Some(
                AdminPages::open(&target, company, &date, count)
                    .await
                    .map_err(|e| BenchError::NotReady {
                        url: target_name.clone(),
                        reason: format!("an admin page did not open: {e}"),
                    })?,
            )
        }
    };
    let mut elapsed = Duration::ZERO;
    for (flow, duration) in phases {
        let (returned, took) = run_phase(flow, callers, duration, plan.rate).await;
        callers = returned;
        elapsed += took;
    }
    drop(callers);
    let admin_page_requests = match pages {
        Some(pages) => pages.close().await,
        None => 0,
    };
    let events_received = subscribers.close().await;
    let webhook = match receiver {
        // Deliveries still on their way are waited for (a second without one ends the wait).
        Some(receiver) => Some(
            receiver
                .finish(Duration::from_secs(1), Duration::from_secs(60))
                .await,
        ),
        None => None,
    };
    let audit = audit::audit(&mut control, &scopes).await;
    let facts = RunFacts {
        scenario: plan.scenario.name().to_owned(),
        target: target_name,
        durability,
        callers: plan.callers,
        client_threads: plan.threads,
        rate_per_second: plan.rate,
        duration_seconds: plan.duration.as_secs_f64(),
        elapsed_seconds: elapsed.as_secs_f64(),
        seed: plan.seed,
        load_average_before,
        load_average_after: load_average(),
        subscribers: plan.subscribers,
        stalled_subscribers: plan.stalled_subscribers,
        events_received,
        webhook,
        admin_pages: plan.admin_pages,
        admin_page_requests,
    };
    Ok(BenchReport::new(facts, &recorder, audit))
}

/// Sets `company`'s default time to live of holds.
async fn set_default_ttl(
    control: &mut Connection,
    company: &str,
    ttl_seconds: i64,
    target_name: &str,
) -> Result<(), BenchError> {
    let body = format!(r#"{{"default_ttl_seconds":{ttl_seconds}}}"#);
    let path = format!("/v1/companies/{company}/settings");
    let answer = control
        .send(hyper::Method::PUT, &path, Some(bytes::Bytes::from(body)))
        .await
        .map_err(|e| BenchError::NotReady {
            url: target_name.to_owned(),
            reason: e.to_string(),
        })?;
    if answer.status != 200 {
        return Err(BenchError::NotReady {
            url: target_name.to_owned(),
            reason: format!("PUT {path} answered {}", answer.status),
        });
    }
    Ok(())
}

/// Starts the webhook receiver and gives every company an endpoint delivering to it.
async fn start_webhooks(
    control: &mut Connection,
    companies: &[String],
    target_name: &str,
) -> Result<WebhookReceiver, BenchError> {
    let not_ready = |reason: String| BenchError::NotReady {
        url: target_name.to_owned(),
        reason,
    };
    let receiver = WebhookReceiver::start()
        .await
        .map_err(|e| not_ready(format!("the webhook receiver cannot listen: {e}")))?;
    for company in companies {
        receiver
            .subscribe(control, company)
            .await
            .map_err(not_ready)?;
    }
    Ok(receiver)
}

/// The phases of a scenario (a flow and how long it runs) and the companies they use.
fn phases_of(plan: &Plan, run_id: &str, base_ms: i64) -> (Vec<(Flow, Duration)>, Vec<AuditScope>) {
    let company = |name: &str| format!("bench-{run_id}-{name}");
    let scope = |company: &str| AuditScope {
        company: company.to_owned(),
    };
    match plan.scenario {
        Scenario::Voice if plan.via == Via::Retell => {
            let voice = scenarios::RetellVoice {
                company: company("voice"),
                resources: scenarios::VOICE_RESOURCES.map(String::from).to_vec(),
                days: Rounds::new(base_ms, 24 * 60 * 60 * 1_000),
                think: plan.think,
                mix: plan.mix,
                transcript: scenarios::transcript(plan.call_bytes),
                key: plan.retell_key.clone(),
            };
            let scopes = vec![scope(&voice.company)];
            (vec![(Flow::Retell(Arc::new(voice)), plan.duration)], scopes)
        }
        Scenario::Voice => {
            let voice = Voice {
                company: company("voice"),
                resources: scenarios::VOICE_RESOURCES.map(String::from).to_vec(),
                days: Rounds::new(base_ms, 24 * 60 * 60 * 1_000),
                think: plan.think,
                ttl_seconds: plan.ttl_seconds,
                mix: plan.mix,
            };
            let scopes = vec![scope(&voice.company)];
            (vec![(Flow::Voice(Arc::new(voice)), plan.duration)], scopes)
        }
        Scenario::Contention => {
            let contention = |name: &str| Contention {
                company: company(name),
                resources: (1..=plan.resources).map(|r| format!("room-{r}")).collect(),
                rounds: Rounds::new(base_ms, plan.slots * SLOT_MS),
                slots: plan.slots,
            };
            let (atomic, two_step) = (contention("atomic"), contention("two-step"));
            let scopes = vec![scope(&atomic.company), scope(&two_step.company)];
            let half = plan.duration / 2;
            let phases = vec![
                (Flow::Atomic(Arc::new(atomic)), half),
                (Flow::TwoStep(Arc::new(two_step)), plan.duration - half),
            ];
            (phases, scopes)
        }
        Scenario::Throughput => {
            let throughput = Throughput::new(company("throughput"), base_ms);
            let scopes = vec![scope(&throughput.company)];
            (
                vec![(Flow::Throughput(Arc::new(throughput)), plan.duration)],
                scopes,
            )
        }
    }
}

/// Runs every caller through `flow` for `duration` (and until their last flow ends); gives
/// the callers back, with how long the phase took.
async fn run_phase(
    flow: Flow,
    callers: Vec<Caller>,
    duration: Duration,
    rate: Option<u64>,
) -> (Vec<Caller>, Duration) {
    let pacer = Arc::new(match rate {
        Some(rate) => Pacer::open(duration, rate),
        None => Pacer::closed(duration),
    });
    let open_loop = rate.is_some();
    let started = Instant::now();
    let tasks: Vec<_> = callers
        .into_iter()
        .map(|mut caller| {
            let (flow, pacer) = (flow.clone(), pacer.clone());
            tokio::spawn(async move {
                while let Some(scheduled) = pacer.next().await {
                    if open_loop {
                        caller.recorder.start_lateness(scheduled.elapsed());
                    }
                    flow.run(&mut caller, scheduled).await;
                }
                caller
            })
        })
        .collect();
    let mut returned = Vec::with_capacity(tasks.len());
    for task in tasks {
        // A caller task only ends by finishing its loop; a panic in one is a bug of the tool,
        // and the caller is simply not reused.
        if let Ok(caller) = task.await {
            returned.push(caller);
        }
    }
    (returned, started.elapsed())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Wrapper {
        #[command(flatten)]
        bench: BenchArgs,
    }

    fn parse(args: &[&str]) -> Result<BenchArgs, clap::Error> {
        let mut all = vec!["holdfast"];
        all.extend_from_slice(args);
        Wrapper::try_parse_from(all).map(|w| w.bench)
    }

    /// Goal: the flags of API.md parse with their defaults, and out-of-range values are refused
    /// before anything runs.
    #[test]
    fn flags() {
        let args = parse(&["contention"]).unwrap();
        assert_eq!(args.scenario, Scenario::Contention);
        assert_eq!(args.callers, limits::CALLERS_DEFAULT);
        assert_eq!(args.duration, Duration::from_secs(10));
        assert_eq!(args.rate, None);
        assert!(!args.json);
        let plan = args.plan().unwrap();
        assert_eq!((plan.resources, plan.slots, plan.ttl_seconds), (2, 4, 2));

        let args = parse(&[
            "throughput",
            "--url",
            "http://127.0.0.1:9",
            "--callers",
            "8",
            "--duration",
            "1500ms",
            "--rate",
            "20000",
            "--json",
        ])
        .unwrap();
        assert_eq!(args.url.as_deref(), Some("http://127.0.0.1:9"));
        assert_eq!(
            (args.callers, args.rate, args.json),
            (8, Some(20_000), true)
        );
        assert_eq!(args.duration, Duration::from_millis(1_500));

        for bad in [
            vec!["storm"],
            vec!["voice", "--callers", "0"],
            vec!["voice", "--rate", "0"],
            vec!["voice", "--mix", "50,50"],
            vec!["voice", "--duration", "soon"],
            vec!["contention", "--resources", "65"],
        ] {
            assert!(parse(&bad).is_err(), "{bad:?}");
        }
        for bad in [
            vec!["voice", "--duration", "0s"],
            vec!["voice", "--duration", "2h"],
            vec!["voice", "--hold-ttl", "1500ms"],
            vec!["voice", "--hold-ttl", "2h"],
            vec!["voice", "--think", "2m"],
            vec!["voice", "--snapshot-interval", "0s"],
        ] {
            assert!(parse(&bad).unwrap().plan().is_err(), "{bad:?}");
        }
    }
}
