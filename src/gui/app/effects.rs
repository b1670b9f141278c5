//! Applying the effects the views pushed during a frame, in the order they were pushed. This
//! is all that is left of the old request/outcome dispatch: each view handles its own result;
//! only what concerns others comes here.

use std::sync::Arc;

use portforward::{KeepAliveService, KeepAliveTimings};

use super::App;
use crate::gui::effects::{Effect, Effects};
use crate::gui::header::Connection;
use crate::gui::log::Level;

impl App {
    /// Applies `fx`, and whatever applying them pushes in turn, before the frame ends.
    pub(super) fn apply(&mut self, ctx: &egui::Context, mut fx: Effects) {
        loop {
            let batch = fx.drain();
            if batch.is_empty() {
                return;
            }
            for effect in batch {
                self.apply_one(ctx, effect, &mut fx);
            }
        }
    }

    fn apply_one(&mut self, ctx: &egui::Context, effect: Effect, fx: &mut Effects) {
        match effect {
            Effect::Log(level, text) => self.log.push(level, text),
            Effect::UseGateway(connection) => self.use_gateway(ctx, connection, fx),
            Effect::TableChanged => self.mappings.read(ctx, self.header.forwarder(), fx),
            Effect::Created(enabled) => self.note_created(&enabled.request),
            Effect::Removed(mappings) => {
                for mapping in &mappings {
                    self.note_removed(mapping);
                }
                self.undo.push(mappings);
            }
            Effect::Confirm(confirm) => self.removal.ask(confirm),
            Effect::Status(feedback) => self.status = Some(feedback),
            Effect::DisableAllReport(feedback) => self.disable_all.feedback = Some(feedback),
            Effect::PortControlChanged => {
                // The router may list them: read its table again; without one, show them alone.
                if self.header.forwarder().is_some() {
                    self.mappings.read(ctx, self.header.forwarder(), fx);
                } else {
                    self.mappings.show_port_control_only(self.port_control.mappings());
                }
            }
            Effect::PresetsSaved(store) => self.presets.store = store,
        }
    }

    /// A gateway to use: a fresh table, header and keep-alive service for it.
    fn use_gateway(&mut self, ctx: &egui::Context, connection: Connection, fx: &mut Effects) {
        let forwarder = Arc::clone(&connection.forwarder);
        let url = forwarder.gateway().description_url().to_owned();
        fx.log(
            Level::Ok,
            format!(
                "using {} at {url}; this computer is {}",
                forwarder.gateway().description().friendly_name,
                connection.local.ip
            ),
        );
        self.settings.last_gateway_url = Some(url);
        self.mappings.reset(&forwarder);
        let wake = ctx.clone();
        self.keep = KeepAliveService::start(Arc::clone(&forwarder), KeepAliveTimings::default(), move || {
            wake.request_repaint();
        })
        .inspect_err(|err| fx.log(Level::Error, format!("cannot start keep-alive: {err}")))
        .ok();
        self.created.clear();
        self.live.start(ctx, Arc::clone(&forwarder), fx);
        self.header.use_gateway(connection);
        self.reload(ctx, fx);
    }

    /// Reads the table and the header's facts again.
    pub(super) fn reload(&mut self, ctx: &egui::Context, fx: &mut Effects) {
        self.mappings.read(ctx, self.header.forwarder(), fx);
        self.header.read_info(ctx);
    }
}
