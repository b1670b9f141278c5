//! PortForward: see and manage a router's port forwards over UPnP IGD.
//!
//! The library is the heart of the desktop window and the command line, and knows nothing
//! of either. It is built in layers, each depending only on those above it in this list:
//!
//! - [`model`]: the vocabulary (ports, protocols, leases, mappings, filters), validated;
//! - [`store`]: JSON files kept in the platform's config directory;
//! - [`host`]: this computer (its address, default route, ports, which process owns a port);
//! - [`upnp`]: the UPnP IGD client (discovery, descriptions, every IGD action);
//! - [`port_control`]: NAT-PMP and PCP, for routers without UPnP;
//! - [`services`]: the use cases: [`PortForwarder`] (PyForward's API done right), keep-alive,
//!   presets, export/import, the table the user sees.
//!
//! Every use case returns the one [`Error`], which wraps each layer's own. [`simulator`] is a
//! UPnP router of its own, independent of the client, for tests and `--demo`.
//!
//! ```no_run
//! use portforward::{EnableRequest, MappingFilter, PortForwarder, Protocol};
//!
//! // Find the router (returns as soon as it answers) and forward a free port here.
//! let forwarder = PortForwarder::discover(&Default::default())?;
//! let enabled = forwarder.enable(&EnableRequest::default())?;
//! println!("reachable at {:?}:{}", enabled.external_ip, enabled.request.external_port);
//!
//! // Everything on the router, whoever made it.
//! for mapping in forwarder.get_all_mappings()?.mappings {
//!     println!("{mapping}");
//! }
//!
//! // Remove our UDP mappings; other programs' stay.
//! let filter = MappingFilter { protocol: Some(Protocol::Udp), description: Some("PortForward".into()), ..Default::default() };
//! let report = forwarder.disable_all(&filter)?;
//! println!("removed {}", report.done.len());
//! # Ok::<(), portforward::Error>(())
//! ```
//!
//! Without a router, try it against the simulated gateway:
//!
//! ```
//! use portforward::{EnableRequest, PortForwarder, simulator::SimulatedGateway};
//! let router = SimulatedGateway::demo()?;
//! let forwarder = PortForwarder::connect(&router.description_url(), &Default::default())?;
//! let enabled = forwarder.enable(&EnableRequest::default())?;
//! assert_eq!(forwarder.disable(None, None)?.external_port, enabled.request.external_port);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![warn(missing_docs)]

mod error;
#[doc(hidden)]
pub mod fuzzing;
pub mod host;
pub mod model;
pub mod port_control;
pub mod services;
pub mod simulator;
pub mod store;
pub mod upnp;

pub use error::Error;
pub use host::owner::{LocalSockets, Owner, OwnerOptions, resolve_owners, resolve_owners_from, stale_mappings};
pub use host::{
    DYNAMIC_PORTS, HostError, LocalAddress, local_address_towards, local_addresses, open_local_port, random_port,
};
pub use model::{
    Description, InputError, Lease, Mapping, MappingFilter, MappingKey, NewMapping, Port, Protocol, parse_internal_ip,
};
pub use services::keepalive::{Due, KeepAlive, KeepAliveEvent, KeepAliveService, KeepAliveTimings, remove_created};
pub use services::{
    BulkReport, DEFAULT_DESCRIPTION, EnableRequest, Enabled, ExternalReachability, ForwardError, PortForwarder,
};
pub use store::FileError;
pub use upnp::{HttpFailure, UpnpCode, UpnpError};

/// The README's Rust examples, compiled as doctests so they stay true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeExamples;
