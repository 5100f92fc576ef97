//! Every bound of holdfast in one place: what it bounds, its unit, and why it has this value.
//!
//! Limits that an operator may want to move are defaults of settings (`Settings` in
//! `core::book`); the rest are fixed here because the API contract (`docs/API.md`) names them.
//! Nothing a caller sends may grow a map or a queue without one of these bounds.

/// Length of a company or resource id, in bytes. The API fixes `[A-Za-z0-9_-]{1,64}`.
pub const ID_BYTES_MAX: usize = 64;

/// Length of `call_id`, `service_id`, `customer_phone`, `appointment_id`, in bytes (API.md).
pub const TEXT_BYTES_MAX: usize = 128;

/// Digits in a phone number after the `+` (E.164 allows at most 15; 6 is the shortest real one).
pub const PHONE_DIGITS_MIN: usize = 6;
/// See [`PHONE_DIGITS_MIN`].
pub const PHONE_DIGITS_MAX: usize = 15;

/// Segments in one reservation (API.md: a compound hold has 1 to 16).
pub const SEGMENTS_MAX: usize = 16;

/// Resources listed in one first-available search or availability query. Each resource costs one
/// calendar walk inside the company actor, so this bounds the time one request holds the actor.
pub const QUERY_RESOURCES_MAX: usize = 64;

/// Hold time to live, in seconds, when the caller gives none (API.md: 5 minutes).
pub const TTL_SECONDS_DEFAULT: i64 = 300;
/// Shortest hold time to live, in seconds (API.md).
pub const TTL_SECONDS_MIN: i64 = 1;
/// Longest hold time to live, in seconds (API.md: one hour).
pub const TTL_SECONDS_MAX: i64 = 3_600;

/// Length of a voice agent's hold when it names none, in minutes (API.md 1.1: a company
/// setting, default 30).
pub const DEFAULT_DURATION_MINUTES: u32 = 30;

/// Longest `default_duration_minutes` a company may set: one day (API.md 1.1).
pub const DEFAULT_DURATION_MINUTES_MAX: u32 = 1_440;

/// Opening intervals per weekday of one resource. A day of half-hour intervals has 48; more is a
/// mistake, and each interval is tried on every hold of the resource.
pub const OPENING_INTERVALS_PER_DAY_MAX: usize = 48;

/// Closures per resource: every hold of the resource checks them (a sorted scan stopping at the
/// first closure that starts after the hold ends). Years of holidays fit.
pub const CLOSURES_PER_RESOURCE_MAX: usize = 1_000;

/// Longest resource label, in characters (a name a person reads, such as "Dr. Meier").
pub const RESOURCE_LABEL_CHARS_MAX: usize = 200;

/// Default cap on extensions, in seconds after `reserved_at` (API.md: one hour; a setting).
pub const EXTEND_CAP_SECONDS_DEFAULT: i64 = 3_600;

/// Longest segment, and widest search window, in seconds: one leap year. Appointments are hours,
/// not leases; the bound keeps interval arithmetic far from overflow and searches finite.
pub const SPAN_SECONDS_MAX: i64 = 366 * 24 * 3_600;

/// Earliest accepted instant, in milliseconds since the Unix epoch (1970-01-01T00:00:00Z).
pub const TIME_MILLIS_MIN: i64 = 0;
/// Latest accepted instant, in milliseconds since the Unix epoch (9999-12-31T23:59:59.999Z):
/// the last instant RFC 3339 can write with a four-digit year.
pub const TIME_MILLIS_MAX: i64 = 253_402_300_799_999;

