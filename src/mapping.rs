//! The vocabulary of port forwarding: ports, protocols, leases and mappings.
//!
//! Each type validates on construction, so a value that exists is a value the router
//! may see. Routers mangle bad input silently (miniupnpd turns port 70000 into 4464),
//! so nothing unchecked ever reaches one.

use std::fmt;
use std::net::Ipv4Addr;
use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::error::InputError;

/// A TCP or UDP port number, 1–65535 (0 is never a valid mapping port).
///
/// ```
/// use portforward::Port;
/// assert_eq!("8080".parse::<Port>().unwrap().get(), 8080);
/// assert!("0".parse::<Port>().is_err());
/// assert!("70000".parse::<Port>().is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "u32", into = "u16")]
pub struct Port(u16);

impl Port {
    /// A port from a number; `None` for 0.
    pub const fn new(value: u16) -> Option<Port> {
        if value == 0 { None } else { Some(Port(value)) }
    }

    /// The port number.
    pub const fn get(self) -> u16 {
        self.0
    }

    /// Parses user input for the field named `field`, with an error that names the field.
    pub fn parse_field(field: &'static str, text: &str) -> Result<Port, InputError> {
        let text = text.trim();
        let invalid = |reason: &str| InputError::new(field, text, reason);
        if text.is_empty() {
            return Err(invalid("enter a port number from 1 to 65535"));
        }
        let number: i64 = text
            .parse()
            .map_err(|_| invalid("a port is a whole number from 1 to 65535"))?;
        u16::try_from(number)
            .ok()
            .and_then(Port::new)
            .ok_or_else(|| invalid("a port must be from 1 to 65535"))
    }
}

impl TryFrom<u32> for Port {
    type Error = InputError;
    fn try_from(value: u32) -> Result<Port, InputError> {
        Port::parse_field("port", &value.to_string())
    }
}

impl From<Port> for u16 {
    fn from(port: Port) -> u16 {
        port.0
    }
}

impl FromStr for Port {
    type Err = InputError;
    fn from_str(text: &str) -> Result<Port, InputError> {
        Port::parse_field("port", text)
    }
}

impl fmt::Display for Port {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// The transport protocol of a mapping.
///
/// ```
/// use portforward::Protocol;
/// assert_eq!("udp".parse::<Protocol>().unwrap(), Protocol::Udp);
/// assert!("XYZ".parse::<Protocol>().is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Default)]
pub enum Protocol {
    /// TCP.
    #[default]
    #[serde(rename = "TCP", alias = "tcp")]
    Tcp,
    /// UDP.
    #[serde(rename = "UDP", alias = "udp")]
    Udp,
}

impl Protocol {
    /// Both protocols, in display order.
    pub const ALL: [Protocol; 2] = [Protocol::Tcp, Protocol::Udp];

    /// The name used on the wire: `TCP` or `UDP`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Protocol::Tcp => "TCP",
            Protocol::Udp => "UDP",
        }
    }

    /// Parses user input for the field named `field`.
    pub fn parse_field(field: &'static str, text: &str) -> Result<Protocol, InputError> {
        match text.trim().to_ascii_uppercase().as_str() {
            "TCP" => Ok(Protocol::Tcp),
            "UDP" => Ok(Protocol::Udp),
            _ => Err(InputError::new(field, text, "the protocol must be TCP or UDP")),
        }
    }
}

