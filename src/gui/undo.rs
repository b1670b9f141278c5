//! Undo: the batches of mappings removed in this session, newest last, and the toolbar
//! button that re-creates the newest batch in the background.

use std::sync::Arc;

use portforward::{BulkReport, Mapping, PortForwarder};

use super::effects::{Effect, Effects};
use super::forms::disable_all::report_feedback;
use super::log::Level;
use super::pending::Pending;
use super::table::plural;

/// Removed mappings, and the restore in flight.
#[derive(Default)]
pub struct Undo {
    /// Batches of removed mappings, newest last.
    batches: Vec<Vec<Mapping>>,
    /// The batch being restored (put back if nothing comes back) and its work.
    restoring: Option<(Vec<Mapping>, Pending<BulkReport>)>,
}

impl Undo {
    /// Remembers a batch of removed mappings.
    pub fn push(&mut self, batch: Vec<Mapping>) {
        if !batch.is_empty() {
            self.batches.push(batch);
        }
    }

    /// Takes a finished restore.
    pub fn poll(&mut self, fx: &mut Effects) {
        let Some((_, pending)) = &mut self.restoring else {
            return;
        };
        let Some(result) = pending.poll() else {
            return;
        };
        let Some((batch, _)) = self.restoring.take() else {
            return;
        };
        let feedback = match result {
            Ok(report) => {
                for (mapping, reason) in &report.failed {
                    fx.log(Level::Error, format!("could not restore {mapping}: {reason}"));
                }
                fx.log(Level::Ok, format!("restored {}", plural(report.done.len(), "mapping")));
                if report.done.is_empty() {
                    // Nothing came back: keep the batch so the user can try again.
                    self.batches.push(batch);
                }
                fx.push(Effect::TableChanged);
                report_feedback(&report, "Restored")
            }
            Err(crash) => fx.failed(format!("internal error: {crash}")),
        };
        fx.push(Effect::Status(feedback));
    }

    /// The toolbar's "Undo: restore N mappings" button, when there is something to undo.
    pub fn button(&mut self, ui: &mut egui::Ui, forwarder: Option<&Arc<PortForwarder>>, fx: &mut Effects) {
        let Some(batch) = self.batches.last() else {
            return;
        };
        let busy = self.restoring.is_some();
        let text = format!("Undo: restore {}", plural(batch.len(), "mapping"));
        let hover: Vec<String> = batch.iter().map(ToString::to_string).collect();
        let clicked = ui
            .add_enabled(!busy && forwarder.is_some(), egui::Button::new(text))
            .on_hover_text(hover.join("\n"))
            .clicked();
        if clicked
            && let Some(forwarder) = forwarder.cloned()
            && let Some(batch) = self.batches.pop()
        {
            fx.log(
                Level::Request,
                format!("undo: restore {}", plural(batch.len(), "mapping")),
            );
            let mappings = batch.clone();
            let pending = Pending::spawn(ui.ctx(), "undo", move || forwarder.restore_mappings(&mappings));
            self.restoring = Some((batch, pending));
        }
        if busy {
            ui.spinner();
        }
    }
}
