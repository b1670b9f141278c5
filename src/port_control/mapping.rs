//! A mapping made through NAT-PMP or PCP.

use std::fmt;
use std::net::Ipv4Addr;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use super::PortControlProtocol;
use crate::model::{Description, Lease, Mapping, MappingKey, Port, Protocol};

/// A mapping made through NAT-PMP or PCP: enough to renew and remove it later, even from
/// another run of the program.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortControlMapping {
    /// The protocol that made it.
    pub via: PortControlProtocol,
    /// The router it is on.
    pub gateway: Ipv4Addr,
    /// This computer's address as sent to the router.
    pub internal_ip: Ipv4Addr,
    /// TCP or UDP.
    pub protocol: Protocol,
    /// The port on this computer.
    pub internal_port: Port,
    /// The port the router opened (it may differ from the one asked for).
    pub external_port: Port,
    /// The router's external address, when it said.
    pub external_ip: Option<Ipv4Addr>,
    /// The lifetime the router granted, in seconds.
    pub lifetime_secs: u32,
    /// When it expires, in seconds since the Unix epoch (this computer's clock).
    pub expires_at: u64,
    /// PCP's mapping nonce: only a request with the same nonce may renew or remove it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nonce: Option<[u32; 3]>,
}

impl PortControlMapping {
    /// The key the router's UPnP table would know it by.
    pub fn key(&self) -> MappingKey {
        MappingKey {
            external_port: self.external_port,
            protocol: self.protocol,
            remote_host: String::new(),
        }
    }

    /// Seconds left now (0 once expired).
    pub fn seconds_left(&self) -> u32 {
        let left = self.expires_at.saturating_sub(unix_now());
        u32::try_from(left).unwrap_or(u32::MAX)
    }

    /// As a table row, for routers whose UPnP table does not list it.
    pub fn as_mapping(&self) -> Mapping {
        Mapping {
            protocol: self.protocol,
            external_port: self.external_port,
            internal_client: self.internal_ip.to_string(),
            internal_port: self.internal_port,
            description: Description::from_router(format!("made via {}", self.via)),
            enabled: true,
            remote_host: String::new(),
            lease: Lease::from_router(self.seconds_left().max(1)),
        }
    }
}

#[cfg(test)]
impl PortControlMapping {
    /// A live mapping made here by `via`, of `external` to the same port on 192.168.77.10.
    pub(crate) fn sample(external: u16, via: PortControlProtocol) -> PortControlMapping {
        PortControlMapping {
            via,
            gateway: Ipv4Addr::new(192, 168, 77, 1),
            internal_ip: Ipv4Addr::new(192, 168, 77, 10),
            protocol: Protocol::Tcp,
            internal_port: Port::new(external).expect("a test port"),
            external_port: Port::new(external).expect("a test port"),
            external_ip: None,
            lifetime_secs: 600,
            expires_at: unix_now() + 600,
            nonce: None,
        }
    }
}

impl fmt::Display for PortControlMapping {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}/{} -> {}:{} via {} (lifetime {})",
            self.external_ip.map_or("(router)".to_owned(), |ip| ip.to_string()),
            self.external_port,
            self.protocol,
            self.internal_ip,
            self.internal_port,
            self.via,
            Lease::from_router(self.seconds_left())
        )
    }
}

/// Seconds since the Unix epoch on this computer's clock.
pub(crate) fn unix_now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}
