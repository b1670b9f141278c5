//! The header: which gateway, its addresses and state, and what to do when there is none.

use std::net::Ipv4Addr;
use std::sync::Arc;

use egui::RichText;
use portforward::upnp::ConnectionStatus;
use portforward::{ExternalReachability, PortForwarder};

/// Where the window stands with the gateway.
pub enum Link {
    /// Discovery is running.
    Searching,
    /// Connecting to a URL.
    Connecting(String),
    /// Nothing usable: the message says why and what to do.
    NotFound(String),
    /// Several gateways answered; the user picks one.
    Choosing,
    /// Working with this gateway.
    Connected(Arc<PortForwarder>),
}

/// What the user asked of the header.
pub enum HeaderAction {
    /// Search again.
    Retry,
    /// Connect to this description URL.
    Connect(String),
    /// Use this one of the gateways found.
    Use(Arc<PortForwarder>),
}

/// The header's state.
pub struct Header {
    /// The gateway link.
    pub link: Link,
    /// Every gateway discovery found (for the chooser).
    pub found: Vec<Arc<PortForwarder>>,
    /// The router's external address, once read (an error message when reading failed).
    pub external_ip: Option<Result<Option<Ipv4Addr>, String>>,
    /// The WAN connection's status, once read.
    pub status: Option<Result<ConnectionStatus, String>>,
    /// The "Gateway URL" field.
    pub url_text: String,
    /// The discovery bound, to tell the user how long the search can take.
    pub search_secs: f32,
    /// Running against the built-in simulated router.
    pub demo: bool,
}

impl Header {
    /// The gateway in use, if any.
    pub fn forwarder(&self) -> Option<&Arc<PortForwarder>> {
        match &self.link {
            Link::Connected(f) => Some(f),
            _ => None,
        }
    }

    /// Draws the header; returns what the user asked for.
    pub fn ui(&mut self, ui: &mut egui::Ui) -> Option<HeaderAction> {
        let mut action = None;
        ui.horizontal(|ui| {
            ui.heading("PortForward");
            if self.demo {
                ui.label(
                    RichText::new(" DEMO ")
                        .strong()
                        .color(egui::Color32::BLACK)
                        .background_color(egui::Color32::from_rgb(255, 200, 0)),
                )
                .on_hover_text("a simulated router on this computer: nothing here touches your network");
            }
            if self.found.len() > 1 {
                action = action.take().or(self.chooser(ui));
            }
        });
        match &self.link {
            Link::Searching => {
                ui.horizontal(|ui| {
                    ui.spinner();
                    ui.label(format!(
                        "Searching for UPnP gateways… (at most {:.0} s)",
                        self.search_secs
                    ));
                });
            }
            Link::Connecting(url) => {
                ui.horizontal(|ui| {
                    ui.spinner();
                    ui.label(format!("Connecting to {url}…"));
                });
            }
            Link::NotFound(reason) => {
                ui.colored_label(ui.visuals().error_fg_color, format!("No gateway: {reason}"));
                ui.horizontal(|ui| {
                    if ui.button("Retry").on_hover_text("search the network again").clicked() {
                        action = Some(HeaderAction::Retry);
                    }
                    let label = ui.label("Gateway URL");
                    let edit = ui.add(
                        egui::TextEdit::singleline(&mut self.url_text)
                            .hint_text("http://192.168.1.1:5000/rootDesc.xml")
                            .desired_width(320.0),
                    );
                    let edit = edit.labelled_by(label.id);
                    let url = self.url_text.trim().to_owned();
                    let entered = edit.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
                    if (ui.add_enabled(!url.is_empty(), egui::Button::new("Connect")).clicked() || entered)
                        && !url.is_empty()
                    {
                        action = Some(HeaderAction::Connect(url));
                    }
                });
            }
            Link::Choosing => {
                ui.label(format!("{} gateways answered: choose one above.", self.found.len()));
            }
            Link::Connected(forwarder) => self.connected_ui(ui, &forwarder.clone()),
        }
        action
    }

    fn chooser(&self, ui: &mut egui::Ui) -> Option<HeaderAction> {
        let current = self.forwarder().map(|f| f.gateway().description_url().to_owned());
        let mut chosen = None;
        let label = ui.label("Router:");
        egui::ComboBox::from_id_salt("gateway chooser")
            .selected_text(current.as_deref().unwrap_or("choose a gateway"))
            .width(360.0)
            .show_ui(ui, |ui| {
                for f in &self.found {
                    let d = f.gateway().description();
                    let url = f.gateway().description_url();
                    let text = format!("{} ({}, {}) — {url}", d.friendly_name, d.model_name, d.igd_version);
                    if ui.selectable_label(current.as_deref() == Some(url), text).clicked() {
                        chosen = Some(HeaderAction::Use(f.clone()));
                    }
                }
            })
            .response
            .labelled_by(label.id);
        chosen
    }

    fn connected_ui(&self, ui: &mut egui::Ui, forwarder: &PortForwarder) {
        let gateway = forwarder.gateway();
        let d = gateway.description();
        ui.horizontal_wrapped(|ui| {
            ui.label("Gateway:");
            ui.strong(&d.friendly_name);
            ui.label(format!("— {} {} · {}", d.manufacturer, d.model_name, d.igd_version));
            ui.weak(gateway.description_url());
            ui.separator();
            match &self.status {
                None => {
                    ui.spinner();
                }
                Some(Ok(status)) => {
                    ui.label(format!(
                        "Status: {}{}",
                        status.status,
                        if status.uptime_secs > 0 {
                            format!(
                                " (up {})",
                                portforward::Lease::from_router(status.uptime_secs.min(u32::MAX.into()) as u32)
                            )
                        } else {
                            String::new()
                        }
                    ));
                }
                Some(Err(err)) => {
                    ui.weak("Status: unknown").on_hover_text(err);
                }
            }
        });
        ui.horizontal_wrapped(|ui| {
            ui.label("External IP:");
            match &self.external_ip {
                None => {
                    ui.spinner();
                }
                Some(Ok(Some(ip))) => {
                    ui.monospace(ip.to_string());
                    if ui.small_button("Copy").on_hover_text("copy the external IP").clicked() {
                        ui.ctx().copy_text(ip.to_string());
                    }
                }
                Some(Ok(None)) => {
                    ui.weak("none");
                }
                Some(Err(err)) => {
                    ui.colored_label(ui.visuals().error_fg_color, "unreadable")
                        .on_hover_text(err);
                }
            }
            ui.separator();
            ui.label("Local IP:");
            let local = forwarder.local_address();
            ui.monospace(local.ip.to_string());
            if let Some(interface) = &local.interface {
                ui.weak(format!("({interface})"));
            }
            if ui.small_button("Copy").on_hover_text("copy the local IP").clicked() {
                ui.ctx().copy_text(local.ip.to_string());
            }
        });
        if let Some(Ok(ip)) = &self.external_ip
            && let Some(warning) = ExternalReachability::of(*ip).warning()
        {
            egui::Frame::new()
                .fill(ui.visuals().warn_fg_color.gamma_multiply(0.15))
                .inner_margin(4.0)
                .corner_radius(4.0)
                .show(ui, |ui| {
                    ui.colored_label(
                        ui.visuals().warn_fg_color,
                        format!("⚠ Forwards will not work from outside: {warning}."),
                    );
                });
        }
    }
}
