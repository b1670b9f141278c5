//! The native file dialog (`rfd`), run on a worker so it never freezes the window. Without a
//! desktop portal (or zenity) rfd answers "nothing chosen" at once, which looks like a cancel:
//! an answer that fast means no dialog was shown, and the user is told to type the path.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use portforward::services::transfer::Format;

use super::pending::Pending;

/// Faster than any person can cancel a dialog: no dialog was shown.
const NO_DIALOG_WITHIN: Duration = Duration::from_millis(300);

/// What the dialog gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Picked {
    /// A file was chosen.
    Path(PathBuf),
    /// The user closed the dialog.
    Cancelled,
    /// No dialog could be shown.
    Unavailable,
}

impl Picked {
    /// A message for the user, when there is something to say.
    pub fn message(&self) -> Option<&'static str> {
        match self {
            Picked::Unavailable => Some("no file dialog available: type the file's path instead"),
            _ => None,
        }
    }
}

/// Which dialog.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// Choose where to write, suggesting `portforward.<ext>`.
    Save(Format),
    /// Choose a JSON or CSV file to read.
    Open,
}

/// Opens the dialog on a worker thread.
pub fn pick(ctx: &egui::Context, purpose: Purpose, suggested_name: String) -> Pending<Picked> {
    Pending::spawn(ctx, "file dialog", move || {
        let started = Instant::now();
        let dialog = rfd::AsyncFileDialog::new();
        let chosen = match purpose {
            Purpose::Save(format) => pollster::block_on(
                dialog
                    .add_filter(format.to_string(), &[format.extension()])
                    .set_file_name(format!("{suggested_name}.{}", format.extension()))
                    .save_file(),
            ),
            Purpose::Open => pollster::block_on(
                dialog
                    .add_filter("JSON or CSV", &["json", "csv"])
                    .add_filter("All files", &["*"])
                    .pick_file(),
            ),
        };
        match chosen {
            Some(file) => Picked::Path(file.path().to_owned()),
            None if started.elapsed() < NO_DIALOG_WITHIN => Picked::Unavailable,
            None => Picked::Cancelled,
        }
    })
}
