//! Presets: named sets of mappings ("Minecraft server": TCP and UDP 25565 to this computer),
//! applied in one go and kept in a readable JSON file in the platform's config directory.
//!
//! A preset mapping may forward to "this computer", resolved when the preset is applied, so a
//! preset keeps working after the computer's LAN address changes.
//!
//! ```
//! use portforward::services::presets::{Preset, PresetMapping, PresetStore, PresetTarget};
//! use portforward::{Port, Protocol};
//!
//! let dir = std::env::temp_dir().join(format!("pfw-doc-presets-{}", std::process::id()));
//! let mut store = PresetStore::open(dir.join("presets.json"))?;
//! let minecraft = Preset::both_protocols("Minecraft server", Port::new(25565).unwrap(), PresetTarget::ThisComputer)?;
//! assert_eq!(minecraft.mappings.len(), 2); // TCP and UDP
//! store.save(minecraft, None)?;
//! assert_eq!(PresetStore::open(dir.join("presets.json"))?.presets().len(), 1);
//! # std::fs::remove_dir_all(dir).ok();
//! # Ok::<(), portforward::Error>(())
//! ```

use std::fmt;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::Error;
use crate::model::{Description, InputError, Lease, Mapping, Port, Protocol, parse_internal_ip};
use crate::services::{BulkReport, PortForwarder};
use crate::store::{FileError, JsonFile};

/// What `internal_ip` says for "this computer" in preset files and exports.
pub const THIS_COMPUTER: &str = "this computer";
/// The longest preset name, in characters.
pub const MAX_NAME_CHARS: usize = 100;

/// Where a preset mapping forwards to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum PresetTarget {
    /// The computer applying the preset, whatever its address is then.
    #[default]
    ThisComputer,
    /// A fixed LAN host.
    Host(Ipv4Addr),
}

impl PresetTarget {
    /// Parses user input: empty or "this computer" means this computer, else a LAN IPv4 address.
    ///
    /// ```
    /// use portforward::services::presets::PresetTarget;
    /// assert_eq!(PresetTarget::parse_field("internal ip", "This computer").unwrap(), PresetTarget::ThisComputer);
    /// assert!(PresetTarget::parse_field("internal ip", "300.1.1.1").is_err());
    /// ```
    pub fn parse_field(field: &'static str, text: &str) -> Result<PresetTarget, InputError> {
        let trimmed = text.trim();
        if trimmed.is_empty() || trimmed.eq_ignore_ascii_case(THIS_COMPUTER) {
            return Ok(PresetTarget::ThisComputer);
        }
        parse_internal_ip(field, trimmed)
            .map(PresetTarget::Host)
            .map_err(|e| InputError::new(field, text, &format!("{}, or \"{THIS_COMPUTER}\"", e.reason)))
    }

    /// The address this target means for a computer at `local_ip`.
    pub fn resolve(self, local_ip: Ipv4Addr) -> Ipv4Addr {
        match self {
            PresetTarget::ThisComputer => local_ip,
            PresetTarget::Host(ip) => ip,
        }
    }
}

impl TryFrom<String> for PresetTarget {
    type Error = InputError;
    fn try_from(text: String) -> Result<PresetTarget, InputError> {
        PresetTarget::parse_field("internal ip", &text)
    }
}

impl From<PresetTarget> for String {
    fn from(target: PresetTarget) -> String {
        target.to_string()
    }
}

impl fmt::Display for PresetTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PresetTarget::ThisComputer => f.write_str(THIS_COMPUTER),
            PresetTarget::Host(ip) => ip.fmt(f),
        }
    }
}

fn default_lease() -> Lease {
    Lease::DEFAULT
}

/// One mapping of a preset, every field validated.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PresetMapping {
    /// The port on the router.
    pub external_port: Port,
    /// The port on the LAN host.
    pub internal_port: Port,
    /// The LAN host: this computer or a fixed address.
    #[serde(default)]
    pub internal_ip: PresetTarget,
    /// TCP or UDP.
    pub protocol: Protocol,
    /// The description; empty means the preset's name.
    #[serde(default)]
    pub description: Description,
    /// The lease asked for (0 = permanent).
    #[serde(default = "default_lease")]
    pub duration: Lease,
}

