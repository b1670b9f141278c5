//! The output for people: one line a result, tables with aligned columns.

use std::io::Write as _;
use std::net::Ipv4Addr;
use std::path::Path;

use portforward::model::Pinhole;
use portforward::port_control::PortControlMapping;
use portforward::services::autostart::Registration;
use portforward::services::keep_preset::KeepJobState;
use portforward::services::presets::Preset;
use portforward::services::transfer::{Format, ImportPlan};
use portforward::services::watch::{Change, WatchMode};
use portforward::services::{PinholeReachability, PinholeState, Renewal};
use portforward::upnp::{Gateway, RouterStatus};
use portforward::{
    BulkReport, Enabled, ExternalReachability, KeepAliveEvent, LocalAddress, Mapping, Owner, Port, Protocol,
};

use super::{AutostartEnabled, KeeperNote, Printer, emit};

/// Text for a terminal.
pub struct Text;

impl Printer for Text {
    fn gateways(&self, found: &[Gateway]) {
        for g in found {
            let d = g.description();
            emit(format!(
                "{}  {}  {}  ({} {}, {})",
                d.friendly_name,
                d.igd_version,
                g.description_url(),
                d.manufacturer,
                d.model_name,
                d.service_type.rsplit(':').nth(1).unwrap_or("")
            ));
        }
    }

    fn ip(&self, external: Option<Ipv4Addr>, local: &LocalAddress, _: ExternalReachability) {
        emit(format!(
            "external {}",
            external.map_or("(none)".to_owned(), |ip| ip.to_string())
        ));
        emit(format!(
            "local    {}{}",
            local.ip,
            local.interface.as_ref().map(|i| format!(" ({i})")).unwrap_or_default()
        ));
    }

    fn table(&self, mappings: &[Mapping], owners: &[Owner]) {
        table(mappings, Some(owners));
    }

    fn enabled(&self, verb: &str, e: &Enabled) {
        let r = &e.request;
        emit(format!(
            "{verb} {}:{} -> {}:{} {} \"{}\" (lease {})",
            e.external_ip
                .map_or("(no external address)".to_owned(), |ip| ip.to_string()),
            r.external_port,
            r.internal_ip,
            r.internal_port,
            r.protocol,
            r.description,
            e.mapping.lease
        ));
    }

    fn enabled_choice(&self, e: &Enabled, chosen: Option<&str>, owner: Option<&Owner>) {
        self.enabled("forwarded", e);
        if let Some(chosen) = chosen {
            emit(chosen.to_owned());
        }
        let r = &e.request;
        match owner {
            Some(Owner::Process { name, pid }) => emit(format!(
                "on this computer, {name} (pid {pid}) already listens on {}/{}",
                r.internal_port, r.protocol
            )),
            Some(Owner::Nobody) => emit(format!(
                "nothing on this computer listens on {}/{} yet: start the server there",
                r.internal_port, r.protocol
            )),
            _ => {}
        }
    }

    fn removed(&self, removed: &Mapping) {
        emit(format!("removed {removed}"));
    }

    fn removal_plan(&self, chosen: &[Mapping]) {
        emit(format!(
            "would remove {} mapping(s); nothing was changed:",
            chosen.len()
        ));
        table(chosen, None);
        if !chosen.is_empty() {
            emit("run again with --yes to remove them".to_owned());
        }
    }

    fn removed_all(&self, report: &BulkReport) {
        bulk("removed", report, true);
    }

    fn exported(&self, file: &Path, format: Format, count: usize) {
        emit(format!("wrote {count} mapping(s) to {} ({format})", file.display()));
    }

    fn import(&self, file: &Path, plan: &ImportPlan, applying: bool, report: Option<&BulkReport>) {
        import_plan(file, plan, applying);
        if let Some(report) = report {
            bulk("added", report, true);
        }
    }

