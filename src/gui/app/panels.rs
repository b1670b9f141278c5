//! The window's panels around the table: the toolbar above it, the forms beside it, the
//! keyboard shortcuts and the reload timer.

use std::time::{Duration, Instant};

use egui::{Key, Modifiers};

use super::{App, FormTab};
use crate::gui::effects::Effects;
use crate::gui::forms::FormContext;
use crate::gui::presets::PresetsContext;
use crate::gui::removal::Confirm;
use crate::gui::settings::{RELOAD_CHOICES, reload_label};

impl App {
    /// Keyboard shortcuts: F5 / Ctrl+R reload, Ctrl+F filter, Delete removes the selection.
    pub(super) fn shortcuts(&mut self, ctx: &egui::Context, fx: &mut Effects) {
        let reload =
            ctx.input_mut(|i| i.consume_key(Modifiers::COMMAND, Key::R) || i.consume_key(Modifiers::NONE, Key::F5));
        if reload && self.header.forwarder().is_some() {
            self.reload(ctx, fx);
        }
        if ctx.input_mut(|i| i.consume_key(Modifiers::COMMAND, Key::F)) {
            self.mappings.table.focus_filter = true;
        }
        // Delete in a text field edits the text; only elsewhere does it remove mappings.
        let typing = ctx.memory(|m| m.focused().is_some());
        if !typing && !self.removal.asking() && ctx.input_mut(|i| i.consume_key(Modifiers::NONE, Key::Delete)) {
            self.confirm_selection();
        }
    }

    /// Asks before removing the table's selection.
    pub(super) fn confirm_selection(&mut self) {
        self.removal.ask(Confirm {
            mappings: self.mappings.table.selection(),
            from_form: false,
        });
    }

    /// The timer reload: due now, or a wake-up scheduled for when it is.
    pub(super) fn reload_timer(&mut self, ctx: &egui::Context, fx: &mut Effects) {
        let Some(secs) = self.settings.reload_secs else {
            self.next_reload = None;
            return;
        };
        // The router's events say when something changed: no reads while nothing does.
        if self.live.events_work() {
            self.next_reload = None;
            return;
        }
        if self.header.forwarder().is_none() || self.mappings.loading() {
            return;
        }
        let interval = Duration::from_secs(secs.into());
        let now = Instant::now();
        let due = *self.next_reload.get_or_insert(now + interval);
        if now >= due {
            self.next_reload = Some(now + interval);
            self.reload(ctx, fx);
        } else {
            ctx.request_repaint_after(due - now);
        }
    }

    pub(super) fn toolbar(&mut self, ui: &mut egui::Ui, fx: &mut Effects) {
        ui.horizontal(|ui| {
            let connected = self.header.forwarder().is_some();
            let loading = self.mappings.loading();
            if ui
                .add_enabled(connected && !loading, egui::Button::new("Reload"))
                .on_hover_text("read the router's table again (F5, Ctrl+R)")
                .clicked()
            {
                self.reload(ui.ctx(), fx);
            }
            if loading {
                ui.spinner();
            }
            self.transfer.buttons(ui);
            let label = ui.label("Auto-reload:");
            let before = self.settings.reload_secs;
            egui::ComboBox::from_id_salt("reload interval")
                .selected_text(reload_label(self.settings.reload_secs))
                .show_ui(ui, |ui| {
                    for choice in RELOAD_CHOICES {
                        ui.selectable_value(&mut self.settings.reload_secs, choice, reload_label(choice));
                    }
                })
                .response
                .labelled_by(label.id);
            if self.settings.reload_secs != before {
                self.next_reload = None;
            }
            self.live.ui(ui, self.settings.reload_secs);
            self.undo.button(ui, self.header.forwarder(), fx);
            self.keep_owner_toolbar(ui);
        });
        if let Some(status) = &self.status {
            status.ui(ui);
        }
        self.mappings.messages_ui(ui);
    }

    /// The tabs of the side panel and the form shown.
    pub(super) fn forms(&mut self, ui: &mut egui::Ui, fx: &mut Effects) {
        // Wrapped: seven tabs in a row would make the panel too wide for the table beside it.
        ui.horizontal_wrapped(|ui| {
            ui.selectable_value(&mut self.tab, FormTab::Enable, "Enable");
            ui.selectable_value(&mut self.tab, FormTab::Disable, "Disable");
            ui.selectable_value(&mut self.tab, FormTab::DisableAll, "Disable all");
            ui.selectable_value(&mut self.tab, FormTab::Refresh, "Refresh");
            ui.selectable_value(&mut self.tab, FormTab::Presets, "Presets");
            ui.selectable_value(&mut self.tab, FormTab::PortControl, "NAT-PMP/PCP");
            ui.selectable_value(&mut self.tab, FormTab::Pinholes, "IPv6 pinholes");
        });
        ui.separator();
        let forwarder = self.header.forwarder().cloned();
        let cx = FormContext::of(forwarder.as_ref());
        let selection = match self.tab {
            FormTab::Presets => self.mappings.table.selection(),
            _ => Vec::new(),
        };
        let upnp_gateway = forwarder.as_ref().and_then(|f| match f.gateway().addr().ip() {
            std::net::IpAddr::V4(ip) => Some(ip),
            std::net::IpAddr::V6(_) => None,
        });
        let removing = self.removal.busy();
        egui::ScrollArea::vertical()
            .auto_shrink([false, false])
            .show(ui, |ui| match self.tab {
                FormTab::Enable => {
                    ui.weak("Forward a port to this computer or another LAN host. Leave a field empty for the automatic choice shown.");
                    self.enable.ui(ui, &cx, fx);
                }
                FormTab::Disable => {
                    ui.weak("Remove one mapping. Select a row to fill this in.");
                    self.disable.ui(ui, &cx, fx);
                }
                FormTab::DisableAll => {
                    ui.weak("Remove every mapping matching ALL the given fields. You see the list before anything is removed.");
                    self.disable_all.ui(ui, &cx, removing, fx);
                }
                FormTab::Refresh => {
                    ui.weak("Renew a mapping's lease in place. Select a row to fill this in.");
                    self.refresh.ui(ui, &cx, fx);
                }
                FormTab::Presets => {
                    let presets_cx = PresetsContext {
                        forwarder: forwarder.as_ref(),
                        selection: &selection,
                        busy_elsewhere: self.transfer.writing_presets(),
                    };
                    self.presets.ui(ui, &presets_cx, fx);
                }
                FormTab::PortControl => self.port_control.ui(ui, upnp_gateway, fx),
                FormTab::Pinholes => self.pinholes.ui(ui, forwarder.as_deref(), fx),
            });
    }

    /// When the selection changes, the disable and refresh forms take its first row.
    pub(super) fn prefill_from_selection(&mut self) {
        let table = &self.mappings.table;
        if table.selection_generation == self.prefilled_generation {
            return;
        }
        self.prefilled_generation = table.selection_generation;
        if let Some(first) = table.selection().first() {
            self.disable.prefill(first);
            self.refresh.prefill(first);
        }
    }
}
