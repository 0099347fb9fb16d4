//! `ballast-suite`: the ballast suites as one binary (see the crate docs).

use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

fn main() -> ExitCode {
    // Ctrl-C (or SIGTERM) sets the flag; the run heals every fault, writes
    // what it measured and exits 130.
    let interrupt = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        if let Err(e) = signal_hook::flag::register(signal, Arc::clone(&interrupt)) {
            eprintln!("ballast-suite: cannot install the signal handler: {e}");
            return ExitCode::from(2);
        }
    }
    let mut stdout = std::io::stdout();
    let code = ballast_suites::chaos::main_with(std::env::args(), interrupt, &mut stdout, false);
    ExitCode::from(u8::try_from(code).unwrap_or(1))
}
