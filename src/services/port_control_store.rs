//! The NAT-PMP / PCP mappings this program made, kept for later runs.

use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

use crate::model::{Port, Protocol};
use crate::port_control::PortControlMapping;
use crate::store::{FileError, JsonFile};

/// The NAT-PMP / PCP mappings made by this program, kept in a JSON file so a later run can
/// renew and remove them (a PCP mapping needs the nonce that made it).
#[derive(Debug, Default, Clone)]
pub struct PortControlStore {
    file: JsonFile<Vec<PortControlMapping>>,
    mappings: Vec<PortControlMapping>,
}

impl PortControlStore {
    /// `port-control.json` in the platform's config directory.
    pub fn default_path() -> Option<PathBuf> {
        crate::store::config_dir().map(|d| d.join("port-control.json"))
    }

    /// A store that is never written to disk.
    pub fn in_memory() -> PortControlStore {
        PortControlStore::default()
    }

    /// Reads the mappings in `path` (none if it does not exist), dropping those long expired.
    pub fn open(path: impl Into<PathBuf>) -> Result<PortControlStore, FileError> {
        let file = JsonFile::at(path, "read", "delete the file to start afresh");
        let mut mappings: Vec<PortControlMapping> = file.read()?.unwrap_or_default();
        mappings.retain(|m| m.seconds_left() > 0);
        Ok(PortControlStore { file, mappings })
    }

    /// The file, if any.
    pub fn path(&self) -> Option<&Path> {
        self.file.path()
    }

    /// The mappings kept, oldest first (some may have expired since).
    pub fn mappings(&self) -> &[PortControlMapping] {
        &self.mappings
    }

    /// The mapping on `gateway` with this external port and protocol.
    pub fn find(&self, gateway: Ipv4Addr, external_port: Port, protocol: Protocol) -> Option<&PortControlMapping> {
        self.mappings
            .iter()
            .find(|m| m.gateway == gateway && m.external_port == external_port && m.protocol == protocol)
    }

    /// Records a mapping made or renewed (replacing the one on the same gateway and key).
    pub fn record(&mut self, mapping: PortControlMapping) -> Result<(), FileError> {
        self.mappings.retain(|m| {
            !(m.gateway == mapping.gateway
                && m.external_port == mapping.external_port
                && m.protocol == mapping.protocol)
        });
        self.mappings.push(mapping);
        self.write()
    }

    /// Forgets a mapping removed.
    pub fn forget(&mut self, mapping: &PortControlMapping) -> Result<(), FileError> {
        self.mappings.retain(|m| {
            !(m.gateway == mapping.gateway
                && m.external_port == mapping.external_port
                && m.protocol == mapping.protocol)
        });
        self.write()
    }

    fn write(&self) -> Result<(), FileError> {
        self.file.write(&self.mappings)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::port_control::{PortControlProtocol, unix_now};

    fn port(p: u16) -> Port {
        Port::new(p).unwrap()
    }

    fn ours(external: u16, via: PortControlProtocol) -> PortControlMapping {
        PortControlMapping::sample(external, via)
    }

    #[test]
    fn the_store_keeps_what_a_later_run_needs() {
        let dir = std::env::temp_dir().join(format!("pfw-port-control-{}-{}", std::process::id(), fastrand::u32(..)));
        let path = dir.join("port-control.json");
        let mut store = PortControlStore::open(&path).unwrap();
        let mut pcp = ours(6000, PortControlProtocol::Pcp);
        pcp.nonce = Some([7, 8, 9]);
        store.record(pcp.clone()).unwrap();
        store.record(ours(6001, PortControlProtocol::NatPmp)).unwrap();
        let expired = PortControlMapping {
            expires_at: unix_now() - 1,
            ..ours(6002, PortControlProtocol::NatPmp)
        };
        store.record(expired).unwrap();
        let again = PortControlStore::open(&path).unwrap();
        assert_eq!(again.mappings().len(), 2, "the expired one is dropped");
        assert_eq!(again.find(pcp.gateway, port(6000), Protocol::Tcp), Some(&pcp));
        let mut again = again;
        again.forget(&pcp).unwrap();
        assert_eq!(PortControlStore::open(&path).unwrap().mappings().len(), 1);
        std::fs::remove_dir_all(dir).unwrap();
    }
}
