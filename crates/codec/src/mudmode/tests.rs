use super::lpc::{Decoder, ValueKind};
use super::*;

fn decode(body: &[u8]) -> Result<Value> {
    lpc::decode(body, Limits::default())
}

#[test]
fn scalars_decode() {
    assert_eq!(decode(b"123").unwrap(), Value::Int(123));
    assert_eq!(decode(b"-7").unwrap(), Value::Int(-7));
    assert_eq!(decode(b" 1.5 ").unwrap(), Value::Float(1.5));
    assert_eq!(
        decode(b"-9223372036854775808").unwrap(),
        Value::Int(i64::MIN)
    );
    assert!(decode(b"9223372036854775808").is_err());
    assert_eq!(decode(b"0"), Ok(Value::Int(0)));
}

#[test]
fn unescaped_string_is_borrowed_and_escaped_string_is_unescaped() {
    let body = br#"({"plain","a\"b\\c\n",})"#;
    let mut d = Decoder::default();
    let items = d.decode(body).unwrap().as_array().unwrap();
    let (plain, escaped) = (items.get(0).unwrap(), items.get(1).unwrap());
    assert!(plain.is_borrowed_str());
    assert_eq!(plain.as_bytes(), Some(&b"plain"[..]));
    assert!(
        std::ptr::eq(plain.as_bytes().unwrap().as_ptr(), &body[3]),
        "a slice of the input"
    );
    assert!(!escaped.is_borrowed_str());
    assert_eq!(escaped.as_bytes(), Some(&b"a\"b\\c\n"[..]));
}

#[test]
fn nested_array_and_mapping_round_trip() {
    let body = br#"({"tell",5,"MudA","bob",({1,2,}),(["k":({}),"n":0,]),})"#;
    let mut d = Decoder::default();
    let v = d.decode(body).unwrap();
    let mut out = Vec::new();
    v.encode(&mut out).unwrap();
    assert_eq!(out, body);
    assert_eq!(v.to_owned_value(), v);
}

#[test]
fn views_navigate_arrays_and_mappings_by_index_and_key() {
    let body = br#"({"mudlist",(["A":({-1,"1.2.3.4",4000,}),"Gone":0,]),2.5,})"#;
    let mut d = Decoder::default();
    let root = d.decode(body).unwrap();
    let fields = root.as_array().unwrap();
    assert_eq!(fields.len(), 3);
    assert_eq!(fields.get(2).and_then(|v| v.as_float()), Some(2.5));
    assert_eq!(fields.get(3), None);
    let muds = fields.get(1).and_then(|v| v.as_mapping()).unwrap();
    assert_eq!(muds.len(), 2);
    assert!(muds.get(b"Gone").unwrap().is_null());
    assert_eq!(muds.get(b"Nope"), None);
    let info = muds.get(b"A").and_then(|v| v.as_array()).unwrap();
    assert_eq!(info.skip(1).get(1).and_then(|v| v.as_int()), Some(4000));
    let ValueKind::Str(name) = fields.get(0).unwrap().kind() else {
        panic!("string expected")
    };
    assert_eq!(name, b"mudlist");
    let keys: Vec<_> = muds.iter().filter_map(|(k, _)| k.as_bytes()).collect();
    assert_eq!(keys, [&b"A"[..], b"Gone"]);
}

