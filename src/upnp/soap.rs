//! SOAP over HTTP: building envelopes and reading replies and UPnP faults.

use std::collections::HashMap;

use super::error::{HttpFailure, UpnpError};
use super::http::{Http, Reply};
use super::xml::{self, escape_xml};

/// The output arguments of a successful action, by name.
#[derive(Debug, Default, Clone)]
pub(crate) struct Outputs(HashMap<String, String>);

impl Outputs {
    /// An output argument; "" when absent (routers omit empty ones).
    pub(crate) fn get(&self, name: &str) -> &str {
        self.0.get(name).map(String::as_str).unwrap_or("")
    }

    /// Whether the router sent this argument at all.
    pub(crate) fn has(&self, name: &str) -> bool {
        self.0.contains_key(name)
    }
}

/// A SOAP endpoint: one service of one gateway.
#[derive(Clone, Debug)]
pub(crate) struct SoapService {
    pub http: Http,
    pub control_url: String,
    pub service_type: String,
}

impl SoapService {
    /// Calls `action` with `args` (escaped here) and returns its outputs or a typed error.
    pub(crate) fn call(&self, action: &'static str, args: &[(&str, String)]) -> Result<Outputs, UpnpError> {
        let body = envelope(&self.service_type, action, args);
        let header = format!("\"{}#{}\"", self.service_type, action);
        let reply = self.http.post_soap(&self.control_url, &header, &body)?;
        read_reply(&self.control_url, action, &reply)
    }
}

/// The SOAP envelope for one action.
pub(crate) fn envelope(service_type: &str, action: &str, args: &[(&str, String)]) -> String {
    let mut body = String::with_capacity(320 + args.len() * 48);
    body.push_str(
        "<?xml version=\"1.0\"?>\r\n<s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\" \
         s:encodingStyle=\"http://schemas.xmlsoap.org/soap/encoding/\"><s:Body>",
    );
    body.push_str(&format!("<u:{action} xmlns:u=\"{}\">", escape_xml(service_type)));
    for (name, value) in args {
        body.push_str(&format!("<{name}>{}</{name}>", escape_xml(value)));
    }
    body.push_str(&format!("</u:{action}></s:Body></s:Envelope>\r\n"));
    body
}

