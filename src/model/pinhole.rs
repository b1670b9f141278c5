//! IPv6 pinholes: an opening in the router's IPv6 firewall for one port of one LAN host
//! (UPnP `WANIPv6FirewallControl:1`). Behind IPv6 there is no NAT: the port outside is the
//! port inside, and the host is reachable at its own global address once the pinhole exists.
//!
//! The values here validate what miniupnpd 2.3.1 checks (and more): a lease of 1 to 86400 s
//! (it refuses 0 and longer leases with 402, it does not clamp), a port from 1 to 65535, TCP
//! or UDP, and a unicast IPv6 address written in canonical form (RFC 5952: lowercase,
//! compressed), since the router compares the text of `InternalClient` with the sender's.
//! Whether the address belongs to this computer is asked of [`crate::host`].

use std::fmt;
use std::net::Ipv6Addr;

use serde::{Deserialize, Serialize};

use super::input::InputError;
use super::port::Port;
use super::protocol::Protocol;

/// A pinhole's lease: 1 to 86400 seconds (WANIPv6FirewallControl has no permanent pinholes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "u64", into = "u32")]
pub struct PinholeLease(u32);

impl PinholeLease {
    /// The longest lease a router grants: one day.
    pub const MAX: PinholeLease = PinholeLease(86_400);
    /// The lease used when none is given: one hour.
    pub const DEFAULT: PinholeLease = PinholeLease(3600);

    /// A lease of `secs` seconds, 1 to 86400.
    pub fn seconds(secs: u64) -> Result<PinholeLease, InputError> {
        PinholeLease::parse_field("lease", &secs.to_string())
    }

    /// Parses a lease typed by a user; the error names `field`.
    pub fn parse_field(field: &'static str, text: &str) -> Result<PinholeLease, InputError> {
        let text = text.trim();
        let invalid = |reason: &str| InputError::new(field, text, reason);
        let secs: i64 = text
            .parse()
            .map_err(|_| invalid("a pinhole lease is a whole number of seconds from 1 to 86400"))?;
        match u32::try_from(secs) {
            Ok(secs @ 1..=86_400) => Ok(PinholeLease(secs)),
            _ => Err(invalid(
                "a pinhole lease must be from 1 to 86400 seconds (routers have no permanent pinholes)",
            )),
        }
    }

    /// The seconds.
    pub const fn as_secs(self) -> u32 {
        self.0
    }
}

impl TryFrom<u64> for PinholeLease {
    type Error = InputError;
    fn try_from(secs: u64) -> Result<PinholeLease, InputError> {
        PinholeLease::seconds(secs)
    }
}

impl From<PinholeLease> for u32 {
    fn from(lease: PinholeLease) -> u32 {
        lease.0
    }
}

impl fmt::Display for PinholeLease {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} s", self.0)
    }
}

/// Parses an IPv6 address that may be opened or named as a remote host: unicast, not
/// link-local, not IPv4-mapped, not the unspecified address. Returned as an [`Ipv6Addr`],
/// whose `Display` is the canonical form routers compare against.
pub fn parse_ipv6_field(field: &'static str, text: &str) -> Result<Ipv6Addr, InputError> {
    let text = text.trim();
    let trimmed = text.trim_start_matches('[').trim_end_matches(']');
    let invalid = |reason: &str| InputError::new(field, text, reason);
    let addr: Ipv6Addr = trimmed
        .parse()
        .map_err(|_| invalid("enter an IPv6 address, e.g. 2001:db8::10"))?;
    check_ipv6(field, addr)
}

/// The checks of [`parse_ipv6_field`] on an address already parsed.
pub fn check_ipv6(field: &'static str, addr: Ipv6Addr) -> Result<Ipv6Addr, InputError> {
    let invalid = |reason: &str| InputError::new(field, &addr.to_string(), reason);
    if addr.is_unspecified() {
        return Err(invalid("the unspecified address :: names no host"));
    }
    if addr.is_multicast() {
        return Err(invalid("a multicast address cannot be opened"));
    }
    if addr.is_unicast_link_local() {
        return Err(invalid(
            "a link-local address (fe80::/10) is not reachable from the internet; use a global address",
        ));
    }
    if addr.to_ipv4_mapped().is_some() {
        return Err(invalid(
            "an IPv4-mapped address is IPv4; use port forwarding (enable) for IPv4",
        ));
    }
    Ok(addr)
}

