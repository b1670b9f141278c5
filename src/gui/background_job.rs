//! The login-time job as the window sees it: which presets are kept forwarded at login (the
//! same registration as `portforward autostart`), and which mappings a running
//! `portforward keep --preset` keeps (from its state file). Both are read off the UI thread
//! every few seconds; the table marks those mappings and the window leaves them to the job.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use portforward::MappingKey;
use portforward::services::autostart::{AutostartFormat, AutostartHome, KeepJob};
use portforward::services::keep_preset::KeepJobState;

use super::pending::Pending;

/// How often the registrations and state files are read again.
const READ_EVERY: Duration = Duration::from_secs(3);

/// What one reading found.
#[derive(Debug, Default)]
struct Reading {
    registered: BTreeSet<String>,
    kept: BTreeMap<MappingKey, String>,
}

/// The registrations and the running jobs' mappings.
pub struct BackgroundJobs {
    home: Option<AutostartHome>,
    data_dir: Option<PathBuf>,
    latest: Reading,
    reading: Option<Pending<Reading>>,
    next_read: Instant,
}

impl Default for BackgroundJobs {
    /// The current user's registrations (`$PORTFORWARD_HOME` when set) and the platform's data
    /// directory.
    fn default() -> BackgroundJobs {
        BackgroundJobs {
            home: AutostartHome::for_current_user(),
            data_dir: portforward::store::data_dir(),
            latest: Reading::default(),
            reading: None,
            next_read: Instant::now(),
        }
    }
}

impl BackgroundJobs {
    /// Registrations under `home`, state files under `data_dir` (tests).
    #[cfg(test)]
    pub fn at(home: &std::path::Path, data_dir: &std::path::Path) -> BackgroundJobs {
        BackgroundJobs {
            home: Some(AutostartHome::new(home)),
            data_dir: Some(data_dir.to_path_buf()),
            ..BackgroundJobs::default()
        }
    }

    /// Takes a finished reading and starts the next one when it is due.
    pub fn poll(&mut self, ctx: &egui::Context) {
        if let Some(done) = self.reading.as_mut().and_then(Pending::poll) {
            self.reading = None;
            if let Ok(reading) = done {
                self.latest = reading;
            }
        }
        if self.reading.is_none() && Instant::now() >= self.next_read {
            self.next_read = Instant::now() + READ_EVERY;
            let (home, data_dir) = (self.home.clone(), self.data_dir.clone());
            self.reading = Some(Pending::spawn(ctx, "read the login-time jobs", move || Reading {
                registered: home
                    .and_then(|h| h.status().ok())
                    .map(|found| found.into_iter().map(|r| r.preset).collect())
                    .unwrap_or_default(),
                kept: data_dir.map(|d| KeepJobState::kept_keys(&d)).unwrap_or_default(),
            }));
        }
    }

    /// The mappings running jobs keep, with the preset of each.
    pub fn kept(&self) -> &BTreeMap<MappingKey, String> {
        &self.latest.kept
    }

    /// The preset whose job keeps this mapping, if a job keeps it.
    pub fn kept_by(&self, key: &MappingKey) -> Option<&str> {
        self.latest.kept.get(key).map(String::as_str)
    }

    /// Whether `preset` is kept forwarded at login.
    pub fn is_registered(&self, preset: &str) -> bool {
        self.latest.registered.contains(preset)
    }

    /// Registers or unregisters `preset`'s login-time job; returns what to log.
    pub fn set_registered(&mut self, preset: &str, on: bool) -> Result<String, String> {
        let home = self.home.as_ref().ok_or("this system names no home directory")?;
        let result = if on {
            let program = std::env::current_exe().map_err(|e| format!("cannot tell where portforward is: {e}"))?;
            home.enable(AutostartFormat::for_this_system(), &KeepJob::new(program, preset))
                .map(|r| {
                    format!(
                        "\"{preset}\" is kept forwarded from the next login on ({}: {})",
                        r.format,
                        r.path.display()
                    )
                })
        } else {
            home.disable(preset)
                .map(|_| format!("\"{preset}\" is no longer kept forwarded at login"))
        };
        let message = result.map_err(|e| e.to_string())?;
        if on {
            self.latest.registered.insert(preset.to_owned());
        } else {
            self.latest.registered.remove(preset);
        }
        Ok(message)
    }
}
