//! `portforward keep --preset NAME`: keeps every mapping of a preset until Ctrl-C or SIGTERM
//! (logout), through the library's `PresetKeeper`, which finds the router again when it stops
//! answering. Each step is printed (a JSON line each with --json) and appended, as text, to
//! `DATA_DIR/keep/portforward-keep-….log`, which the window reads.

use std::process::ExitCode;

use portforward::services::keep_preset::{KeepJobState, KeepPresetOptions, PresetKeeper};
use portforward::{Error, KeepAliveTimings, remove_created};

use super::keep::KeepArgs;
use crate::cli::flags::data_dir;
use crate::cli::output::{self, KeeperNote, text};
use crate::cli::{Args, Out, discovery};

/// Runs `keep --preset`.
pub fn run(args: &Args, out: Out, keep: &KeepArgs) -> Result<ExitCode, Error> {
    let name = keep.preset.as_deref().expect("keep --preset");
    let store = super::preset::store(args)?;
    let preset = super::preset::find(&store, name)?.clone();
    let data_dir = data_dir(args)?;
    let options = KeepPresetOptions {
        gateway_url: args.gateway.clone(),
        discovery: discovery(args),
        timings: KeepAliveTimings {
            check_every: keep.check_every,
            retry_after: KeepAliveTimings::default().retry_after.min(keep.check_every),
        },
        data_dir: Some(data_dir.clone()),
    };
    let (keeper, stop) = PresetKeeper::new(preset, options)
        .map_err(|e| portforward::InputError::new("preset name", name, &e.to_string()))?;
    if let Err(err) = ctrlc::set_handler(move || stop.stop()) {
        output::warning(&format!("cannot catch Ctrl-C ({err})"));
    }
    let log_path = KeepJobState::path(&data_dir, name).with_extension("log");
    let mut log = std::fs::create_dir_all(log_path.parent().expect("a log has a directory"))
        .and_then(|()| std::fs::OpenOptions::new().create(true).append(true).open(&log_path))
        .inspect_err(|e| output::warning(&format!("cannot write the log {}: {e}", log_path.display())))
        .ok();
    // Every note goes to the log as text and to stdout in the format asked.
    let mut say = |note: KeeperNote<'_>| {
        if let Some(file) = &mut log {
            use std::io::Write as _;
            let _ = writeln!(file, "{} {}", timestamp(), text::keeper_line(&note));
        }
        out.keeper(&note);
    };
    say(KeeperNote::Started {
        preset: name,
        log: &log_path,
        remove_on_exit: keep.remove_on_exit,
    });
    let exit = keeper.run(|event| say(KeeperNote::Event(event)));
    let report = match (&exit.forwarder, keep.remove_on_exit) {
        (Some(forwarder), true) => remove_created(forwarder, &exit.mappings),
        _ => {
            say(KeeperNote::Stopped(None));
            return Ok(ExitCode::SUCCESS);
        }
    };
    for (mapping, reason) in &report.failed {
        output::error(&format!("not removed: {mapping}: {reason}"));
    }
    say(KeeperNote::Stopped(Some(&report)));
    Ok(if report.is_complete() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// Now in UTC, `2026-12-01T21:30:05Z`, for the log.
fn timestamp() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let (days, rest) = (secs / 86400, secs % 86400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rest / 3600,
        rest / 60 % 60,
        rest % 60
    )
}