/// A pinhole to open: which port of which address of this computer, for whom.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewPinhole {
    /// The IPv6 address being opened (one of this computer's; the router insists that the
    /// request comes from it).
    pub internal_ip: Ipv6Addr,
    /// The port on that address.
    pub internal_port: Port,
    /// TCP or UDP.
    pub protocol: Protocol,
    /// Only this remote host may come in; `None` for any.
    pub remote_host: Option<Ipv6Addr>,
    /// Only from this remote port; `None` for any.
    pub remote_port: Option<Port>,
    /// How long the router keeps it.
    pub lease: PinholeLease,
}

impl NewPinhole {
    /// A pinhole for `internal_port` of `internal_ip`, from anyone, for an hour.
    pub fn new(internal_ip: Ipv6Addr, internal_port: Port, protocol: Protocol) -> NewPinhole {
        NewPinhole {
            internal_ip,
            internal_port,
            protocol,
            remote_host: None,
            remote_port: None,
            lease: PinholeLease::DEFAULT,
        }
    }

    /// Whether `other` opens the same thing (same address, port, protocol and remote side),
    /// whatever its lease.
    pub fn same_opening(&self, other: &NewPinhole) -> bool {
        self.internal_ip == other.internal_ip
            && self.internal_port == other.internal_port
            && self.protocol == other.protocol
            && self.remote_host == other.remote_host
            && self.remote_port == other.remote_port
    }

    /// The IANA protocol number the router expects (6 or 17).
    pub fn protocol_number(&self) -> u8 {
        protocol_number(self.protocol)
    }
}

/// The IANA protocol number of TCP (6) or UDP (17), as WANIPv6FirewallControl wants it.
pub fn protocol_number(protocol: Protocol) -> u8 {
    match protocol {
        Protocol::Tcp => 6,
        Protocol::Udp => 17,
    }
}

/// Which protocol opened a pinhole.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PinholeVia {
    /// UPnP WANIPv6FirewallControl: the router numbers it and can check it.
    #[default]
    Upnp,
    /// PCP MAP (RFC 6887) over IPv6: the router knows it by its nonce; the id is ours.
    Pcp,
}

impl PinholeVia {
    /// Parses user input: `upnp` or `pcp`; the error names `field`.
    pub fn parse_field(field: &'static str, text: &str) -> Result<PinholeVia, InputError> {
        match text.trim().to_ascii_lowercase().as_str() {
            "upnp" => Ok(PinholeVia::Upnp),
            "pcp" => Ok(PinholeVia::Pcp),
            _ => Err(InputError::new(field, text, "choose upnp or pcp")),
        }
    }

    /// "UPnP" or "PCP".
    pub const fn as_str(self) -> &'static str {
        match self {
            PinholeVia::Upnp => "UPnP",
            PinholeVia::Pcp => "PCP",
        }
    }
}

impl fmt::Display for PinholeVia {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The shortest PCP lifetime routers grant (miniupnpd raises shorter ones to 120 s).
pub const PCP_MIN_LIFETIME: u32 = 120;

/// A pinhole the router holds: its id and what it opens, with what is known of its use.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pinhole {
    /// The router's `UniqueID` (it does not survive a router restart: the router then
    /// answers 704 and the pinhole must be added again); for a PCP pinhole, a number of our
    /// own (PCP has no ids), given from 65535 down so as not to meet the router's.
    pub id: u16,
    /// What it opens.
    #[serde(flatten)]
    pub opening: NewPinhole,
    /// The control URL of the router's firewall service that holds it; for a PCP pinhole,
    /// `pcp://[router]:5351`.
    pub gateway: String,
    /// When the lease ends, in seconds since the Unix epoch (as last set by this computer).
    pub expires_at: u64,
    /// The router's packet counter (first packet of each connection), when last asked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub packets: Option<u64>,
    /// Whether an outside packet has reached the rule (CheckPinholeWorking), when last asked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub working: Option<bool>,
    /// The protocol that opened it.
    #[serde(default)]
    pub via: PinholeVia,
    /// PCP's mapping nonce: only a request with the same nonce may renew or close it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nonce: Option<[u32; 3]>,
}

