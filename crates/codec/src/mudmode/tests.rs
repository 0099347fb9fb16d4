use std::borrow::Cow;

use super::*;

fn decode(body: &[u8]) -> Result<ValueRef<'_>> {
    lpc::decode(body, Limits::default())
}

#[test]
fn scalars_decode() {
    assert_eq!(decode(b"123").unwrap(), ValueRef::Int(123));
    assert_eq!(decode(b"-7").unwrap(), ValueRef::Int(-7));
    assert_eq!(decode(b"1.5").unwrap(), ValueRef::Float(1.5));
    assert!(decode(b"0").unwrap().is_null());
}

#[test]
fn unescaped_string_is_borrowed_and_escaped_string_is_owned() {
    let body = br#"({"plain","a\"b\\c\n",})"#;
    let ValueRef::Array(items) = decode(body).unwrap() else {
        panic!("array")
    };
    assert!(matches!(&items[0], ValueRef::Str(Cow::Borrowed(b"plain"))));
    assert_eq!(items[1], ValueRef::Str(Cow::Owned(b"a\"b\\c\n".to_vec())));
}

#[test]
fn nested_array_and_mapping_round_trip() {
    let body = br#"({"tell",5,"MudA","bob",({1,2,}),(["k":({}),"n":0,]),})"#;
    let v = decode(body).unwrap();
    let mut out = Vec::new();
    v.encode(&mut out).unwrap();
    assert_eq!(out, body);
    assert_eq!(v.to_owned_value().as_value_ref(), v);
}

#[test]
fn whitespace_and_missing_last_comma_are_tolerated() {
    assert_eq!(
        decode(b"({ 1 , 2 })").unwrap(),
        ValueRef::Array(vec![ValueRef::Int(1), ValueRef::Int(2)])
    );
}

#[test]
fn depth_over_the_limit_is_a_typed_error() {
    let deep = "({".repeat(65) + &"})".repeat(65);
    let err = decode(deep.as_bytes()).unwrap_err();
    assert!(
        matches!(err, Error::DepthExceeded { limit: 64, .. }),
        "{err:?}"
    );
    let ok = "({".repeat(64) + &"})".repeat(64);
    assert!(decode(ok.as_bytes()).is_ok());
}

#[test]
fn element_limit_is_enforced() {
    let limits = Limits {
        max_elements: 3,
        ..Limits::default()
    };
    let err = lpc::decode(b"({1,2,3,})", limits).unwrap_err();
    assert!(
        matches!(err, Error::TooManyElements { limit: 3, .. }),
        "{err:?}"
    );
}

#[test]
fn malformed_values_are_typed_errors() {
    assert!(matches!(
        decode(b"\"abc").unwrap_err(),
        Error::Unterminated {
            what: "lpc string",
            ..
        }
    ));
    assert!(matches!(
        decode(b"({1,").unwrap_err(),
        Error::Unterminated {
            what: "lpc array",
            ..
        }
    ));
    assert!(matches!(
        decode(b"([1:2,").unwrap_err(),
        Error::Unterminated {
            what: "lpc mapping",
            ..
        }
    ));
    assert!(matches!(
        decode(b"99999999999999999999").unwrap_err(),
        Error::Invalid { .. }
    ));
    assert!(matches!(
        decode(b"12x").unwrap_err(),
        Error::Invalid { offset: 2, .. }
    ));
    assert!(matches!(
        decode(b"(x").unwrap_err(),
        Error::Invalid { offset: 1, .. }
    ));
}

#[test]
fn receiver_rejects_over_two_mib_from_the_header() {
    let header = ((MAX_RECEIVE_LEN + 1) as u32).to_be_bytes();
    let err = MudModeDecoder::default().decode_frame(&header).unwrap_err();
    assert_eq!(
        err,
        Error::FrameTooLong {
            len: MAX_RECEIVE_LEN as u64 + 1,
            limit: MAX_RECEIVE_LEN as u64
        }
    );
}

#[test]
fn nul_inside_a_body_is_rejected() {
    let wire = [0, 0, 0, 4, b'1', 0, b'3', 0];
    let err = MudModeDecoder::default().decode_frame(&wire).unwrap_err();
    assert!(
        matches!(
            err,
            Error::Invalid {
                offset: 5,
                byte: 0,
                ..
            }
        ),
        "{err:?}"
    );
}

#[test]
fn zero_length_packet_is_rejected() {
    let err = MudModeDecoder::default()
        .decode_frame(&[0, 0, 0, 0])
        .unwrap_err();
    assert!(
        matches!(err, Error::InvalidLength { len: 0, .. }),
        "{err:?}"
    );
    let err = MudModeDecoder::default()
        .decode_frame(&[0, 0, 0, 1, 0])
        .unwrap_err();
    assert!(
        matches!(err, Error::InvalidLength { len: 1, .. }),
        "{err:?}"
    );
}

#[test]
fn sender_refuses_packets_over_256_kib() {
    let big = ValueRef::Str(Cow::Owned(vec![b'a'; MAX_SEND_LEN]));
    let mut out = vec![9];
    let err = encode_packet(&big, &mut out).unwrap_err();
    assert!(matches!(err, Error::FrameTooLong { limit, .. } if limit == MAX_SEND_LEN as u64));
    assert_eq!(out, [9], "nothing appended on error");
}

#[test]
fn decode_errors_carry_offsets_in_the_packet() {
    let wire = [0, 0, 0, 4, b'(', b'x', b'1', 0];
    let err = MudModeDecoder::default().decode_frame(&wire).unwrap_err();
    assert_eq!(err.offset(), Some(5));
}

proptest::proptest! {
    #[test]
    fn word_at_a_time_string_scan_matches_a_byte_loop(
        data in proptest::collection::vec(
            proptest::prop_oneof![proptest::prelude::Just(b'"'), proptest::prelude::Just(b'\\'), proptest::prelude::any::<u8>()],
            0..40,
        ),
    ) {
        let naive = data.iter().position(|&b| b == b'"' || b == b'\\');
        proptest::prop_assert_eq!(lpc::string_end(&data), naive);
    }
}
