//! Code page 037 against Python's built-in `cp037` codec, the reference the
//! committed tables were generated from.

use std::process::Command;

use ballast_codec::tn3270::CodePage;

#[test]
fn cp037_table_matches_python_codec() {
    let script = "import sys; sys.stdout.write(','.join(str(ord(c)) for c in bytes(range(256)).decode('cp037')))";
    let output = match Command::new("python3").args(["-c", script]).output() {
        Ok(o) if o.status.success() => o,
        other => {
            assert!(
                std::env::var_os("CI").is_none(),
                "python3 is required under CI: {other:?}"
            );
            eprintln!("skipped: python3 not available ({other:?})");
            return;
        }
    };
    let text = String::from_utf8(output.stdout).expect("python prints ascii digits");
    let expected: Vec<u32> = text
        .split(',')
        .map(|n| n.parse().expect("a code point"))
        .collect();
    assert_eq!(expected.len(), 256);
    for (b, cp) in expected.iter().enumerate() {
        let got = CodePage::Cp037.decode(b as u8) as u32;
        assert_eq!(got, *cp, "byte {b:#04x}");
    }
}