/// Default number of reservations answered by a list (API.md).
pub const LIST_LIMIT_DEFAULT: usize = 100;
/// Most reservations answered by a list (API.md).
pub const LIST_LIMIT_MAX: usize = 1_000;
/// Most reservations one page of a list examines in creation order, matching or not. A filter
/// that matches little (a status, a resource, a window) would otherwise walk the whole company
/// (a million reservations) inside one turn of its actor, holding up every hold behind it; at
/// this bound a page ends early, shorter than its limit, with a cursor where it stopped, and the
/// walk goes on in the next request. 10,000 keeps a page to about a millisecond or two: it is
/// estimated from the snapshot export's 170 ns per reservation (more work per reservation than
/// a filter's check), not measured. Larger than [`LIST_LIMIT_MAX`], so a list whose every
/// reservation matches always fills its page.
pub const LIST_SCAN_MAX: usize = 10_000;

/// Most free start times answered per resource by availability (API.md); an answer cut by it
/// says so (`truncated`).
pub const AVAILABILITY_SLOTS_MAX: usize = 1_000;

/// Default live reservations (active holds and bookings) per company (API.md; a setting).
pub const LIVE_RESERVATIONS_MAX_DEFAULT: usize = 1_000_000;

/// Distinct resources per company. Each resource owns a calendar that lives as long as the
/// company, so a caller inventing resource names must not grow memory without end.
pub const RESOURCES_PER_COMPANY_MAX: usize = 100_000;

/// Capacity a resource has until it is configured: one live reservation at a time, as before
/// capacity existed (API.md: default 1).
pub const RESOURCE_CAPACITY_DEFAULT: u32 = 1;
/// Largest capacity of one resource (API.md: 1 to 1,000): a conflict check on a full resource
/// sorts the reservations overlapping the interval, so capacity bounds what one check walks.
pub const RESOURCE_CAPACITY_MAX: u32 = 1_000;

/// Nodes in one chunk of a calendar's free-gap index (56 bytes each, so 56 KiB a chunk). The
/// index grows a chunk at a time, so this bounds what one insert allocates or copies: a
/// calendar of a million entries never moves the nodes it holds to grow.
pub const GAP_INDEX_CHUNK_NODES: usize = 1_024;

/// Default retention of finished reservations and past bookings, in seconds (24 hours; a
/// setting): long enough for the day's reads and metrics, short enough that memory follows
/// live work rather than history.
pub const RETENTION_SECONDS_DEFAULT: i64 = 24 * 3_600;

/// Length of an `Idempotency-Key` header, in bytes (API.md).
pub const IDEMPOTENCY_KEY_BYTES_MAX: usize = 128;
/// How long an idempotency key is remembered, in seconds (API.md: 24 hours).
pub const IDEMPOTENCY_SECONDS: i64 = 24 * 3_600;
/// Idempotency keys remembered per company; past this the oldest is forgotten first. Keys are
/// remembered only for successful creates, which the live limit already bounds per TTL.
pub const IDEMPOTENCY_KEYS_MAX: usize = 1_000_000;

/// Distinct cancel reasons counted per company; further reasons are counted as `other`, so a
/// caller cannot grow the metrics map with invented reasons.
pub const CANCEL_REASONS_DISTINCT_MAX: usize = 64;
/// Length of a cancel reason, in bytes (same alphabet as ids).
pub const CANCEL_REASON_BYTES_MAX: usize = 64;

/// Messages waiting in one company actor's mailbox before `send` waits: back-pressure instead of
/// an unbounded queue when one company is flooded.
pub const COMPANY_MAILBOX_CAPACITY: usize = 1_024;

/// Companies the registry starts. Each costs an actor and its maps; the bound stops a caller
/// from inventing companies until memory runs out.
pub const COMPANIES_MAX: usize = 100_000;

/// Request body size, in bytes (API.md: 64 KiB, answered with 413 beyond).
pub const BODY_BYTES_MAX: usize = 64 * 1_024;

/// Conflicting intervals listed in one `conflict` answer: enough to show the caller what is in
/// the way, bounded so a year-long request over a full calendar does not answer megabytes.
pub const CONFLICTS_REPORTED_MAX: usize = 32;

