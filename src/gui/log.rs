//! The log panel: every request and its result, also appended to a log file in the platform's
//! data directory (never the working directory, which may be anywhere).

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

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
    file: Option<File>,
    /// Where the file is, shown to the user.
    pub path: Option<PathBuf>,
}

/// The log file's default place: e.g. `~/.local/share/portforward/portforward.log` on Linux.
pub fn default_path() -> Option<PathBuf> {
    directories::ProjectDirs::from("", "", "portforward").map(|dirs| dirs.data_dir().join("portforward.log"))
}

impl Log {
    /// A log writing to `path` (in memory only when `None` or when the file cannot be opened).
    pub fn new(path: Option<PathBuf>) -> Log {
        let file = path.as_ref().and_then(|path| {
            let opened = path
                .parent()
                .map_or(Ok(()), std::fs::create_dir_all)
                .and_then(|()| OpenOptions::new().create(true).append(true).open(path));
            opened
                .inspect_err(|err| tracing::warn!(path = %path.display(), %err, "cannot open the log file"))
                .ok()
        });
        Log {
            entries: Vec::new(),
            path: file.as_ref().and(path),
            file,
        }
    }

    /// Adds an entry.
    pub fn push(&mut self, level: Level, text: impl Into<String>) {
        let text = text.into();
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs();
        let time = format!("{:02}:{:02}:{:02}", now / 3600 % 24, now / 60 % 60, now % 60);
        if let Some(file) = &mut self.file {
            let tag = match level {
                Level::Request => "request",
                Level::Ok => "ok",
                Level::Warning => "warning",
                Level::Error => "error",
            };
            // A full disk must not stop the window; the entry still shows in the panel.
            let _ = writeln!(file, "{now} {tag}: {text}");
        }
        self.entries.push(Entry { time, level, text });
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
