//! Enable: forward a port. Every field is optional; the hint shows the automatic choice.

use super::mapping_fields::{Hints, MappingFields};
use super::{Feedback, FormContext, blocked_reason, submit};
use crate::gui::tasks::Request;

/// The enable form's state: the text as typed.
#[derive(Default)]
pub struct EnableForm {
    fields: MappingFields,
    /// The last result.
    pub feedback: Option<Feedback>,
}

impl EnableForm {
    /// Draws the form; returns the request when submitted.
    pub fn ui(&mut self, ui: &mut egui::Ui, cx: &FormContext<'_>) -> Option<Request> {
        let this_computer = match cx.local_ip {
            Some(ip) => format!("this computer ({ip})"),
            None => "this computer".to_owned(),
        };
        let internal_port = |internal_ip: Option<std::net::Ipv4Addr>| {
            if internal_ip.is_none_or(|ip| Some(ip) == cx.local_ip) {
                "automatic: free local port".to_owned()
            } else {
                "automatic: same as external".to_owned()
            }
        };
        let hints = Hints {
            external_port: "automatic: free port",
            internal_ip: &this_computer,
            internal_port: &internal_port,
            description: portforward::DEFAULT_DESCRIPTION,
        };
        let (request, invalid) = self.fields.ui(ui, "enable form", &hints);
        let send = submit(ui, "Enable port", cx.busy, blocked_reason(cx.connected, invalid));
        if let Some(feedback) = &self.feedback {
            feedback.ui(ui);
        }
        send.then_some(Request::Enable(request))
    }
}
