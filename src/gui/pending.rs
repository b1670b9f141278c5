//! The one way the window does background work: a [`Pending`] value. It runs a closure on a
//! thread of its own (a `poll_promise::Promise`), turns a panic into text (a bug in the library must not take the window
//! down), wakes the window when done, and is polled by the view that owns it, once a frame.
//!
//! This is the only place in the window that starts threads. Every piece of work started
//! here is counted per egui context until its result is taken (or it is dropped), so the
//! app can tell when nothing is in flight ([`Work::is_idle`]): the tests wait for exactly that.

use std::any::Any;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};

use poll_promise::Promise;
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

/// Work in flight on a thread of its own, behind a `poll_promise::Promise`; its result is
/// taken once.
pub struct Pending<T: Send + 'static> {
    promise: Option<Promise<Result<T, String>>>,
    /// Says "done" once the promise is ready, for the one caller that must wait (closing).
    finished: Receiver<()>,
    work: Work,
    /// Whether this one is still counted in `work`.
    counted: bool,
}

impl<T: Send + 'static> Pending<T> {
    /// Starts `work` on a new thread named after `name`; when it is done (or panicked) the
    /// window is woken to show the result.
    pub fn spawn(ctx: &egui::Context, name: &str, work: impl FnOnce() -> T + Send + 'static) -> Pending<T> {
        let counter = Work::of(ctx);
        counter.0.fetch_add(1, Ordering::SeqCst);
        let (done, finished) = mpsc::sync_channel(1);
        let ctx = ctx.clone();
        let promise = Promise::spawn_thread(format!("portforward {name}"), move || {
            let outcome = std::panic::catch_unwind(AssertUnwindSafe(work)).map_err(|panic| panic_text(&*panic));
            ctx.request_repaint();
            // Nobody may be waiting: then nobody needs the word.
            let _ = done.try_send(());
            outcome
        });
        Pending {
            promise: Some(promise),
            finished,
            work: counter,
            counted: true,
        }
    }

    /// The result once the work is done (`Err`: the worker crashed, with how); `None` while
    /// it runs, and after the result was taken.
    pub fn poll(&mut self) -> Option<Result<T, String>> {
        match self.promise.take()?.try_take() {
            Ok(outcome) => {
                self.taken();
                Some(outcome)
            }
            Err(running) => {
                self.promise = Some(running);
                None
            }
        }
    }

    /// Waits at most `timeout` for the result (closing the window: nothing is drawn then).
    pub fn wait(mut self, timeout: Duration) -> Option<Result<T, String>> {
        self.promise.as_ref()?;
        match self.finished.recv_timeout(timeout) {
            Ok(()) | Err(RecvTimeoutError::Disconnected) => self.poll(),
            Err(RecvTimeoutError::Timeout) => None,
        }
    }

    /// The result was taken, or nobody wants it: no longer in flight for [`Work::is_idle`].
    fn taken(&mut self) {
        self.promise = None;
        if std::mem::take(&mut self.counted) {
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
