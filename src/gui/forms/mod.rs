//! The forms: enable, disable, disable all, refresh. Each validates as the user types,
//! names the reason next to the field, and keeps its submit button disabled while anything
//! is invalid or its request is in flight.

pub mod disable;
pub mod disable_all;
pub mod enable;
mod mapping_fields;
pub mod refresh;

use std::net::Ipv4Addr;

use portforward::NewMapping;
use portforward::{InputError, Protocol};

/// What a form needs to know about the rest of the window.
pub struct FormContext<'a> {
    /// Whether a gateway is connected (nothing can be sent otherwise).
    pub connected: bool,
    /// Whether this form's request is in flight.
    pub busy: bool,
    /// This computer's address, shown as the automatic internal client.
    pub local_ip: Option<Ipv4Addr>,
    /// The last mapping enabled in this session (the default of disable and refresh).
    pub last_enable: Option<&'a NewMapping>,
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
