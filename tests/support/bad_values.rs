//! The invalid values every front end is tried with (`docs/bad-input.md`, the window's
//! fields), in one place so the command line and the window are tried with the same.

/// Values no port field accepts.
pub const BAD_PORTS: [&str; 6] = ["0", "65536", "70000", "-1", "abc", "80.5"];

/// Values no internal-IP field accepts.
pub const BAD_INTERNAL_IPS: [&str; 7] = [
    "300.1.1.1",
    "::1",
    "fe80::1",
    "abc",
    "0.0.0.0",
    "255.255.255.255",
    "224.0.0.1",
];