impl PresetMapping {
    /// A mapping with the same external and internal port, no description and the default lease.
    pub fn same_port(port: Port, protocol: Protocol, target: PresetTarget) -> PresetMapping {
        PresetMapping {
            external_port: port,
            internal_port: port,
            internal_ip: target,
            protocol,
            description: Description::default(),
            duration: Lease::DEFAULT,
        }
    }

    /// A row of the router's table as a preset mapping; a mapping to `local_ip` becomes
    /// "this computer". `None` when the router names its client by something not IPv4.
    pub fn from_mapping(mapping: &Mapping, local_ip: Option<Ipv4Addr>) -> Option<PresetMapping> {
        let ip = mapping.internal_ip()?;
        Some(PresetMapping {
            external_port: mapping.external_port,
            internal_port: mapping.internal_port,
            internal_ip: if Some(ip) == local_ip {
                PresetTarget::ThisComputer
            } else {
                PresetTarget::Host(ip)
            },
            protocol: mapping.protocol,
            description: mapping.description.clone(),
            // A table row's lease is what is left of it; permanent stays permanent.
            duration: if mapping.lease.is_permanent() {
                Lease::PERMANENT
            } else {
                Lease::DEFAULT
            },
        })
    }

    /// The mapping to create on a computer at `local_ip`; an empty description becomes `fallback`.
    pub fn resolve(&self, local_ip: Ipv4Addr, fallback: &str) -> Mapping {
        let description = if self.description.as_str().is_empty() {
            Description::parse_field("description", fallback).unwrap_or_default()
        } else {
            self.description.clone()
        };
        Mapping {
            protocol: self.protocol,
            external_port: self.external_port,
            internal_client: self.internal_ip.resolve(local_ip).to_string(),
            internal_port: self.internal_port,
            description,
            enabled: true,
            remote_host: String::new(),
            lease: self.duration,
        }
    }
}

impl fmt::Display for PresetMapping {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}/{} -> {}:{}",
            self.external_port, self.protocol, self.internal_ip, self.internal_port
        )?;
        if !self.description.as_str().is_empty() {
            write!(f, " \"{}\"", self.description)?;
        }
        write!(f, " ({})", self.duration)
    }
}

/// A named set of mappings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Preset {
    /// What the user calls it ("Minecraft server"); unique in a store.
    pub name: String,
    /// Its mappings, in the order they are applied.
    pub mappings: Vec<PresetMapping>,
}

impl Preset {
    /// An empty preset, with its name checked.
    pub fn new(name: &str) -> Result<Preset, InputError> {
        Ok(Preset {
            name: Preset::parse_name(name)?,
            mappings: Vec::new(),
        })
    }

    /// A preset forwarding `port` over TCP and UDP to `target` (the same port on both sides):
    /// what a game or media server usually needs.
    pub fn both_protocols(name: &str, port: Port, target: PresetTarget) -> Result<Preset, InputError> {
        let mut preset = Preset::new(name)?;
        for protocol in Protocol::ALL {
            preset.mappings.push(PresetMapping::same_port(port, protocol, target));
        }
        Ok(preset)
    }

    /// Checks a preset name: not empty, at most [`MAX_NAME_CHARS`], no control characters.
    pub fn parse_name(text: &str) -> Result<String, InputError> {
        let name = text.trim();
        let invalid = |reason: &str| InputError::new("preset name", text, reason);
        if name.is_empty() {
            return Err(invalid("give the preset a name"));
        }
        if name.chars().count() > MAX_NAME_CHARS {
            return Err(invalid(&format!("a name may have at most {MAX_NAME_CHARS} characters")));
        }
        if name.chars().any(char::is_control) {
            return Err(invalid("a name may not contain control characters"));
        }
        Ok(name.to_owned())
    }

    /// The mappings to create on a computer at `local_ip`.
    pub fn resolve(&self, local_ip: Ipv4Addr) -> Vec<Mapping> {
        self.mappings.iter().map(|m| m.resolve(local_ip, &self.name)).collect()
    }
}

