//! Disable all: remove every mapping matching the filters. Sends a preview first; the window
//! lists exactly what would go and asks to confirm; the report says per row what the router
//! refused.

use std::net::Ipv4Addr;

use portforward::{BulkReport, InputError, MappingFilter, Port, Protocol};

use super::{Feedback, FormContext, blocked_reason, field, submit, valid};
use crate::gui::table::plural;
use crate::gui::tasks::Request;

/// The disable-all form's state.
#[derive(Default)]
pub struct DisableAllForm {
    external_port: String,
    internal_port: String,
    internal_ip: String,
    protocol: Option<Protocol>,
    description: String,
    everything: bool,
    /// The last result.
    pub feedback: Option<Feedback>,
}

impl DisableAllForm {
    /// Draws the form; returns the preview request when submitted.
    pub fn ui(&mut self, ui: &mut egui::Ui, cx: &FormContext<'_>) -> Option<Request> {
        let mut invalid = false;
        let mut filter = MappingFilter::default();
        egui::Grid::new("disable all form").num_columns(2).show(ui, |ui| {
            filter.external_port = valid(
                &mut invalid,
                field(ui, "External port", &mut self.external_port, "any", |t| {
                    Port::parse_field("external port", t)
                }),
            );
            filter.internal_ip = valid(
                &mut invalid,
                field(ui, "Internal IP", &mut self.internal_ip, "any", |t| {
                    t.trim()
                        .parse::<Ipv4Addr>()
                        .map(|ip| ip.to_string())
                        .map_err(|_| InputError::new("internal ip", t, "enter an IPv4 address such as 192.168.1.20"))
                }),
            );
            filter.internal_port = valid(
                &mut invalid,
                field(ui, "Internal port", &mut self.internal_port, "any", |t| {
                    Port::parse_field("internal port", t)
                }),
            );
            ui.label("Protocol");
            ui.horizontal(|ui| {
                ui.radio_value(&mut self.protocol, None, "any");
                for p in Protocol::ALL {
                    ui.radio_value(&mut self.protocol, Some(p), p.as_str());
                }
            });
            ui.end_row();
            // The description matches exactly, spaces included, so it is not trimmed.
            let label = ui.label("Description");
            ui.add(
                egui::TextEdit::singleline(&mut self.description)
                    .hint_text("any (exact match)")
                    .desired_width(200.0),
            )
            .labelled_by(label.id);
            ui.end_row();
        });
        filter.protocol = self.protocol;
        filter.description = (!self.description.is_empty()).then(|| self.description.clone());
        if filter.is_empty() {
            ui.checkbox(&mut self.everything, "Every mapping, other programs' too");
        } else {
            self.everything = false;
        }
        filter.everything = self.everything;
        let blocked = if filter.is_empty() && !filter.everything && !invalid && cx.connected {
            Some("give at least one filter, or tick \"Every mapping\"")
        } else {
            blocked_reason(cx.connected, invalid)
        };
        let send = submit(ui, "Preview removal", cx.busy, blocked);
        if let Some(feedback) = &self.feedback {
            feedback.ui(ui);
        }
        send.then_some(Request::Preview(filter))
    }
}

/// A removal's report as a message: the count, then each refused row with the router's reason.
pub fn report_feedback(report: &BulkReport, verb: &str) -> Feedback {
    let total = report.done.len() + report.failed.len() + report.not_attempted.len();
    let mut text = format!("{verb} {} of {total}.", report.done.len());
    for (mapping, reason) in &report.failed {
        text.push_str(&format!("\nRefused: {mapping}: {reason}"));
    }
    if !report.not_attempted.is_empty() {
        text.push_str(&format!(
            "\nNot attempted ({}): the router stopped answering; retry when it is back.",
            plural(report.not_attempted.len(), "mapping")
        ));
    }
    if report.is_complete() {
        Feedback::ok(text)
    } else {
        Feedback::error(text)
    }
}
