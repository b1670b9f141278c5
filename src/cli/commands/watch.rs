//! `portforward watch`: the library's [`Watch`] on the router, one printed line per change
//! (the mode included: events, or polling and why), until Ctrl-C or SIGTERM. Stopping drops
//! the watch, which cancels the router's subscription (UNSUBSCRIBE) before the command exits.

use std::process::ExitCode;
use std::sync::Arc;
use std::sync::mpsc;
use std::time::Duration;

use portforward::Error;
use portforward::services::watch::{Change, Watch, WatchOptions};
use portforward::simulator::SimulatedGateway;
use portforward::upnp::Gateway;

use crate::cli::flags::parse_interval;
use crate::cli::{Out, output};

/// `watch`'s flags.
#[derive(Debug, clap::Args)]
pub struct WatchArgs {
    /// Seconds between reads of the table when the router's events do not reach this
    /// computer (or with --no-events), 1 to 86400.
    #[arg(long, value_name = "SECONDS", default_value = "60", value_parser = parse_interval, allow_negative_numbers = true)]
    pub interval: Duration,
    /// Do not subscribe to the router's events: read the table every --interval.
    #[arg(long)]
    pub no_events: bool,
}

/// What wakes the main thread.
enum Wake {
    /// The watch saw a change.
    Change(Change),
    /// Ctrl-C or SIGTERM.
    Stop,
}

/// Runs `watch` on `router` (the gateway, and the demo router it may be) until stopped.
pub fn run(out: Out, router: (Gateway, Option<SimulatedGateway>), args: &WatchArgs) -> Result<ExitCode, Error> {
    let (gateway, _demo) = router;
    let (wake, woken) = mpsc::channel();
    let stop = wake.clone();
    if let Err(err) = ctrlc::set_handler(move || {
        let _ = stop.send(Wake::Stop);
    }) {
        output::warning(&format!(
            "cannot catch Ctrl-C ({err}); stopping will not cancel the router's subscription"
        ));
    }
    let options = WatchOptions {
        use_events: !args.no_events,
        poll_interval: args.interval,
        ..WatchOptions::default()
    };
    out.watching(&gateway);
    let watch = match Watch::start(Arc::new(gateway), options, move |change| {
        let _ = wake.send(Wake::Change(change));
    }) {
        Ok(watch) => watch,
        Err(err) => {
            output::error(&format!("cannot start the watch thread: {err}"));
            return Ok(ExitCode::FAILURE);
        }
    };
    while let Ok(Wake::Change(change)) = woken.recv() {
        out.watch_change(&change);
    }
    // Unsubscribes, after any read in flight.
    drop(watch);
    out.watch_stopped();
    Ok(ExitCode::SUCCESS)
}
