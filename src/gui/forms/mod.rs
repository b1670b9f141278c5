//! The forms: enable, disable, disable all, refresh. Each validates as the user types,
//! names the reason next to the field, and keeps its submit button disabled while anything
//! is invalid or its request is in flight. Each owns its request in flight ([`Pending`]),
//! takes the result in its `poll` (every frame, shown or not) and tells the rest of the
//! window what changed through [`Effects`].

pub mod disable;
pub mod disable_all;
pub mod enable;
mod mapping_fields;
pub mod refresh;

use std::net::Ipv4Addr;
use std::sync::Arc;

use portforward::{InputError, NewMapping, PortForwarder, Protocol};

use super::effects::{Effect, Effects};
use super::log::Level;
use super::pending::Pending;

/// What a form needs to know about the rest of the window.
pub struct FormContext<'a> {
    /// The connected gateway (nothing can be sent without one).
    pub forwarder: Option<&'a Arc<PortForwarder>>,
    /// The last mapping enabled in this session (the default of disable and refresh), as the
    /// library remembers it.
    pub last_enable: Option<NewMapping>,
}

impl<'a> FormContext<'a> {
    /// The context over `forwarder`, with the last enable the library remembers for it.
    pub fn of(forwarder: Option<&'a Arc<PortForwarder>>) -> FormContext<'a> {
        FormContext {
            forwarder,
            last_enable: forwarder.and_then(|f| f.last_enable()),
        }
    }

    /// Whether a gateway is connected.
    pub fn connected(&self) -> bool {
        self.forwarder.is_some()
    }

    /// This computer's address, shown as the automatic internal client.
    pub fn local_ip(&self) -> Option<Ipv4Addr> {
        self.forwarder.map(|f| f.local_ip())
    }
}

/// Sends a form's request: logs `what` and runs `work` on the gateway in the background,
/// unless the form's request is already in flight (no double submits) or nothing is connected.
pub fn send<T: Send + 'static>(
    slot: &mut Option<Pending<T>>,
    ctx: &egui::Context,
    cx: &FormContext<'_>,
    fx: &mut Effects,
    what: String,
    work: impl FnOnce(&PortForwarder) -> T + Send + 'static,
) {
    let Some(forwarder) = cx.forwarder.cloned() else {
        return;
    };
    if slot.is_some() {
        return;
    }
    fx.log(Level::Request, what);
    *slot = Some(Pending::spawn(ctx, "form", move || work(&forwarder)));
}

/// A request's result, as a short message under its form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Feedback {
    /// It worked.
    pub ok: bool,
    /// What happened (and, for errors, what to do).
    pub text: String,
}

impl Feedback {
    /// A success.
    pub fn ok(text: impl Into<String>) -> Feedback {
        Feedback {
            ok: true,
            text: text.into(),
        }
    }

    /// A failure.
    pub fn error(text: impl Into<String>) -> Feedback {
        Feedback {
            ok: false,
            text: text.into(),
        }
    }

    /// Draws it.
    pub fn ui(&self, ui: &mut egui::Ui) {
        let (mark, color) = if self.ok {
            ("✔", egui::Color32::from_rgb(90, 170, 90))
        } else {
            ("✖", ui.visuals().error_fg_color)
        };
        ui.add(egui::Label::new(egui::RichText::new(format!("{mark} {}", self.text)).color(color)).wrap());
    }
}

/// A text field in a two-column grid: label, edit box, and under it the reason the text is
/// invalid. Empty text is `Ok(None)` (the automatic choice, shown as the hint).
pub fn field<T>(
    ui: &mut egui::Ui,
    label: &str,
    text: &mut String,
    hint: &str,
    parse: impl Fn(&str) -> Result<T, InputError>,
) -> Result<Option<T>, InputError> {
    let label = ui.label(label);
    ui.add(egui::TextEdit::singleline(text).hint_text(hint).desired_width(200.0))
        .labelled_by(label.id);
    ui.end_row();
    let parsed = if text.trim().is_empty() {
        Ok(None)
    } else {
        parse(text).map(Some)
    };
    if let Err(err) = &parsed {
        ui.label("");
        ui.add(
            egui::Label::new(
                egui::RichText::new(&err.reason)
                    .color(ui.visuals().error_fg_color)
                    .small(),
            )
            .wrap(),
        );
        ui.end_row();
    }
    parsed
}

/// A finished request of a form that changes the router, as the message under the form: on
/// success `done` says what happened; either way the table is read again (it shows what the
/// router really did); a crashed worker is said as such.
pub fn changed<T>(
    result: Result<Result<T, portforward::Error>, String>,
    fx: &mut Effects,
    done: impl FnOnce(T, &mut Effects) -> String,
) -> Feedback {
    match result {
        Ok(Ok(value)) => {
            let text = done(value, fx);
            fx.push(Effect::TableChanged);
            Feedback::ok(text)
        }
        Ok(Err(err)) => {
            fx.push(Effect::TableChanged);
            fx.failed(err.to_string())
        }
        Err(crash) => fx.failed(format!("internal error: {crash}")),
    }
}

/// TCP / UDP radio buttons in the grid.
pub fn protocol_field(ui: &mut egui::Ui, protocol: &mut Protocol) {
    ui.label("Protocol");
    ui.horizontal(|ui| {
        for p in Protocol::ALL {
            ui.radio_value(protocol, p, p.as_str());
        }
    });
    ui.end_row();
}

/// The submit button with its spinner; `blocked` says why it is disabled, if it is.
pub fn submit(ui: &mut egui::Ui, text: &str, busy: bool, blocked: Option<&str>) -> bool {
    let mut clicked = false;
    ui.horizontal(|ui| {
        let response = ui.add_enabled(blocked.is_none() && !busy, egui::Button::new(text));
        clicked = response.clicked();
        if busy {
            ui.spinner();
            ui.weak("waiting for the router…");
        } else if let Some(reason) = blocked {
            ui.add(egui::Label::new(egui::RichText::new(reason).weak().small()).wrap());
        }
    });
    clicked
}

/// Why a form cannot be sent: the first problem found.
pub fn blocked_reason(connected: bool, invalid: bool) -> Option<&'static str> {
    if !connected {
        Some("connect to a gateway first")
    } else if invalid {
        Some("fix the fields marked in red")
    } else {
        None
    }
}

/// A field's value; marks the form invalid when the field is.
pub fn valid<T>(invalid: &mut bool, parsed: Result<Option<T>, InputError>) -> Option<T> {
    parsed.inspect_err(|_| *invalid = true).ok().flatten()
}
