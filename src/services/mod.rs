//! The use cases, over the layers below: the PyForward API ([`PortForwarder`]), keep-alive,
//! presets, export and import, the table the user sees (UPnP and NAT-PMP/PCP rows together),
//! and whether forwards can be reached at all.

pub mod autostart;
mod bulk;
mod error;
mod forwarder;
mod import_export;
pub mod keep_preset;
pub mod keepalive;
pub mod live;
mod pinholes;
mod port_control_service;
mod port_control_store;
pub mod presets;
mod reachability;
mod record;
mod table;
pub mod transfer;
mod vendor;
pub mod watch;

pub use bulk::BulkReport;
pub use error::ForwardError;
pub use forwarder::{DEFAULT_DESCRIPTION, EnableRequest, Enabled, PortForwarder};
pub use import_export::{export_preset_to, export_rows_to, export_table_to, plan_import_from};
pub use pinholes::{
    PinholeReachability, PinholeService, PinholeState, PinholeStore, Renewal, ServiceError as PinholeServiceError,
};
pub use port_control_service::{PortControlRequest, map_port_control, renew_port_control, unmap_port_control};
pub use port_control_store::PortControlStore;
pub use reachability::ExternalReachability;
pub use record::MappingRecord;
pub use table::{MarkedTable, mark_port_control};
pub use vendor::{refusal_setting, refusal_setting_for};