#[test]
fn a_reused_decoder_forgets_the_previous_value() {
    let mut d = Decoder::default();
    assert_eq!(
        d.decode(br#"({1,"a\n",({2,}),})"#)
            .unwrap()
            .as_array()
            .unwrap()
            .len(),
        3
    );
    let v = d.decode(br#""x\ty""#).unwrap();
    assert_eq!(v.as_bytes(), Some(&b"x\ty"[..]));
    assert!(d.decode(b"({1,").is_err());
    assert_eq!(d.decode(b"7").unwrap().as_int(), Some(7));
}

#[test]
fn whitespace_and_missing_last_comma_are_tolerated() {
    assert_eq!(
        decode(b" ({ 1 , 2 }) \n").unwrap(),
        Value::Array(vec![Value::Int(1), Value::Int(2)])
    );
    assert_eq!(
        decode(b"([ 1 : 2 , \"a\":({ }) ])").unwrap(),
        Value::Mapping(vec![
            (Value::Int(1), Value::Int(2)),
            (Value::from("a"), Value::Array(vec![]))
        ])
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
fn nesting_at_the_depth_ceiling_decodes_encodes_and_compares_on_a_small_stack() {
    let limits = Limits {
        max_depth: lpc::MAX_DEPTH_CEILING,
        ..Limits::default()
    };
    let n = lpc::MAX_DEPTH_CEILING;
    let deep =
        "([1:".repeat(n / 2) + &"({".repeat(n / 2) + &"})".repeat(n / 2) + &"])".repeat(n / 2);
    // 256 KiB: far less than a main thread's 8 MiB or a spawned one's 2 MiB.
    let worker = std::thread::Builder::new().stack_size(256 << 10);
    let handle = worker
        .spawn(move || {
            let mut d = Decoder::new(limits).unwrap();
            let v = d.decode(deep.as_bytes()).unwrap();
            let mut out = Vec::new();
            v.encode(&mut out).unwrap();
            let owned = v.to_owned_value();
            assert!(v == v, "compares");
            assert!(format!("{v:?}").len() > 2 * n, "prints");
            // Value's own drop and comparison recurse: leave them to the
            // caller's stack.
            std::mem::forget(owned);
            let too_deep = "({".repeat(n + 1);
            let err = d.decode(too_deep.as_bytes()).unwrap_err();
            assert!(matches!(err, Error::DepthExceeded { .. }), "{err:?}");
            out.len()
        })
        .unwrap();
    assert!(handle.join().unwrap() > 4 * n);
}

#[test]
fn limits_over_the_ceiling_are_a_config_error() {
    let limits = Limits {
        max_depth: lpc::MAX_DEPTH_CEILING + 1,
        ..Limits::default()
    };
    assert!(matches!(
        Decoder::new(limits).unwrap_err(),
        Error::Config {
            field: "max_depth",
            ..
        }
    ));
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
    let err = MudModeDecoder::default()
        .decode_packet(&header)
        .unwrap_err();
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
    let err = MudModeDecoder::default().decode_packet(&wire).unwrap_err();
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
    let body = [&b"\""[..], &vec![b'a'; MAX_SEND_LEN], b"\""].concat();
    let mut d = Decoder::default();
    let big = d.decode(&body).unwrap();
    let mut out = vec![9];
    let err = encode_packet(&big, &mut out).unwrap_err();
    assert!(matches!(err, Error::FrameTooLong { limit, .. } if limit == MAX_SEND_LEN as u64));
    assert_eq!(out, [9], "nothing appended on error");
}

#[test]
fn decode_errors_carry_offsets_in_the_packet() {
    let wire = [0, 0, 0, 4, b'(', b'x', b'1', 0];
    let err = MudModeDecoder::default().decode_packet(&wire).unwrap_err();
    assert_eq!(err.offset(), Some(5));
}

proptest::proptest! {
    #[test]
    fn word_at_a_time_string_scan_matches_a_byte_loop(
        data in proptest::collection::vec(
            proptest::prop_oneof![proptest::prelude::Just(b'"'), proptest::prelude::Just(b'\\'), proptest::prelude::Just(b'\r'), proptest::prelude::any::<u8>()],
            0..40,
        ),
    ) {
        let naive = data.iter().position(|&b| matches!(b, b'"' | b'\\' | b'\r'));
        proptest::prop_assert_eq!(lpc::string_end(&data), naive);
    }
}

#[test]
fn fluffos_float_with_more_integer_digits_than_an_int_holds_decodes() {
    // FluffOS writes floats with `%f`: 1e30 has 31 digits before the point.
    assert_eq!(
        decode(b"({1000000000000000019884624838656.000000,-99999999999999999999.5,})").unwrap(),
        Value::Array(vec![
            Value::Float(1e30),
            Value::Float(-99_999_999_999_999_999_999.5)
        ])
    );
    let err = decode(b"-99999999999999999999,").unwrap_err();
    assert!(
        matches!(
            err,
            Error::Invalid {
                offset: 0,
                reason: "integer overflow",
                ..
            }
        ),
        "{err:?}"
    );
}

/// MudOS and FluffOS (`save_svalue`) escape only `"` and `\`, write a
/// newline as a raw CR byte, and read `\x` back as `x`: a `\n` escape
/// would reach their users as the letter `n`.
#[test]
fn strings_are_encoded_as_mudos_and_fluffos_write_them() {
    let mut out = Vec::new();
    Value::from("a\nb\"c\\d\te\rf").encode(&mut out).unwrap();
    // a, CR, b, \", c, \\, d, TAB, e, \ CR, f
    assert_eq!(out, b"\"a\rb\\\"c\\\\d\te\\\rf\"");
}

#[test]
fn a_raw_carriage_return_from_a_driver_decodes_as_a_newline() {
    // What FluffOS sends for "line 1\nline 2" and for a lone CR.
    assert_eq!(
        decode(b"({\"line 1\rline 2\",\"cr\\\r\",})").unwrap(),
        Value::Array(vec![Value::from("line 1\nline 2"), Value::from("cr\r")])
    );
    // Escapes other implementations write are still understood.
    assert_eq!(
        decode(br#""a\nb\tc\rd\qe""#).unwrap(),
        Value::from("a\nb\tc\rdqe")
    );
}

#[test]
fn a_float_too_large_for_f64_is_an_error_not_infinity() {
    // Infinity cannot be written back (`encode` refuses it), so a router
    // would decode a packet it then cannot forward.
    let err = decode(b"({1,-1e999,})").unwrap_err();
    assert!(
        matches!(
            err,
            Error::Invalid {
                offset: 4,
                reason: "float out of range",
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(
        decode(b"1.7976931348623157e308").unwrap(),
        Value::Float(f64::MAX)
    );
}

#[test]
fn element_limit_counts_mapping_keys_and_containers_at_the_boundary() {
    // `([1:2,3:4,])` is five values: the mapping, two keys, two values.
    let limits = |max_elements| Limits {
        max_elements,
        ..Limits::default()
    };
    assert!(lpc::decode(b"([1:2,3:4,])", limits(5)).is_ok());
    let err = lpc::decode(b"([1:2,3:4,])", limits(4)).unwrap_err();
    assert_eq!(
        err,
        Error::TooManyElements {
            offset: 8,
            limit: 4
        },
        "the fifth value, `4`, is one too many"
    );
}

#[test]
fn depth_limit_error_points_at_the_first_container_too_deep() {
    let limits = Limits {
        max_depth: 2,
        ..Limits::default()
    };
    assert!(lpc::decode(b"({([1:2,]),})", limits).is_ok());
    assert_eq!(
        lpc::decode(b"({([1:({}),]),})", limits).unwrap_err(),
        Error::DepthExceeded {
            offset: 6,
            limit: 2
        }
    );
}

#[test]
fn i3_field_errors_name_the_field_not_a_byte_offset() {
    let mut wire = Vec::new();
    let tell = lpc::decode(
        br#"({"tell",5,"A","b","B","c",7,"msg",})"#,
        Limits::default(),
    )
    .unwrap();
    encode_owned_packet(&tell, &mut wire).unwrap();
    let err = MudModeDecoder::default().decode_i3(&wire).unwrap_err();
    // Offsets count bytes from the start of the input (`Error`'s contract);
    // byte 6 is the `"` of "tell", not the bad field `7` at byte 30.
    assert!(
        err.offset().is_none_or(|o| wire[o] == b'7'),
        "{err:?} points at {:?}",
        err.offset().map(|o| wire[o] as char)
    );
    assert!(err.to_string().contains("field 6"), "{err}");
}

#[test]
fn receiver_accepts_a_packet_of_exactly_two_mib() {
    // The length counts the body and its NUL: a string of 2 MiB - 3 bytes.
    let mut wire = (MAX_RECEIVE_LEN as u32).to_be_bytes().to_vec();
    wire.push(b'"');
    wire.resize(wire.len() + MAX_RECEIVE_LEN - 3, b'a');
    wire.extend_from_slice(b"\"\0");
    let mut decoder = MudModeDecoder::default();
    let (value, used) = decoder.decode_packet(&wire).unwrap();
    assert_eq!(used, 4 + MAX_RECEIVE_LEN);
    assert_eq!(value.as_bytes().map(<[u8]>::len), Some(MAX_RECEIVE_LEN - 3));
}

/// MudOS and FluffOS write nothing for an object or function inside an
/// array or mapping (`({1,,})`), and read the gap back as `0`; one such
/// field must not make the whole packet unreadable.
#[test]
fn an_empty_element_as_the_drivers_write_an_object_reads_as_zero() {
    assert_eq!(
        decode(br#"({1,,"a",(["o":,:1,]),})"#).unwrap(),
        Value::Array(vec![
            Value::Int(1),
            Value::Int(0),
            Value::from("a"),
            Value::Mapping(vec![
                (Value::from("o"), Value::Int(0)),
                (Value::Int(0), Value::Int(1))
            ]),
        ])
    );
    // A separator where the other one belongs is still an error.
    assert!(matches!(
        decode(b"({:})").unwrap_err(),
        Error::Invalid { offset: 2, .. }
    ));
    assert!(decode(b"([1::])").is_err());
    assert!(decode(b",").is_err());
}
