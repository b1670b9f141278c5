//! The desktop window: an eframe (egui) front end over the library. Every gateway call, file
//! and kernel lookup runs on a worker ([`pending`]); the UI thread only draws state.
//!
//! One struct per view, each owning its state, its `ui` and its work in flight: the
//! [`header`] (finding the gateway), the table ([`mappings`], drawn by [`table`]), the
//! [`forms`], [`presets`], [`port_control`], the [`transfer`] windows, [`removal`] and
//! [`undo`]. What a view's result means for the others is an [`effects::Effect`], applied by
//! the [`app`] once a frame.

mod app;
mod background_job;
mod effects;
mod file_dialog;
mod forms;
mod header;
mod live;
mod log;
mod mappings;
mod pending;
mod pinholes;
mod port_control;
mod presets;
mod removal;
mod router_status;
mod settings;
mod start_failure;
mod table;
#[cfg(test)]
mod tests;
mod transfer;
mod undo;

use std::process::ExitCode;

use portforward::simulator::SimulatedGateway;
use portforward::upnp::DiscoveryOptions;

pub use app::{App, Start};

/// How the window was asked to start.
pub struct Launch {
    /// A description URL given with --gateway (skips discovery).
    pub gateway_url: Option<String>,
    /// Run against the built-in simulated gateway.
    pub demo: bool,
    /// With `demo`: pad the demo table to this many mappings.
    pub demo_rows: usize,
    /// How to discover gateways (and the deadline of requests to them).
    pub discovery: DiscoveryOptions,
}

/// The window's icon, from `assets/`.
const ICON: &[u8] = include_bytes!("../../assets/icon.png");

/// Opens the window and runs it until it is closed.
pub fn run(launch: Launch) -> ExitCode {
    // The simulated router must outlive the window: it is dropped when `run` returns.
    let demo = if launch.demo {
        match SimulatedGateway::demo_with_rows(launch.demo_rows) {
            Ok(sim) => Some(sim),
            Err(err) => {
                eprintln!("portforward: cannot start the simulated gateway: {err}");
                return ExitCode::FAILURE;
            }
        }
    } else {
        None
    };
    let title = if demo.is_some() {
        "PortForward — DEMO (simulated router)"
    } else {
        "PortForward"
    };
    let mut viewport = egui::ViewportBuilder::default()
        .with_title(title)
        .with_app_id("portforward")
        .with_inner_size([1200.0, 760.0])
        .with_min_inner_size([720.0, 480.0]);
    match eframe::icon_data::from_png_bytes(ICON) {
        Ok(icon) => viewport = viewport.with_icon(icon),
        Err(err) => tracing::warn!(%err, "the window icon is unreadable"),
    }
    let options = eframe::NativeOptions {
        viewport,
        renderer: eframe::Renderer::Glow,
        ..Default::default()
    };
    let start = Start {
        discovery: launch.discovery,
        gateway_url: demo
            .as_ref()
            .map(SimulatedGateway::description_url)
            .or(launch.gateway_url),
        demo: demo.is_some(),
        log_path: log::default_path(),
    };
    // Whether the app was created, i.e. the window and its OpenGL context are up: an error
    // before that is "cannot open", after it "stopped". eframe panics (rather than failing)
    // on some drivers without a usable pixel format; that is a failure to open too.
    let opened = std::cell::Cell::new(false);
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        eframe::run_native(
            "PortForward",
            options,
            Box::new(|cc| {
                opened.set(true);
                Ok(Box::new(App::new(cc, start).with_saved_files()))
            }),
        )
    }));
    let error = match result {
        Ok(Ok(())) => return ExitCode::SUCCESS,
        Ok(Err(err)) => err.to_string(),
        Err(payload) => start_failure::panic_text(payload.as_ref()),
    };
    let failure = if opened.get() {
        start_failure::Failure::Stopped(error)
    } else {
        start_failure::Failure::Open(error)
    };
    failure.report();
    ExitCode::FAILURE
}
