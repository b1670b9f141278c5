//! Refresh: renew a mapping's lease in place, from the selection or the last enable.

use portforward::{EnableRequest, Enabled, Error, Lease, Mapping};

use super::mapping_fields::{Hints, MappingFields};
use super::{Feedback, FormContext, blocked_reason, changed, send, submit};
use crate::gui::effects::{Effect, Effects};
use crate::gui::log::Level;
use crate::gui::pending::{Pending, take};

/// The refresh form's state.
#[derive(Default)]
pub struct RefreshForm {
    fields: MappingFields,
    pending: Option<Pending<Result<Enabled, Error>>>,
    /// The last result.
    pub feedback: Option<Feedback>,
}

impl RefreshForm {
    /// Fills the form from a mapping (the selection). A permanent mapping is renewed with the
    /// default lease: a router reporting 0 left may mean "permanent" or "unknown".
    pub fn prefill(&mut self, mapping: &Mapping) {
        self.fields.fill(mapping, mapping.lease);
    }

    /// Takes a finished renewal. `shown`: the form is on screen; if not (the renewal came from
    /// the table's menu), the result is shown above the table too.
    pub fn poll(&mut self, shown: bool, fx: &mut Effects) {
        let Some(result) = take(&mut self.pending) else {
            return;
        };
        if let Err(crash) = &result {
            self.feedback = Some(fx.failed(format!("internal error: {crash}")));
            return;
        }
        let feedback = changed(result, fx, |enabled, fx| {
            let text = format!(
                "Renewed {}/{}: {}.",
                enabled.request.external_port,
                enabled.request.protocol,
                if enabled.mapping.lease.is_permanent() {
                    "permanent".to_owned()
                } else {
                    format!("{} left", enabled.mapping.lease)
                }
            );
            fx.log(Level::Ok, text.clone());
            text
        });
        self.feedback = Some(feedback.clone());
        if !shown {
            fx.push(Effect::Status(feedback));
        }
    }

    /// Renews `mapping` as the table's menu asks, filling the form with it.
    pub fn renew(&mut self, ctx: &egui::Context, mapping: &Mapping, cx: &FormContext<'_>, fx: &mut Effects) {
        let request = self.request_for(mapping);
        self.start(ctx, Some(request), cx, fx);
    }

    fn start(&mut self, ctx: &egui::Context, request: Option<EnableRequest>, cx: &FormContext<'_>, fx: &mut Effects) {
        let what = match &request {
            Some(r) => format!(
                "refresh {}/{}",
                r.external_port.map_or("last".to_owned(), |p| p.to_string()),
                r.protocol
            ),
            None => "refresh the last enabled mapping".to_owned(),
        };
        send(&mut self.pending, ctx, cx, fx, what, move |f| {
            f.refresh(request.as_ref())
        });
    }

    /// The request for a mapping, as the context menu sends it directly.
    fn request_for(&mut self, mapping: &Mapping) -> EnableRequest {
        self.prefill(mapping);
        EnableRequest {
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
        }
    }

    /// Draws the form; a click sends the renewal.
    pub fn ui(&mut self, ui: &mut egui::Ui, cx: &FormContext<'_>, fx: &mut Effects) {
        let last = cx.last_enable.as_ref();
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
        let blocked = if request.external_port.is_none() && last.is_none() && !invalid && cx.connected() {
            Some("enter the external port (nothing was enabled in this session)")
        } else {
            blocked_reason(cx.connected(), invalid)
        };
        // With nothing typed, renew the last enable exactly as it was made.
        let last_as_is = all_empty && last.is_some_and(|l| l.protocol == protocol);
        if submit(ui, "Refresh lease", self.pending.is_some(), blocked) {
            self.start(ui.ctx(), (!last_as_is).then_some(request), cx, fx);
        }
        if let Some(feedback) = &self.feedback {
            feedback.ui(ui);
        }
    }
}
