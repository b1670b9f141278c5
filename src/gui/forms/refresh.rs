//! Refresh: renew a mapping's lease in place, from the selection or the last enable.

use portforward::{EnableRequest, Lease, Mapping};

use super::mapping_fields::{Hints, MappingFields};
use super::{Feedback, FormContext, blocked_reason, submit};
use crate::gui::tasks::Request;

/// The refresh form's state.
#[derive(Default)]
pub struct RefreshForm {
    fields: MappingFields,
    /// The last result.
    pub feedback: Option<Feedback>,
}

impl RefreshForm {
    /// Fills the form from a mapping (the selection). A permanent mapping is renewed with the
    /// default lease: a router reporting 0 left may mean "permanent" or "unknown".
    pub fn prefill(&mut self, mapping: &Mapping) {
        self.fields.fill(mapping, mapping.lease);
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
        let port_hint = match last {
            Some(l) => format!("last enabled: {}", l.external_port),
            None => "required".to_owned(),
        };
        let internal_ip = hint(last.map(|l| l.internal_ip.to_string()).unwrap_or_default());
        let internal_port =
            |_: Option<std::net::Ipv4Addr>| hint(last.map(|l| l.internal_port.to_string()).unwrap_or_default());
        let description = hint(last.map(|l| l.description.to_string()).unwrap_or_default());
        let hints = Hints {
            external_port: &port_hint,
            internal_ip: &internal_ip,
            internal_port: &internal_port,
            description: &description,
        };
        let (request, invalid) = self.fields.ui(ui, "refresh form", &hints);
        let protocol = self.fields.protocol();
        let all_empty = request
            == EnableRequest {
                protocol,
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
        let last_as_is = all_empty && last.is_some_and(|l| l.protocol == protocol);
        send.then(|| Request::Refresh((!last_as_is).then_some(request)))
    }
}