/// Default tick of the expiry wheel, in milliseconds (a setting, `--expiry-tick`). A hold expires
/// at the first tick at or after its `expires_at`, so this is the lateness the wheel itself adds
/// at most; smaller ticks cost more wake-ups for no visible gain (lazy expiry already hides an
/// expired hold from every read and conflict check at once).
pub const EXPIRY_RESOLUTION_MS_DEFAULT: u64 = 10;

/// Tokens a company actor expires in one turn before it yields to its mailbox and to the other
/// actors of its thread. One expiry costs 0.5 to 1.5 microseconds in release (a million took
/// 0.47 s to 1.5 s in the `Book` in `benches/expiry.rs`, depending on the machine's load: map
/// and calendar removals, cache misses), so a chunk is well under a millisecond, and a hold
/// arriving during a mass expiry of a million waits for at most one chunk rather than the whole
/// batch (the target: a hold is never held up by more than 5 ms). 250 rather than 500 because the
/// hold round trip's p99 during a mass expiry of a million went from 0.47 to 0.64 ms down to
/// 0.22 to 0.29 ms, and the whole expiry took no longer (0.78 to 1.02 s against 0.78 to 0.88 s).
/// Smaller chunks cost a yield (a few microseconds) each.
pub const EXPIRY_CHUNK_TOKENS: usize = 250;

/// Entries the expiry wheel and its intake queue hold together (32 bytes each: 512 MB at most).
/// Every active hold has one entry, and every extend adds one (the old entry stays until its
/// time and is then ignored), so a caller extending in a loop could otherwise grow the wheel for
/// an hour. Past the bound a schedule is refused and counted; lazy expiry keeps such a hold
/// correct, it is only swept later.
pub const EXPIRY_ENTRIES_MAX: usize = 16_000_000;

/// Capacity the expiry wheel keeps in its spare intake buffer between ticks: enough for a busy
/// tick without reallocating, small enough that one mass restore does not pin its memory.
pub const EXPIRY_INTAKE_CAPACITY_KEPT: usize = 65_536;

/// Largest expiry lateness recorded, in milliseconds (one hour, the longest TTL); later values
/// are recorded as this, so the histogram's memory is fixed.
pub const EXPIRY_LATENESS_MS_TRACKED_MAX: u64 = 3_600_000;

/// Payload of one write-ahead log record, in bytes. The largest real record (a hold with 16
/// segments, or a 64-resource search, and every text at its limit) is a few KiB; an expiry
/// record is split below this. A larger length read back is corruption, not a record.
pub const LOG_RECORD_BYTES_MAX: usize = 1 << 20;

/// Tokens in one logged expiry batch: 10,000 tokens are 170 KiB, well under
/// [`LOG_RECORD_BYTES_MAX`], and a mass expiry of a million holds is a hundred records.
pub const LOG_EXPIRE_TOKENS_PER_RECORD_MAX: usize = 10_000;

/// Bytes of log records queued and not yet written before appends wait, in bytes. 32 MiB is
/// about 200,000 holds: far beyond one group commit at full speed, so it is reached only when
/// the disk stalls, and then waiting is the right answer (a change is not acknowledged before
/// it is on disk anyway).
pub const LOG_QUEUE_BYTES_MAX: usize = 32 << 20;

/// Failed log epochs whose last durable LSN is remembered, so that a change still waiting from
/// before a failure learns whether it was kept. A waiter outlives at most one or two recoveries
/// (each takes at least a rebuild from disk); 64 leaves room for a disk that flaps.
pub const LOG_EPOCHS_REMEMBERED_MAX: usize = 64;

/// How often a server that refuses changes tries the disk again, in milliseconds. Short, so that
/// service returns within a second of space being freed; each try is one small write and sync.
pub const DURABILITY_RETRY_INTERVAL_MS: u64 = 250;

/// Size at which the log writer starts a new segment, in bytes. Segments are removed whole once
/// a snapshot covers them, so this bounds the disk a busy log holds between snapshots beyond
/// what the snapshot interval already bounds.
pub const LOG_SEGMENT_BYTES_MAX: usize = 64 << 20;

