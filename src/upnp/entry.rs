//! Mapping entries out of a router's replies: the fields of one entry (GetGenericPortMappingEntry,
//! GetSpecificPortMappingEntry) and the PortMappingList document of GetListOfPortMappings.

use std::borrow::Cow;

use super::error::UpnpError;
use super::xml;
use crate::model::{Description, Lease, Mapping, Port, Protocol};

/// Reads the PortMappingList document of a GetListOfPortMappings reply (its NewPortListing);
/// an empty listing is an empty list.
pub(crate) fn parse_port_listing(listing: &str) -> Result<Vec<Mapping>, UpnpError> {
    const ACTION: &str = "GetListOfPortMappings";
    if listing.is_empty() {
        return Ok(Vec::new());
    }
    let malformed = |reason: String| UpnpError::Malformed {
        action: ACTION.to_owned(),
        reason,
    };
    let doc = xml::parse(listing).map_err(malformed)?;
    let mappings: Vec<Mapping> = doc
        .root_element()
        .descendants()
        .filter(|n| n.is_element() && n.tag_name().name() == "PortMappingEntry")
        .map(|entry| {
            // Eight fields: a short list searched in order beats a hash map.
            let fields: Vec<(&str, &str)> = entry
                .children()
                .filter(|c| c.is_element())
                .map(|c| (c.tag_name().name(), c.text().unwrap_or("").trim()))
                .collect();
            let field = |name: &str| {
                fields
                    .iter()
                    .find(|(n, _)| *n == name)
                    .map(|(_, value)| Cow::Borrowed(*value))
            };
            mapping_from(ACTION, &field, "NewDescription", "NewLeaseTime")
        })
        .collect::<Result<_, _>>()?;
    Ok(mappings)
}

/// Builds a mapping from a router's fields (names differ between the list and the entry calls).
pub(super) fn mapping_from<'a>(
    action: &str,
    field: &dyn Fn(&str) -> Option<Cow<'a, str>>,
    description_field: &str,
    lease_field: &str,
) -> Result<Mapping, UpnpError> {
    let malformed = |reason: String| UpnpError::Malformed {
        action: action.to_owned(),
        reason,
    };
    let port = |name: &str| -> Result<Port, UpnpError> {
        let text = field(name).unwrap_or_default();
        text.parse::<u16>()
            .ok()
            .and_then(Port::new)
            .ok_or_else(|| malformed(format!("{name} {text:?} is not a port")))
    };
    let protocol_text = field("NewProtocol").unwrap_or_default();
    let protocol = Protocol::parse_field("protocol", &protocol_text)
        .map_err(|_| malformed(format!("protocol {protocol_text:?} is neither TCP nor UDP")))?;
    let internal_client = field("NewInternalClient").unwrap_or_default();
    if internal_client.is_empty() {
        return Err(malformed("the entry has no internal client".to_owned()));
    }
    Ok(Mapping {
        protocol,
        external_port: port("NewExternalPort")?,
        internal_client: internal_client.into_owned(),
        internal_port: port("NewInternalPort")?,
        description: Description::from_router(field(description_field).unwrap_or_default().into_owned()),
        enabled: !matches!(
            field("NewEnabled").as_deref().map(str::trim),
            Some("0" | "false" | "no")
        ),
        remote_host: field("NewRemoteHost").unwrap_or_default().into_owned(),
        lease: Lease::from_router(field(lease_field).and_then(|l| l.parse().ok()).unwrap_or(0)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_listing_is_read_and_an_empty_one_is_no_mappings() {
        let listing = include_str!("../../fuzz/seeds/port_listing/listing-tcp-page.xml");
        let mappings = parse_port_listing(listing).unwrap();
        assert_eq!(mappings.len(), 2);
        assert_eq!(mappings[0].remote_host, "198.51.100.23");
        assert!(!mappings[1].enabled);
        assert!(parse_port_listing("").unwrap().is_empty());
        assert!(matches!(parse_port_listing("<a>"), Err(UpnpError::Malformed { .. })));
    }

    /// Fuzzing regression: 3,000 namespaces in scope, copied (with a quadratic duplicate
    /// check) for each of 6,000 elements that declare one more, kept roxmltree busy for more
    /// than 5 minutes; the document is refused before parsing.
    #[test]
    fn fuzz_regression_namespaces_in_scope_are_refused() {
        let listing = include_str!("../../fuzz/regressions/port_listing/namespaces-in-scope.xml");
        match parse_port_listing(listing) {
            Err(UpnpError::Malformed { reason, .. }) => assert!(reason.contains("namespace"), "{reason}"),
            other => panic!("{other:?}"),
        }
    }
}