    fn presets(&self, presets: &[Preset], path: Option<&Path>) {
        for preset in presets {
            emit(format!("{} ({} mapping(s))", preset.name, preset.mappings.len()));
            for m in &preset.mappings {
                emit(format!("    {m}"));
            }
        }
        if presets.is_empty() {
            emit(format!(
                "no presets yet (in {})",
                path.map(|p| p.display().to_string()).unwrap_or_default()
            ));
        }
    }

    fn preset_applied(&self, _name: &str, report: &BulkReport) {
        bulk("added", report, false);
    }

    fn preset_saved(&self, name: &str, count: usize) {
        emit(format!("saved preset \"{name}\" with {count} mapping(s)"));
    }

    fn preset_exported(&self, name: &str, file: &Path, format: Format) {
        emit(format!("wrote preset \"{name}\" to {} ({format})", file.display()));
    }

    fn preset_deleted(&self, name: &str) {
        emit(format!("deleted preset \"{name}\""));
    }

    fn pinhole(&self, verb: &str, pinhole: &Pinhole) {
        if verb == "checked" {
            emit(format!("{pinhole}; {}", working_text(pinhole)));
        } else {
            emit(format!("{verb} {pinhole}"));
        }
        emit(PinholeReachability::of(pinhole).describe().to_owned());
    }

    fn pinhole_renewal(&self, renewal: &Renewal) {
        match renewal {
            Renewal::Renewed(p) => emit(format!("renewed {p}")),
            Renewal::Readded { old_id, pinhole } => emit(format!(
                "the router had lost pinhole {old_id} (restarted?); opened it again: {pinhole}"
            )),
        }
    }

    fn pinholes(&self, states: &[PinholeState]) {
        if states.is_empty() {
            emit("no pinholes made from this computer on this router".to_owned());
        }
        for state in states {
            match state {
                PinholeState::Held(p) => emit(format!("{p}; {}", working_text(p))),
                PinholeState::Gone(p) => emit(format!(
                    "{p}: gone (the router no longer knows it: expired, closed elsewhere, or the router restarted)"
                )),
            }
        }
    }

    fn pinhole_closed(&self, id: u16) {
        emit(format!("closed pinhole {id}"));
    }

    fn pinhole_keeping(&self, count: usize) {
        emit(format!("keeping {count} pinhole(s) open until Ctrl-C"));
    }

    fn pinhole_keep_stopped(&self) {
        emit("stopped; the pinholes stay until their leases run out".to_owned());
    }

    fn port_control(&self, verb: &str, mapping: &PortControlMapping) {
        emit(format!("{verb} {mapping}"));
    }

    fn port_control_unmapped(&self, internal_port: Port, protocol: Protocol) {
        emit(format!(
            "removed this computer's NAT-PMP mapping of {internal_port}/{protocol}"
        ));
    }

    fn port_control_list(&self, live: &[&PortControlMapping]) {
        for m in live {
            emit(format!("{m}  (router {})", m.gateway));
        }
        emit(format!("{} mapping(s) made with `portforward natpmp map`", live.len()));
    }

    fn port_control_ip(&self, external: Ipv4Addr, gateway: Ipv4Addr, local: Ipv4Addr) {
        emit(format!("external {external} (from {gateway} over NAT-PMP)"));
        emit(format!("local    {local}"));
    }

    fn keeping(&self, remove_on_exit: bool) {
        emit(format!(
            "keeping it alive until Ctrl-C{}",
            if remove_on_exit { "; it is removed then" } else { "" }
        ));
    }

    fn keep_event(&self, event: &KeepAliveEvent) {
        emit(event.to_string());
    }

    fn keep_stopped(&self, removal: Option<&BulkReport>) {
        match removal {
            None => emit("stopped; the mapping stays until its lease runs out".to_owned()),
            Some(report) => {
                for mapping in &report.done {
                    emit(format!("stopped; removed {mapping}"));
                }
            }
        }
    }

    fn keeper(&self, note: &KeeperNote<'_>) {
        emit(keeper_line(note));
    }

    fn autostart_enabled(&self, e: &AutostartEnabled<'_>) {
        emit(format!(
            "the preset \"{}\" is kept forwarded from your next login on ({}: {})",
            e.preset,
            e.format,
            e.registration.path.display()
        ));
        emit(format!("it runs: {}", e.command.join(" ")));
        emit(e.start_now.clone());
    }