/// Threads that rebuild companies from a snapshot at start-up: one per core, at most this many
/// (beyond it, memory bandwidth, not cores, is the limit).
pub const RESTORE_THREADS_MAX: usize = 16;

/// Company exports a snapshot asks for at once. Each answer is one company's state in memory
/// until written, so the bound keeps a snapshot of many companies from flooding every mailbox
/// at the same moment; the whole snapshot is in memory anyway before it is written.
pub const SNAPSHOT_EXPORTS_IN_FLIGHT_MAX: usize = 64;

/// Store slots a company actor copies for a snapshot in one turn before it yields to its
/// mailbox and to the other actors of its thread. Encoding a reservation into its on-disk bytes
/// costs about 170 ns in a book of 100,000 (17 ms for all of them, `cargo bench --bench
/// snapshot`), more in a book of a million (cache misses), so a turn takes 0.2 to 0.5 ms: a
/// hold arriving during the export of a company with a million reservations waits for at most
/// one turn, not for the whole copy (0.3 to 1.6 s measured when it was one turn; the target is a
/// p99 under 2 ms at 20,000 holds per second with the default 5 s snapshots running). A yield
/// between turns costs a few microseconds.
pub const SNAPSHOT_EXPORT_CHUNK_SLOTS: usize = 1_000;

/// Default number of verified snapshots kept in the data directory (API.md `--keep-snapshots`).
pub const KEEP_SNAPSHOTS_DEFAULT: usize = 3;

// ----- HTTP shim and `serve` settings -----------------------------------------------------------

/// Shortest API key in the keys file, in bytes: 16 random printable characters are beyond
/// guessing over a network; a shorter key is refused at start-up rather than trusted.
pub const KEY_BYTES_MIN: usize = 16;

/// Parameters in one query string. The richest query (availability with 64 resources plus its
/// five other parameters) fits; beyond that a caller is only making the parser work.
pub const QUERY_PAIRS_MAX: usize = QUERY_RESOURCES_MAX + 16;

/// Default wait for in-flight requests at shutdown, in seconds: far above any request's time
/// (they take microseconds in the actor), short enough that a stuck client cannot hold a
/// restart for long.
pub const SHUTDOWN_DRAIN_SECONDS_DEFAULT: u64 = 30;

/// Open connections one serving thread holds; past it, new connections wait in the listener's
/// backlog (or go to another thread). actix-web's own default per worker: each idle keep-alive
/// connection costs a task and its buffers, a few KiB.
pub const CONNECTIONS_PER_THREAD_MAX: usize = 25_000;

/// Accepted connections waiting for their serving thread to take them: the accept loop waits
/// past it, so a stalled thread holds back accepts instead of piling up sockets.
pub const CONNECTIONS_HANDED_OVER_MAX: usize = 128;

/// How long an idle connection is kept open for its next request (actix-web's default).
pub const KEEP_ALIVE: std::time::Duration = std::time::Duration::from_secs(5);

/// How long a new connection may take to send its first request's head (actix-web's default),
/// so that connections that send nothing do not hold their place.
pub const CLIENT_REQUEST_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// How long a closing connection waits for the peer to read the last answer (actix-web's
/// default for its server).
pub const CLIENT_DISCONNECT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(1);

/// Pause after a failed accept (most likely out of file descriptors), so that the loop lets
/// connections close instead of spinning on the same error (actix-server pauses 510 ms).
pub const ACCEPT_ERROR_PAUSE: std::time::Duration = std::time::Duration::from_millis(500);

/// Largest `--keep-snapshots`: each kept snapshot is a full copy of the state on disk.
pub const KEEP_SNAPSHOTS_MAX: usize = 100;

/// Largest `--workers`: serving threads beyond the cores only add context switches.
pub const WORKERS_MAX: usize = 256;

