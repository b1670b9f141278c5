//! The gateway's port-mapping table: insertion order, leases that run out.

use std::time::{Duration, Instant};

use super::SimMapping;

/// A transport protocol as the router understands it: "UDP" in any case is UDP, anything else TCP.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Proto {
    Tcp,
    Udp,
}

impl Proto {
    pub(crate) fn parse(text: &str) -> Proto {
        if text.eq_ignore_ascii_case("UDP") {
            Proto::Udp
        } else {
            Proto::Tcp
        }
    }

    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Proto::Tcp => "TCP",
            Proto::Udp => "UDP",
        }
    }
}

/// One stored mapping; the lease is kept as an expiry instant (`None` = permanent).
#[derive(Clone, Debug)]
pub(crate) struct Entry {
    pub(crate) remote_host: String,
    pub(crate) external_port: u16,
    pub(crate) protocol: String,
    pub(crate) internal_port: u16,
    pub(crate) internal_client: String,
    pub(crate) enabled: bool,
    pub(crate) description: String,
    pub(crate) expires: Option<Instant>,
}

impl Entry {
    pub(crate) fn proto(&self) -> Proto {
        Proto::parse(&self.protocol)
    }

    /// Seconds left on the lease, rounded up so a fresh 3600 s lease reads 3600; 0 when permanent.
    pub(crate) fn remaining(&self, now: Instant) -> u32 {
        match self.expires {
            None => 0,
            Some(expires) => {
                let left = expires.saturating_duration_since(now);
                let seconds = left.as_secs() + u64::from(left.subsec_nanos() > 0);
                u32::try_from(seconds).unwrap_or(u32::MAX)
            }
        }
    }

    pub(crate) fn to_mapping(&self, now: Instant) -> SimMapping {
        SimMapping {
            remote_host: self.remote_host.clone(),
            external_port: self.external_port,
            protocol: self.protocol.clone(),
            internal_port: self.internal_port,
            internal_client: self.internal_client.clone(),
            enabled: self.enabled,
            description: self.description.clone(),
            lease_seconds: self.remaining(now),
        }
    }

    pub(crate) fn from_mapping(mapping: SimMapping, now: Instant) -> Entry {
        Entry {
            remote_host: mapping.remote_host,
            external_port: mapping.external_port,
            protocol: mapping.protocol,
            internal_port: mapping.internal_port,
            internal_client: mapping.internal_client,
            enabled: mapping.enabled,
            description: mapping.description,
            expires: expiry(now, mapping.lease_seconds),
        }
    }
}

/// When a lease of `seconds` taken at `now` runs out; `None` for 0 (permanent).
pub(crate) fn expiry(now: Instant, seconds: u32) -> Option<Instant> {
    if seconds == 0 {
        None
    } else {
        now.checked_add(Duration::from_secs(u64::from(seconds)))
    }
}

/// The mappings in insertion order.
#[derive(Debug, Default)]
pub(crate) struct Table {
    entries: Vec<Entry>,
}

impl Table {
    /// Drops every entry whose lease has run out.
    pub(crate) fn purge(&mut self, now: Instant) {
        self.entries
            .retain(|entry| entry.expires.is_none_or(|expires| expires > now));
    }

    pub(crate) fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// The position of the mapping for this external port and protocol (the remote host is ignored, as in miniupnpd).
    pub(crate) fn find(&self, external_port: u16, proto: Proto) -> Option<usize> {
        self.entries
            .iter()
            .position(|entry| entry.external_port == external_port && entry.proto() == proto)
    }

    pub(crate) fn get(&self, index: usize) -> Option<&Entry> {
        self.entries.get(index)
    }

    /// Replaces the entry with the same port and protocol in place, or appends.
    pub(crate) fn upsert(&mut self, entry: Entry) {
        match self.find(entry.external_port, entry.proto()) {
            Some(index) => self.entries[index] = entry,
            None => self.entries.push(entry),
        }
    }

    pub(crate) fn remove(&mut self, index: usize) -> Entry {
        self.entries.remove(index)
    }

    pub(crate) fn retain(&mut self, keep: impl FnMut(&Entry) -> bool) {
        self.entries.retain(keep);
    }

    pub(crate) fn clear(&mut self) {
        self.entries.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(port: u16, protocol: &str, expires: Option<Instant>) -> Entry {
        Entry {
            remote_host: String::new(),
            external_port: port,
            protocol: protocol.to_string(),
            internal_port: port,
            internal_client: "192.168.1.2".to_string(),
            enabled: true,
            description: String::new(),
            expires,
        }
    }

    #[test]
    fn protocol_is_udp_in_any_case_else_tcp() {
        assert_eq!(Proto::parse("udp"), Proto::Udp);
        assert_eq!(Proto::parse("UDP"), Proto::Udp);
        assert_eq!(Proto::parse("XYZ"), Proto::Tcp);
        assert_eq!(Proto::parse(""), Proto::Tcp);
    }

    #[test]
    fn expired_entries_are_purged_and_remaining_rounds_up() {
        let now = Instant::now();
        let mut table = Table::default();
        table.upsert(entry(1, "TCP", Some(now + Duration::from_millis(1500))));
        table.upsert(entry(2, "TCP", Some(now)));
        table.upsert(entry(3, "TCP", None));
        table.purge(now);
        let ports: Vec<u16> = table.entries().iter().map(|e| e.external_port).collect();
        assert_eq!(ports, [1, 3]);
        assert_eq!(table.entries()[0].remaining(now), 2);
        assert_eq!(table.entries()[1].remaining(now), 0);
    }

    #[test]
    fn upsert_replaces_in_place_by_port_and_protocol() {
        let mut table = Table::default();
        table.upsert(entry(1, "TCP", None));
        table.upsert(entry(1, "UDP", None));
        let mut replacement = entry(1, "tcp", None);
        replacement.internal_port = 99;
        table.upsert(replacement);
        assert_eq!(table.entries().len(), 2);
        assert_eq!(table.entries()[0].internal_port, 99);
    }
}
