//! Our `Client` drives the `HostSimulator` demo app through every screen,
//! in plain TN3270 and in TN3270E.
#![cfg(feature = "host")]

use std::time::Duration;

use ballast_session::host::{DemoApp, HostConfig, HostSimulator};
use ballast_session::{Aid, Client, Condition, SessionConfig};

const T: Duration = Duration::from_secs(10);

fn host(tn3270e: bool) -> HostSimulator {
    let config = HostConfig {
        tn3270e,
        ..HostConfig::default()
    };
    HostSimulator::start(config, DemoApp::default()).expect("simulator starts on loopback")
}

fn walk_demo(tn3270e: bool) {
    let host = host(tn3270e);
    let mut c = Client::connect(host.local_addr(), SessionConfig::default(), T).unwrap();
    assert_eq!(c.session().is_tn3270e(), tn3270e);
    c.wait_for(Condition::Text("PLEASE SIGN ON".into()), T)
        .unwrap();

    // Wrong password first: the host says so and stays on logon.
    c.type_text("demo").unwrap();
    c.tab();
    c.type_text("WRONG").unwrap();
    c.press_and_wait(Aid::Enter, T).unwrap();
    assert!(c.screen().contains("INVALID USERID OR PASSWORD"));

    c.fill_input(0, "DEMO").unwrap();
    c.fill_input(1, "SECRET").unwrap();
    assert!(
        !c.screen().text().contains("SECRET"),
        "password never shows in text"
    );
    c.press_and_wait(Aid::Enter, T).unwrap();
    assert!(c.screen().contains("MAIN MENU"), "{}", c.screen().text());
    assert!(c.screen().contains("USER DEMO"));

    c.type_text("1").unwrap();
    c.press_and_wait(Aid::Enter, T).unwrap();
    assert!(c.screen().contains("RECORD ENTRY"));
    c.type_text("ACME CORP").unwrap();
    c.tab();
    assert!(c.type_text("12x").is_err(), "numeric field refuses letters");
    c.press_and_wait(Aid::Enter, T).unwrap();
    let text = c.screen().text();
    assert!(text.contains("RECORD STORED"), "{text}");
    let txid = text
        .split("TRANSACTION ID: ")
        .nth(1)
        .and_then(|s| s.split_whitespace().next())
        .unwrap()
        .to_owned();
    let stored = host
        .store()
        .get(&txid)
        .expect("acknowledged record is stored");
    assert_eq!(
        (stored.name.as_str(), stored.amount, stored.user.as_str()),
        ("ACME CORP", 12, "DEMO")
    );

    c.press_and_wait(Aid::Enter, T).unwrap();
    c.type_text("2").unwrap();
    c.press_and_wait(Aid::Enter, T).unwrap();
    assert!(c.screen().contains("RECORD QUERY"));
    c.type_text(&txid).unwrap();
    c.press_and_wait(Aid::Enter, T).unwrap();
    assert!(
        c.screen()
            .contains(&format!("FOUND {txid} NAME: ACME CORP AMOUNT: 12")),
        "{}",
        c.screen().text()
    );

    c.press_and_wait(Aid::Pf(3), T).unwrap();
    c.press_and_wait(Aid::Pf(3), T).unwrap();
    assert!(c.screen().contains("SIGNED OFF"));
    c.disconnect().unwrap();
    host.stop();
}

#[test]
fn client_walks_the_demo_app_over_plain_tn3270() {
    walk_demo(false);
}

#[test]
fn client_walks_the_demo_app_over_tn3270e() {
    walk_demo(true);
}

#[test]
fn client_that_refuses_tn3270e_gets_plain_tn3270_from_a_tn3270e_host() {
    let host = host(true);
    let config = SessionConfig {
        tn3270e: false,
        ..SessionConfig::default()
    };
    let c = Client::connect(host.local_addr(), config, T).unwrap();
    assert!(!c.session().is_tn3270e());
    assert!(c.screen().contains("PLEASE SIGN ON"));
}

#[test]
fn tn3270e_client_gets_the_lu_it_asked_for() {
    let host = host(true);
    let config = SessionConfig {
        lu: Some("LUX001".into()),
        ..SessionConfig::default()
    };
    let c = Client::connect(host.local_addr(), config, T).unwrap();
    assert_eq!(c.session().lu(), Some("LUX001"));
}

#[test]
fn wait_for_text_that_never_comes_times_out_with_a_typed_error() {
    let host = host(false);
    let mut c = Client::connect(host.local_addr(), SessionConfig::default(), T).unwrap();
    let e = c
        .wait_for(Condition::Text("NEVER".into()), Duration::from_millis(100))
        .unwrap_err();
    assert!(matches!(e, ballast_session::Error::Timeout { .. }), "{e}");
}

#[test]
fn simulator_serves_many_concurrent_sessions_and_stops_gracefully() {
    let host = host(true);
    let clients: Vec<Client> = (0..32)
        .map(|_| Client::connect(host.local_addr(), SessionConfig::default(), T).unwrap())
        .collect();
    assert!(
        clients
            .iter()
            .all(|c| c.screen().contains("PLEASE SIGN ON"))
    );
    assert_eq!(host.accepted_sessions(), 32);
    host.stop();
    drop(clients);
}

#[test]
fn terminal_type_lu_suffix_names_the_tn3270e_lu() {
    let host = host(true);
    let config = SessionConfig {
        terminal_type: Some("IBM-3278-2-E@LUSFX01".into()),
        ..SessionConfig::default()
    };
    let c = Client::connect(host.local_addr(), config, T).unwrap();
    assert_eq!(c.session().lu(), Some("LUSFX01"));
}
