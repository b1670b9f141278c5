//! The window kept current by the router's own events: a [`Live`] for the gateway in use, its
//! triggers turned into readings due, and the mode shown beside the toolbar. While events
//! work the reload timer rests (no table reads while nothing changes); when they do not, the
//! timer polls and the status line says so, and why.

use std::sync::Arc;
use std::sync::mpsc::{Receiver, channel};
use std::time::Duration;

use portforward::PortForwarder;
use portforward::services::live::{Live, Trigger, WatchMode, WatchOptions, Why};

use super::effects::Effects;
use super::log::Level;
use super::pending::Pending;
use super::settings::reload_label;

/// How long the window waits for the router's first NOTIFY before it says events do not work.
const EVENT_GRACE: Duration = Duration::from_secs(3);

/// What the router's events say should be read again.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Due {
    /// The table.
    pub table: bool,
    /// The address and status.
    pub status: bool,
}

/// The subscription of the gateway in use, and what it said last.
#[derive(Default)]
pub struct LiveView {
    live: Option<Live>,
    triggers: Option<Receiver<Trigger>>,
    /// The mode last reported; `None` before a gateway is in use.
    pub mode: Option<WatchMode>,
    /// Old subscriptions being cancelled (UNSUBSCRIBE waits for the router: never here).
    stopping: Vec<Pending<()>>,
}

impl LiveView {
    /// Subscribes to `gateway`'s events (on the library's thread), cancelling the last one.
    pub fn start(&mut self, ctx: &egui::Context, gateway: Arc<PortForwarder>, fx: &mut Effects) {
        self.stop(ctx);
        let (send, receive) = channel();
        let wake = ctx.clone();
        let options = WatchOptions {
            event_grace: EVENT_GRACE,
            // The window polls with its own timer, at the interval the user chose.
            poll_interval: Duration::from_secs(24 * 3600),
            ..WatchOptions::default()
        };
        match Live::start(gateway, options, move |trigger| {
            if send.send(trigger).is_ok() {
                wake.request_repaint();
            }
        }) {
            Ok(live) => {
                self.live = Some(live);
                self.triggers = Some(receive);
                self.mode = Some(WatchMode::Starting);
            }
            Err(err) => fx.log(Level::Error, format!("cannot watch the router's events: {err}")),
        }
    }

    /// Cancels the subscription, off the UI thread.
    pub fn stop(&mut self, ctx: &egui::Context) {
        self.stopping.retain_mut(|p| p.poll().is_none());
        if let Some(live) = self.live.take() {
            self.stopping
                .push(Pending::spawn(ctx, "unsubscribe", move || drop(live)));
        }
        self.triggers = None;
        self.mode = None;
    }

    /// On closing: cancels the subscription, waiting at most `deadline` for the router.
    pub fn stop_before_exit(&mut self, ctx: &egui::Context, deadline: Duration) {
        if let Some(live) = self.live.take() {
            let _ = Pending::spawn(ctx, "unsubscribe", move || drop(live)).wait(deadline);
        }
    }

    /// Whether the router's events are keeping the table current (the timer then rests).
    pub fn events_work(&self) -> bool {
        self.mode == Some(WatchMode::Events)
    }

    /// Takes what the subscription reported: the readings due, the mode changes logged.
    pub fn poll(&mut self, fx: &mut Effects) -> Due {
        let mut due = Due::default();
        self.stopping.retain_mut(|p| p.poll().is_none());
        let Some(triggers) = &self.triggers else {
            return due;
        };
        for trigger in triggers.try_iter() {
            match trigger {
                // The window read the table when it took the gateway.
                Trigger::Start => {}
                Trigger::Mode(mode) => {
                    match &mode {
                        WatchMode::Starting => {}
                        WatchMode::Events => fx.log(Level::Ok, "live: the router's events keep the table current"),
                        WatchMode::Polling { reason, .. } => fx.log(
                            Level::Warning,
                            format!("not live: {reason}; the table is re-read by the timer"),
                        ),
                    }
                    self.mode = Some(mode);
                }
                // The window's own timer polls.
                Trigger::Reread { why: Why::Poll, .. } => {}
                Trigger::Reread { table, status, why } => {
                    if why == Why::Resubscribed {
                        fx.log(
                            Level::Warning,
                            "the router subscribed us anew (it restarted?): reading it again",
                        );
                    }
                    due.table |= table;
                    due.status |= status;
                }
            }
        }
        due
    }

    /// The status line's part: live, starting, or polling (and why), given the timer's interval.
    pub fn ui(&self, ui: &mut egui::Ui, reload_secs: Option<u32>) {
        match &self.mode {
            None => {}
            Some(WatchMode::Starting) => {
                ui.weak("… Live: subscribing")
                    .on_hover_text("asking the router to tell this window of every change");
            }
            Some(WatchMode::Events) => {
                ui.colored_label(ui.visuals().hyperlink_color, "✔ Live")
                    .on_hover_text("the router's own events keep the table current: changes show within a second, and nothing is read while nothing changes");
            }
            Some(WatchMode::Polling { reason, .. }) => {
                let how = match reload_secs {
                    Some(_) => format!("Polling {}", reload_label(reload_secs)),
                    None => "Not live (auto-reload off)".to_owned(),
                };
                ui.colored_label(ui.visuals().warn_fg_color, format!("⚠ {how}"))
                    .on_hover_text(format!("no router events: {reason}"));
            }
        }
    }
}
