//! Headless UI tests (written once the simulator lands).
