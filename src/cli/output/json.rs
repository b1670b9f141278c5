//! The output for scripts: one JSON document a call, keys in alphabetical order (serde_json's
//! maps are sorted), mappings as the library's [`MappingRecord`].

use std::net::Ipv4Addr;
use std::path::Path;

use portforward::model::Pinhole;
use portforward::port_control::PortControlMapping;
use portforward::services::MappingRecord;
use portforward::services::autostart::Registration;
use portforward::services::keep_preset::{KeepJobState, KeeperEvent};
use portforward::services::presets::Preset;
use portforward::services::transfer::{Format, ImportPlan};
use portforward::services::watch::Change;
use portforward::services::{PinholeReachability, PinholeState, Renewal};
use portforward::upnp::{Gateway, RouterStatus};
use portforward::{
    BulkReport, Enabled, ExternalReachability, KeepAliveEvent, LocalAddress, Mapping, Owner, Port, Protocol,
};
use serde_json::{Map, Value, json};

use super::{AutostartEnabled, KeeperNote, Printer, emit, emit_bytes};

/// JSON for scripts.
pub struct Json;

impl Printer for Json {
    fn gateways(&self, found: &[Gateway]) {
        let list: Vec<_> = found
            .iter()
            .map(|g| {
                let d = g.description();
                json!({
                    "name": d.friendly_name, "manufacturer": d.manufacturer, "model": d.model_name,
                    "igd_version": d.igd_version, "service_type": d.service_type,
                    "url": g.description_url(), "control_url": d.control_url,
                })
            })
            .collect();
        emit(Value::Array(list).to_string());
    }

    fn ip(&self, external: Option<Ipv4Addr>, local: &LocalAddress, reachability: ExternalReachability) {
        emit(
            json!({
                "external_ip": external, "local_ip": local.ip, "interface": local.interface,
                "reachability": reachability, "warning": reachability.warning(),
            })
            .to_string(),
        );
    }

    fn table(&self, mappings: &[Mapping], owners: &[Owner]) {
        // Serialized straight from the rows: no `Value` per row in a listing of hundreds.
        let rows: Vec<MappingRecord<'_>> = mappings
            .iter()
            .zip(owners)
            .map(|(m, owner)| MappingRecord::with_owner(m, owner))
            .collect();
        let mut text = serde_json::to_vec(&rows).expect("rows of strings and numbers serialize");
        text.push(b'\n');
        emit_bytes(&text);
    }

    fn enabled(&self, _verb: &str, e: &Enabled) {
        emit(enabled(e).to_string());
    }

    fn enabled_choice(&self, e: &Enabled, chosen: Option<&str>, owner: Option<&Owner>) {
        let mut line = enabled(e);
        line["chosen"] = json!(chosen);
        line["owner"] = json!(owner);
        emit(line.to_string());
    }

    fn removed(&self, removed: &Mapping) {
        emit(json!({ "removed": record(removed) }).to_string());
    }

    fn removal_plan(&self, chosen: &[Mapping]) {
        emit(json!({ "would_remove": records(chosen), "removed": [] }).to_string());
    }

    fn removed_all(&self, report: &BulkReport) {
        emit(Value::Object(bulk("removed", report)).to_string());
    }

    fn exported(&self, file: &Path, format: Format, count: usize) {
        emit(json!({ "file": file, "format": format, "mappings": count }).to_string());
    }

    fn import(&self, _file: &Path, plan: &ImportPlan, _applying: bool, report: Option<&BulkReport>) {
        let planned = |rows: &[portforward::services::transfer::PlannedRow]| {
            rows.iter()
                .map(|r| json!({ "line": r.line, "mapping": record(&r.mapping) }))
                .collect::<Vec<_>>()
        };
        let conflicts: Vec<_> = plan
            .conflicts
            .iter()
            .map(|c| json!({ "line": c.line, "wanted": record(&c.wanted), "existing": record(&c.existing) }))
            .collect();
        let invalid: Vec<_> = plan
            .invalid
            .iter()
            .map(|r| json!({ "line": r.line, "field": r.error.field, "value": r.error.value, "error": r.to_string() }))
            .collect();
        let mut out = bulk("added", report.unwrap_or(&BulkReport::default()));
        out.extend([
            ("to_add".to_owned(), json!(planned(&plan.to_add))),
            ("conflicts".to_owned(), json!(conflicts)),
            ("unchanged".to_owned(), json!(planned(&plan.unchanged))),
            ("invalid".to_owned(), json!(invalid)),
        ]);
        emit(Value::Object(out).to_string());
    }

