//! Removing mappings the user picked (the selection, the stale rows, a disable-all preview):
//! a confirmation that lists exactly which mappings go, then the removal in the background,
//! row by row, with a report.

use std::sync::Arc;

use portforward::{BulkReport, Mapping, PortForwarder};

use super::effects::{Effect, Effects};
use super::forms::disable_all::report_feedback;
use super::log::Level;
use super::pending::Pending;
use super::table::plural;

/// Which mappings a confirmation is about, and where its result goes.
pub struct Confirm {
    /// Exactly what would be removed.
    pub mappings: Vec<Mapping>,
    /// From the disable-all form (else: the table's selection or the stale rows).
    pub from_form: bool,
}

/// The confirmation waiting for a yes, and the removal in flight.
#[derive(Default)]
pub struct Removal {
    confirm: Option<Confirm>,
    /// The removal in flight, and whether it came from the disable-all form.
    pending: Option<(Pending<BulkReport>, bool)>,
}

impl Removal {
    /// Asks before removing `confirm.mappings` (nothing is asked for an empty list).
    pub fn ask(&mut self, confirm: Confirm) {
        if !confirm.mappings.is_empty() {
            self.confirm = Some(confirm);
        }
    }

    /// Whether a confirmation is open.
    pub fn asking(&self) -> bool {
        self.confirm.is_some()
    }

    /// Whether a removal is in flight.
    pub fn busy(&self) -> bool {
        self.pending.is_some()
    }

    /// Takes a finished removal: the report goes where the removal was asked from.
    pub fn poll(&mut self, fx: &mut Effects) {
        let Some((pending, from_form)) = &mut self.pending else {
            return;
        };
        let from_form = *from_form;
        let Some(result) = pending.poll() else {
            return;
        };
        self.pending = None;
        let feedback = match result {
            Ok(report) => {
                for (mapping, reason) in &report.failed {
                    fx.log(Level::Error, format!("refused removing {mapping}: {reason}"));
                }
                fx.log(Level::Ok, format!("removed {}", plural(report.done.len(), "mapping")));
                let feedback = report_feedback(&report, "Removed");
                if !report.done.is_empty() {
                    fx.push(Effect::Removed(report.done));
                }
                fx.push(Effect::TableChanged);
                feedback
            }
            Err(crash) => fx.failed(format!("internal error: {crash}")),
        };
        fx.push(if from_form {
            Effect::DisableAllReport(feedback)
        } else {
            Effect::Status(feedback)
        });
    }

    /// Draws the confirmation, if one is open; a yes starts the removal.
    pub fn ui(&mut self, ctx: &egui::Context, forwarder: Option<&Arc<PortForwarder>>, fx: &mut Effects) {
        let Some(confirm) = self.confirm.as_ref() else {
            return;
        };
        let mut decision = None;
        let modal = egui::Modal::new(egui::Id::unique("confirm removal")).show(ctx, |ui| {
            ui.set_max_width(620.0);
            ui.heading(format!("Remove {}?", plural(confirm.mappings.len(), "mapping")));
            ui.label("These mappings will be removed from the router:");
            let row_height = ui.text_style_height(&egui::TextStyle::Monospace);
            egui::ScrollArea::vertical().max_height(320.0).show_rows(
                ui,
                row_height,
                confirm.mappings.len(),
                |ui, range| {
                    for mapping in &confirm.mappings[range] {
                        ui.monospace(mapping.to_string());
                    }
                },
            );
            ui.weak("Other programs may rely on their mappings. Undo can re-create what is removed.");
            ui.horizontal(|ui| {
                let remove = egui::Button::new(
                    egui::RichText::new(format!("Remove {}", plural(confirm.mappings.len(), "mapping")))
                        .color(ui.visuals().error_fg_color),
                );
                if ui.add(remove).clicked() {
                    decision = Some(true);
                }
                if ui.button("Cancel").clicked() {
                    decision = Some(false);
                }
            });
        });
        if modal.should_close() && decision.is_none() {
            decision = Some(false);
        }
        let Some(yes) = decision else {
            return;
        };
        let Some(confirm) = self.confirm.take() else {
            return;
        };
        if !yes {
            fx.log(Level::Request, "removal cancelled");
            return;
        }
        let Some(forwarder) = forwarder.cloned() else {
            return;
        };
        if self.pending.is_some() {
            return;
        }
        fx.log(
            Level::Request,
            format!("remove {}", plural(confirm.mappings.len(), "mapping")),
        );
        let mappings = confirm.mappings;
        let pending = Pending::spawn(ctx, "removal", move || forwarder.remove_mappings(&mappings));
        self.pending = Some((pending, confirm.from_form));
    }
}