    fn autostart_disabled(&self, preset: &str, removed: &[Registration]) {
        if removed.is_empty() {
            emit(format!(
                "the preset \"{preset}\" was not kept at login; nothing changed"
            ));
        }
        for registration in removed {
            emit(format!(
                "the preset \"{preset}\" is no longer kept at login (removed {})",
                registration.path.display()
            ));
        }
    }

    fn autostart_status(&self, registered: &[Registration], running: &[KeepJobState]) {
        if registered.is_empty() {
            emit("no preset is kept at login (portforward autostart enable --preset NAME)".to_owned());
        }
        for r in registered {
            let now = match running.iter().find(|s| s.preset == r.preset) {
                Some(s) => format!(
                    "running now (pid {}), keeping {} mapping{}",
                    s.pid,
                    s.mappings.len(),
                    if s.mappings.len() == 1 { "" } else { "s" }
                ),
                None => "not running now".to_owned(),
            };
            emit(format!(
                "{}: at login ({}: {}); {now}",
                r.preset,
                r.format,
                r.path.display()
            ));
        }
    }

    fn watching(&self, gateway: &Gateway) {
        emit(format!(
            "watching {} ({}) until Ctrl-C",
            gateway.description().friendly_name,
            gateway.description_url()
        ));
    }

    fn watch_change(&self, change: &Change) {
        emit(change_line(change));
    }

    fn watch_stopped(&self) {
        emit("stopped watching".to_owned());
    }

    fn router_status(&self, gateway: &Gateway, status: &RouterStatus) {
        for (label, value) in status_rows(gateway, status) {
            emit(format!("{label:<18} {value}"));
        }
    }
}

/// A change seen by `watch`, as one line.
fn change_line(change: &Change) -> String {
    let address = |ip: &Option<Ipv4Addr>| ip.map_or("none".to_owned(), |ip| ip.to_string());
    match change {
        Change::Added { mapping } => format!("+ {mapping}"),
        Change::Removed { mapping } => format!("- {mapping}"),
        Change::Changed { before, after } => format!("~ {after} (was {before})"),
        Change::ExternalAddress { before, after } => {
            format!("external address: {} -> {}", address(before), address(after))
        }
        Change::ConnectionStatus { before, after } => format!("connection: {before} -> {after}"),
        Change::Mode { mode } => match mode {
            WatchMode::Starting => "mode: starting (waiting for the router's first event)".to_owned(),
            WatchMode::Events => "mode: events (changes show as the router announces them)".to_owned(),
            WatchMode::Polling { reason, interval_secs } => {
                format!("mode: polling every {interval_secs} s ({reason})")
            }
        },
        Change::ReadFailed { reason } => {
            format!("could not read the router: {reason} (tried again at the next event or poll)")
        }
    }
}

/// What a router leaves out of its status.
const NOT_OFFERED: &str = "not offered by this router";

/// `status` as (label, value) rows.
fn status_rows(gateway: &Gateway, status: &RouterStatus) -> Vec<(&'static str, String)> {
    let or_not_offered = |value: Option<String>| {
        value
            .filter(|v| !v.is_empty())
            .unwrap_or_else(|| NOT_OFFERED.to_owned())
    };
    let c = &status.connection;
    let link = status.link.as_ref();
    // The library reads an absent bit rate as 0: no router has a 0 bit/s link.
    let rate = |bits: Option<u64>| or_not_offered(bits.filter(|&b| b > 0).map(bit_rate));
    let t = &status.traffic;
    vec![
        (
            "router",
            format!(
                "{} ({})",
                gateway.description().friendly_name,
                gateway.description_url()
            ),
        ),
        ("connection", c.status.clone()),
        ("connection type", or_not_offered(status.connection_type.clone())),
        ("uptime", uptime(c.uptime_secs)),
        ("last error", or_not_offered(Some(c.last_error.clone()))),
        (
            "external address",
            status
                .external_ip
                .map_or("none (the router has no external address)".to_owned(), |ip| {
                    ip.to_string()
                }),
        ),
        (
            "link status",
            or_not_offered(link.map(|l| l.physical_link_status.clone())),
        ),
        ("access type", or_not_offered(link.map(|l| l.access_type.clone()))),
        ("max rate up", rate(link.map(|l| l.upstream_max_bit_rate))),
        ("max rate down", rate(link.map(|l| l.downstream_max_bit_rate))),
        ("bytes sent", or_not_offered(t.bytes_sent.map(bytes))),
        ("bytes received", or_not_offered(t.bytes_received.map(bytes))),
        ("packets sent", or_not_offered(t.packets_sent.map(|p| p.to_string()))),
        (
            "packets received",
            or_not_offered(t.packets_received.map(|p| p.to_string())),
        ),
        ("admin page", or_not_offered(status.presentation_url.clone())),
    ]
}

