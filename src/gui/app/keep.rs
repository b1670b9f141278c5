//! The window's side of keep-alive and owners: the per-row keep toggle (through the library's
//! [`KeepAliveService`](portforward::KeepAliveService), which holds the set it keeps), what it
//! did, "Remove stale mappings" (through the same confirmation as every removal), the options,
//! and removing this window's own mappings when it closes.

use std::collections::HashSet;

use portforward::{KeepAliveEvent, Lease, Mapping, MappingKey, NewMapping, remove_created};

use super::App;
use crate::gui::effects::{Effect, Effects};
use crate::gui::log::Level;
use crate::gui::pending::Pending;
use crate::gui::removal::Confirm;
use crate::gui::table::plural;

impl App {
    /// The keys of the mappings keep-alive renews, as the service has them.
    pub(super) fn kept_keys(&self) -> HashSet<MappingKey> {
        self.keep
            .as_ref()
            .map(|keep| keep.kept().iter().map(NewMapping::key).collect())
            .unwrap_or_default()
    }

    /// Logs what keep-alive did; the table is read again when it changed something.
    pub(super) fn poll_keep_alive(&mut self, fx: &mut Effects) {
        let events = self.keep.as_ref().map(|k| k.try_events()).unwrap_or_default();
        let mut changed = false;
        for event in events {
            let level = match &event {
                KeepAliveEvent::Renewed { .. } => Level::Ok,
                KeepAliveEvent::Recreated { .. } => Level::Warning,
                KeepAliveEvent::Failed { .. } => Level::Error,
            };
            changed |= level != Level::Error;
            fx.log(level, event.to_string());
        }
        if changed {
            fx.push(Effect::TableChanged);
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
        if let Some(keep) = &self.keep {
            keep.release(&key);
        }
    }

    /// The row's "Keep alive" / "Stop keeping alive".
    pub(super) fn toggle_keep(&mut self, mapping: Mapping, fx: &mut Effects) {
        let key = mapping.key();
        let Some(keep) = &self.keep else {
            return;
        };
        if let Some(preset) = self.presets.jobs.kept_by(&key) {
            // Two keepers of one mapping would renew it twice and fight over re-creating it.
            fx.log(
                Level::Error,
                format!(
                    "{mapping} is kept by the background job of the preset \"{preset}\"; the window leaves it to that job"
                ),
            );
            return;
        }
        if keep.release(&key) {
            fx.log(Level::Request, format!("stop keeping {mapping} alive"));
            return;
        }
        let Some(internal_ip) = mapping.internal_ip() else {
            fx.log(
                Level::Error,
                format!("cannot keep {mapping} alive: its internal client is not an IPv4 address"),
            );
            return;
        };
        if !mapping.remote_host.is_empty() {
            fx.log(
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
        fx.log(Level::Request, format!("keep {mapping} alive"));
        keep.keep(request);
    }

    /// "Remove stale mappings" and the options, at the end of the toolbar.
    pub(super) fn keep_owner_toolbar(&mut self, ui: &mut egui::Ui) {
        let stale = self.mappings.table.stale();
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
            self.removal.ask(Confirm {
                mappings: stale,
                from_form: false,
            });
        }
        let kept = self.keep.as_ref().map(|k| k.kept()).unwrap_or_default();
        if !kept.is_empty() {
            // The lease column marks them too, but it may be scrolled out of sight.
            let mut kept: Vec<String> = kept.iter().map(|m| m.key().to_string()).collect();
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
    /// created, waiting at most the exit deadline (3 s) for the router; then write the log.
    pub(super) fn exit_cleanup(&mut self) {
        self.keep = None;
        self.live.stop_before_exit(&self.ctx, self.exit_deadline);
        let forwarder = self.header.forwarder().cloned();
        if let Some(forwarder) = forwarder
            && self.settings.remove_created_on_exit
            && !self.created.is_empty()
        {
            let mut created = std::mem::take(&mut self.created);
            // What a background job keeps stays: the user asked for it to outlive the window.
            created.retain(|c| self.presets.jobs.kept_by(&c.key()).is_none());
            let removal = Pending::spawn(&self.ctx, "exit clean-up", move || remove_created(&forwarder, &created));
            match removal.wait(self.exit_deadline) {
                Some(Ok(report)) => {
                    for (mapping, reason) in &report.failed {
                        self.log
                            .push(Level::Error, format!("on exit: not removed {mapping}: {reason}"));
                    }
                    self.log.push(
                        Level::Ok,
                        format!("on exit: removed {}", plural(report.done.len(), "mapping")),
                    );
                }
                Some(Err(crash)) => self.log.push(Level::Error, format!("on exit: internal error: {crash}")),
                None => self.log.push(
                    Level::Warning,
                    format!(
                        "on exit: the router did not answer within {} s; the mappings stay until their lease runs out",
                        self.exit_deadline.as_secs()
                    ),
                ),
            }
        }
        self.log.flush_before_exit(&self.ctx, self.exit_deadline);
    }
}
