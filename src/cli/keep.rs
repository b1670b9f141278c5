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
    if !json {
        outln!("{event}");
        return;
    }
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
    outln!("{line}");
}