/// Bits per second in Mbit/s.
fn bit_rate(bits: u64) -> String {
    format!("{:.1} Mbit/s", bits as f64 / 1e6)
}

/// A byte count with its unit, and exact.
fn bytes(count: u64) -> String {
    const UNITS: [&str; 5] = ["KiB", "MiB", "GiB", "TiB", "PiB"];
    let mut value = count as f64;
    let mut unit = "bytes";
    for next in UNITS {
        if value < 1024.0 {
            break;
        }
        value /= 1024.0;
        unit = next;
    }
    if unit == "bytes" {
        format!("{count} bytes")
    } else {
        format!("{value:.2} {unit} ({count} bytes)")
    }
}

/// Seconds as days, hours, minutes and seconds.
fn uptime(secs: u64) -> String {
    let (d, h, m, s) = (secs / 86_400, secs % 86_400 / 3600, secs % 3600 / 60, secs % 60);
    match (d, h, m) {
        (0, 0, 0) => format!("{s}s"),
        (0, 0, _) => format!("{m}m {s:02}s"),
        (0, _, _) => format!("{h}h {m:02}m {s:02}s"),
        _ => format!("{d}d {h:02}h {m:02}m {s:02}s"),
    }
}

/// A step of `keep --preset` as a line of text: for stdout and for its log.
pub fn keeper_line(note: &KeeperNote<'_>) -> String {
    match note {
        KeeperNote::Started {
            preset,
            log,
            remove_on_exit,
        } => format!(
            "keeping the preset \"{preset}\" forwarded until stopped{} (log: {})",
            if *remove_on_exit {
                "; its mappings are removed then"
            } else {
                ""
            },
            log.display()
        ),
        KeeperNote::Event(event) => event.to_string(),
        KeeperNote::Stopped(None) => "stopped; the mappings stay until their lease runs out".to_owned(),
        KeeperNote::Stopped(Some(report)) => {
            let removed: Vec<String> = report.done.iter().map(ToString::to_string).collect();
            format!("stopped; removed {}", removed.join(", "))
        }
    }
}

/// A bulk action's rows: done (`verb`, e.g. "removed"), failed, not attempted; with `summary`,
/// a line of counts after them.
fn bulk(verb: &str, report: &BulkReport, summary: bool) {
    for m in &report.done {
        emit(format!("{verb:<7} {m}"));
    }
    for (m, why) in &report.failed {
        emit(format!("FAILED  {m}: {why}"));
    }
    for m in &report.not_attempted {
        emit(format!("skipped {m}: the gateway stopped answering"));
    }
    if summary {
        emit(format!(
            "{} {verb}, {} failed, {} not attempted",
            report.done.len(),
            report.failed.len(),
            report.not_attempted.len()
        ));
    }
}

