//! The window's side of owners and keep-alive: the owner lookup after each reading of the
//! table, "Remove stale mappings" (through the same confirmation as every removal), the
//! per-row keep toggle, and removing this window's own mappings when it closes.

use std::sync::Arc;
use std::sync::mpsc;
use std::time::Duration;

use portforward::NewMapping;
use portforward::{KeepAliveEvent, Lease, Mapping, OwnerOptions, PortForwarder, remove_created};

use super::{App, Confirm};
use crate::gui::keepalive::KeepAliveWorker;
use crate::gui::log::Level;
use crate::gui::table::plural;

/// How long closing the window may wait for the router to remove this window's mappings.
const EXIT_DEADLINE: Duration = Duration::from_secs(3);

impl App {
    /// A new gateway: a keep-alive worker of its own; nothing kept or created there yet.
    pub(super) fn start_keep_alive(&mut self, ctx: &egui::Context, forwarder: &Arc<PortForwarder>) {
        self.keep_alive = Some(KeepAliveWorker::start(Arc::clone(forwarder), ctx.clone()));
        self.created.clear();
    }

    /// After a reading of the table: look its owners up, and check the kept mappings at once
    /// if one is missing (the router may have rebooted).
    pub(super) fn after_table_read(&mut self, ctx: &egui::Context, mappings: &[Mapping]) {
        let Some(forwarder) = self.header.forwarder() else {
            return;
        };
        let options = OwnerOptions {
            reverse_dns: self.settings.reverse_dns,
            ..OwnerOptions::default()
        };
        self.owners.start(ctx, mappings.to_vec(), forwarder.local_ip(), options);
        let missing = self
            .table
            .kept
            .iter()
            .any(|key| !mappings.iter().any(|m| m.key() == *key));
        if missing && let Some(worker) = &self.keep_alive {
            worker.check_now();
        }
    }

    /// Takes what the owner lookup and the keep-alive worker finished.
    pub(super) fn poll_owners_and_keep_alive(&mut self, ctx: &egui::Context) {
        if let Some(owners) = self.owners.poll() {
            self.table.set_owners(owners);
        }
        let events = self.keep_alive.as_ref().map(KeepAliveWorker::poll).unwrap_or_default();
        let mut changed = false;
        for event in events {
            let level = match &event {
                KeepAliveEvent::Renewed { .. } => Level::Ok,
                KeepAliveEvent::Recreated { .. } => Level::Warning,
                KeepAliveEvent::Failed { .. } => Level::Error,
            };
            changed |= level != Level::Error;
            self.log.push(level, event.to_string());
        }
        if changed {
            self.after_change(ctx);
        }
    }

    /// Remembers a mapping this window created (for removal on exit, and its lease for keep).
    pub(super) fn note_created(&mut self, request: &NewMapping) {
        self.created.retain(|c| c.key() != request.key());
        self.created.push(request.clone());
    }

    /// A mapping was removed on purpose: stop keeping it, or keep-alive would bring it back.
    pub(super) fn note_removed(&mut self, mapping: &Mapping) {
        let key = mapping.key();
        self.created.retain(|c| c.key() != key);
        if self.table.kept.remove(&key)
            && let Some(worker) = &self.keep_alive
        {
            worker.release(key);
        }
    }

    /// The row's "Keep alive" / "Stop keeping alive".
    pub(super) fn toggle_keep(&mut self, mapping: Mapping) {
        let key = mapping.key();
        let Some(worker) = &self.keep_alive else {
            return;
        };
        if self.table.kept.remove(&key) {
            worker.release(key);
            self.log.push(Level::Request, format!("stop keeping {mapping} alive"));
            return;
        }
        let Some(internal_ip) = mapping.internal_ip() else {
            self.log.push(
                Level::Error,
                format!("cannot keep {mapping} alive: its internal client is not an IPv4 address"),
            );
            return;
        };
        if !mapping.remote_host.is_empty() {
            self.log.push(
                Level::Error,
                format!("cannot keep {mapping} alive: mappings limited to one remote host are not renewed"),
            );
            return;
        }
        // A mapping made here is renewed with the lease it was made with; others get the
        // default hour, or stay permanent.
        let request = self
            .created
            .iter()
            .find(|c| c.key() == key)
            .cloned()
            .unwrap_or_else(|| NewMapping {
                protocol: mapping.protocol,
                external_port: mapping.external_port,
                internal_ip,
                internal_port: mapping.internal_port,
                description: mapping.description.clone(),
                lease: if mapping.lease.is_permanent() {
                    Lease::PERMANENT
                } else {
                    Lease::DEFAULT
                },
            });
        self.log.push(Level::Request, format!("keep {mapping} alive"));
        worker.keep(request);
        self.table.kept.insert(key);
    }

    /// "Remove stale mappings" and the options, at the end of the toolbar.
    pub(super) fn keep_owner_toolbar(&mut self, ui: &mut egui::Ui) {
        let stale = self.table.stale();
        let connected = self.header.forwarder().is_some();
        let hover = if stale.is_empty() {
            "no mapping to this computer is stale (nothing listening)".to_owned()
        } else {
            format!(
                "{} to this computer where nothing listens; you see the list first",
                plural(stale.len(), "mapping")
            )
        };
        if ui
            .add_enabled(
                connected && !stale.is_empty(),
                egui::Button::new("Remove stale mappings"),
            )
            .on_hover_text(hover)
            .on_disabled_hover_text("no mapping to this computer is stale (nothing listening)")
            .clicked()
        {
            self.confirm = Some(Confirm {
                mappings: stale,
                from_form: false,
            });
        }
        if !self.table.kept.is_empty() {
            // The lease column marks them too, but it may be scrolled out of sight.
            let mut kept: Vec<String> = self.table.kept.iter().map(ToString::to_string).collect();
            kept.sort();
            ui.weak(format!("keeping {} alive", plural(kept.len(), "mapping")))
                .on_hover_text(kept.join("\n"));
        }
        ui.menu_button("Options", |ui| {
            ui.checkbox(
                &mut self.settings.remove_created_on_exit,
                "Remove mappings created by PortForward when closing",
            );
            ui.checkbox(
                &mut self.settings.reverse_dns,
                "Name LAN hosts by reverse DNS (sends DNS queries)",
            )
            .on_hover_text("without it, names come from the hosts file only");
        });
    }

    /// On closing: stop keep-alive, and if the option is on, remove the mappings this window
    /// created, waiting at most [`EXIT_DEADLINE`] for the router.
    pub(super) fn exit_cleanup(&mut self) {
        self.keep_alive = None;
        if !self.settings.remove_created_on_exit || self.created.is_empty() {
            return;
        }
        let Some(forwarder) = self.header.forwarder().cloned() else {
            return;
        };
        let created = std::mem::take(&mut self.created);
        let (send, receive) = mpsc::channel();
        std::thread::spawn(move || {
            let _ = send.send(remove_created(&forwarder, &created));
        });
        match receive.recv_timeout(EXIT_DEADLINE) {
            Ok(report) => {
                for (mapping, reason) in &report.failed {
                    self.log
                        .push(Level::Error, format!("on exit: not removed {mapping}: {reason}"));
                }
                self.log.push(
                    Level::Ok,
                    format!("on exit: removed {}", plural(report.done.len(), "mapping")),
                );
            }
            Err(_) => self.log.push(
                Level::Warning,
                format!(
                    "on exit: the router did not answer within {} s; the mappings stay until their lease runs out",
                    EXIT_DEADLINE.as_secs()
                ),
            ),
        }
    }
}
