//! `AsyncClient` walks the demo app on the simulator (feature `tokio`).
#![cfg(all(feature = "host", feature = "tokio"))]

use std::time::Duration;

use ballast_session::host::{DemoApp, HostConfig, HostSimulator};
use ballast_session::{Aid, AsyncClient, Condition, Error, SessionConfig};

const T: Duration = Duration::from_secs(10);

#[tokio::test(flavor = "current_thread")]
async fn async_client_signs_on_and_stores_a_record_over_tn3270e() {
    let host = HostSimulator::start(HostConfig::default(), DemoApp::default()).unwrap();
    let mut c = AsyncClient::connect(host.local_addr(), SessionConfig::default(), T)
        .await
        .unwrap();
    assert!(c.session().is_tn3270e());
    c.wait_for(Condition::InputField, T).await.unwrap();
    c.type_text("DEMO").unwrap();
    c.tab();
    c.type_text("SECRET").unwrap();
    c.press_and_wait(Aid::Enter, T).await.unwrap();
    assert!(c.screen().contains("MAIN MENU"));
    c.type_text("1").unwrap();
    c.press_and_wait(Aid::Enter, T).await.unwrap();
    c.type_text("ASYNC").unwrap();
    c.tab();
    c.type_text("5").unwrap();
    c.press_and_wait(Aid::Enter, T).await.unwrap();
    assert!(
        c.screen().contains("TRANSACTION ID: T0000001"),
        "{}",
        c.screen().text()
    );
    assert_eq!(
        host.store().get("T0000001").map(|r| r.name),
        Some("ASYNC".to_owned())
    );
    let e = c
        .wait_for(Condition::Text("NEVER".into()), Duration::from_millis(50))
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Timeout { .. }), "{e}");
    c.disconnect().await.unwrap();
}
