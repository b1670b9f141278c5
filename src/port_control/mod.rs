//! NAT-PMP (RFC 6886) and PCP (RFC 6887): this computer's own mappings on routers without
//! UPnP, over UDP to port 5351 of the gateway.
//!
//! Built on `crab_nat`, which speaks both protocols (PCP first, NAT-PMP when the router answers
//! that it only knows version 0) and checks every reply field; the `natpmp` crate speaks only
//! NAT-PMP. crab_nat is async (tokio): each call here runs on a small single-threaded runtime
//! of its own, so the caller blocks like any other gateway call and the window runs it on a
//! worker thread, as it does UPnP requests.
//!
//! Neither protocol can list the router's table, and a PCP mapping can only be renewed or
//! removed with the nonce that made it, so the mappings made here are kept in a
//! `PortControlStore` (`portforward::services`) (a small JSON file beside the presets).
//!
//! The same PCP opens IPv6 pinholes on routers whose UPnP cannot ([`PcpFirewall`]).
//!
//! ```no_run
//! use portforward::port_control::{PortControlClient, PortControlMode};
//! use portforward::{Lease, Port, Protocol};
//!
//! let client = PortControlClient::towards_default_gateway()?.with_mode(PortControlMode::Auto);
//! let mapping = client.map(Protocol::Tcp, Port::new(25565).unwrap(), None, Lease::seconds(7200)?)?;
//! println!("reachable at {:?}:{} via {}", mapping.external_ip, mapping.external_port, mapping.via);
//! client.unmap(&mapping)?;
//! # Ok::<(), portforward::Error>(())
//! ```

mod client;
mod crab;
mod error;
mod mapping;
mod pinhole;
mod protocol;

pub use client::PortControlClient;
pub use error::PortControlError;
pub use mapping::PortControlMapping;
pub(crate) use mapping::unix_now;
pub use pinhole::{PcpFirewall, PcpGrant, check_pcp_opening};
pub use protocol::{PortControlMode, PortControlProtocol};

use crate::model::Lease;

/// The UDP port NAT-PMP and PCP servers listen on.
pub const PORT_CONTROL_PORT: u16 = crab_nat::GATEWAY_PORT;
/// The lifetime asked for when none is given: RFC 6886's recommendation, 2 hours.
pub const DEFAULT_LIFETIME: Lease = Lease::from_router(crab_nat::RECOMMENDED_MAPPING_LIFETIME_SECONDS);