/// Reads a reply: the action's outputs, a UPnP fault as a typed error, or `Malformed`.
pub(crate) fn read_reply(url: &str, action: &'static str, reply: &Reply) -> Result<Outputs, UpnpError> {
    let malformed = |reason: String| UpnpError::Malformed {
        action: action.to_owned(),
        reason,
    };
    let doc = match xml::parse(&reply.body) {
        Ok(doc) => doc,
        // A non-XML error page (e.g. "404 Not Found" as HTML) is an HTTP failure, not garbage.
        Err(_) if reply.status >= 400 => {
            return Err(UpnpError::Unreachable {
                url: url.to_owned(),
                failure: HttpFailure::Status(reply.status),
            });
        }
        Err(reason) => return Err(malformed(reason)),
    };
    let body = xml::descendant(doc.root_element(), "Body").ok_or_else(|| malformed("no SOAP Body".to_owned()))?;
    let response_name = format!("{action}Response");
    if let Some(response) = xml::child(body, &response_name) {
        let outputs = response
            .children()
            .filter(|n| n.is_element())
            .map(|n| (n.tag_name().name().to_owned(), n.text().unwrap_or("").trim().to_owned()))
            .collect();
        return Ok(Outputs(outputs));
    }
    if let Some(fault) = xml::child(body, "Fault") {
        // The number, wherever the router put it; a fault without one (some firmware sends
        // only a faultstring) is taken as 501, "the action failed", rather than as garbage.
        let number: u16 = xml::descendant(fault, "UPnPError")
            .and_then(|upnp| xml::child_text(upnp, "errorCode"))
            .or_else(|| xml::descendant(fault, "errorCode").map(|n| n.text().unwrap_or("").trim().to_owned()))
            .and_then(|code| code.trim().parse().ok())
            .unwrap_or_else(|| {
                let said = xml::child_text(fault, "faultstring").unwrap_or_default();
                tracing::debug!(action, said, "a SOAP fault without a UPnP error code: taken as 501");
                501
            });
        return Err(UpnpError::refused(action, number));
    }
    if reply.status >= 400 {
        return Err(UpnpError::Unreachable {
            url: url.to_owned(),
            failure: HttpFailure::Status(reply.status),
        });
    }
    Err(malformed(format!("no {response_name} in the reply")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::upnp::UpnpCode;

    fn reply(status: u16, body: &str) -> Reply {
        Reply {
            status,
            server: None,
            body: body.to_owned(),
        }
    }

    #[test]
    fn envelope_escapes_values_and_matches_tags() {
        let xml = envelope(
            "urn:x:1",
            "AddPortMapping",
            &[("NewPortMappingDescription", "<a&b>".into())],
        );
        assert!(xml.contains("<NewPortMappingDescription>&lt;a&amp;b&gt;</NewPortMappingDescription>"));
        let doc = xml::parse(&xml).unwrap();
        assert!(xml::descendant(doc.root_element(), "AddPortMapping").is_some());
    }

    #[test]
    fn faults_are_typed_by_number_not_text() {
        let body = r#"<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><s:Fault>
            <faultcode>s:Client</faultcode><faultstring>UPnPError</faultstring><detail>
            <UPnPError xmlns="urn:schemas-upnp-org:control-1-0"><errorCode>713</errorCode>
            <errorDescription>Whatever this router says</errorDescription></UPnPError></detail></s:Fault></s:Body></s:Envelope>"#;
        let err = read_reply("u", "GetGenericPortMappingEntry", &reply(500, body)).unwrap_err();
        assert_eq!(err.upnp_code(), Some(UpnpCode::ArrayIndexInvalid));
    }

    #[test]
    fn a_fault_without_a_code_or_in_odd_places_is_still_a_refusal() {
        let bare = r#"<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><s:Fault>
            <faultcode>s:Client</faultcode><faultstring>Not allowed</faultstring></s:Fault></s:Body></s:Envelope>"#;
        let err = read_reply("u", "AddPortMapping", &reply(500, bare)).unwrap_err();
        assert_eq!(err.upnp_code(), Some(UpnpCode::ActionFailed));
        let loose = r#"<Envelope><Body><Fault><detail><errorCode> 606 </errorCode></detail></Fault></Body></Envelope>"#;
        let err = read_reply("u", "AddPortMapping", &reply(500, loose)).unwrap_err();
        assert_eq!(err.upnp_code(), Some(UpnpCode::NotAuthorized));
    }

    #[test]
    fn outputs_are_read_by_local_name() {
        let body = r#"<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body>
            <u:GetExternalIPAddressResponse xmlns:u="urn:x"><NewExternalIPAddress>1.2.3.4</NewExternalIPAddress>
            </u:GetExternalIPAddressResponse></s:Body></s:Envelope>"#;
        let out = read_reply("u", "GetExternalIPAddress", &reply(200, body)).unwrap();
        assert_eq!(out.get("NewExternalIPAddress"), "1.2.3.4");
        assert_eq!(out.get("Missing"), "");
    }

    #[test]
    fn garbage_is_malformed_and_html_errors_are_http_failures() {
        assert!(matches!(
            read_reply("u", "X", &reply(200, "<a><b></a>")),
            Err(UpnpError::Malformed { .. })
        ));
        assert!(matches!(
            read_reply("u", "X", &reply(404, "<html>Not found")),
            Err(UpnpError::Unreachable {
                failure: HttpFailure::Status(404),
                ..
            })
        ));
    }

    /// Fuzzing regression: an element with 16,000 attributes took roxmltree seconds (its
    /// duplicate check is quadratic); it is refused before parsing.
    #[test]
    fn fuzz_regression_thousands_of_attributes_are_refused() {
        let body = include_str!("../../fuzz/regressions/soap_reply/many-attributes.xml");
        match read_reply("u", "GetExternalIPAddress", &reply(200, body)) {
            Err(UpnpError::Malformed { reason, .. }) => assert!(reason.contains("attributes"), "{reason}"),
            other => panic!("{other:?}"),
        }
        // With an error status, an unreadable body is that HTTP error.
        assert!(matches!(
            read_reply("u", "GetExternalIPAddress", &reply(500, body)),
            Err(UpnpError::Unreachable {
                failure: HttpFailure::Status(500),
                ..
            })
        ));
    }
}
