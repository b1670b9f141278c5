//! `portforward keep`: enable a mapping, then renew it at half its lease and re-create it
//! whenever the router loses it, until Ctrl-C or SIGTERM; optionally remove it then.

use std::process::ExitCode;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::{Duration, Instant};

use portforward::{EnableRequest, Error, KeepAlive, KeepAliveEvent, PortForwarder, remove_created};
use serde_json::json;

/// How long to wait when nothing is due (only a signal can end the wait then).
const IDLE_WAIT: Duration = Duration::from_secs(3600);

/// Runs the keep loop. Each renewal and re-creation is printed (a JSON line each with --json).
pub fn run(
    args: &super::Args,
    forwarder: &PortForwarder,
    request: &EnableRequest,
    remove_on_exit: bool,
) -> Result<ExitCode, Error> {
    // Installed before enabling, so an early Ctrl-C still ends in the clean-up below.
    let (stop, stopped) = mpsc::channel();
    if let Err(err) = ctrlc::set_handler(move || {
        let _ = stop.send(());
    }) {
        eprintln!("portforward: warning: cannot catch Ctrl-C ({err}); stopping will not remove the mapping");
    }
    let json = args.json;
    let enabled = forwarder.enable(request)?;
    super::print_enabled(args, "forwarded", &enabled);
    if !json {
        outln!(
            "keeping it alive until Ctrl-C{}",
            if remove_on_exit { "; it is removed then" } else { "" }
        );
    }
    let mut keep = KeepAlive::default();
    keep.keep_renewed(&enabled, Instant::now());
    loop {
        let wait = keep
            .next_due()
            .map_or(IDLE_WAIT, |due| due.saturating_duration_since(Instant::now()));
        match stopped.recv_timeout(wait) {
            Err(RecvTimeoutError::Timeout) => {}
            Ok(()) | Err(RecvTimeoutError::Disconnected) => break,
        }
        for event in keep.step(forwarder, Instant::now()) {
            print_event(json, &event);
        }
    }
    if !remove_on_exit {
        if !json {
            outln!("stopped; the mapping stays until its lease runs out");
        }
        return Ok(ExitCode::SUCCESS);
    }
    let report = remove_created(forwarder, &[enabled.request]);
    for (mapping, reason) in &report.failed {
        eprintln!("portforward: not removed: {mapping}: {reason}");
    }
    if json {
        let removed: Vec<_> = report.done.iter().map(super::mapping_json).collect();
        outln!("{}", json!({ "event": "stopped", "removed": removed }));
    } else {
        for mapping in &report.done {
            outln!("stopped; removed {mapping}");
        }
    }
    Ok(if report.is_complete() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn print_event(json: bool, event: &KeepAliveEvent) {
    if json {
        outln!("{}", event_json(event));
    } else {
        outln!("{event}");
    }
}

/// A keep-alive event as a JSON line's fields.
fn event_json(event: &KeepAliveEvent) -> serde_json::Value {
    let m = event.mapping();
    let mut line = json!({
        "external_port": m.external_port, "protocol": m.protocol,
        "internal_ip": m.internal_ip, "internal_port": m.internal_port,
    });
    let fields = match event {
        KeepAliveEvent::Renewed { lease, .. } => json!({ "event": "renewed", "duration": lease.as_secs() }),
        KeepAliveEvent::Recreated { lease, .. } => json!({ "event": "recreated", "duration": lease.as_secs() }),
        KeepAliveEvent::Failed { error, retry_in, .. } => {
            json!({ "event": "failed", "error": error.to_string(), "retry_in": retry_in.as_secs() })
        }
    };
    if let (Some(line), serde_json::Value::Object(fields)) = (line.as_object_mut(), fields) {
        line.extend(fields);
    }
    line
}

/// The data directory: `--data-dir`, else the platform's.
pub fn data_dir(args: &super::Args) -> Result<std::path::PathBuf, Error> {
    args.data_dir
        .clone()
        .or_else(portforward::store::data_dir)
        .ok_or_else(|| {
            portforward::InputError::new(
                "data dir",
                "",
                "this system has no data directory: give one with --data-dir",
            )
            .into()
        })
}

/// `keep --preset NAME`: keeps every mapping of the preset until Ctrl-C or SIGTERM (logout),
/// finding the router again when it stops answering. Each step is printed (a JSON line each
/// with --json) and appended to `DATA_DIR/keep/portforward-keep-….log`.
pub fn run_preset(
    args: &super::Args,
    name: &str,
    check_every: Duration,
    remove_on_exit: bool,
) -> Result<ExitCode, Error> {
    use portforward::services::keep_preset::{KeepJobState, KeepPresetOptions, KeeperEvent, PresetKeeper};
    let store = super::presets::store(args)?;
    let preset = super::presets::find(&store, name)?.clone();
    let data_dir = data_dir(args)?;
    let options = KeepPresetOptions {
        gateway_url: args.gateway.clone(),
        discovery: super::discovery(args),
        timings: portforward::KeepAliveTimings {
            check_every,
            retry_after: portforward::KeepAliveTimings::default().retry_after.min(check_every),
        },
        data_dir: Some(data_dir.clone()),
    };
    let (keeper, stop) = PresetKeeper::new(preset, options)
        .map_err(|e| portforward::InputError::new("preset name", name, &e.to_string()))?;
    if let Err(err) = ctrlc::set_handler(move || stop.stop()) {
        eprintln!("portforward: warning: cannot catch Ctrl-C ({err})");
    }
    let log_path = KeepJobState::path(&data_dir, name).with_extension("log");
    let mut log = std::fs::create_dir_all(log_path.parent().expect("a log has a directory"))
        .and_then(|()| std::fs::OpenOptions::new().create(true).append(true).open(&log_path))
        .inspect_err(|e| eprintln!("portforward: warning: cannot write the log {}: {e}", log_path.display()))
        .ok();
    let json = args.json;
    let mut say = |text: &str, line: serde_json::Value| {
        if let Some(file) = &mut log {
            use std::io::Write as _;
            let _ = writeln!(file, "{} {text}", timestamp());
        }
        if json {
            outln!("{line}");
        } else {
            outln!("{text}");
        }
    };
    say(
        &format!(
            "keeping the preset \"{name}\" forwarded until stopped{} (log: {})",
            if remove_on_exit {
                "; its mappings are removed then"
            } else {
                ""
            },
            log_path.display()
        ),
        json!({ "event": "started", "preset": name, "log": log_path }),
    );
    let exit = keeper.run(|event| {
        let line = match event {
            KeeperEvent::Connected {
                url,
                local_ip,
                mappings,
            } => json!({
                "event": "connected", "gateway": url, "local_ip": local_ip,
                "mappings": mappings.iter().map(|m| json!({
                    "external_port": m.external_port, "protocol": m.protocol,
                    "internal_ip": m.internal_ip, "internal_port": m.internal_port,
                })).collect::<Vec<_>>(),
            }),
            KeeperEvent::NoRouter { error, retry_in } => {
                json!({ "event": "no_router", "error": error.to_string(), "retry_in": retry_in.as_secs_f64() })
            }
            KeeperEvent::RouterLost => json!({ "event": "router_lost" }),
            KeeperEvent::KeepAlive(event) => event_json(event),
            KeeperEvent::StateNotWritten(error) => json!({ "event": "warning", "error": error.to_string() }),
        };
        say(&event.to_string(), line);
    });
    let report = match (&exit.forwarder, remove_on_exit) {
        (Some(forwarder), true) => remove_created(forwarder, &exit.mappings),
        _ => {
            say(
                "stopped; the mappings stay until their lease runs out",
                json!({ "event": "stopped", "removed": [] }),
            );
            return Ok(ExitCode::SUCCESS);
        }
    };
    for (mapping, reason) in &report.failed {
        eprintln!("portforward: not removed: {mapping}: {reason}");
    }
    let removed: Vec<String> = report.done.iter().map(ToString::to_string).collect();
    say(
        &format!("stopped; removed {}", removed.join(", ")),
        json!({ "event": "stopped", "removed": report.done.iter().map(super::mapping_json).collect::<Vec<_>>() }),
    );
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
