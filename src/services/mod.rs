//! The use cases, over the layers below: the PyForward API ([`PortForwarder`]), keep-alive,
//! presets, export and import, the table the user sees (UPnP and NAT-PMP/PCP rows together),
//! and whether forwards can be reached at all.

mod bulk;
mod error;
mod forwarder;
pub mod keepalive;
mod port_control_store;
pub mod presets;
mod reachability;
mod table;
pub mod transfer;

pub use bulk::BulkReport;
pub use error::ForwardError;
pub use forwarder::{DEFAULT_DESCRIPTION, EnableRequest, Enabled, PortForwarder};
pub use port_control_store::PortControlStore;
pub use reachability::ExternalReachability;
pub use table::{MarkedTable, mark_port_control};
