//! Screen scripts load from TOML and JSON and drive the simulator.
#![cfg(feature = "host")]

use std::time::Duration;

use ballast_session::host::{HostConfig, HostSimulator, ScriptApp};
use ballast_session::{Aid, Client, Condition, Error, SessionConfig};

const TOML: &str = r#"
start = "hello"

[[screens]]
name = "hello"
items = [
  { kind = "text", row = 0, col = 0, text = "WHO ARE YOU?", color = "blue" },
  { kind = "input", name = "who", row = 2, col = 0, len = 8 },
  { kind = "input", name = "pin", row = 3, col = 0, len = 4, numeric = true, hidden = true },
]

[[screens]]
name = "bye"
items = [{ kind = "text", row = 0, col = 0, text = "BYE {who}" }]

[[transitions]]
from = "hello"
key = "enter"
when = { pin = "1234" }
to = "bye"

[[transitions]]
from = "bye"
key = "pf3"
to = "disconnect"
"#;

#[test]
fn toml_script_transitions_on_key_and_field_contents() {
    let app = ScriptApp::from_toml(TOML).unwrap();
    let host = HostSimulator::start(HostConfig::default(), app).unwrap();
    let t = Duration::from_secs(5);
    let mut c = Client::connect(host.local_addr(), SessionConfig::default(), t).unwrap();
    c.wait_for(Condition::Text("WHO ARE YOU?".into()), t)
        .unwrap();
    assert!(
        c.screen()
            .field_at(c.screen().cursor())
            .unwrap()
            .field()
            .is_input()
    );
    c.type_text("ANN").unwrap();
    c.tab();
    c.type_text("9999").unwrap();
    c.press_and_wait(Aid::Enter, t).unwrap();
    assert!(
        c.screen().contains("WHO ARE YOU?"),
        "wrong pin: same screen"
    );
    c.fill_input(1, "1234").unwrap();
    c.press_and_wait(Aid::Enter, t).unwrap();
    assert!(c.screen().contains("BYE ANN"), "{}", c.screen().text());
    c.press(Aid::Pf(3)).unwrap();
    let e = c.wait_for(Condition::Unlocked, t).unwrap_err();
    assert!(matches!(e, Error::Closed), "{e}");
}

#[test]
fn json_script_loads_and_bad_scripts_are_rejected_with_a_reason() {
    let json = r#"{"start":"a","screens":[{"name":"a","items":[{"kind":"text","row":0,"col":0,"text":"A"}]}]}"#;
    assert_eq!(ScriptApp::from_json(json).unwrap().screens.len(), 1);
    let bad = r#"{"start":"nope","screens":[]}"#;
    let e = ScriptApp::from_json(bad).unwrap_err();
    assert!(
        e.to_string()
            .contains("start screen \"nope\" is not defined"),
        "{e}"
    );
    let bad_key = TOML.replace("key = \"pf3\"", "key = \"pf99\"");
    assert!(ScriptApp::from_toml(&bad_key).is_err());
}

#[test]
fn script_with_an_item_outside_the_screen_is_rejected() {
    let json = r#"{"start":"a","screens":[{"name":"a","items":[{"kind":"text","row":30,"col":0,"text":"A"}]}]}"#;
    let e = ScriptApp::from_json(json).unwrap_err();
    assert!(e.to_string().contains("does not fit 24x80"), "{e}");
}
