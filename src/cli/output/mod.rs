//! What the commands show, in one place: a [`Printer`] per format, as ripgrep's printer and
//! trippy's report modules do. A command computes, then calls one printer method; whether the
//! user asked for `--json` is decided once ([`printer`]) and no command branches on it.
//! [`text`] writes for people, [`json`] one JSON document a call (a line each, for `keep`).
//! Mappings go out as the library's [`MappingRecord`](portforward::services::MappingRecord),
//! the record export writes too. Errors and warnings go to stderr in both formats.

use std::io::Write as _;
use std::net::Ipv4Addr;
use std::path::Path;

use portforward::model::Pinhole;
use portforward::port_control::PortControlMapping;
use portforward::services::autostart::{AutostartFormat, Registration};
use portforward::services::keep_preset::{KeepJobState, KeeperEvent};
use portforward::services::presets::Preset;
use portforward::services::transfer::{Format, ImportPlan};
use portforward::services::watch::Change;
use portforward::services::{PinholeState, Renewal};
use portforward::upnp::{Gateway, RouterStatus};
use portforward::{
    BulkReport, Enabled, ExternalReachability, KeepAliveEvent, LocalAddress, Mapping, Owner, Port, Protocol,
};

pub mod json;
pub mod text;

/// Everything a command shows on stdout, one method a kind of result.
pub trait Printer {
    /// `gateways`: every gateway that answered.
    fn gateways(&self, found: &[Gateway]);
    /// `ip`: the router's external address and this computer's.
    fn ip(&self, external: Option<Ipv4Addr>, local: &LocalAddress, reachability: ExternalReachability);
    /// `list`: the table with the owner of each mapping.
    fn table(&self, mappings: &[Mapping], owners: &[Owner]);
    /// A mapping created or renewed (`refresh`, `keep`); `verb` says which.
    fn enabled(&self, verb: &str, enabled: &Enabled);
    /// `enable`: the mapping, the ports chosen for what was left out (`chosen`) and, for this
    /// computer, who listens on the internal port (`owner`).
    fn enabled_choice(&self, enabled: &Enabled, chosen: Option<&str>, owner: Option<&Owner>);
    /// `disable`: the mapping removed.
    fn removed(&self, removed: &Mapping);
    /// `disable-all` without `--yes`: what would go.
    fn removal_plan(&self, chosen: &[Mapping]);
    /// `disable-all --yes`: what went, row by row.
    fn removed_all(&self, report: &BulkReport);
    /// `export` to a file (not to stdout): where and how many.
    fn exported(&self, file: &Path, format: Format, count: usize);
    /// `import`: the plan, and with `--yes` what was added (`report`).
    fn import(&self, file: &Path, plan: &ImportPlan, applying: bool, report: Option<&BulkReport>);
    /// `preset list`.
    fn presets(&self, presets: &[Preset], path: Option<&Path>);
    /// `preset apply`: what was added, row by row.
    fn preset_applied(&self, name: &str, report: &BulkReport);
    /// `preset import`: the preset saved.
    fn preset_saved(&self, name: &str, count: usize);
    /// `preset export` to a file (not to stdout).
    fn preset_exported(&self, name: &str, file: &Path, format: Format);
    /// `preset delete`.
    fn preset_deleted(&self, name: &str);
    /// `pinhole add|check`: the pinhole, with what was done (`verb`: "opened", "checked").
    fn pinhole(&self, verb: &str, pinhole: &Pinhole);
    /// `pinhole update` and each renewal of `pinhole keep`: renewed, or opened again.
    fn pinhole_renewal(&self, renewal: &Renewal);
    /// `pinhole list`: each recorded pinhole as the router reports it.
    fn pinholes(&self, states: &[PinholeState]);
    /// `pinhole remove`.
    fn pinhole_closed(&self, id: u16);
    /// `pinhole keep` starting: how many pinholes it keeps.
    fn pinhole_keeping(&self, count: usize);
    /// `pinhole keep` stopped.
    fn pinhole_keep_stopped(&self);
    /// `natpmp map|renew|unmap`: the mapping, with what was done (`verb`).
    fn port_control(&self, verb: &str, mapping: &PortControlMapping);
    /// `natpmp unmap --internal-port`: a NAT-PMP mapping removed by its internal port.
    fn port_control_unmapped(&self, internal_port: Port, protocol: Protocol);
    /// `natpmp list`: the mappings made here that have not expired.
    fn port_control_list(&self, live: &[&PortControlMapping]);
    /// `natpmp ip`.
    fn port_control_ip(&self, external: Ipv4Addr, gateway: Ipv4Addr, local: Ipv4Addr);
    /// `keep`, once the mapping is made: what happens next.
    fn keeping(&self, remove_on_exit: bool);
    /// `keep`: a renewal, a re-creation or a failure.
    fn keep_event(&self, event: &KeepAliveEvent);
    /// `keep`, stopped: the removal's report with `--remove-on-exit`, else `None`.
    fn keep_stopped(&self, removal: Option<&BulkReport>);
    /// `keep --preset`: a step of the preset keeper.
    fn keeper(&self, note: &KeeperNote<'_>);
    /// `autostart enable`: the login job registered, the command it runs, how to start it now.
    fn autostart_enabled(&self, enabled: &AutostartEnabled<'_>);
    /// `autostart disable`: the registrations removed (none: it was not registered).
    fn autostart_disabled(&self, preset: &str, removed: &[Registration]);
    /// `autostart status`: the registered jobs and those running now.
    fn autostart_status(&self, registered: &[Registration], running: &[KeepJobState]);
    /// `watch`, starting: which router is watched.
    fn watching(&self, gateway: &Gateway);
    /// `watch`: one change (a line each, flushed at once, for scripts that follow it).
    fn watch_change(&self, change: &Change);
    /// `watch`, stopped (the subscription cancelled).
    fn watch_stopped(&self);
    /// `status`: the router's WAN side; what it does not offer is said so, not shown as 0.
    fn router_status(&self, gateway: &Gateway, status: &RouterStatus);
}

/// What `autostart enable` did.
pub struct AutostartEnabled<'a> {
    /// The preset's name.
    pub preset: &'a str,
    /// How the job is registered.
    pub format: AutostartFormat,
    /// Where it is registered.
    pub registration: &'a Registration,
    /// The command it runs at login.
    pub command: Vec<String>,
    /// How to start it now rather than at the next login.
    pub start_now: String,
}

/// A step of `keep --preset`, written to its log (as text) and to stdout.
pub enum KeeperNote<'a> {
    /// Started: the preset, the log, whether its mappings go when stopped.
    Started {
        /// The preset's name.
        preset: &'a str,
        /// The log file.
        log: &'a Path,
        /// Whether the mappings are removed when stopped.
        remove_on_exit: bool,
    },
    /// What the keeper did.
    Event(&'a KeeperEvent),
    /// Stopped; with `--remove-on-exit`, what the removal did.
    Stopped(Option<&'a BulkReport>),
}

/// The printer for the format asked.
pub fn printer(json: bool) -> &'static dyn Printer {
    if json { &json::Json } else { &text::Text }
}

/// Writes `text` and a newline to stdout at once; a closed stdout (`portforward list | head`)
/// ends the output quietly. Written at once because stdout's line buffer would otherwise send
/// a long line (a listing as JSON) a kilobyte at a time.
pub fn emit(mut text: String) {
    text.push('\n');
    emit_bytes(text.as_bytes());
}

/// Writes `bytes` to stdout as they are (a file exported to `-`), ending quietly when closed.
pub fn emit_bytes(bytes: &[u8]) {
    let _ = std::io::stdout().lock().write_all(bytes);
}

/// A failure, on stderr.
pub fn error(message: &str) {
    eprintln!("portforward: {message}");
}

/// A warning, on stderr (the command goes on).
pub fn warning(message: &dyn std::fmt::Display) {
    eprintln!("portforward: warning: {message}");
}
