//! The fields of a mapping as the user types them: shared by the Enable and Refresh forms,
//! which differ only in what an empty field means (their hints).

use std::net::Ipv4Addr;

use portforward::{Description, EnableRequest, Lease, Mapping, Port, Protocol, parse_internal_ip};

use super::{field, protocol_field, valid};

/// The text in each field, as typed.
#[derive(Default)]
pub struct MappingFields {
    external_port: String,
    internal_ip: String,
    internal_port: String,
    protocol: Protocol,
    description: String,
    lease: String,
}

/// What an empty field means, shown as its hint.
pub struct Hints<'a> {
    /// The external port's hint.
    pub external_port: &'a str,
    /// The internal IP's hint.
    pub internal_ip: &'a str,
    /// The internal port's hint, given the internal IP typed so far.
    pub internal_port: &'a dyn Fn(Option<Ipv4Addr>) -> String,
    /// The description's hint.
    pub description: &'a str,
}

impl MappingFields {
    /// Fills the fields from a mapping; `lease` is the lease to renew with.
    pub fn fill(&mut self, mapping: &Mapping, lease: Lease) {
        self.external_port = mapping.external_port.to_string();
        self.internal_ip = mapping.internal_client.clone();
        self.internal_port = mapping.internal_port.to_string();
        self.protocol = mapping.protocol;
        self.description = mapping.description.to_string();
        self.lease = lease.as_secs().to_string();
    }

    /// The protocol chosen.
    pub fn protocol(&self) -> Protocol {
        self.protocol
    }

    /// Draws the fields in a grid; returns what they say and whether any is invalid.
    pub fn ui(&mut self, ui: &mut egui::Ui, grid: &str, hints: &Hints<'_>) -> (EnableRequest, bool) {
        let mut invalid = false;
        let mut request = EnableRequest::default();
        egui::Grid::new(grid).num_columns(2).show(ui, |ui| {
            request.external_port = valid(
                &mut invalid,
                field(ui, "External port", &mut self.external_port, hints.external_port, |t| {
                    Port::parse_field("external port", t)
                }),
            );
            request.internal_ip = valid(
                &mut invalid,
                field(ui, "Internal IP", &mut self.internal_ip, hints.internal_ip, |t| {
                    parse_internal_ip("internal ip", t)
                }),
            );
            let internal_port_hint = (hints.internal_port)(request.internal_ip);
            request.internal_port = valid(
                &mut invalid,
                field(ui, "Internal port", &mut self.internal_port, &internal_port_hint, |t| {
                    Port::parse_field("internal port", t)
                }),
            );
            protocol_field(ui, &mut self.protocol);
            request.description = valid(
                &mut invalid,
                field(ui, "Description", &mut self.description, hints.description, |t| {
                    Description::parse_field("description", t)
                }),
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
        (request, invalid)
    }
}