/// An import's plan: the counts, then every row by kind, then what to do about it.
fn import_plan(file: &Path, plan: &ImportPlan, applying: bool) {
    emit(format!(
        "{}: {} to add, {} conflicting, {} unchanged, {} invalid",
        file.display(),
        plan.to_add.len(),
        plan.conflicts.len(),
        plan.unchanged.len(),
        plan.invalid.len()
    ));
    for row in &plan.to_add {
        emit(format!("  add        line {:>4}: {}", row.line, row.mapping));
    }
    for conflict in &plan.conflicts {
        emit(format!("  CONFLICT   {conflict}"));
    }
    for row in &plan.unchanged {
        emit(format!("  unchanged  line {:>4}: {}", row.line, row.mapping));
    }
    for row in &plan.invalid {
        emit(format!("  INVALID    {row}"));
    }
    if !plan.conflicts.is_empty() || !plan.invalid.is_empty() {
        emit("conflicting and invalid rows are never sent: fix the file, or remove the other mapping first".to_owned());
    }
    if !applying && !plan.to_add.is_empty() {
        emit(format!(
            "nothing was changed; run again with --yes to add {} mapping(s)",
            plan.to_add.len()
        ));
    }
}

/// The OWNER column's text: stale ones stand out, unknown ones are a dash.
fn owner_cell(owner: &Owner) -> String {
    match owner {
        Owner::Nobody => "STALE".to_owned(),
        Owner::Unknown => "-".to_owned(),
        other => other.to_string(),
    }
}

/// The table on stdout; with `owners`, an OWNER column after the internal port.
fn table(mappings: &[Mapping], owners: Option<&[Owner]>) {
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let owner_cells: Vec<String> = owners.map_or_else(Vec::new, |o| o.iter().map(owner_cell).collect());
    let width = owner_cells
        .iter()
        .map(|c| c.chars().count() + 1)
        .max()
        .unwrap_or(0)
        .max(6);
    let owner_column = |cell: &str| {
        if owners.is_some() {
            format!("{cell:<width$} ")
        } else {
            String::new()
        }
    };
    let _ = writeln!(
        out,
        "{:<5} {:>8}  {:<21} {:>8}  {}{:<12} {:<7} {:<15} DESCRIPTION",
        "PROTO",
        "EXTERNAL",
        "INTERNAL CLIENT",
        "INTERNAL",
        owner_column("OWNER"),
        "LEASE",
        "ENABLED",
        "REMOTE HOST"
    );
    for (i, m) in mappings.iter().enumerate() {
        let _ = writeln!(
            out,
            "{:<5} {:>8}  {:<21} {:>8}  {}{:<12} {:<7} {:<15} {}",
            m.protocol,
            m.external_port,
            m.internal_client,
            m.internal_port,
            owner_column(owner_cells.get(i).map_or("", String::as_str)),
            m.lease.to_string(),
            if m.enabled { "yes" } else { "no" },
            if m.remote_host.is_empty() { "*" } else { &m.remote_host },
            m.description
        );
    }
    let _ = writeln!(
        out,
        "{} mapping{}",
        mappings.len(),
        if mappings.len() == 1 { "" } else { "s" }
    );
}

/// What the router last said of a pinhole's use, honestly.
fn working_text(pinhole: &Pinhole) -> String {
    if pinhole.via == portforward::model::PinholeVia::Pcp {
        return "opened with PCP, which cannot tell whether outside traffic reached it".to_owned();
    }
    let working = match pinhole.working {
        Some(true) => "an outside packet has reached it",
        Some(false) => "no outside packet has reached it yet (that proves nothing either way)",
        None => "not checked",
    };
    match pinhole.packets {
        Some(packets) => format!("{working}; {packets} packets"),
        None => working.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_counts_have_a_unit_and_the_exact_number() {
        assert_eq!(bytes(512), "512 bytes");
        assert_eq!(bytes(4_505_792_774), "4.20 GiB (4505792774 bytes)");
        assert_eq!(bytes(1536), "1.50 KiB (1536 bytes)");
    }

    #[test]
    fn uptimes_read_as_days_hours_minutes_seconds() {
        assert_eq!(uptime(59), "59s");
        assert_eq!(uptime(3 * 3600 + 2 * 60 + 1), "3h 02m 01s");
        assert_eq!(uptime(2 * 86_400 + 5), "2d 00h 00m 05s");
    }
}