    fn presets(&self, presets: &[Preset], _path: Option<&Path>) {
        emit(serde_json::to_string(presets).expect("presets serialize"));
    }

    fn preset_applied(&self, name: &str, report: &BulkReport) {
        let mut out = bulk("added", report);
        out.insert("preset".to_owned(), json!(name));
        emit(Value::Object(out).to_string());
    }

    fn preset_saved(&self, name: &str, count: usize) {
        emit(json!({ "preset": name, "mappings": count }).to_string());
    }

    fn preset_exported(&self, _name: &str, _file: &Path, _format: Format) {}

    fn preset_deleted(&self, name: &str) {
        emit(json!({ "deleted": name }).to_string());
    }

    fn pinhole(&self, _verb: &str, pinhole: &Pinhole) {
        emit(pinhole_json(pinhole).to_string());
    }

    fn pinhole_renewal(&self, renewal: &Renewal) {
        let mut row = pinhole_json(renewal.pinhole());
        if let Renewal::Readded { old_id, .. } = renewal {
            row["readded_from"] = json!(old_id);
        }
        emit(row.to_string());
    }

    fn pinholes(&self, states: &[PinholeState]) {
        let rows: Vec<Value> = states
            .iter()
            .map(|state| {
                let (p, held) = match state {
                    PinholeState::Held(p) => (p, "held"),
                    PinholeState::Gone(p) => (p, "gone"),
                };
                let mut row = pinhole_json(p);
                row["state"] = json!(held);
                row
            })
            .collect();
        emit(Value::Array(rows).to_string());
    }

    fn pinhole_closed(&self, id: u16) {
        emit(json!({ "removed": id }).to_string());
    }

    fn pinhole_keeping(&self, _count: usize) {}

    fn pinhole_keep_stopped(&self) {}

    fn port_control(&self, verb: &str, mapping: &PortControlMapping) {
        let mut value = serde_json::to_value(mapping).expect("mappings serialize");
        value["duration"] = json!(mapping.seconds_left());
        emit(json!({ verb: value }).to_string());
    }

    fn port_control_unmapped(&self, internal_port: Port, protocol: Protocol) {
        emit(
            json!({ "removed": { "internal_port": internal_port, "protocol": protocol, "via": "NAT-PMP" } })
                .to_string(),
        );
    }

    fn port_control_list(&self, live: &[&PortControlMapping]) {
        emit(serde_json::to_string(live).expect("mappings serialize"));
    }

    fn port_control_ip(&self, external: Ipv4Addr, gateway: Ipv4Addr, local: Ipv4Addr) {
        emit(json!({ "external_ip": external, "gateway": gateway, "local_ip": local }).to_string());
    }

    fn keeping(&self, _remove_on_exit: bool) {}

    fn keep_event(&self, event: &KeepAliveEvent) {
        emit(keep_event(event).to_string());
    }

    fn keep_stopped(&self, removal: Option<&BulkReport>) {
        if let Some(report) = removal {
            emit(json!({ "event": "stopped", "removed": records(&report.done) }).to_string());
        }
    }

    fn keeper(&self, note: &KeeperNote<'_>) {
        let line = match note {
            KeeperNote::Started { preset, log, .. } => json!({ "event": "started", "preset": preset, "log": log }),
            KeeperNote::Event(event) => keeper_event(event),
            KeeperNote::Stopped(report) => {
                json!({ "event": "stopped", "removed": report.map(|r| records(&r.done)).unwrap_or_default() })
            }
        };
        emit(line.to_string());
    }

    fn autostart_enabled(&self, e: &AutostartEnabled<'_>) {
        emit(json!({ "enabled": e.registration, "command": e.command }).to_string());
    }

    fn autostart_disabled(&self, _preset: &str, removed: &[Registration]) {
        emit(json!({ "disabled": removed }).to_string());
    }

    fn autostart_status(&self, registered: &[Registration], running: &[KeepJobState]) {
        let rows: Vec<_> = registered
            .iter()
            .map(|r| {
                let job = running.iter().find(|s| s.preset == r.preset);
                json!({
                    "preset": r.preset, "format": r.format, "path": r.path,
                    "running": job.map(|s| s.pid),
                    "mappings": job.map(|s| s.mappings.clone()),
                })
            })
            .collect();
        emit(json!(rows).to_string());
    }

    fn watching(&self, _gateway: &Gateway) {}

    fn watch_change(&self, change: &Change) {
        // `emit` writes the whole line at once, and stdout flushes at each newline.
        emit(serde_json::to_string(change).expect("changes serialize"));
    }

