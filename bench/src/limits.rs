//! Every bound of the load tool, with its unit and its reason (the server's own bounds are in
//! `holdfast::limits`, which the tool reads for what the API allows).

/// Default simulated callers of `holdfast-bench`: 64, as `wrk -c64` in the peer comparison, and
/// enough to keep both cores of the development machine busy through the network round trip.
pub const CALLERS_DEFAULT: u32 = 64;
/// Most simulated callers. Each holds one connection, that is one file descriptor in the tool
/// and one in the server (two in this process when it serves too); 5,000 stays well inside the
/// usual descriptor limit of 20,000 with room for the server's own files.
pub const CALLERS_MAX: usize = 5_000;

/// Longest `--duration`, in seconds: one hour. Every hold of a run stays in the server's memory
/// and is read back by the audit; an hour at the tool's top speed is already tens of millions.
pub const DURATION_SECONDS_MAX: u64 = 3_600;

/// Highest `--rate`, in flows per second: ten times what one 2-core machine serves, so that an
/// open loop beyond the server's capacity can be asked for, but a typo cannot schedule billions.
pub const RATE_PER_SECOND_MAX: u64 = 1_000_000;

/// Most threads of the callers' runtime (`--threads`): beyond the cores they only switch.
pub const THREADS_MAX: usize = 256;

/// Most 30-minute slots per resource in one contention round (`--slots`): a round is one
/// availability answer, which lists at most [`holdfast::limits::AVAILABILITY_SLOTS_MAX`] per resource.
pub const ROUND_SLOTS_MAX: usize = holdfast::limits::AVAILABILITY_SLOTS_MAX;

/// Longest voice think time (`--think`), in milliseconds: a minute, the seed system's target
/// for the whole time to conversion.
pub const THINK_MILLIS_MAX: u64 = 60_000;

/// Largest latency the bench records, in microseconds (one minute); a longer one is recorded as
/// this, so that the histograms' memory is fixed.
pub const LATENCY_MICROS_MAX: u64 = 60_000_000;
/// Significant decimal digits of the bench's latency histograms: 0.1 %, so that p99.9 of a
/// sub-millisecond latency is exact to the microsecond (about 200 KiB per histogram).
pub const HISTOGRAM_SIGNIFICANT_DIGITS: u8 = 3;

/// How often the open-loop pacer thread releases due flows, in microseconds. A flow starts at
/// most about this late (plus the sleep's own slack, ~60 us on Linux), which its latency then
/// includes; tokio's 1 ms timer would add up to a millisecond. 10,000 wake-ups a second cost
/// a few percent of one core.
pub const PACER_TICK_MICROS: u64 = 100;

/// Most list requests of one double-booking audit: each page reads up to
/// [`holdfast::limits::LIST_LIMIT_MAX`] reservations and walks past up to
/// [`holdfast::limits::LIST_SCAN_MAX`], so this covers tens of millions of reservations, and a
/// server that keeps answering next cursors cannot keep the audit going for ever.
pub const AUDIT_LIST_REQUESTS_MAX: u64 = 100_000;

/// Most event streams `--subscribers` opens on each company: each is a connection and a task.
pub const SUBSCRIBERS_MAX: usize = 1_000;

/// Most transcript bytes `--call-bytes` pads a Retell call object with: the server takes bodies
/// up to 1 MiB on its voice routes, and the rest of the body must fit beside.
pub const CALL_BYTES_MAX: usize = 1_000_000;
