//! Work for the presets, transfer and NAT-PMP/PCP panels, each on a worker thread behind a
//! [`Promise`]: file dialogs, files and every gateway call stay off the UI thread.

use std::panic::AssertUnwindSafe;

use poll_promise::Promise;

/// One piece of work in flight; its result is taken once.
pub struct Job<T: Send + 'static> {
    promise: Option<Promise<Result<T, String>>>,
}

impl<T: Send + 'static> Job<T> {
    /// Starts `work` on a new thread; when it is done the window is woken to show the result.
    pub fn spawn(ctx: &egui::Context, name: &str, work: impl FnOnce() -> T + Send + 'static) -> Job<T> {
        let ctx = ctx.clone();
        let promise = Promise::spawn_thread(format!("portforward {name}"), move || {
            // A bug must not take the window down with it.
            let result = std::panic::catch_unwind(AssertUnwindSafe(work)).map_err(|panic| {
                panic
                    .downcast_ref::<&str>()
                    .map(|s| (*s).to_owned())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "unknown failure".to_owned())
            });
            ctx.request_repaint();
            result
        });
        Job { promise: Some(promise) }
    }

    /// The result once the work is done (`Err`: the worker crashed, with how).
    pub fn poll(&mut self) -> Option<Result<T, String>> {
        match self.promise.take()?.try_take() {
            Ok(result) => Some(result),
            Err(pending) => {
                self.promise = Some(pending);
                None
            }
        }
    }
}

/// Takes the result of `job` if it is done, leaving `None` behind.
pub fn take_done<T: Send + 'static>(job: &mut Option<Job<T>>) -> Option<Result<T, String>> {
    let result = job.as_mut()?.poll()?;
    *job = None;
    Some(result)
}
