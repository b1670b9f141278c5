//! The UPnP IGD client: discovery (SSDP), device descriptions, SOAP, and every action a
//! port mapper needs, typed. Nothing here knows about a user interface. igd-next is used in
//! one file only ([`igd_next`](self) adapter); everything else is ours.

mod description;
mod diagnosis;
mod discovery;
mod entry;
mod error;
mod gateway;
mod http;
mod igd_next;
mod list;
pub(crate) mod parallel;
mod soap;
pub mod ssdp;
mod xml;

pub use description::{DeviceDescription, IgdVersion, WanService};
pub use diagnosis::{Diagnosis, diagnose};
pub use discovery::{DiscoveryOptions, discover, discover_all};
pub use error::{HttpFailure, UpnpCode, UpnpError};
pub use gateway::{ConnectionStatus, Gateway, GatewayOptions};
pub use list::{ListMethod, MappingTable, WALK_CAP};
pub use xml::escape_xml;

// The parsers of untrusted replies, for `crate::fuzzing`.
pub(crate) use description::{parse_device_description, parse_scpd};
pub(crate) use entry::parse_port_listing;
pub(crate) use http::Reply;
pub(crate) use soap::read_reply;