/// Largest `--live-limit` per company: a live reservation costs a few hundred bytes, so 100
/// million is tens of GiB, the memory of a large machine.
pub const LIVE_RESERVATIONS_MAX_SETTING: usize = 100_000_000;

/// Memory budgeted per live reservation (active hold or booking) when the engine-wide
/// `--total-live-limit` is derived from the machine's memory, in bytes. A hold with every text
/// field set measured 373 bytes of heap at a million (`BENCHMARKS.md`); 512 leaves room for the
/// allocator's rounding, its expiry wheel entry (32 bytes), the calendar's growth and the
/// copies a snapshot makes of what changes while it runs.
pub const LIVE_RESERVATION_BYTES_BUDGETED: u64 = 512;

/// Share of the machine's memory, in percent, that the default `--total-live-limit` gives to
/// live reservations. Half: the rest is for what the live limit does not count (finished
/// reservations kept for `--retention`, idempotency keys, a snapshot assembled in memory
/// before it is written, the log's queue, HTTP buffers) and for the rest of the machine.
pub const MEMORY_PERCENT_FOR_LIVE_RESERVATIONS: u64 = 50;

/// Memory assumed when `/proc/meminfo` cannot be read (another OS, a sandbox), in bytes: 4 GiB,
/// a small server, so that the default limit errs on the side of staying alive.
pub const MEMORY_BYTES_ASSUMED: u64 = 4 << 30;

/// Largest `--total-live-limit`: a billion live reservations are about 512 GB at
/// [`LIVE_RESERVATION_BYTES_BUDGETED`], beyond the memory of the largest common machines; a
/// larger value is a typo, not a plan.
pub const TOTAL_LIVE_RESERVATIONS_MAX_SETTING: u64 = 1_000_000_000;

/// Largest `--extend-cap`, in seconds: one day; a "hold" longer than that is a booking.
pub const EXTEND_CAP_SECONDS_MAX: i64 = 24 * 3_600;

/// Largest `--retention`, in seconds: 30 days of finished reservations kept in memory.
pub const RETENTION_SECONDS_MAX: i64 = 30 * 24 * 3_600;

/// Threads that sync the write-ahead log at once. A sync covers every byte written before it
/// starts; with several in flight, a change waits for the next sync to start, not for the
/// previous one to end. On the development machine's disk, 4 concurrent `fdatasync` calls
/// complete about 12 times as often as one at a time (3,179/s against 261/s); more threads
/// add little once the disk's queue is full.
pub const LOG_SYNC_THREADS: usize = 4;

/// Reservations dropped by one housekeeping pass of a company, so that a mass drop after a mass
/// expiry is spread over several passes and the actor's mailbox keeps turning.
pub const HOUSEKEEPING_DROPS_PER_CALL: usize = 10_000;

/// Least time between two full sweeps for lazily expired holds when a company is at its live
/// limit, in milliseconds: bounds the cost of refusing requests while truly full.
pub const LIMIT_SWEEP_INTERVAL_MS: i64 = 1_000;

/// Significant decimal digits kept by every metrics histogram: 1 % resolution, small enough that
/// three histograms per company stay around 30 KiB.
pub const HISTOGRAM_SIGNIFICANT_DIGITS: u8 = 2;
/// Largest time to conversion or hold lifetime recorded, in milliseconds (a hold lives at most an
/// hour past extensions; two leave room). Larger values are clamped, not lost.
pub const LIFETIME_MILLIS_HISTOGRAM_MAX: u64 = 2 * 3_600 * 1_000;
/// Largest in-engine hold latency recorded, in microseconds (10 s; anything near it is a bug).
pub const LATENCY_MICROS_HISTOGRAM_MAX: u64 = 10_000_000;

// ----- metrics, logs and the operator's CLI -----------------------------------------------------

