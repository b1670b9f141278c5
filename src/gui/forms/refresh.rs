//! Refresh: renew a mapping's lease in place, from the selection or the last enable.

use portforward::{Description, EnableRequest, Lease, Mapping, Port, Protocol, parse_internal_ip};

use super::{Feedback, FormContext, blocked_reason, field, mapping_fields, protocol_field, submit, valid};
use crate::gui::tasks::Request;

/// The refresh form's state.
#[derive(Default)]
pub struct RefreshForm {
    external_port: String,
    internal_ip: String,
    internal_port: String,
    protocol: Protocol,
    description: String,
    lease: String,
    /// The last result.
    pub feedback: Option<Feedback>,
}

impl RefreshForm {
    /// Fills the form from a mapping (the selection). A permanent mapping is renewed with the
    /// default lease: a router reporting 0 left may mean "permanent" or "unknown".
    pub fn prefill(&mut self, mapping: &Mapping) {
        let [external_port, internal_ip, internal_port, description, lease] = mapping_fields(mapping);
        self.external_port = external_port;
        self.internal_ip = internal_ip;
        self.internal_port = internal_port;
        self.description = description;
        self.lease = if mapping.lease.is_permanent() {
            "0".to_owned()
        } else {
            lease
        };
        self.protocol = mapping.protocol;
    }

    /// The request for a mapping, as the context menu sends it directly.
    pub fn request_for(&mut self, mapping: &Mapping) -> Request {
        self.prefill(mapping);
        Request::Refresh(Some(EnableRequest {
            external_port: Some(mapping.external_port),
            internal_port: Some(mapping.internal_port),
            internal_ip: mapping.internal_ip(),
            protocol: mapping.protocol,
            description: Some(mapping.description.clone()),
            lease: Some(if mapping.lease.is_permanent() {
                Lease::PERMANENT
            } else {
                Lease::DEFAULT
            }),
        }))
    }

    /// Draws the form; returns the request when submitted.
    pub fn ui(&mut self, ui: &mut egui::Ui, cx: &FormContext<'_>) -> Option<Request> {
        let last = cx.last_enable;
        let hint = |what: String| match last {
            Some(_) => format!("last enabled: {what}"),
            None => "as the router has it".to_owned(),
        };
        let mut invalid = false;
        let mut request = EnableRequest::default();
        egui::Grid::new("refresh form").num_columns(2).show(ui, |ui| {
            let port_hint = match last {
                Some(l) => format!("last enabled: {}", l.external_port),
                None => "required".to_owned(),
            };
            request.external_port = valid(
                &mut invalid,
                field(ui, "External port", &mut self.external_port, &port_hint, |t| {
                    Port::parse_field("external port", t)
                }),
            );
            request.internal_ip = valid(
                &mut invalid,
                field(
                    ui,
                    "Internal IP",
                    &mut self.internal_ip,
                    &hint(last.map(|l| l.internal_ip.to_string()).unwrap_or_default()),
                    |t| parse_internal_ip("internal ip", t),
                ),
            );
            request.internal_port = valid(
                &mut invalid,
                field(
                    ui,
                    "Internal port",
                    &mut self.internal_port,
                    &hint(last.map(|l| l.internal_port.to_string()).unwrap_or_default()),
                    |t| Port::parse_field("internal port", t),
                ),
            );
            protocol_field(ui, &mut self.protocol);
            request.description = valid(
                &mut invalid,
                field(
                    ui,
                    "Description",
                    &mut self.description,
                    &hint(last.map(|l| l.description.to_string()).unwrap_or_default()),
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
        let all_empty = request
            == EnableRequest {
                protocol: self.protocol,
                ..Default::default()
            };
        let blocked = if request.external_port.is_none() && last.is_none() && !invalid && cx.connected {
            Some("enter the external port (nothing was enabled in this session)")
        } else {
            blocked_reason(cx.connected, invalid)
        };
        let send = submit(ui, "Refresh lease", cx.busy, blocked);
        if let Some(feedback) = &self.feedback {
            feedback.ui(ui);
        }
        // With nothing typed, renew the last enable exactly as it was made.
        let last_as_is = all_empty && last.is_some_and(|l| l.protocol == self.protocol);
        send.then(|| Request::Refresh((!last_as_is).then_some(request)))
    }
}