impl PortForwarder {
    /// Creates every mapping of `preset`, "this computer" being this computer's address towards
    /// the gateway, and reports row by row: one refusal does not stop the others.
    pub fn apply_preset(&self, preset: &Preset) -> BulkReport {
        self.add_mappings(&preset.resolve(self.local_ip()))
    }
}

/// The file's layout: a version, so a later format can still read this one.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct PresetFile {
    version: u32,
    presets: Vec<Preset>,
}

/// The saved presets, read from and written through to one JSON file.
#[derive(Debug, Default, Clone)]
pub struct PresetStore {
    file: JsonFile<PresetFile>,
    presets: Vec<Preset>,
}

impl PresetStore {
    /// Where presets are kept: `presets.json` in the platform's config directory
    /// (`~/.config/portforward` on Linux). `None` when the system has no home directory.
    pub fn default_path() -> Option<PathBuf> {
        crate::store::config_dir().map(|d| d.join("presets.json"))
    }

    /// A store that is never written to disk.
    pub fn in_memory() -> PresetStore {
        PresetStore::default()
    }

    /// Reads the presets in `path`; a file that does not exist yet is an empty store.
    pub fn open(path: impl Into<PathBuf>) -> Result<PresetStore, FileError> {
        let file = JsonFile::at(
            path,
            "read the presets in",
            "fix the file by hand, or move it away to start afresh",
        );
        let presets = file.read()?.map(|f: PresetFile| f.presets).unwrap_or_default();
        Ok(PresetStore { file, presets })
    }

    /// The file written to, if any.
    pub fn path(&self) -> Option<&Path> {
        self.file.path()
    }

    /// Every preset, in the order they were made.
    pub fn presets(&self) -> &[Preset] {
        &self.presets
    }

    /// The preset called `name` (names compare without regard to case).
    pub fn get(&self, name: &str) -> Option<&Preset> {
        self.position(name).map(|i| &self.presets[i])
    }

    fn position(&self, name: &str) -> Option<usize> {
        let name = name.trim();
        self.presets.iter().position(|p| p.name.eq_ignore_ascii_case(name))
    }

    /// Saves `preset`, replacing the preset called `replacing` (an edit, possibly a rename), or
    /// adding it. A name already used by another preset is refused; nothing changes then.
    pub fn save(&mut self, mut preset: Preset, replacing: Option<&str>) -> Result<(), Error> {
        preset.name = Preset::parse_name(&preset.name)?;
        let old = replacing.and_then(|name| self.position(name));
        if let Some(clash) = self.position(&preset.name)
            && Some(clash) != old
        {
            return Err(InputError::new(
                "preset name",
                &preset.name,
                "another preset has this name; choose another or delete that one first",
            )
            .into());
        }
        let before = self.presets.clone();
        match old {
            Some(i) => self.presets[i] = preset,
            None => self.presets.push(preset),
        }
        self.write().inspect_err(|_| self.presets = before)?;
        Ok(())
    }

    /// Deletes the preset called `name` and returns it.
    pub fn delete(&mut self, name: &str) -> Result<Preset, Error> {
        let i = self
            .position(name)
            .ok_or_else(|| InputError::new("preset name", name, "there is no preset with this name"))?;
        let removed = self.presets.remove(i);
        if let Err(e) = self.write() {
            self.presets.insert(i, removed);
            return Err(e.into());
        }
        Ok(removed)
    }

