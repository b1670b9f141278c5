//! One mapping as the front ends write it out: `portforward list --json`, every other
//! command's JSON, and export (JSON and CSV) share this one record, so a file written by one is
//! read by the others and a script sees the same keys everywhere.
//!
//! The keys are PyForward's (`external_port`, `internal_port`, `internal_ip`, `protocol`,
//! `description`, `duration`) plus `enabled`, `remote_host` and, in a listing, `owner`. JSON
//! writes them in alphabetical order; CSV in the order of [`COLUMNS`](super::transfer::COLUMNS).
//!
//! ```
//! use portforward::services::MappingRecord;
//! use portforward::{Description, Lease, Mapping, Port, Protocol};
//! let mapping = Mapping {
//!     protocol: Protocol::Tcp,
//!     external_port: Port::new(8080).unwrap(),
//!     internal_client: "192.168.1.20".into(),
//!     internal_port: Port::new(80).unwrap(),
//!     description: Description::parse_field("d", "web").unwrap(),
//!     enabled: true,
//!     remote_host: String::new(),
//!     lease: Lease::PERMANENT,
//! };
//! assert_eq!(
//!     serde_json::to_string(&MappingRecord::of_mapping(&mapping)).unwrap(),
//!     r#"{"description":"web","duration":0,"enabled":true,"external_port":8080,"internal_ip":"192.168.1.20","internal_port":80,"protocol":"TCP","remote_host":""}"#
//! );
//! ```

use std::borrow::Cow;

use serde::Serialize;

use crate::host::owner::Owner;
use crate::model::{Mapping, Port, Protocol};
use crate::services::presets::PresetMapping;

/// A mapping as written out. Its fields borrow from the mapping, so a listing of 500 rows is
/// serialized straight from the table (a tenth of the time a `serde_json::Value` per row takes).
/// The fields are in alphabetical order: serde writes them so.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MappingRecord<'a> {
    /// The description the creating program gave.
    pub description: &'a str,
    /// The lease in seconds (left when read; 0 = permanent).
    pub duration: u32,
    /// Whether the router applies the mapping.
    pub enabled: bool,
    /// The port on the router's WAN side.
    pub external_port: Port,
    /// The LAN host: an address, a name a router reported, or (in a preset) "this computer".
    pub internal_ip: Cow<'a, str>,
    /// The port on the LAN host.
    pub internal_port: Port,
    /// Who is behind the mapping, in a listing that asked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner: Option<&'a Owner>,
    /// TCP or UDP.
    pub protocol: Protocol,
    /// The remote host the mapping is limited to; empty means any.
    pub remote_host: &'a str,
}

impl<'a> MappingRecord<'a> {
    /// A row of the router's table.
    pub fn of_mapping(m: &'a Mapping) -> MappingRecord<'a> {
        MappingRecord {
            description: m.description.as_str(),
            duration: m.lease.as_secs(),
            enabled: m.enabled,
            external_port: m.external_port,
            internal_ip: Cow::Borrowed(&m.internal_client),
            internal_port: m.internal_port,
            owner: None,
            protocol: m.protocol,
            remote_host: &m.remote_host,
        }
    }

    /// A row of the router's table with who is behind it.
    pub fn with_owner(m: &'a Mapping, owner: &'a Owner) -> MappingRecord<'a> {
        MappingRecord {
            owner: Some(owner),
            ..MappingRecord::of_mapping(m)
        }
    }

    /// A preset's mapping: enabled, open to every remote host, "this computer" as it is.
    pub fn of_preset_mapping(m: &'a PresetMapping) -> MappingRecord<'a> {
        MappingRecord {
            description: m.description.as_str(),
            duration: m.duration.as_secs(),
            enabled: true,
            external_port: m.external_port,
            internal_ip: Cow::Owned(m.internal_ip.to_string()),
            internal_port: m.internal_port,
            owner: None,
            protocol: m.protocol,
            remote_host: "",
        }
    }

    /// The CSV fields, in the order of [`COLUMNS`](super::transfer::COLUMNS) (no owner).
    pub fn csv_record(&self) -> [String; 8] {
        [
            self.external_port.to_string(),
            self.internal_port.to_string(),
            self.internal_ip.clone().into_owned(),
            self.protocol.as_str().to_owned(),
            self.description.to_owned(),
            self.duration.to_string(),
            self.enabled.to_string(),
            self.remote_host.to_owned(),
        ]
    }
}