/// Leading digits of a phone number a log line may show (country and network prefix: enough to
/// tell a mobile from a landline, or one country from another, when reading a log).
pub const PHONE_DIGITS_SHOWN_LEADING_MAX: usize = 5;
/// Trailing digits of a phone number a log line may show (enough to tell two callers apart).
pub const PHONE_DIGITS_SHOWN_TRAILING_MAX: usize = 3;
/// Digits of a phone number a log line always masks, however short the number: a short number
/// is never shown whole (logs are read by more people than the reservations are).
pub const PHONE_DIGITS_MASKED_MIN: usize = 5;

/// Company metrics asked for at once by one `GET /metrics` scrape. Each answer is one company's
/// counters and bucket counts (about a kilobyte); the bound keeps a scrape of many companies from
/// flooding every mailbox at once, as for snapshot exports.
pub const METRICS_SAMPLES_IN_FLIGHT_MAX: usize = 64;

/// Longest wait of `holdfast metrics` for one answer, in seconds: the server answers metrics in
/// microseconds, so a server silent this long is as good as unreachable to an operator.
pub const CLI_REQUEST_TIMEOUT_SECONDS: u64 = 10;

/// Shortest `holdfast metrics --watch --interval`, in milliseconds: below a tenth of a second a
/// terminal only flickers, and each refresh costs the server one request per company.
pub const CLI_WATCH_INTERVAL_MS_MIN: u64 = 100;
/// Longest `--interval`, in milliseconds (one day): a longer one is a mistake, not a watch.
pub const CLI_WATCH_INTERVAL_MS_MAX: u64 = 24 * 3_600 * 1_000;

/// Companies `holdfast metrics` without `--company` lists, one request each: the admin listing
/// returns every company, and a table longer than this is read with `--json` and a filter anyway.
pub const CLI_COMPANIES_LISTED_MAX: usize = 1_000;

/// Longest expiry tick an operator may set, in milliseconds: a hold may stay in its calendar
/// (blocking nothing, thanks to lazy expiry) this long past its expiry before it is counted and
/// freed; beyond a second the wheel stops being prompt.
pub const EXPIRY_TICK_MS_MAX: u64 = 1_000;

/// Events every company keeps for readers that resume, at least (the newest ones, whatever
/// their age): the contract's floor, so a subscriber that was away for a while finds its place.
pub const EVENTS_KEPT_MIN: usize = 10_000;

/// Events younger than this are kept beyond [`EVENTS_KEPT_MIN`], in seconds (24 hours, the
/// contract's floor): a reader away for a night resumes without a gap.
pub const EVENTS_KEPT_SECONDS: i64 = 24 * 3_600;

/// Events a company keeps at most, whatever their age: the memory bound (an event holds the
/// reservation as it was, about 300 bytes, so 30 MB a company). Past it the oldest go, and a
/// reader asking for them is told `gap`.
pub const EVENTS_KEPT_MAX: usize = 100_000;

/// Events a company's channel holds for its slowest subscriber before that subscriber is told
/// it fell behind (and resumes from the kept events): a subscriber never slows the actor, and a
/// burst of this many events between two reads of a subscriber costs it nothing.
pub const EVENT_CHANNEL_CAPACITY: usize = 4_096;

/// The same for the channel of every company's events (the admin's stream).
pub const EVENT_CHANNEL_ALL_CAPACITY: usize = 65_536;

/// Events a page of `GET .../events` answers by default, and at most.
pub const EVENTS_PAGE_DEFAULT: usize = 100;
/// See [`EVENTS_PAGE_DEFAULT`].
pub const EVENTS_PAGE_MAX: usize = 1_000;

/// Longest quiet time on an event stream before a comment line keeps it open, in seconds.
pub const EVENT_STREAM_KEEPALIVE_SECONDS: u64 = 15;

/// How often a quiet event stream looks whether the server drains, in milliseconds: a stream
/// ends this soon after shutdown begins, and a quiet stream wakes this often.
pub const EVENT_STREAM_POLL_MILLIS: u64 = 250;