impl FromStr for Protocol {
    type Err = InputError;
    fn from_str(text: &str) -> Result<Protocol, InputError> {
        Protocol::parse_field("protocol", text)
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A lease duration in seconds: 0 means permanent, at most 604800 (7 days, IGD:2's limit).
///
/// ```
/// use portforward::Lease;
/// assert!(Lease::seconds(3600).unwrap().is_finite());
/// assert!(Lease::PERMANENT.is_permanent());
/// assert!(Lease::seconds(604_801).is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "u64", into = "u32")]
pub struct Lease(u32);

impl Lease {
    /// A mapping that never expires (IGD:1's 0; IGD:2 routers clamp it to 7 days).
    pub const PERMANENT: Lease = Lease(0);
    /// The longest lease IGD:2 allows: 7 days.
    pub const MAX: Lease = Lease(604_800);
    /// The lease `enable` asks for when none is given: 1 hour, renewed by keep-alive.
    pub const DEFAULT: Lease = Lease(3600);

    /// A lease of `secs` seconds; an error above 604800.
    pub fn seconds(secs: u64) -> Result<Lease, InputError> {
        Lease::parse_field("duration", &secs.to_string())
    }

    /// Parses user input for the field named `field`.
    pub fn parse_field(field: &'static str, text: &str) -> Result<Lease, InputError> {
        let text = text.trim();
        let invalid = |reason: &str| InputError::new(field, text, reason);
        let secs: i64 = text
            .parse()
            .map_err(|_| invalid("a lease is a whole number of seconds (0 = permanent)"))?;
        if !(0..=i64::from(Lease::MAX.0)).contains(&secs) {
            return Err(invalid("a lease must be from 0 (permanent) to 604800 seconds (7 days)"));
        }
        Ok(Lease(secs as u32))
    }

    /// A lease as a router reported it (remaining seconds), kept as-is: it was not ours
    /// to validate, and IGD:1 routers may report more than 7 days.
    pub const fn from_router(secs: u32) -> Lease {
        Lease(secs)
    }

    /// Seconds, 0 for permanent.
    pub const fn as_secs(self) -> u32 {
        self.0
    }

    /// Whether this lease never expires.
    pub const fn is_permanent(self) -> bool {
        self.0 == 0
    }

    /// Whether this lease expires.
    pub const fn is_finite(self) -> bool {
        self.0 != 0
    }

    /// The lease as a duration; `None` when permanent.
    pub fn duration(self) -> Option<Duration> {
        self.is_finite().then(|| Duration::from_secs(self.0.into()))
    }
}

impl TryFrom<u64> for Lease {
    type Error = InputError;
    fn try_from(secs: u64) -> Result<Lease, InputError> {
        Lease::seconds(secs)
    }
}

impl From<Lease> for u32 {
    fn from(lease: Lease) -> u32 {
        lease.0
    }
}

impl fmt::Display for Lease {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_permanent() {
            return f.write_str("permanent");
        }
        let s = self.0;
        match (s / 86_400, s % 86_400 / 3600, s % 3600 / 60, s % 60) {
            (0, 0, 0, sec) => write!(f, "{sec}s"),
            (0, 0, min, sec) => write!(f, "{min}m {sec:02}s"),
            (0, h, min, sec) => write!(f, "{h}h {min:02}m {sec:02}s"),
            (d, h, min, _) => write!(f, "{d}d {h:02}h {min:02}m"),
        }
    }
}

/// A mapping description: at most 255 bytes, no control characters.
///
/// Characters special to XML (`<`, `&`, quotes) are allowed: they are escaped on the wire.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Default)]
#[serde(try_from = "String", into = "String")]
pub struct Description(String);

impl Description {
    /// The longest description accepted, in bytes (some routers refuse more: error 605).
    pub const MAX_BYTES: usize = 255;

    /// Validates user input for the field named `field`.
    pub fn parse_field(field: &'static str, text: &str) -> Result<Description, InputError> {
        if text.len() > Description::MAX_BYTES {
            return Err(InputError::new(
                field,
                &format!("{}…", text.chars().take(20).collect::<String>()),
                &format!(
                    "a description may be at most {} bytes (this one has {})",
                    Description::MAX_BYTES,
                    text.len()
                ),
            ));
        }
        if text.chars().any(char::is_control) {
            return Err(InputError::new(
                field,
                text,
                "a description may not contain control characters",
            ));
        }
        Ok(Description(text.to_owned()))
    }

    /// A description as the router reported it, kept as-is (it was not ours to validate).
    pub fn from_router(text: String) -> Description {
        Description(text)
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Description {
    type Error = InputError;
    fn try_from(text: String) -> Result<Description, InputError> {
        Description::parse_field("description", &text)
    }
}

impl From<Description> for String {
    fn from(d: Description) -> String {
        d.0
    }
}

impl fmt::Display for Description {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Parses an internal client: an IPv4 address (the only kind IGD port mappings take).
pub fn parse_internal_ip(field: &'static str, text: &str) -> Result<Ipv4Addr, InputError> {
    let text = text.trim();
    if text.contains(':') {
        return Err(InputError::new(
            field,
            text,
            "port mappings take an IPv4 address (IPv6 needs a pinhole)",
        ));
    }
    let ip: Ipv4Addr = text
        .parse()
        .map_err(|_| InputError::new(field, text, "enter an IPv4 address such as 192.168.1.20"))?;
    if ip.is_unspecified() || ip.is_broadcast() || ip.is_multicast() || ip.is_loopback() {
        return Err(InputError::new(
            field,
            text,
            "enter the LAN address of a host (not 0.0.0.0, loopback, broadcast or multicast)",
        ));
    }
    Ok(ip)
}

/// What identifies a mapping on the router: the external port and protocol
/// (plus the remote host, almost always empty = any).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct MappingKey {
    /// The port on the router's WAN side.
    pub external_port: Port,
    /// TCP or UDP.
    pub protocol: Protocol,
    /// The remote host the mapping is limited to; empty means any.
    #[serde(default)]
    pub remote_host: String,
}

impl fmt::Display for MappingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.external_port, self.protocol)?;
        if !self.remote_host.is_empty() {
            write!(f, " from {}", self.remote_host)?;
        }
        Ok(())
    }
}

/// One entry of the router's port-mapping table.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Mapping {
    /// TCP or UDP.
    pub protocol: Protocol,
    /// The port on the router's WAN side.
    pub external_port: Port,
    /// The LAN host traffic is forwarded to. Kept as text: routers may report names.
    pub internal_client: String,
    /// The port on the LAN host.
    pub internal_port: Port,
    /// The description the creating program gave.
    pub description: Description,
    /// Whether the router applies the mapping.
    pub enabled: bool,
    /// The remote host the mapping is limited to; empty means any.
    pub remote_host: String,
    /// The lease remaining when read (0 = permanent).
    pub lease: Lease,
}

