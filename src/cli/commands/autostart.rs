//! `autostart enable|disable|status`: the login-time job that keeps a preset
//! forwarded with no window (see `portforward::services::autostart`).

use std::path::PathBuf;
use std::process::ExitCode;

use crate::cli::flags::data_dir;
use crate::cli::output::{self, AutostartEnabled};
use crate::cli::{Args, Out};
use clap::Subcommand;
use portforward::services::autostart::{AutostartFormat, AutostartHome, KeepJob, Registration, unit_name};
use portforward::services::keep_preset::KeepJobState;
use portforward::{Error, InputError};

/// The autostart subcommands.
#[derive(Debug, Subcommand)]
pub enum AutostartCommand {
    /// Run `portforward keep --preset NAME` at each login of this user (no root, no window).
    Enable {
        /// The preset to keep forwarded.
        #[arg(long, value_name = "NAME")]
        preset: String,
        /// How to register it: systemd, xdg, launchd or windows-run (default: this system's).
        #[arg(long, value_name = "FORMAT", value_parser = format)]
        format: Option<AutostartFormat>,
    },
    /// Stop running it at login (a job running now goes on until logout or SIGTERM).
    Disable {
        /// The preset.
        #[arg(long, value_name = "NAME")]
        preset: String,
    },
    /// The presets kept at login, and whether their job runs now.
    Status,
}

fn format(s: &str) -> Result<AutostartFormat, InputError> {
    AutostartFormat::parse(s)
}

/// The registrations' home: `$PORTFORWARD_HOME` (tests) or the user's.
fn home() -> Result<AutostartHome, Error> {
    AutostartHome::for_current_user()
        .ok_or_else(|| InputError::new("home directory", "", "this system names no home directory").into())
}

/// An absolute form of a directory flag: the job runs from another working directory.
fn absolute(dir: &Option<PathBuf>) -> Option<PathBuf> {
    dir.as_ref()
        .map(|d| std::path::absolute(d).unwrap_or_else(|_| d.clone()))
}

/// Runs an autostart subcommand.
pub fn run(args: &Args, out: Out, command: &AutostartCommand) -> Result<ExitCode, Error> {
    let home = home()?;
    match command {
        AutostartCommand::Enable { preset, format } => {
            // The preset must exist where the job will look for it.
            let store = super::preset::store(args)?;
            let name = super::preset::find(&store, preset)?.name.clone();
            let program = std::env::current_exe()
                .map_err(|e| InputError::new("program", "", &format!("cannot tell where portforward is: {e}")))?;
            let job = KeepJob {
                config_dir: absolute(&args.config_dir),
                data_dir: absolute(&args.data_dir),
                gateway: args.gateway.clone(),
                ..KeepJob::new(program, &name)
            };
            let format = format.unwrap_or_else(AutostartFormat::for_this_system);
            let registration = home.enable(format, &job)?;
            register_on_windows(&registration)?;
            out.autostart_enabled(&AutostartEnabled {
                preset: &name,
                format,
                registration: &registration,
                command: job.command(),
                start_now: start_now_hint(&registration),
            });
        }
        AutostartCommand::Disable { preset } => {
            let removed = home.disable(preset)?;
            for registration in &removed {
                unregister_on_windows(registration);
            }
            out.autostart_disabled(preset, &removed);
        }
        AutostartCommand::Status => {
            let data_dir = data_dir(args).ok();
            let registered = home.status()?;
            let running: Vec<KeepJobState> = data_dir.as_deref().map(KeepJobState::read_all).unwrap_or_default();
            out.autostart_status(&registered, &running);
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// How to start the job now rather than at the next login.
fn start_now_hint(registration: &Registration) -> String {
    match registration.format {
        AutostartFormat::SystemdUser => format!(
            "to start it now: systemctl --user daemon-reload && systemctl --user start {}",
            unit_name(&registration.preset)
        ),
        AutostartFormat::LaunchAgent => {
            format!("to start it now: launchctl load {}", registration.path.display())
        }
        AutostartFormat::XdgAutostart | AutostartFormat::WindowsRun => {
            "to start it now, run the command above".to_owned()
        }
    }
}

/// On Windows, the `.reg` file is imported into the user's registry (unless `$PORTFORWARD_HOME`
/// points the registration elsewhere, as tests do).
fn register_on_windows(registration: &Registration) -> Result<(), Error> {
    if !cfg!(windows)
        || registration.format != AutostartFormat::WindowsRun
        || std::env::var_os(portforward::services::autostart::HOME_VARIABLE).is_some()
    {
        return Ok(());
    }
    let command = portforward::services::autostart::windows_import_command(&registration.path);
    let status = std::process::Command::new(&command[0]).args(&command[1..]).status();
    match status {
        Ok(s) if s.success() => Ok(()),
        Ok(s) => Err(InputError::new("autostart", "", &format!("`{}` failed ({s})", command.join(" "))).into()),
        Err(e) => Err(InputError::new("autostart", "", &format!("cannot run `{}`: {e}", command.join(" "))).into()),
    }
}

fn unregister_on_windows(registration: &Registration) {
    if !cfg!(windows)
        || registration.format != AutostartFormat::WindowsRun
        || std::env::var_os(portforward::services::autostart::HOME_VARIABLE).is_some()
    {
        return;
    }
    let command = portforward::services::autostart::windows_delete_command(&registration.preset);
    if let Err(e) = std::process::Command::new(&command[0]).args(&command[1..]).status() {
        output::warning(&format!("cannot run `{}`: {e}", command.join(" ")));
    }
}