/// Bytes of events a stream gathers into one write when more are already waiting (about 200
/// events): under load a reader gets one write for many events, and no write grows past this.
pub const EVENT_STREAM_BATCH_BYTES: usize = 64 * 1_024;

/// Longest webhook destination URL, in bytes: a URL is an address, not a payload.
pub const WEBHOOK_URL_BYTES_MAX: usize = 2_048;

/// Bytes of a webhook signing key, at least: the Standard Webhooks floor (a shorter key is
/// guessable).
pub const WEBHOOK_SECRET_BYTES_MIN: usize = 24;

/// Bytes of a webhook signing key, at most: the Standard Webhooks ceiling.
pub const WEBHOOK_SECRET_BYTES_MAX: usize = 64;

/// Bytes of a signing key the server draws when a caller gives none: 256 bits, HMAC-SHA256's
/// own strength.
pub const WEBHOOK_SECRET_BYTES_DRAWN: usize = 32;

/// Webhook endpoints one company may have: each is a delivery task and keeps events for itself,
/// so their number bounds a company's share of the network and of memory.
pub const WEBHOOKS_PER_COMPANY_MAX: usize = 16;

/// Events a company keeps at most for webhook endpoints that have not acknowledged them (beyond
/// what [`EVENTS_KEPT_MAX`] keeps for streams), the contract's floor: a receiver down for a long
/// weekend still gets everything. Past it the oldest go and the endpoint says `lost_before_seq`.
pub const WEBHOOK_EVENTS_KEPT_MAX: usize = 1_000_000;

/// Unacknowledged events older than this are dropped even below [`WEBHOOK_EVENTS_KEPT_MAX`], in
/// seconds (7 days): an endpoint gone for a week is not waited for forever.
pub const WEBHOOK_EVENTS_KEPT_SECONDS: i64 = 7 * 24 * 3_600;

/// How long a webhook receiver has to answer one delivery, in seconds (the contract's timeout):
/// past it the attempt counts as failed and is retried.
pub const WEBHOOK_TIMEOUT_SECONDS: u64 = 10;

/// The first pause after a failed webhook delivery, in milliseconds; each further failure in a
/// row doubles it, up to [`WEBHOOK_RETRY_PAUSE_SECONDS_MAX`] (the contract's schedule).
pub const WEBHOOK_RETRY_PAUSE_MILLIS_FIRST: i64 = 1_000;

/// The longest pause between two attempts of one webhook delivery, in seconds (an hour): a
/// receiver that comes back is found within the hour.
pub const WEBHOOK_RETRY_PAUSE_SECONDS_MAX: i64 = 3_600;

/// How long an endpoint fails in a row before it is marked `failing`, in seconds (24 hours, the
/// contract's): it keeps being tried hourly and skips nothing.
pub const WEBHOOK_RETRYING_SECONDS_MAX: i64 = 24 * 3_600;

/// Webhook deliveries in flight at once, over every endpoint: each endpoint sends one at a time
/// (in `seq` order), and this bounds sockets and memory when many endpoints are busy.
pub const WEBHOOK_DELIVERIES_IN_FLIGHT_MAX: usize = 64;

/// Events a deliverer reads from its company per round: enough to stay behind a busy company in
/// few messages, few enough that a round is a small copy.
pub const WEBHOOK_EVENTS_PER_ROUND: usize = 256;

/// How often a deliverer reports what its receiver acknowledged, at most, in milliseconds: each
/// report is a logged record; a report lost in a crash only means those events go again.
pub const WEBHOOK_REPORT_INTERVAL_MILLIS: u64 = 200;

/// How often an idle or waiting deliverer looks at the clock and at its stop flag, in
/// milliseconds: retries are due by the injected clock (tests move it by hand), so a deliverer
/// polls it instead of sleeping the whole pause.
pub const WEBHOOK_POLL_MILLIS: u64 = 100;

