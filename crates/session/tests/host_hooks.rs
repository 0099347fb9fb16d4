//! Hooks the chaos suites use to reach into a running host simulator.

use ballast_session::host::{DemoApp, HostConfig, HostSimulator};

#[test]
#[cfg(target_os = "linux")]
fn poller_thread_id_names_the_running_poller_thread() {
    let host = HostSimulator::start(HostConfig::default(), DemoApp::default()).expect("host");
    let tid = host.poller_thread_id().expect("a tid on Linux");
    let task = format!("/proc/self/task/{tid}");
    let comm = std::fs::read_to_string(format!("{task}/comm")).expect("the tid is ours");
    assert_eq!(comm.trim(), "host-sim-poller");
    host.stop();
    assert!(
        !std::path::Path::new(&task).exists(),
        "the poller thread is joined on stop"
    );
}

#[test]
#[cfg(not(target_os = "linux"))]
fn poller_thread_id_is_none_off_linux() {
    let host = HostSimulator::start(HostConfig::default(), DemoApp::default()).expect("host");
    assert_eq!(host.poller_thread_id(), None);
}
