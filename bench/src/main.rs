//! `holdfast-bench`: the load tool's binary. It parses the command line, runs the scenario
//! (against `--url`, or a server it starts in this process), prints the report, and exits 1 when
//! the double-booking audit failed or the run could not be made.

use clap::Parser;
use holdfast_bench::BenchArgs;

/// Play many callers against a holdfast server (`--url`, or one started in this process) and
/// measure the race window; audits for double bookings and exits 1 if it finds one.
#[derive(Parser)]
#[command(name = "holdfast-bench", version)]
struct Cli {
    #[command(flatten)]
    args: BenchArgs,
}

fn main() {
    let Cli { args } = Cli::parse();
    let report = match holdfast_bench::run(&args) {
        Ok(report) => report,
        Err(error) => {
            eprintln!("holdfast-bench: {error}");
            std::process::exit(1);
        }
    };
    let text = if args.json {
        report.to_json()
    } else {
        report.to_table()
    };
    println!("{text}");
    if !report.passed() {
        // The audit found a double booking or could not read everything back.
        std::process::exit(1);
    }
}
