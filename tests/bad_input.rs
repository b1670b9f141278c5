//! The table of bad input in `docs/bad-input.md` is what the code says: every invalid value
//! of every field, and the exact error. The window shows the reason next to the field; the
//! command line prints `field: reason (got "value")` and exits with code 2. Regenerate the
//! document with `PORTFORWARD_WRITE_DOCS=1 cargo test --test bad_input`.

use portforward::{Description, InputError, Lease, Port, Protocol, parse_internal_ip};

#[path = "support/bad_values.rs"]
mod bad_values;

/// (field as the user knows it, window label, CLI flag, values tried, parser)
type Parser = fn(&str) -> Result<(), InputError>;

fn rows() -> Vec<(&'static str, &'static str, &'static str, Vec<String>, Parser)> {
    let ports: Vec<String> = bad_values::BAD_PORTS.map(String::from).to_vec();
    vec![
        (
            "external port",
            "External port",
            "--external-port",
            ports.clone(),
            |t| Port::parse_field("external port", t).map(drop),
        ),
        ("internal port", "Internal port", "--internal-port", ports, |t| {
            Port::parse_field("internal port", t).map(drop)
        }),
        (
            "internal ip",
            "Internal IP",
            "--internal-ip",
            bad_values::BAD_INTERNAL_IPS.map(String::from).to_vec(),
            |t| parse_internal_ip("internal ip", t).map(drop),
        ),
        (
            "protocol",
            "(TCP/UDP choice: nothing else can be picked)",
            "--protocol",
            ["XYZ", "", "tcp6"].map(String::from).to_vec(),
            |t| Protocol::parse_field("protocol", t).map(drop),
        ),
        (
            "description",
            "Description",
            "--description",
            vec!["x".repeat(1024), "x".repeat(256), "line\nbreak".into()],
            |t| Description::parse_field("description", t).map(drop),
        ),
        (
            "duration",
            "Lease (seconds)",
            "--duration",
            ["604801", "-1", "1e3", "abc"].map(String::from).to_vec(),
            |t| Lease::parse_field("duration", t).map(drop),
        ),
    ]
}

fn shown(value: &str) -> String {
    if value.len() > 24 {
        format!("{} bytes of `x`", value.len())
    } else {
        format!("`{}`", value.replace('\n', "\\n"))
    }
}

fn document() -> String {
    let mut doc = String::from(
        "# Bad input, everywhere\n\nEvery input field of the window and the command line, the invalid values tried, and the \
         exact error. The router never sees an invalid request (tests: `tests/bad_input.rs`, \
         `cli_bad_input_names_the_field_and_reaches_no_router` in `tests/simulated_gateway.rs`, \
         `every_invalid_value_is_refused_next_to_its_field` in `src/gui/tests.rs`).\n\n\
         The window shows the reason under the field and keeps the button disabled; the command \
         line prints `error: invalid value 'VALUE' for '--flag <…>': field: reason (got \"VALUE\")` and exits with code 2.\n\n\
         | field | window | command line | value | error |\n|---|---|---|---|---|\n",
    );
    for (field, window, flag, values, parse) in rows() {
        for value in values {
            let err = parse(&value).expect_err(&format!("{field} accepted {value:?}"));
            assert_eq!(err.field, field);
            doc.push_str(&format!(
                "| {field} | {window} | `{flag}` | {} | {} |\n",
                shown(&value),
                err.reason
            ));
        }
    }
    doc
}

#[test]
fn the_bad_input_document_matches_the_code() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/bad-input.md");
    let expected = document();
    if std::env::var_os("PORTFORWARD_WRITE_DOCS").is_some() {
        std::fs::write(path, &expected).unwrap();
    }
    let actual = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        actual == expected,
        "docs/bad-input.md is out of date; regenerate it:\n{expected}"
    );
}
