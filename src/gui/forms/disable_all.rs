//! Disable all: remove every mapping matching the filters. Sends a preview first; the window
//! lists exactly what would go and asks to confirm; the report says per row what the router
//! refused.

use std::net::Ipv4Addr;

use portforward::{BulkReport, Error, InputError, Mapping, MappingFilter, Port, Protocol};

use super::{Feedback, FormContext, blocked_reason, field, send, submit, valid};
use crate::gui::effects::{Effect, Effects};
use crate::gui::log::Level;
use crate::gui::pending::{Pending, take};
use crate::gui::removal::Confirm;
use crate::gui::table::plural;

/// The disable-all form's state.
#[derive(Default)]
pub struct DisableAllForm {
    external_port: String,
    internal_port: String,
    internal_ip: String,
    protocol: Option<Protocol>,
    description: String,
    everything: bool,
    preview: Option<Pending<Result<Vec<Mapping>, Error>>>,
    /// The last result (the preview's, then the removal's).
    pub feedback: Option<Feedback>,
}

impl DisableAllForm {
    /// Takes a finished preview: what it matches goes to the confirmation.
    pub fn poll(&mut self, fx: &mut Effects) {
        let Some(result) = take(&mut self.preview) else {
            return;
        };
        match result {
            Ok(Ok(mappings)) => {
                fx.log(
                    Level::Ok,
                    format!("{} match the filters", plural(mappings.len(), "mapping")),
                );
                if mappings.is_empty() {
                    self.feedback = Some(Feedback::ok("No mapping matches these filters: nothing to remove."));
                } else {
                    self.feedback = None;
                    fx.push(Effect::Confirm(Confirm {
                        mappings,
                        from_form: true,
                    }));
                }
            }
            Ok(Err(err)) => self.feedback = Some(fx.failed(err.to_string())),
            Err(crash) => self.feedback = Some(fx.failed(format!("internal error: {crash}"))),
        }
    }

    /// Whether the preview or the removal it leads to is in flight.
    pub fn busy(&self) -> bool {
        self.preview.is_some()
    }

    /// Draws the form; a click sends the preview. `removing`: a removal is in flight.
    pub fn ui(&mut self, ui: &mut egui::Ui, cx: &FormContext<'_>, removing: bool, fx: &mut Effects) {
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
        let blocked = if filter.is_empty() && !filter.everything && !invalid && cx.connected() {
            Some("give at least one filter, or tick \"Every mapping\"")
        } else {
            blocked_reason(cx.connected(), invalid)
        };
        if submit(ui, "Preview removal", self.busy() || removing, blocked) {
            let what = format!("preview disable-all: {}", describe_filter(&filter));
            send(&mut self.preview, ui.ctx(), cx, fx, what, move |f| {
                f.preview_disable_all(&filter)
            });
        }
        if let Some(feedback) = &self.feedback {
            feedback.ui(ui);
        }
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

/// A disable-all filter in words, for the log.
fn describe_filter(filter: &MappingFilter) -> String {
    let mut parts = Vec::new();
    if let Some(p) = filter.external_port {
        parts.push(format!("external port {p}"));
    }
    if let Some(ip) = &filter.internal_ip {
        parts.push(format!("internal IP {ip}"));
    }
    if let Some(p) = filter.internal_port {
        parts.push(format!("internal port {p}"));
    }
    if let Some(p) = filter.protocol {
        parts.push(p.to_string());
    }
    if let Some(d) = &filter.description {
        parts.push(format!("description \"{d}\""));
    }
    if parts.is_empty() {
        "every mapping".to_owned()
    } else {
        parts.join(", ")
    }
}