    fn watch_stopped(&self) {}

    fn router_status(&self, gateway: &Gateway, status: &RouterStatus) {
        let mut value = serde_json::to_value(status).expect("the status serializes");
        let d = gateway.description();
        value["gateway"] = json!({
            "name": d.friendly_name, "manufacturer": d.manufacturer, "model": d.model_name,
            "igd_version": d.igd_version, "url": gateway.description_url(),
        });
        emit(value.to_string());
    }
}

/// A created or renewed mapping: the request as the router granted it, and the external address.
fn enabled(e: &Enabled) -> Value {
    let r = &e.request;
    json!({
        "external_ip": e.external_ip, "external_port": r.external_port,
        "internal_ip": r.internal_ip, "internal_port": r.internal_port,
        "protocol": r.protocol, "description": r.description, "duration": e.mapping.lease.as_secs(),
    })
}

/// A keep-alive event: the mapping's ports and host, what happened.
fn keep_event(event: &KeepAliveEvent) -> Value {
    let m = event.mapping();
    let mut line = json!({
        "external_port": m.external_port, "protocol": m.protocol,
        "internal_ip": m.internal_ip, "internal_port": m.internal_port,
    });
    let fields = match event {
        KeepAliveEvent::Renewed { lease, .. } => json!({ "event": "renewed", "duration": lease.as_secs() }),
        KeepAliveEvent::Recreated { lease, .. } => json!({ "event": "recreated", "duration": lease.as_secs() }),
        KeepAliveEvent::Failed { error, retry_in, .. } => {
            json!({ "event": "failed", "error": error.to_string(), "retry_in": retry_in.as_secs() })
        }
    };
    if let (Some(line), Value::Object(fields)) = (line.as_object_mut(), fields) {
        line.extend(fields);
    }
    line
}

/// A step of the preset keeper.
fn keeper_event(event: &KeeperEvent) -> Value {
    match event {
        KeeperEvent::Connected {
            url,
            local_ip,
            mappings,
        } => json!({
            "event": "connected", "gateway": url, "local_ip": local_ip,
            "mappings": mappings.iter().map(|m| json!({
                "external_port": m.external_port, "protocol": m.protocol,
                "internal_ip": m.internal_ip, "internal_port": m.internal_port,
            })).collect::<Vec<_>>(),
        }),
        KeeperEvent::NoRouter { error, retry_in } => {
            json!({ "event": "no_router", "error": error.to_string(), "retry_in": retry_in.as_secs_f64() })
        }
        KeeperEvent::RouterLost => json!({ "event": "router_lost" }),
        KeeperEvent::KeepAlive(event) => keep_event(event),
        KeeperEvent::StateNotWritten(error) => json!({ "event": "warning", "error": error.to_string() }),
    }
}

/// One mapping, as every command and export writes it.
fn record(m: &Mapping) -> Value {
    serde_json::to_value(MappingRecord::of_mapping(m)).expect("a record of strings and numbers serializes")
}

/// Mappings as an array of records.
fn records(mappings: &[Mapping]) -> Vec<Value> {
    mappings.iter().map(record).collect()
}

/// A bulk action's report: the rows done under `verb` (e.g. "removed"), `failed` with the
/// reason, `not_attempted`. A command adds its own keys to the object.
fn bulk(verb: &str, report: &BulkReport) -> Map<String, Value> {
    let failed: Vec<_> = report
        .failed
        .iter()
        .map(|(m, why)| json!({ "mapping": record(m), "error": why }))
        .collect();
    let mut out = Map::new();
    out.insert(verb.to_owned(), json!(records(&report.done)));
    out.insert("failed".to_owned(), json!(failed));
    out.insert("not_attempted".to_owned(), json!(records(&report.not_attempted)));
    out
}

/// A pinhole for scripts: its id, what it opens, what the router last said of it.
fn pinhole_json(pinhole: &Pinhole) -> Value {
    let o = &pinhole.opening;
    json!({
        "id": pinhole.id,
        "internal_ip": o.internal_ip.to_string(),
        "internal_port": o.internal_port.get(),
        "protocol": o.protocol.as_str(),
        "remote_host": o.remote_host.map(|h| h.to_string()),
        "remote_port": o.remote_port.map(Port::get),
        "lease_secs": o.lease.as_secs(),
        "seconds_left": pinhole.seconds_left(),
        "packets": pinhole.packets,
        "working": pinhole.working,
        "gateway": pinhole.gateway,
        "via": pinhole.via,
        "reachability": PinholeReachability::of(pinhole),
    })
}
