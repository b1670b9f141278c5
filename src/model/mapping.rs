//! A router's mapping and what identifies it, and the internal client it forwards to.

use std::fmt;
use std::net::Ipv4Addr;

use serde::{Deserialize, Serialize};

use super::input::InputError;
use super::{Description, Lease, Port, Protocol};

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
}
