//! Enable: forward a port. Every field is optional; the hint shows the automatic choice.

use portforward::{EnableRequest, Enabled, Error};

use super::mapping_fields::{Hints, MappingFields};
use super::{Feedback, FormContext, blocked_reason, changed, send, submit};
use crate::gui::effects::{Effect, Effects};
use crate::gui::log::Level;
use crate::gui::pending::{Pending, take};

/// The enable form's state: the text as typed, the request in flight, the last result.
#[derive(Default)]
pub struct EnableForm {
    fields: MappingFields,
    pending: Option<Pending<Result<Enabled, Error>>>,
    /// The last result.
    pub feedback: Option<Feedback>,
}

impl EnableForm {
    /// Takes a finished request.
    pub fn poll(&mut self, fx: &mut Effects) {
        let Some(result) = take(&mut self.pending) else {
            return;
        };
        self.feedback = Some(changed(result, fx, |enabled, fx| {
            let text = forwarded_text(&enabled);
            fx.log(Level::Ok, text.clone());
            fx.push(Effect::Created(enabled));
            text
        }));
    }

    /// Draws the form; a click sends the request.
    pub fn ui(&mut self, ui: &mut egui::Ui, cx: &FormContext<'_>, fx: &mut Effects) {
        let local_ip = cx.local_ip();
        let this_computer = match local_ip {
            Some(ip) => format!("this computer ({ip})"),
            None => "this computer".to_owned(),
        };
        // As the library chooses: an external port alone goes to the same port; with neither,
        // one port free here (any, for another host) serves both sides where the router has it.
        let internal_port = |internal_ip: Option<std::net::Ipv4Addr>| {
            if internal_ip.is_none_or(|ip| Some(ip) == local_ip) {
                "automatic: same as external (none: one free port for both)".to_owned()
            } else {
                "automatic: same as external (none: one port for both)".to_owned()
            }
        };
        let hints = Hints {
            external_port: "automatic: same as internal if free on the router",
            internal_ip: &this_computer,
            internal_port: &internal_port,
            description: portforward::DEFAULT_DESCRIPTION,
        };
        let (request, invalid) = self.fields.ui(ui, "enable form", &hints);
        let busy = self.pending.is_some();
        if submit(ui, "Enable port", busy, blocked_reason(cx.connected(), invalid)) {
            let what = describe(&request);
            send(&mut self.pending, ui.ctx(), cx, fx, what, move |f| f.enable(&request));
        }
        if let Some(feedback) = &self.feedback {
            feedback.ui(ui);
        }
    }
}

/// "Forwarded 203.0.113.7:18080/TCP to 192.168.1.20:8080 (lease 1h 00m 00s)."
fn forwarded_text(enabled: &Enabled) -> String {
    let r = &enabled.request;
    let outside = enabled.external_ip.map_or("the router".to_owned(), |ip| ip.to_string());
    format!(
        "Forwarded {outside}:{}/{} to {}:{} ({}).",
        r.external_port,
        r.protocol,
        r.internal_ip,
        r.internal_port,
        if enabled.mapping.lease.is_permanent() {
            "permanent".to_owned()
        } else {
            format!("lease {}", enabled.mapping.lease)
        }
    )
}

/// The request as the log shows it.
fn describe(r: &EnableRequest) -> String {
    format!(
        "enable external port {} → {}:{} {} \"{}\" lease {}",
        r.external_port.map_or("auto".to_owned(), |p| p.to_string()),
        r.internal_ip.map_or("this computer".to_owned(), |ip| ip.to_string()),
        r.internal_port.map_or("auto".to_owned(), |p| p.to_string()),
        r.protocol,
        r.description
            .as_ref()
            .map_or(portforward::DEFAULT_DESCRIPTION, |d| d.as_str()),
        r.lease.unwrap_or(portforward::Lease::DEFAULT)
    )
}
