//! The one way the window does background work: a [`Pending`] value. It runs a closure on a
//! thread of its own, turns a panic into text (a bug in the library must not take the window
//! down), wakes the window when done, and is polled by the view that owns it, once a frame.
//!
//! This is the only place in the window that starts threads. Every piece of work started
//! here is counted per egui context until its result is taken (or it is dropped), so the
//! app can tell when nothing is in flight ([`Work::is_idle`]): the tests wait for exactly that.

use std::any::Any;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, TryRecvError};
use std::time::Duration;

/// How many [`Pending`] values of one window have not been taken yet.
#[derive(Clone, Default)]
pub struct Work(Arc<AtomicUsize>);

impl Work {
    /// The counter of the window drawn with `ctx` (one per context, kept in its memory).
    pub fn of(ctx: &egui::Context) -> Work {
        ctx.data_mut(|d| {
            d.get_temp_mut_or_default::<Work>(egui::Id::unique("portforward pending work"))
                .clone()
        })
    }

    /// Whether no work is in flight and every result has been taken.
    pub fn is_idle(&self) -> bool {
        self.in_flight() == 0
    }

    /// How many pieces of work are in flight or not taken yet.
    pub fn in_flight(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }
}

/// Work in flight on a thread of its own; its result is taken once.
pub struct Pending<T: Send + 'static> {
    result: Option<Receiver<Result<T, String>>>,
    work: Work,
}

impl<T: Send + 'static> Pending<T> {
    /// Starts `work` on a new thread named after `name`; when it is done (or panicked) the
    /// window is woken to show the result.
    pub fn spawn(ctx: &egui::Context, name: &str, work: impl FnOnce() -> T + Send + 'static) -> Pending<T> {
        let counter = Work::of(ctx);
        counter.0.fetch_add(1, Ordering::SeqCst);
        let (send, result) = mpsc::sync_channel(1);
        let ctx = ctx.clone();
        let spawned = std::thread::Builder::new()
            .name(format!("portforward {name}"))
            .spawn(move || {
                let outcome = std::panic::catch_unwind(AssertUnwindSafe(work)).map_err(|panic| panic_text(&*panic));
                // The owner may be gone (a superseded lookup): then nobody wants the result.
                let _ = send.send(outcome);
                ctx.request_repaint();
            });
        let pending = Pending {
            result: Some(result),
            work: counter,
        };
        if let Err(err) = spawned {
            // The sender went with the closure: the next poll reports the failure.
            tracing::error!(%err, "cannot start a worker thread");
        }
        pending
    }

    /// The result once the work is done (`Err`: the worker crashed, with how); `None` while
    /// it runs, and after the result was taken.
    pub fn poll(&mut self) -> Option<Result<T, String>> {
        let outcome = match self.result.as_ref()?.try_recv() {
            Ok(outcome) => outcome,
            Err(TryRecvError::Empty) => return None,
            Err(TryRecvError::Disconnected) => Err("the worker thread could not start".to_owned()),
        };
        self.taken();
        Some(outcome)
    }

    /// Waits at most `timeout` for the result (closing the window: nothing is drawn then).
    pub fn wait(mut self, timeout: Duration) -> Option<Result<T, String>> {
        let outcome = match self.result.as_ref()?.recv_timeout(timeout) {
            Ok(outcome) => outcome,
            Err(RecvTimeoutError::Timeout) => return None,
            Err(RecvTimeoutError::Disconnected) => Err("the worker thread could not start".to_owned()),
        };
        self.taken();
        Some(outcome)
    }

    fn taken(&mut self) {
        if self.result.take().is_some() {
            self.work.0.fetch_sub(1, Ordering::SeqCst);
        }
    }
}

impl<T: Send + 'static> Drop for Pending<T> {
    fn drop(&mut self) {
        // Superseded or abandoned: the thread finishes on its own, its result unread.
        self.taken();
    }
}

/// Takes the result of the work in `slot` if it is done, leaving `None` behind.
pub fn take<T: Send + 'static>(slot: &mut Option<Pending<T>>) -> Option<Result<T, String>> {
    let result = slot.as_mut()?.poll()?;
    *slot = None;
    Some(result)
}

/// Opens a store kept in the config directory on a worker: `path` says where it is (`None`:
/// the system has none), `open` reads it. An error comes back as text for the view to show.
pub fn open_store<T: Send + 'static, E: std::fmt::Display + 'static>(
    ctx: &egui::Context,
    name: &str,
    path: fn() -> Option<std::path::PathBuf>,
    open: fn(std::path::PathBuf) -> Result<T, E>,
) -> Pending<Result<T, String>> {
    Pending::spawn(ctx, name, move || {
        let path = path().ok_or_else(|| "this system has no config directory".to_owned())?;
        open(path).map_err(|e| e.to_string())
    })
}

/// What a panic said, as text for the user.
pub fn panic_text(panic: &(dyn Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown failure".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn done<T: Send + 'static>(pending: &mut Pending<T>) -> Result<T, String> {
        let started = std::time::Instant::now();
        loop {
            if let Some(result) = pending.poll() {
                return result;
            }
            assert!(started.elapsed() < Duration::from_secs(60), "the worker never finished");
            std::thread::yield_now();
        }
    }

    #[test]
    fn a_result_is_taken_once_and_the_work_counted_until_then() {
        let ctx = egui::Context::default();
        let work = Work::of(&ctx);
        let (go, wait) = mpsc::channel::<()>();
        let mut pending = Pending::spawn(&ctx, "test", move || {
            wait.recv().unwrap();
            7
        });
        assert_eq!(work.in_flight(), 1);
        assert!(pending.poll().is_none(), "still running");
        go.send(()).unwrap();
        assert_eq!(done(&mut pending), Ok(7));
        assert!(work.is_idle());
        assert!(pending.poll().is_none(), "taken once");
    }

    #[test]
    fn a_panic_becomes_text_and_a_dropped_pending_is_not_counted() {
        let ctx = egui::Context::default();
        let mut pending = Pending::spawn(&ctx, "test", || -> u8 { panic!("broken router reply") });
        assert_eq!(done(&mut pending), Err("broken router reply".to_owned()));
        let abandoned = Pending::spawn(&ctx, "test", || 1);
        drop(abandoned);
        assert!(Work::of(&ctx).is_idle());
    }
}
