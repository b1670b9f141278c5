//! PortForward: see and manage a router's port forwards over UPnP IGD.
//!
//! The library is the heart of the desktop window and the command line, and knows nothing
//! of either. [`PortForwarder`] is PyForward's API done right; [`gateway`] has the lower
//! level: discovery, descriptions and every IGD action. [`presets`] keeps named sets of
//! mappings, [`transfer`] exports and imports tables and presets as JSON or CSV (with a plan
//! before anything is sent), and [`natpmp`] maps this computer's ports over NAT-PMP / PCP on
//! routers without UPnP.
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
//! # Ok::<(), portforward::GatewayError>(())
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

mod error;
mod filter;
mod forwarder;
#[doc(hidden)]
pub mod fuzzing;
pub mod gateway;
mod keepalive;
mod local;
mod mapping;
pub mod natpmp;
mod owner;
mod parallel;
pub mod presets;
pub mod simulator;
pub mod transfer;

pub use error::{FileError, GatewayError, HttpFailure, InputError, UpnpCode};
pub use filter::MappingFilter;
pub use forwarder::{BulkReport, DEFAULT_DESCRIPTION, EnableRequest, Enabled, PortForwarder};
pub use keepalive::{Due, KeepAlive, KeepAliveEvent, KeepAliveTimings, remove_created};
pub use local::{
    DYNAMIC_PORTS, ExternalReachability, LocalAddress, local_address_towards, local_addresses, open_local_port,
    random_port,
};
pub use mapping::{Description, Lease, Mapping, MappingKey, Port, Protocol, parse_internal_ip};
pub use owner::{LocalSockets, Owner, OwnerOptions, resolve_owners, resolve_owners_from, stale_mappings};
