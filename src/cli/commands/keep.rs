//! `portforward keep`: enable a mapping, then keep it alive with the library's
//! [`KeepAliveService`] (renewed at half its lease, re-created whenever the router loses it)
//! until Ctrl-C or SIGTERM; optionally remove it then.
//!
//! The main thread waits on one channel for three things: the service's wake-up (it did
//! something: print its events), a signal (stop), and the service's thread ending (after a
//! stop, so that the mapping is removed only once no renewal can re-create it).

use std::process::ExitCode;
use std::sync::Arc;
use std::sync::mpsc::{self, Sender};
use std::time::Duration;

use portforward::{Error, KeepAliveService, KeepAliveTimings, PortForwarder, remove_created};

use crate::cli::flags::{MappingArgs, parse_check_every};
use crate::cli::{Out, output};

/// `keep`'s arguments: one mapping, or with `--preset` a preset's (see [`super::keep_preset`]).
#[derive(Debug, clap::Args)]
pub struct KeepArgs {
    /// The mapping.
    #[command(flatten)]
    pub mapping: MappingArgs,
    /// Keep this preset's mappings instead, finding the router again after network changes
    /// (logs and a state file in the data directory).
    #[arg(long, value_name = "NAME", conflicts_with_all = ["external_port", "internal_port", "internal_ip", "protocol", "description", "duration"])]
    pub preset: Option<String>,
    /// How often to check that the router still has them, in seconds.
    #[arg(long, value_name = "SECONDS", default_value = "60", value_parser = parse_check_every)]
    pub check_every: Duration,
    /// Remove the mappings when stopped (by default they stay until their lease runs out).
    #[arg(long)]
    pub remove_on_exit: bool,
}

/// What wakes the main thread.
enum Wake {
    /// The service has events.
    Events,
    /// Ctrl-C or SIGTERM.
    Stop,
    /// The service's thread has ended.
    Ended,
}

/// Sends [`Wake::Ended`] when dropped: it lives in the service's wake callback, which its
/// thread drops when it ends.
struct OnEnd(Sender<Wake>);

impl Drop for OnEnd {
    fn drop(&mut self) {
        let _ = self.0.send(Wake::Ended);
    }
}

/// Runs `keep`. Each renewal and re-creation is printed (a JSON line each with --json).
pub fn run(out: Out, forwarder: Arc<PortForwarder>, args: &KeepArgs) -> Result<ExitCode, Error> {
    // Installed before enabling, so an early Ctrl-C still ends in the clean-up below.
    let (wake, woken) = mpsc::channel();
    let stop = wake.clone();
    if let Err(err) = ctrlc::set_handler(move || {
        let _ = stop.send(Wake::Stop);
    }) {
        output::warning(&format!(
            "cannot catch Ctrl-C ({err}); stopping will not remove the mapping"
        ));
    }
    let enabled = forwarder.enable(&args.mapping.request())?;
    out.enabled("forwarded", &enabled);
    out.keeping(args.remove_on_exit);
    let on_end = OnEnd(wake.clone());
    let started = KeepAliveService::start(Arc::clone(&forwarder), KeepAliveTimings::default(), move || {
        let _ = on_end.0.send(Wake::Events);
    });
    let service = match started {
        Ok(service) => service,
        Err(err) => {
            output::error(&format!("cannot start the keep-alive thread: {err}"));
            return Ok(ExitCode::FAILURE);
        }
    };
    drop(wake);
    let request = enabled.request.clone();
    service.keep_renewed(enabled);
    let mut ended = false;
    loop {
        match woken.recv() {
            Ok(Wake::Events) => {
                for event in service.try_events() {
                    out.keep_event(&event);
                }
            }
            Ok(Wake::Stop) | Err(_) => break,
            // Not expected while the handle lives, but then there is nothing to wait for.
            Ok(Wake::Ended) => {
                ended = true;
                break;
            }
        }
    }
    // Dropping the handle ends the service's thread after any request in flight; the mapping
    // is removed only then, so that no renewal can re-create it afterwards.
    drop(service);
    while !ended {
        ended = matches!(woken.recv(), Ok(Wake::Ended) | Err(_));
    }
    if !args.remove_on_exit {
        out.keep_stopped(None);
        return Ok(ExitCode::SUCCESS);
    }
    let report = remove_created(&forwarder, &[request]);
    for (mapping, reason) in &report.failed {
        output::error(&format!("not removed: {mapping}: {reason}"));
    }
    out.keep_stopped(Some(&report));
    Ok(if report.is_complete() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
