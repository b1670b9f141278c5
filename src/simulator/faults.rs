//! Misbehaviour on demand: broken XML, endless bodies, crashes, quirky list walks.

/// A way the gateway misbehaves; several can be active at once ([`super::SimulatedGateway::set_faults`]).
///
/// Scenario files name them as data: `{ kind = "HugeBody", bytes = 100000000 }`.
#[derive(Clone, Debug, PartialEq, Eq, serde::Deserialize)]
#[serde(tag = "kind")]
pub enum Fault {
    /// Subscriptions are accepted but no NOTIFY is ever sent (a firewall drops them).
    EventsLost,
    /// Control replies are truncated XML with a mismatched closing tag (still HTTP 200 / 500).
    MalformedXml,
    /// Control replies start with a DTD of nested entities and use `&lol9;` in a value.
    BillionLaughs,
    /// Control replies are a valid-looking start followed by `bytes` bytes of padding, streamed.
    HugeBody {
        /// Bytes of padding after the start of the reply.
        bytes: usize,
    },
    /// Control reply bodies are sent one byte per second.
    Drip,
    /// Control requests are read and never answered.
    NeverAnswer,
    /// Control replies stop after the headers and half the body; the connection is closed.
    CloseMidResponse,
    /// `GetGenericPortMappingEntry` past the end answers this UPnP error instead of 713.
    WalkEndsWith {
        /// The UPnP error code.
        code: u16,
        /// The error description.
        description: String,
    },
    /// `GetGenericPortMappingEntry` returns the first entry for every index.
    EndlessWalk,
    /// The generic walk and the list return every entry twice.
    DuplicateEntries,
    /// `GetListOfPortMappings` works for `calls` calls, then answers UPnP 501.
    ListFailsAfter {
        /// Calls that still succeed (counted from the last `set_faults`).
        calls: usize,
    },
    /// Like miniupnpd-nftables 2.3.1: `GetListOfPortMappings` or `DeletePortMappingRange` closes the
    /// connection without a reply and the gateway dies until `restart`.
    ListCrashes,
    /// Every control reply is delayed by this many milliseconds.
    SlowReplies {
        /// The delay.
        millis: u64,
    },
    /// The device description is 100 MB (streamed).
    DescriptionTooLarge,
    /// SSDP replies announce InternetGatewayDevice:1 (and version-1 services) whatever the description says.
    WrongServiceInSsdp,
    /// SSDP replies carry `LOCATION: http://198.51.100.9:49000/rootDesc.xml`, a host other than the sender.
    SsdpLocationElsewhere,
}

/// The size of the description served under [`Fault::DescriptionTooLarge`].
pub(crate) const HUGE_DESCRIPTION_BYTES: u64 = 100_000_000;

/// Where [`Fault::SsdpLocationElsewhere`] points (a documentation address; never contacted).
pub(crate) const ELSEWHERE_LOCATION: &str = "http://198.51.100.9:49000/rootDesc.xml";

/// Cuts a reply two thirds in and closes it with a tag that matches nothing.
pub(crate) fn malformed(reply: &[u8]) -> Vec<u8> {
    let mut cut = reply.len() * 2 / 3;
    while cut > 0 && (reply[cut] & 0xC0) == 0x80 {
        cut -= 1;
    }
    let mut out = reply[..cut].to_vec();
    out.extend_from_slice(b"</u:Mismatched></s:Envelope>");
    out
}

/// The part of a reply a [`Fault::HugeBody`] keeps before the padding: up to the end of the first tag in `Body`.
pub(crate) fn huge_prefix(reply: &[u8]) -> Vec<u8> {
    let marker = b"<s:Body>";
    let body = reply
        .windows(marker.len())
        .position(|window| window == marker)
        .map_or(0, |at| at + marker.len());
    let end = reply[body..]
        .iter()
        .position(|&byte| byte == b'>')
        .map_or(reply.len(), |at| body + at + 1);
    reply[..end].to_vec()
}

/// The start of the description served under [`Fault::DescriptionTooLarge`].
pub(crate) fn huge_description_prefix(description: &str) -> Vec<u8> {
    let end = description
        .find("<friendlyName>")
        .map_or(description.len(), |at| at + "<friendlyName>".len());
    description.as_bytes()[..end].to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn malformed_reply_does_not_parse() {
        let reply = b"<?xml version=\"1.0\"?><s:Envelope xmlns:s=\"x\"><s:Body><u:AResponse xmlns:u=\"y\"><A>1</A></u:AResponse></s:Body></s:Envelope>";
        let broken = String::from_utf8(malformed(reply)).unwrap();
        assert!(roxmltree::Document::parse(&broken).is_err());
    }

    #[test]
    fn huge_prefix_stops_after_the_action_tag() {
        let reply = b"<s:Envelope><s:Body><u:AResponse xmlns:u=\"y\"><A>1</A></u:AResponse></s:Body></s:Envelope>";
        assert_eq!(huge_prefix(reply), b"<s:Envelope><s:Body><u:AResponse xmlns:u=\"y\">");
    }
}
