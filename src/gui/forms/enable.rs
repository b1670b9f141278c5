//! Enable: forward a port. Every field is optional; the hint shows the automatic choice.

use portforward::{Description, EnableRequest, Lease, Port, Protocol, parse_internal_ip};

use super::{Feedback, FormContext, blocked_reason, field, protocol_field, submit, valid};
use crate::gui::tasks::Request;

/// The enable form's state: the text as typed.
#[derive(Default)]
pub struct EnableForm {
    external_port: String,
    internal_port: String,
    internal_ip: String,
    protocol: Protocol,
    description: String,
    lease: String,
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
        let mut invalid = false;
        let mut request = EnableRequest::default();
        egui::Grid::new("enable form").num_columns(2).show(ui, |ui| {
            request.external_port = valid(
                &mut invalid,
                field(
                    ui,
                    "External port",
                    &mut self.external_port,
                    "automatic: free port",
                    |t| Port::parse_field("external port", t),
                ),
            );
            request.internal_ip = valid(
                &mut invalid,
                field(ui, "Internal IP", &mut self.internal_ip, &this_computer, |t| {
                    parse_internal_ip("internal ip", t)
                }),
            );
            let internal_hint = if request.internal_ip.is_none_or(|ip| Some(ip) == cx.local_ip) {
                "automatic: free local port"
            } else {
                "automatic: same as external"
            };
            request.internal_port = valid(
                &mut invalid,
                field(ui, "Internal port", &mut self.internal_port, internal_hint, |t| {
                    Port::parse_field("internal port", t)
                }),
            );
            protocol_field(ui, &mut self.protocol);
            request.description = valid(
                &mut invalid,
                field(
                    ui,
                    "Description",
                    &mut self.description,
                    portforward::DEFAULT_DESCRIPTION,
                    |t| Description::parse_field("description", t),
                ),
            );
            request.lease = valid(
                &mut invalid,
                field(
                    ui,
                    "Lease (seconds)",
                    &mut self.lease,
                    &format!("{} (1 h); 0 = permanent", Lease::DEFAULT.as_secs()),
                    |t| Lease::parse_field("lease", t),
                ),
            );
        });
        request.protocol = self.protocol;
        let send = submit(ui, "Enable port", cx.busy, blocked_reason(cx.connected, invalid));
        if let Some(feedback) = &self.feedback {
            feedback.ui(ui);
        }
        send.then_some(Request::Enable(request))
    }
}