    /// Writes the file whole (atomically: see [`JsonFile`]).
    fn write(&self) -> Result<(), FileError> {
        self.file.write(&PresetFile {
            version: 1,
            presets: self.presets.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn port(p: u16) -> Port {
        Port::new(p).unwrap()
    }

    fn temp_path(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "pfw-presets-{name}-{}-{}",
            std::process::id(),
            fastrand::u32(..)
        ));
        dir.join("presets.json")
    }

    fn minecraft() -> Preset {
        Preset::both_protocols("Minecraft server", port(25565), PresetTarget::ThisComputer).unwrap()
    }

    #[test]
    fn a_store_round_trips_through_a_readable_file() {
        let path = temp_path("roundtrip");
        let mut store = PresetStore::open(&path).unwrap();
        assert!(store.presets().is_empty(), "a missing file is an empty store");
        store.save(minecraft(), None).unwrap();
        let mut web = Preset::new("Web").unwrap();
        web.mappings.push(PresetMapping {
            description: Description::parse_field("d", "nginx").unwrap(),
            duration: Lease::PERMANENT,
            ..PresetMapping::same_port(
                port(8080),
                Protocol::Tcp,
                PresetTarget::Host(Ipv4Addr::new(192, 168, 1, 20)),
            )
        });
        store.save(web, None).unwrap();

        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains("\"name\": \"Minecraft server\""), "pretty JSON:\n{text}");
        assert!(text.contains("\"internal_ip\": \"this computer\""), "{text}");
        assert!(text.contains("\"internal_ip\": \"192.168.1.20\""), "{text}");
        assert!(text.contains("\"protocol\": \"UDP\""), "{text}");

        let again = PresetStore::open(&path).unwrap();
        assert_eq!(again.presets(), store.presets());
        std::fs::remove_dir_all(path.parent().unwrap()).unwrap();
    }

    #[test]
    fn names_are_unique_renames_keep_the_place_and_delete_removes() {
        let path = temp_path("names");
        let mut store = PresetStore::open(&path).unwrap();
        store.save(minecraft(), None).unwrap();
        store.save(Preset::new("Web").unwrap(), None).unwrap();
        let err = store.save(Preset::new("minecraft SERVER").unwrap(), None).unwrap_err();
        assert!(err.to_string().contains("another preset has this name"), "{err}");
        let err = store
            .save(Preset::new("Web").unwrap(), Some("Minecraft server"))
            .unwrap_err();
        assert!(err.to_string().contains("another preset has this name"), "{err}");

        let mut renamed = minecraft();
        renamed.name = "Minecraft (Java)".to_owned();
        renamed.mappings.pop();
        store.save(renamed, Some("Minecraft server")).unwrap();
        let names: Vec<_> = store.presets().iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["Minecraft (Java)", "Web"]);
        assert_eq!(store.get("minecraft (java)").unwrap().mappings.len(), 1);

        store.delete("Web").unwrap();
        assert!(store.delete("Web").is_err());
        let again = PresetStore::open(&path).unwrap();
        assert_eq!(again.presets().len(), 1);
        std::fs::remove_dir_all(path.parent().unwrap()).unwrap();
    }

    #[test]
    fn a_broken_file_is_reported_not_overwritten() {
        let path = temp_path("broken");
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, "{ not json").unwrap();
        let err = PresetStore::open(&path).unwrap_err();
        assert!(err.to_string().contains("fix the file by hand"), "{err}");
        std::fs::write(
            &path,
            r#"{"version":1,"presets":[{"name":"x","mappings":[{"external_port":70000,"internal_port":1,"protocol":"TCP"}]}]}"#,
        )
        .unwrap();
        let err = PresetStore::open(&path).unwrap_err();
        assert!(err.to_string().contains("from 1 to 65535"), "{err}");
        std::fs::remove_dir_all(path.parent().unwrap()).unwrap();
    }

    #[test]
    fn names_are_checked() {
        assert!(Preset::new("  ").is_err());
        assert!(Preset::new(&"x".repeat(101)).is_err());
        assert!(Preset::new("a\tb").is_err());
        assert_eq!(Preset::new("  Games ").unwrap().name, "Games");
    }

    #[test]
    fn this_computer_is_resolved_when_applied_and_an_empty_description_takes_the_name() {
        let here = Ipv4Addr::new(192, 168, 1, 10);
        let rows = minecraft().resolve(here);
        assert_eq!(rows.len(), 2);
        assert!(rows.iter().all(|m| m.internal_client == "192.168.1.10"));
        assert!(rows.iter().all(|m| m.description.as_str() == "Minecraft server"));
        let back = PresetMapping::from_mapping(&rows[0], Some(here)).unwrap();
        assert_eq!(back.internal_ip, PresetTarget::ThisComputer);
        let elsewhere = PresetMapping::from_mapping(&rows[0], Some(Ipv4Addr::new(192, 168, 1, 11))).unwrap();
        assert_eq!(elsewhere.internal_ip, PresetTarget::Host(here));
    }
}
