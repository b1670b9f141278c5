//! The log panel: every request and its result, also appended to a log file in the platform's
//! data directory (never the working directory, which may be anywhere), each line stamped
//! with its RFC 3339 UTC time to the millisecond (the panel shows the time of day).
//!
//! The file is written by one writer at a time, on a worker ([`Pending`]): lines wait in
//! memory while a write is in flight and go out together with the next one, in order. The
//! UI thread never touches the file.

use std::fs::OpenOptions;
use std::io::Write;
use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::pending::{Pending, take};

/// How an entry reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// A request sent.
    Request,
    /// It worked.
    Ok,
    /// Worth knowing.
    Warning,
    /// It failed.
    Error,
}

/// One line of the log.
#[derive(Debug, Clone)]
pub struct Entry {
    /// UTC time of day, `HH:MM:SS`.
    pub time: String,
    /// Its kind.
    pub level: Level,
    /// What happened.
    pub text: String,
}

/// The log: kept in memory for the panel and written through to the file.
#[derive(Default)]
pub struct Log {
    /// Every entry, oldest first.
    pub entries: Vec<Entry>,
    /// Where the file is, shown to the user (`None` once it cannot be written).
    pub path: Option<PathBuf>,
    /// Lines not handed to a writer yet.
    unwritten: Vec<String>,
    /// The write in flight: how it went.
    writing: Option<Pending<std::io::Result<()>>>,
}

/// The log file's default place: e.g. `~/.local/share/portforward/portforward.log` on Linux.
pub fn default_path() -> Option<PathBuf> {
    directories::ProjectDirs::from("", "", "portforward").map(|dirs| dirs.data_dir().join("portforward.log"))
}

impl Log {
    /// A log writing to `path` (in memory only when `None` or once the file cannot be written).
    pub fn new(path: Option<PathBuf>) -> Log {
        Log { path, ..Log::default() }
    }

    /// Adds an entry.
    pub fn push(&mut self, level: Level, text: impl Into<String>) {
        let text = text.into();
        let at = SystemTime::now();
        let now = at.duration_since(UNIX_EPOCH).unwrap_or_default().as_secs();
        let time = format!("{:02}:{:02}:{:02}", now / 3600 % 24, now / 60 % 60, now % 60);
        if self.path.is_some() {
            let tag = match level {
                Level::Request => "request",
                Level::Ok => "ok",
                Level::Warning => "warning",
                Level::Error => "error",
            };
            // RFC 3339, UTC, milliseconds: a run can be timed from the file.
            let stamp = humantime::format_rfc3339_millis(at);
            self.unwritten.push(format!("{stamp} {tag}: {text}\n"));
        }
        self.entries.push(Entry { time, level, text });
    }

    /// Once a frame: takes the finished write and hands the waiting lines to a new one.
    pub fn flush(&mut self, ctx: &egui::Context) {
        if let Some(result) = take(&mut self.writing) {
            let failure = match result {
                Ok(Ok(())) => None,
                Ok(Err(err)) => Some(err.to_string()),
                Err(crash) => Some(crash),
            };
            if let Some(err) = failure {
                // A full disk must not stop the window; the entries still show in the panel.
                tracing::warn!(%err, "cannot write the log file; the log stays in the window");
                self.path = None;
                self.unwritten.clear();
            }
        }
        if self.writing.is_some() || self.unwritten.is_empty() {
            return;
        }
        let Some(path) = self.path.clone() else {
            return;
        };
        let lines = std::mem::take(&mut self.unwritten).concat();
        self.writing = Some(Pending::spawn(ctx, "log", move || {
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir)?;
            }
            OpenOptions::new()
                .create(true)
                .append(true)
                .open(&path)?
                .write_all(lines.as_bytes())
        }));
    }

    /// On closing: writes what is left, waiting at most `deadline` for the disk.
    pub fn flush_before_exit(&mut self, ctx: &egui::Context, deadline: Duration) {
        if let Some(writing) = self.writing.take() {
            let _ = writing.wait(deadline);
        }
        self.flush(ctx);
        if let Some(writing) = self.writing.take() {
            let _ = writing.wait(deadline);
        }
    }

    /// Draws the panel: only the visible lines, newest at the bottom.
    pub fn ui(&self, ui: &mut egui::Ui) {
        ui.horizontal(|ui| {
            ui.strong("Log");
            if let Some(path) = &self.path {
                ui.weak(format!("(also in {})", path.display()));
            }
        });
        let row_height = ui.text_style_height(&egui::TextStyle::Monospace);
        egui::ScrollArea::vertical()
            .auto_shrink([false, false])
            .stick_to_bottom(true)
            .show_rows(ui, row_height, self.entries.len(), |ui, range| {
                for entry in &self.entries[range] {
                    let (mark, color) = match entry.level {
                        Level::Request => ("→", ui.visuals().weak_text_color()),
                        Level::Ok => ("✔", ui.visuals().text_color()),
                        Level::Warning => ("⚠", ui.visuals().warn_fg_color),
                        Level::Error => ("✖", ui.visuals().error_fg_color),
                    };
                    ui.label(
                        egui::RichText::new(format!("{} UTC {mark} {}", entry.time, entry.text))
                            .monospace()
                            .color(color),
                    );
                }
            });
    }
}
