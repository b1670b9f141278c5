//! Everything that talks to a gateway: discovery, descriptions, SOAP, typed actions.
//! Nothing here knows about a user interface.

mod client;
mod description;
mod discovery;
mod http;
mod list;
mod soap;
pub mod ssdp;
mod xml;

pub use client::{ConnectionStatus, Gateway, GatewayOptions, NewMapping};
pub use description::{DeviceDescription, IgdVersion};
pub use discovery::{DiscoveryOptions, discover, discover_all};
pub use list::{ListMethod, MappingTable, WALK_CAP};
pub use xml::escape_xml;

// The parsers of untrusted replies, for `crate::fuzzing`.
pub(crate) use client::parse_port_listing;
pub(crate) use description::{parse_device_description, parse_scpd};
pub(crate) use http::Reply;
pub(crate) use soap::read_reply;
