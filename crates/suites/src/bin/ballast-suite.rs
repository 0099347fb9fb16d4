//! `ballast-suite`: the ballast suites as one binary (see the crate docs).
//! Its global allocator counts, so `ballast-suite soak` can see the heap.

use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use ballast_alloc::CountingAlloc;
use ballast_chaos::logging;
use ballast_suites::soak::AllocProbe;

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc::system();

fn main() -> ExitCode {
    let mut stdout = std::io::stdout();
    // `--log-format text|json` anywhere; what is logged: `RUST_LOG`, else
    // warnings (the tables on standard output are the results).
    let (args, format) = match logging::take_log_format(std::env::args()) {
        Ok(taken) => taken,
        Err(e) => {
            eprintln!("ballast-suite: {e}");
            return ExitCode::from(2);
        }
    };
    if let Err(e) = logging::init(format, "warn") {
        eprintln!("ballast-suite: {e}");
        return ExitCode::from(2);
    }
    if args.get(1).map(String::as_str) == Some(ballast_suites::tn3270::HOST_SUBCOMMAND) {
        // A child host for `host_process = "child"` scenarios; runs until killed.
        let code = ballast_suites::tn3270::host_main(args.into_iter().skip(2), &mut stdout);
        return ExitCode::from(u8::try_from(code).unwrap_or(1));
    }
    if args.get(1).map(String::as_str) == Some("soak") {
        let probe = AllocProbe(|| ALLOC.snapshot());
        let code = ballast_suites::soak::main_with(args, &probe, &mut stdout);
        return ExitCode::from(u8::try_from(code).unwrap_or(1));
    }
    // Ctrl-C (or SIGTERM) sets the flag; the run heals every fault, writes
    // what it measured and exits 130.
    let interrupt = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        if let Err(e) = signal_hook::flag::register(signal, Arc::clone(&interrupt)) {
            eprintln!("ballast-suite: cannot install the signal handler: {e}");
            return ExitCode::from(2);
        }
    }
    let code = ballast_suites::chaos::main_with(args, interrupt, &mut stdout, false);
    ExitCode::from(u8::try_from(code).unwrap_or(1))
}
