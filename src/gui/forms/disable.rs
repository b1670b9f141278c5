//! Disable: remove one mapping, pre-filled from the selection or the last enable.

use portforward::{Error, Mapping, Port, Protocol};

use super::{Feedback, FormContext, blocked_reason, changed, field, protocol_field, send, submit};
use crate::gui::effects::{Effect, Effects};
use crate::gui::log::Level;
use crate::gui::pending::{Pending, take};

/// The disable form's state.
#[derive(Default)]
pub struct DisableForm {
    external_port: String,
    protocol: Protocol,
    pending: Option<Pending<Result<Mapping, Error>>>,
    /// The last result.
    pub feedback: Option<Feedback>,
}

impl DisableForm {
    /// Fills the form from a mapping (the selection).
    pub fn prefill(&mut self, mapping: &Mapping) {
        self.external_port = mapping.external_port.to_string();
        self.protocol = mapping.protocol;
    }

    /// Takes a finished request.
    pub fn poll(&mut self, fx: &mut Effects) {
        let Some(result) = take(&mut self.pending) else {
            return;
        };
        self.feedback = Some(changed(result, fx, |mapping, fx| {
            fx.log(Level::Ok, format!("removed {mapping}"));
            let text = format!("Removed {mapping}. Undo puts it back.");
            fx.push(Effect::Removed(vec![mapping]));
            text
        }));
    }

    /// Draws the form; a click sends the request.
    pub fn ui(&mut self, ui: &mut egui::Ui, cx: &FormContext<'_>, fx: &mut Effects) {
        let hint = match &cx.last_enable {
            Some(last) => format!("last enabled: {}", last.external_port),
            None => "required".to_owned(),
        };
        let mut invalid = false;
        let mut port = None;
        egui::Grid::new("disable form").num_columns(2).show(ui, |ui| {
            match field(ui, "External port", &mut self.external_port, &hint, |t| {
                Port::parse_field("external port", t)
            }) {
                Ok(p) => port = p,
                Err(_) => invalid = true,
            }
            protocol_field(ui, &mut self.protocol);
        });
        let missing = port.is_none() && cx.last_enable.is_none() && !invalid;
        let blocked = if missing && cx.connected() {
            Some("enter the external port (nothing was enabled in this session)")
        } else {
            blocked_reason(cx.connected(), invalid)
        };
        if submit(ui, "Disable port", self.pending.is_some(), blocked) {
            let protocol = self.protocol;
            let what = match port {
                Some(port) => format!("disable {port}/{protocol}"),
                None => format!("disable the last enabled mapping ({protocol})"),
            };
            send(&mut self.pending, ui.ctx(), cx, fx, what, move |f| {
                f.disable(port, Some(protocol))
            });
        }
        if let Some(feedback) = &self.feedback {
            feedback.ui(ui);
        }
    }
}