/// Bytes of a receiver's answer read before the connection is dropped: the answer is not used,
/// and reading a little lets the connection be reused.
pub const WEBHOOK_ANSWER_BYTES_READ_MAX: usize = 16 * 1_024;

/// Longest `last_error` an endpoint shows, in bytes.
pub const WEBHOOK_ERROR_BYTES_MAX: usize = 300;

/// Largest body of a voice route, in bytes (1 MiB): Retell sends the whole call with every
/// function call, transcripts with word timings included, so its bodies grow with the call.
pub const VOICE_BODY_BYTES_MAX: usize = 1_024 * 1_024;

/// Largest voice answer, in bytes: platforms hand it to the model as text (Retell cuts at
/// 15,000 characters), and a short answer is a fast, cheap turn of the conversation.
pub const VOICE_ANSWER_BYTES_MAX: usize = 1_000;

/// Longest `message` of a voice answer, in bytes: with the slot and three alternatives the
/// answer stays under [`VOICE_ANSWER_BYTES_MAX`].
pub const VOICE_MESSAGE_BYTES_MAX: usize = 300;

/// Other starts a voice answer offers besides the one held: what a caller can keep in mind.
pub const VOICE_ALTERNATIVES_MAX: usize = 3;

/// The grid of starts a voice agent is offered, in minutes: quarter hours, as a receptionist
/// offers them.
pub const VOICE_STEP_MINUTES: i64 = 15;

/// Days `check_availability` looks ahead for the next day with a free start when the day asked
/// has none (two weeks, the contract's).
pub const VOICE_LOOKAHEAD_DAYS: u64 = 14;

/// Quarter hours tried forward from a local time a clock change skips, until one exists (the
/// largest gap any zone has had is a day).
pub const VOICE_LOCAL_TIME_PROBES_MAX: usize = 4 * 24 + 1;

/// A call's reservations read to find its hold: a call makes one at a time (each replaces the
/// last), so the newest few tell everything.
pub const VOICE_CALL_RESERVATIONS_MAX: usize = 100;

/// How far a Retell signature's time may be from the server's, in milliseconds (5 minutes,
/// Retell's own rule): an older request is a replay.
pub const RETELL_SIGNATURE_AGE_MILLIS_MAX: i64 = 5 * 60 * 1_000;

/// Tool calls of one Vapi message that are run: a model asks for one or two at a time, and the
/// answer must stay small.
pub const VOICE_TOOL_CALLS_MAX: usize = 8;

/// Voice call ids remembered to count each call once, over every company: a call lasts minutes,
/// and this many is hours of calls at a busy server's rate, in a few megabytes.
pub const VOICE_CALLS_REMEMBERED_MAX: usize = 100_000;

/// How long an admin page session lasts, in seconds (8 hours, a working day): past it the
/// operator signs in again, so a forgotten browser does not keep access.
pub const ADMIN_SESSION_SECONDS: i64 = 8 * 3_600;

/// Admin page sessions kept at once: each is a few bytes, and signing in is for operators;
/// past the bound the oldest session ends.
pub const ADMIN_SESSIONS_MAX: usize = 10_000;

/// Reservations one day view draws: a page an operator reads, not an export.
pub const ADMIN_DAY_RESERVATIONS_MAX: usize = 1_000;

/// Events the admin page lists for a company: the newest, as a glance at what happens now.
pub const ADMIN_EVENTS_SHOWN: usize = 50;

/// Minutes of activity the admin page charts (an hour): what an operator looks back over.
pub const ADMIN_ACTIVITY_MINUTES: usize = 60;

/// How long the admin page's live events stream lets a burst gather before it sends, in
/// milliseconds: a few messages a second are what a person can follow, and each costs a render.
pub const ADMIN_EVENTS_MESSAGE_MILLIS: u64 = 250;

/// Lines one message of the admin page's live events carries at most (the newest): more than a
/// person reads in a quarter second.
pub const ADMIN_EVENTS_PER_MESSAGE: usize = 10;
