//! Disable: remove one mapping, pre-filled from the selection or the last enable.

use portforward::{Mapping, Port, Protocol};

use super::{Feedback, FormContext, blocked_reason, field, protocol_field, submit};
use crate::gui::tasks::Request;

/// The disable form's state.
#[derive(Default)]
pub struct DisableForm {
    external_port: String,
    protocol: Protocol,
    /// The last result.
    pub feedback: Option<Feedback>,
}

impl DisableForm {
    /// Fills the form from a mapping (the selection).
    pub fn prefill(&mut self, mapping: &Mapping) {
        self.external_port = mapping.external_port.to_string();
        self.protocol = mapping.protocol;
    }

    /// Draws the form; returns the request when submitted.
    pub fn ui(&mut self, ui: &mut egui::Ui, cx: &FormContext<'_>) -> Option<Request> {
        let hint = match cx.last_enable {
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
        let blocked = if missing && cx.connected {
            Some("enter the external port (nothing was enabled in this session)")
        } else {
            blocked_reason(cx.connected, invalid)
        };
        let send = submit(ui, "Disable port", cx.busy, blocked);
        if let Some(feedback) = &self.feedback {
            feedback.ui(ui);
        }
        send.then_some(Request::Disable(port, self.protocol))
    }
}