impl Mapping {
    /// The fields that identify this mapping on the router.
    pub fn key(&self) -> MappingKey {
        MappingKey {
            external_port: self.external_port,
            protocol: self.protocol,
            remote_host: self.remote_host.clone(),
        }
    }

    /// The internal client as an IPv4 address, when it is one.
    pub fn internal_ip(&self) -> Option<Ipv4Addr> {
        self.internal_client.parse().ok()
    }
}

impl fmt::Display for Mapping {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}/{} -> {}:{} \"{}\" ({}{})",
            self.external_port,
            self.protocol,
            self.internal_client,
            self.internal_port,
            self.description,
            self.lease,
            if self.enabled { "" } else { ", disabled" }
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_outside_the_range_name_the_field() {
        for bad in ["0", "65536", "70000", "-1", "abc", "", "8080.5"] {
            let err = Port::parse_field("external port", bad).unwrap_err();
            assert_eq!(err.field, "external port", "{bad}");
        }
        assert_eq!(Port::parse_field("p", " 65535 ").unwrap().get(), 65535);
        assert_eq!(Port::parse_field("p", "1").unwrap().get(), 1);
    }

    #[test]
    fn protocol_accepts_only_tcp_and_udp() {
        assert_eq!(Protocol::parse_field("p", "tcp").unwrap(), Protocol::Tcp);
        assert_eq!(Protocol::parse_field("p", "UDP").unwrap(), Protocol::Udp);
        assert!(Protocol::parse_field("p", "XYZ").is_err());
        assert!(Protocol::parse_field("p", "").is_err());
    }

    #[test]
    fn lease_limits_and_display() {
        assert!(Lease::parse_field("d", "604801").is_err());
        assert!(Lease::parse_field("d", "-1").is_err());
        assert_eq!(Lease::parse_field("d", "604800").unwrap(), Lease::MAX);
        assert_eq!(Lease::PERMANENT.to_string(), "permanent");
        assert_eq!(Lease(59).to_string(), "59s");
        assert_eq!(Lease(3725).to_string(), "1h 02m 05s");
        assert_eq!(Lease(90_061).to_string(), "1d 01h 01m");
    }

    #[test]
    fn internal_ip_must_be_a_lan_ipv4_host() {
        for bad in [
            "300.1.1.1",
            "::1",
            "fe80::1",
            "abc",
            "0.0.0.0",
            "127.0.0.1",
            "255.255.255.255",
            "",
        ] {
            assert!(parse_internal_ip("internal ip", bad).is_err(), "{bad}");
        }
        assert_eq!(
            parse_internal_ip("i", "192.168.1.20").unwrap(),
            Ipv4Addr::new(192, 168, 1, 20)
        );
    }

    #[test]
    fn description_length_and_characters() {
        assert!(Description::parse_field("d", &"x".repeat(1024)).is_err());
        assert!(Description::parse_field("d", "a\nb").is_err());
        assert_eq!(
            Description::parse_field("d", "<Tom & \"Jerry\"> ü").unwrap().as_str(),
            "<Tom & \"Jerry\"> ü"
        );
        assert!(Description::parse_field("d", "").is_ok());
    }
}