impl Pinhole {
    /// Seconds left on the lease at `now` (seconds since the Unix epoch).
    pub fn seconds_left_at(&self, now: u64) -> u64 {
        self.expires_at.saturating_sub(now)
    }

    /// Seconds left on the lease now.
    pub fn seconds_left(&self) -> u64 {
        self.seconds_left_at(unix_now())
    }
}

impl fmt::Display for Pinhole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let o = &self.opening;
        write!(
            f,
            "pinhole {}: [{}]:{}/{}",
            self.id, o.internal_ip, o.internal_port, o.protocol
        )?;
        match (o.remote_host, o.remote_port) {
            (None, None) => f.write_str(" from anyone")?,
            (Some(host), None) => write!(f, " from {host} only")?,
            (None, Some(port)) => write!(f, " from remote port {port} only")?,
            (Some(host), Some(port)) => write!(f, " from [{host}]:{port} only")?,
        }
        write!(f, ", {} s left", self.seconds_left())?;
        if self.via == PinholeVia::Pcp {
            f.write_str(", via PCP")?;
        }
        Ok(())
    }
}

/// Seconds since the Unix epoch.
pub fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leases_are_one_second_to_one_day() {
        assert_eq!(PinholeLease::parse_field("lease", "1").unwrap().as_secs(), 1);
        assert_eq!(PinholeLease::parse_field("lease", "86400").unwrap().as_secs(), 86_400);
        for bad in ["0", "86401", "-5", "x", ""] {
            let err = PinholeLease::parse_field("lease", bad).unwrap_err();
            assert_eq!(err.field, "lease", "{bad}");
        }
        assert!(serde_json::from_str::<PinholeLease>("0").is_err());
    }

    #[test]
    fn addresses_are_canonical_and_openable() {
        let addr = parse_ipv6_field("internal-ip", "2001:DB8:0:0::0:10").unwrap();
        assert_eq!(addr.to_string(), "2001:db8::10");
        assert_eq!(
            parse_ipv6_field("x", "[2001:db8::1]").unwrap().to_string(),
            "2001:db8::1"
        );
        for bad in [
            "fe80::1",
            "::",
            "ff02::1",
            "::ffff:192.168.1.2",
            "192.168.1.2",
            "host.example",
        ] {
            let err = parse_ipv6_field("internal-ip", bad).unwrap_err();
            assert_eq!(err.field, "internal-ip", "{bad}");
        }
    }

    #[test]
    fn a_pinhole_reads_back_what_it_wrote() {
        let opening = NewPinhole {
            remote_host: Some("2001:db8::99".parse().unwrap()),
            ..NewPinhole::new("2001:db8::10".parse().unwrap(), Port::new(8080).unwrap(), Protocol::Udp)
        };
        let pinhole = Pinhole {
            id: 7,
            opening,
            gateway: "http://[2001:db8::1]:49000/ctl/IP6FCtl".into(),
            expires_at: 1,
            packets: None,
            working: None,
            via: PinholeVia::Upnp,
            nonce: None,
        };
        let json = serde_json::to_value(&pinhole).unwrap();
        assert_eq!(json["id"], 7);
        assert_eq!(json["internal_ip"], "2001:db8::10");
        assert_eq!(json["protocol"], "UDP");
        let back: Pinhole = serde_json::from_value(json).unwrap();
        assert_eq!(back, pinhole);
        // Records written before PCP pinholes read as UPnP ones.
        let mut old = serde_json::to_value(&pinhole).unwrap();
        old.as_object_mut().unwrap().remove("via");
        assert_eq!(serde_json::from_value::<Pinhole>(old).unwrap().via, PinholeVia::Upnp);
        assert_eq!(PinholeVia::parse_field("via", " PCP ").unwrap(), PinholeVia::Pcp);
        assert_eq!(PinholeVia::parse_field("via", "nat-pmp").unwrap_err().field, "via");
        assert!(
            pinhole
                .to_string()
                .starts_with("pinhole 7: [2001:db8::10]:8080/UDP from 2001:db8::99 only")
        );
    }
}
