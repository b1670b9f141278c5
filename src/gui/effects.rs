//! What a view's finished work means for the rest of the window, as typed values: a view
//! pushes them while it draws, the app applies them once a frame (after every view has been
//! drawn), so no view reaches into another's state.

use portforward::{Enabled, Mapping};

use super::forms::Feedback;
use super::header::Connection;
use super::log::Level;
use super::removal::Confirm;

/// One consequence of something a view did.
pub enum Effect {
    /// A line for the log panel (and file).
    Log(Level, String),
    /// Use this gateway from now on.
    UseGateway(Connection),
    /// The router's table changed: read it again.
    TableChanged,
    /// This window created (or renewed) a mapping: removed on exit if asked, kept with its lease.
    Created(Enabled),
    /// These mappings were removed on purpose: Undo can restore them, keep-alive lets them go.
    Removed(Vec<Mapping>),
    /// Ask the user before removing these mappings.
    Confirm(Confirm),
    /// A message about the table, shown above it.
    Status(Feedback),
    /// The report of a removal asked from the disable-all form, shown under it.
    DisableAllReport(Feedback),
    /// The NAT-PMP/PCP mappings made here changed.
    PortControlChanged,
    /// The saved presets changed (written by another view).
    PresetsSaved(portforward::services::presets::PresetStore),
}

/// The effects pushed during one frame.
#[derive(Default)]
pub struct Effects(Vec<Effect>);

impl Effects {
    /// Adds one.
    pub fn push(&mut self, effect: Effect) {
        self.0.push(effect);
    }

    /// Adds a log line.
    pub fn log(&mut self, level: Level, text: impl Into<String>) {
        self.0.push(Effect::Log(level, text.into()));
    }

    /// Logs an error and returns it as a message for the view.
    pub fn failed(&mut self, text: impl Into<String>) -> Feedback {
        let text = text.into();
        self.log(Level::Error, text.clone());
        Feedback::error(text)
    }

    /// Takes every effect pushed so far, oldest first.
    pub fn drain(&mut self) -> Vec<Effect> {
        std::mem::take(&mut self.0)
    }
}
