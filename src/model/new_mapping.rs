//! A mapping to create, every field validated.

use std::net::Ipv4Addr;

use serde::Serialize;

use super::{Description, Lease, MappingKey, Port, Protocol};

/// A mapping to create: every field already validated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NewMapping {
    /// TCP or UDP.
    pub protocol: Protocol,
    /// The port on the router's WAN side.
    pub external_port: Port,
    /// The LAN host to forward to.
    pub internal_ip: Ipv4Addr,
    /// The port on the LAN host.
    pub internal_port: Port,
    /// The description shown in routers' tables.
    pub description: Description,
    /// The lease (0 = permanent).
    pub lease: Lease,
}

impl NewMapping {
    /// The key the router will know it by.
    pub fn key(&self) -> MappingKey {
        MappingKey {
            external_port: self.external_port,
            protocol: self.protocol,
            remote_host: String::new(),
        }
    }
}
