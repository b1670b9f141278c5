//! NAT-PMP / PCP use cases for the front ends: map a port towards a router given or the
//! system's default gateway, renew and remove a mapping made earlier. Each call blocks until
//! the router answers (or the retries run out): call it off a UI thread.

use std::net::Ipv4Addr;

use crate::error::Error;
use crate::model::{Lease, Port, Protocol};
use crate::port_control::{PortControlClient, PortControlMapping, PortControlMode};

/// A port to forward to this computer through NAT-PMP or PCP.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortControlRequest {
    /// The router to ask; `None`: the system's default gateway.
    pub gateway: Option<Ipv4Addr>,
    /// NAT-PMP, PCP, or whichever answers.
    pub mode: PortControlMode,
    /// TCP or UDP.
    pub protocol: Protocol,
    /// The port on this computer.
    pub internal_port: Port,
    /// The port on the router; `None`: the same as `internal_port`.
    pub external_port: Option<Port>,
    /// How long the mapping lasts (never permanent).
    pub lifetime: Lease,
}

/// Maps the port `request` describes.
///
/// ```
/// use std::net::Ipv4Addr;
/// use portforward::port_control::PortControlMode;
/// use portforward::services::{PortControlRequest, map_port_control};
/// use portforward::simulator::{PortControlSimConfig, SimulatedPortControl};
/// use portforward::{Lease, Port, Protocol};
/// let router = SimulatedPortControl::start(Ipv4Addr::new(127, 0, 56, 1), PortControlSimConfig::default())?;
/// let request = PortControlRequest {
///     gateway: Some(Ipv4Addr::new(127, 0, 56, 1)),
///     mode: PortControlMode::Auto,
///     protocol: Protocol::Tcp,
///     internal_port: Port::new(6100).unwrap(),
///     external_port: None,
///     lifetime: Lease::DEFAULT,
/// };
/// let mapping = map_port_control(&request)?;
/// assert_eq!(mapping.external_port, Port::new(6100).unwrap());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn map_port_control(request: &PortControlRequest) -> Result<PortControlMapping, Error> {
    let gateway = match request.gateway {
        Some(ip) => ip,
        None => crate::host::default_gateway()?,
    };
    let client = PortControlClient::new(gateway)?.with_mode(request.mode);
    client.map(
        request.protocol,
        request.internal_port,
        Some(request.external_port.unwrap_or(request.internal_port)),
        request.lifetime,
    )
}

/// Renews a mapping made earlier (for the lifetime it was made with).
pub fn renew_port_control(mapping: &PortControlMapping) -> Result<PortControlMapping, Error> {
    PortControlClient::new(mapping.gateway)?.renew(mapping, None)
}

/// Removes a mapping made earlier.
pub fn unmap_port_control(mapping: &PortControlMapping) -> Result<(), Error> {
    PortControlClient::new(mapping.gateway)?.unmap(mapping)
}
