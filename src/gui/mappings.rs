//! The router's table as the window knows it: read in the background (after every change,
//! on F5 and by the timer), NAT-PMP/PCP rows merged in, the owners of its rows looked up
//! after each reading, and what went wrong or was odd about the last reading.

use std::collections::HashMap;
use std::sync::Arc;

use portforward::port_control::PortControlMapping;
use portforward::upnp::MappingTable;
use portforward::{Error, KeepAliveService, Mapping, MappingKey, Owner, OwnerOptions, PortForwarder, resolve_owners};

use super::effects::Effects;
use super::log::Level;
use super::pending::{Pending, take};
use super::table::{Table, plural};

/// The owners of one reading of the table, by mapping.
type Owners = HashMap<MappingKey, Owner>;

/// What a reading needs from the rest of the window when it comes back.
pub struct ReadContext<'a> {
    /// The gateway, for the owner lookup.
    pub forwarder: Option<&'a Arc<PortForwarder>>,
    /// The NAT-PMP/PCP mappings made here, marked in (or added to) the table.
    pub port_control: &'a [PortControlMapping],
    /// Keep-alive, told to check at once when a kept mapping is missing.
    pub keep: Option<&'a KeepAliveService>,
    /// Name LAN hosts by reverse DNS.
    pub reverse_dns: bool,
}

/// The table, its reading in flight and its owner lookup.
#[derive(Default)]
pub struct Mappings {
    /// The rows as drawn.
    pub table: Table,
    reading: Option<Pending<Result<MappingTable, Error>>>,
    /// Asked to read while a reading was in flight: read again once it is back (it may
    /// have started before the change that asked).
    again: bool,
    /// A new reading supersedes the lookup of the last one (dropping it).
    owners: Option<Pending<Owners>>,
    /// The last reading's failure.
    error: Option<String>,
    /// What the last reading noticed (a truncated walk, a fallback, …).
    warnings: Vec<String>,
}

impl Mappings {
    /// A new gateway: an empty table for it.
    pub fn reset(&mut self, forwarder: &PortForwarder) {
        *self = Mappings::default();
        self.table.local_ip = Some(forwarder.local_ip());
    }

    /// Whether a reading is in flight.
    pub fn loading(&self) -> bool {
        self.reading.is_some()
    }

    /// Reads the table again; when a reading is in flight, once more after it.
    pub fn read(&mut self, ctx: &egui::Context, forwarder: Option<&Arc<PortForwarder>>, fx: &mut Effects) {
        let Some(forwarder) = forwarder.cloned() else {
            return;
        };
        if self.reading.is_none() {
            fx.log(Level::Request, "reading the table");
            self.reading = Some(Pending::spawn(ctx, "list", move || forwarder.get_all_mappings()));
        } else {
            self.again = true;
        }
    }

    /// Without a UPnP gateway: the NAT-PMP/PCP mappings made here, alone.
    pub fn show_port_control_only(&mut self, port_control: &[PortControlMapping]) {
        let marked = portforward::services::mark_port_control(Vec::new(), port_control);
        self.table.load(marked.mappings);
        self.table.via = marked.via;
    }

    /// Takes a finished reading (and starts its owner lookup) or a finished lookup.
    pub fn poll(&mut self, ctx: &egui::Context, cx: &ReadContext<'_>, fx: &mut Effects) {
        if let Some(result) = take(&mut self.owners) {
            match result {
                Ok(owners) => self.table.set_owners(owners),
                Err(crash) => fx.log(Level::Error, format!("looking up owners: internal error: {crash}")),
            }
        }
        match take(&mut self.reading) {
            None => {}
            Some(Ok(Ok(table))) => {
                for warning in &table.warnings {
                    fx.log(Level::Warning, warning.clone());
                }
                fx.log(Level::Ok, format!("read {}", plural(table.mappings.len(), "mapping")));
                let marked = portforward::services::mark_port_control(table.mappings, cx.port_control);
                self.after_reading(ctx, cx, &marked.mappings);
                self.table.load(marked.mappings);
                self.table.via = marked.via;
                self.error = None;
                self.warnings = table.warnings;
            }
            Some(Ok(Err(err))) => {
                fx.log(Level::Error, format!("reading the table: {err}"));
                self.error = Some(err.to_string());
            }
            Some(Err(crash)) => self.error = Some(fx.failed(format!("internal error: {crash}")).text),
        }
        if self.reading.is_none() && std::mem::take(&mut self.again) {
            self.read(ctx, cx.forwarder, fx);
        }
    }

    /// After a reading: look its owners up, and check the kept mappings at once if one is
    /// missing (the router may have rebooted).
    fn after_reading(&mut self, ctx: &egui::Context, cx: &ReadContext<'_>, mappings: &[Mapping]) {
        let Some(forwarder) = cx.forwarder else {
            return;
        };
        let options = OwnerOptions {
            reverse_dns: cx.reverse_dns,
            ..OwnerOptions::default()
        };
        let local_ip = forwarder.local_ip();
        let rows = mappings.to_vec();
        self.owners = Some(Pending::spawn(ctx, "owners", move || {
            let owners = resolve_owners(&rows, local_ip, &options);
            rows.iter().map(Mapping::key).zip(owners).collect()
        }));
        if let Some(keep) = cx.keep {
            let missing = keep
                .kept()
                .iter()
                .any(|kept| !mappings.iter().any(|m| m.key() == kept.key()));
            if missing {
                keep.check_now();
            }
        }
    }

    /// The last reading's failure and warnings, above the table.
    pub fn messages_ui(&self, ui: &mut egui::Ui) {
        if let Some(err) = &self.error {
            ui.colored_label(
                ui.visuals().error_fg_color,
                format!("✖ Could not read the table: {err}"),
            );
        }
        for warning in &self.warnings {
            ui.colored_label(ui.visuals().warn_fg_color, format!("⚠ {warning}"));
        }
    }
}
