//! How long a mapping lasts.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::input::InputError;

/// A lease duration in seconds: 0 means permanent, at most 604800 (7 days, IGD:2's limit).
///
/// ```
/// use portforward::Lease;
/// assert!(Lease::seconds(3600).unwrap().is_finite());
/// assert!(Lease::PERMANENT.is_permanent());
/// assert!(Lease::seconds(604_801).is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "u64", into = "u32")]
pub struct Lease(u32);

impl Lease {
    /// A mapping that never expires (IGD:1's 0; IGD:2 routers clamp it to 7 days).
    pub const PERMANENT: Lease = Lease(0);
    /// The longest lease IGD:2 allows: 7 days.
    pub const MAX: Lease = Lease(604_800);
    /// The lease `enable` asks for when none is given: 1 hour, renewed by keep-alive.
    pub const DEFAULT: Lease = Lease(3600);

    /// A lease of `secs` seconds; an error above 604800.
    pub fn seconds(secs: u64) -> Result<Lease, InputError> {
        Lease::parse_field("duration", &secs.to_string())
    }

    /// Parses user input for the field named `field`.
    pub fn parse_field(field: &'static str, text: &str) -> Result<Lease, InputError> {
        let text = text.trim();
        let invalid = |reason: &str| InputError::new(field, text, reason);
        let secs: i64 = text
            .parse()
            .map_err(|_| invalid("a lease is a whole number of seconds (0 = permanent)"))?;
        if !(0..=i64::from(Lease::MAX.0)).contains(&secs) {
            return Err(invalid("a lease must be from 0 (permanent) to 604800 seconds (7 days)"));
        }
        Ok(Lease(secs as u32))
    }

    /// A lease as a router reported it (remaining seconds), kept as-is: it was not ours
    /// to validate, and IGD:1 routers may report more than 7 days.
    pub const fn from_router(secs: u32) -> Lease {
        Lease(secs)
    }

    /// Seconds, 0 for permanent.
    pub const fn as_secs(self) -> u32 {
        self.0
    }

    /// Whether this lease never expires.
    pub const fn is_permanent(self) -> bool {
        self.0 == 0
    }

    /// Whether this lease expires.
    pub const fn is_finite(self) -> bool {
        self.0 != 0
    }

    /// The lease as a duration; `None` when permanent.
    pub fn duration(self) -> Option<Duration> {
        self.is_finite().then(|| Duration::from_secs(self.0.into()))
    }
}

impl TryFrom<u64> for Lease {
    type Error = InputError;
    fn try_from(secs: u64) -> Result<Lease, InputError> {
        Lease::seconds(secs)
    }
}

impl From<Lease> for u32 {
    fn from(lease: Lease) -> u32 {
        lease.0
    }
}

impl fmt::Display for Lease {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_permanent() {
            return f.write_str("permanent");
        }
        let s = self.0;
        match (s / 86_400, s % 86_400 / 3600, s % 3600 / 60, s % 60) {
            (0, 0, 0, sec) => write!(f, "{sec}s"),
            (0, 0, min, sec) => write!(f, "{min}m {sec:02}s"),
            (0, h, min, sec) => write!(f, "{h}h {min:02}m {sec:02}s"),
            (d, h, min, _) => write!(f, "{d}d {h:02}h {min:02}m"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lease_limits_and_display() {
        assert!(Lease::parse_field("d", "604801").is_err());
        assert!(Lease::parse_field("d", "-1").is_err());
        assert_eq!(Lease::parse_field("d", "604800").unwrap(), Lease::MAX);
        assert_eq!(Lease::PERMANENT.to_string(), "permanent");
        assert_eq!(Lease(59).to_string(), "59s");
        assert_eq!(Lease(3725).to_string(), "1h 02m 05s");
        assert_eq!(Lease(90_061).to_string(), "1d 01h 01m");
    }
}
