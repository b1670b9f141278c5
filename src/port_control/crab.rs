//! The crab_nat adapter: its options, its types and a runtime of our own for its async calls.

use std::num::NonZeroU16;
use std::time::Duration;

use crab_nat::{InternetProtocol, PortMappingOptions, TimeoutConfig};

use crate::model::{Port, Protocol};

/// The first wait for an answer; doubled on each of [`RETRIES`] retries (0.25 + 0.5 + 1 s).
pub(super) const FIRST_WAIT: Duration = Duration::from_millis(250);
/// Retries after the first request.
pub(super) const RETRIES: usize = 2;

pub(super) fn timeout_config() -> TimeoutConfig {
    TimeoutConfig {
        initial_timeout: FIRST_WAIT,
        max_retries: RETRIES,
        max_retry_timeout: None,
    }
}

pub(super) fn options(external_port: Option<Port>, lifetime_secs: u32) -> PortMappingOptions {
    PortMappingOptions {
        external_port: external_port.map(non_zero),
        lifetime_seconds: Some(lifetime_secs),
        timeout_config: Some(timeout_config()),
    }
}

pub(super) fn non_zero(port: Port) -> NonZeroU16 {
    NonZeroU16::new(port.get()).expect("a Port is never 0")
}

pub(super) fn internet_protocol(protocol: Protocol) -> InternetProtocol {
    match protocol {
        Protocol::Tcp => InternetProtocol::Tcp,
        Protocol::Udp => InternetProtocol::Udp,
    }
}

/// Runs one request to completion on a runtime of its own. Never call from inside a tokio
/// runtime (nothing in this crate runs one).
pub(super) fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .enable_time()
        .build()
        .expect("a single-threaded runtime always builds")
        .block_on(future)
}
