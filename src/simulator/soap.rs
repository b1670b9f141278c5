//! SOAP envelopes: reading a call, writing a response or a UPnP fault.

use super::xml::escape;

/// A parsed control request: the action's element name and its arguments, in order.
#[derive(Debug)]
pub(crate) struct Call {
    pub(crate) action: String,
    pub(crate) args: Vec<(String, String)>,
}

impl Call {
    /// The value of the first argument with this name (`None` if absent, as miniupnpd's NULL).
    pub(crate) fn arg(&self, name: &str) -> Option<&str> {
        self.args
            .iter()
            .find(|(arg, _)| arg == name)
            .map(|(_, value)| value.as_str())
    }
}

/// Parses an envelope leniently, like miniupnpd: any namespace, the first element in `Body` is the action.
/// roxmltree refuses DTDs, so an entity bomb in a request is an error, not a hang.
pub(crate) fn parse_call(body: &[u8]) -> Result<Call, String> {
    let text = std::str::from_utf8(body).map_err(|error| format!("body is not UTF-8: {error}"))?;
    let document = roxmltree::Document::parse(text).map_err(|error| format!("bad XML: {error}"))?;
    let body = document
        .root_element()
        .children()
        .find(|node| node.is_element() && node.tag_name().name() == "Body")
        .ok_or("no SOAP Body")?;
    let action = body.first_element_child().ok_or("empty SOAP Body")?;
    let args = action
        .children()
        .filter(|node| node.is_element())
        .map(|arg| {
            let value: String = arg
                .descendants()
                .filter(|node| node.is_text())
                .filter_map(|node| node.text())
                .collect();
            (arg.tag_name().name().to_string(), value)
        })
        .collect();
    Ok(Call {
        action: action.tag_name().name().to_string(),
        args,
    })
}

/// The action name in a `SOAPAction` header (`"urn:…#Name"`, quotes optional).
pub(crate) fn header_action(header: &str) -> Option<String> {
    let (_, name) = header.trim().trim_matches('"').split_once('#')?;
    let name = name.trim_matches('"').trim();
    (!name.is_empty()).then(|| name.to_string())
}

const ENVELOPE_START: &str = "<s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\" \
                              s:encodingStyle=\"http://schemas.xmlsoap.org/soap/encoding/\"><s:Body>";
const ENVELOPE_END: &str = "</s:Body></s:Envelope>\r\n";
const XML_DECLARATION: &str = "<?xml version=\"1.0\"?>\r\n";

/// The classic "billion laughs" DTD: `&lol9;` expands to 10^9 "lol"s.
const BILLION_LAUGHS_DTD: &str = "<!DOCTYPE lolz [\n\
 <!ENTITY lol \"lol\">\n\
 <!ENTITY lol1 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">\n\
 <!ENTITY lol2 \"&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;\">\n\
 <!ENTITY lol3 \"&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;\">\n\
 <!ENTITY lol4 \"&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;\">\n\
 <!ENTITY lol5 \"&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;\">\n\
 <!ENTITY lol6 \"&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;\">\n\
 <!ENTITY lol7 \"&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;\">\n\
 <!ENTITY lol8 \"&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;\">\n\
 <!ENTITY lol9 \"&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;\">\n\
]>\n";

/// The entity reference the billion-laughs reply puts in a value.
const LAUGH: &str = "&lol9;";

fn preamble(laughs: bool) -> String {
    let mut out = String::from(XML_DECLARATION);
    if laughs {
        out.push_str(BILLION_LAUGHS_DTD);
    }
    out.push_str(ENVELOPE_START);
    out
}

/// A successful reply; with `laughs`, the DTD is prepended and the first value becomes `&lol9;`.
pub(crate) fn response(service_type: &str, action: &str, args: &[(&str, String)], laughs: bool) -> Vec<u8> {
    let mut out = preamble(laughs);
    out.push_str(&format!("<u:{action}Response xmlns:u=\"{}\">", escape(service_type)));
    for (index, (name, value)) in args.iter().enumerate() {
        let value = if laughs && index == 0 {
            LAUGH.to_string()
        } else {
            escape(value)
        };
        out.push_str(&format!("<{name}>{value}</{name}>"));
    }
    if laughs && args.is_empty() {
        out.push_str(LAUGH);
    }
    out.push_str(&format!("</u:{action}Response>"));
    out.push_str(ENVELOPE_END);
    out.into_bytes()
}

/// A UPnP error as miniupnpd words it (sent with HTTP 500).
pub(crate) fn fault(code: u16, description: &str, laughs: bool) -> Vec<u8> {
    let description = if laughs { LAUGH.to_string() } else { escape(description) };
    let mut out = preamble(laughs);
    out.push_str(&format!(
        "<s:Fault><faultcode>s:Client</faultcode><faultstring>UPnPError</faultstring><detail>\
         <UPnPError xmlns=\"urn:schemas-upnp-org:control-1-0\"><errorCode>{code}</errorCode>\
         <errorDescription>{description}</errorDescription></UPnPError></detail></s:Fault>"
    ));
    out.push_str(ENVELOPE_END);
    out.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_call_with_any_prefix_and_escaped_values() {
        let call = parse_call(
            br#"<?xml version="1.0"?><SOAP-ENV:Envelope xmlns:SOAP-ENV="http://schemas.xmlsoap.org/soap/envelope/"><SOAP-ENV:Body><m:AddPortMapping xmlns:m="urn:x"><NewRemoteHost></NewRemoteHost><NewPortMappingDescription>a &amp; b</NewPortMappingDescription></m:AddPortMapping></SOAP-ENV:Body></SOAP-ENV:Envelope>"#,
        )
        .unwrap();
        assert_eq!(call.action, "AddPortMapping");
        assert_eq!(call.arg("NewRemoteHost"), Some(""));
        assert_eq!(call.arg("NewPortMappingDescription"), Some("a & b"));
        assert_eq!(call.arg("NewExternalPort"), None);
    }

    #[test]
    fn refuses_a_dtd_in_a_request() {
        let mut body = String::from("<?xml version=\"1.0\"?>");
        body.push_str(BILLION_LAUGHS_DTD);
        body.push_str("<e><Body><A>&lol9;</A></Body></e>");
        assert!(parse_call(body.as_bytes()).is_err());
    }

    #[test]
    fn header_action_accepts_quotes_or_not() {
        let name = header_action("\"urn:schemas-upnp-org:service:WANIPConnection:2#GetStatusInfo\"");
        assert_eq!(name.as_deref(), Some("GetStatusInfo"));
        let name = header_action("urn:schemas-upnp-org:service:WANIPConnection:1#AddPortMapping");
        assert_eq!(name.as_deref(), Some("AddPortMapping"));
        assert_eq!(header_action("nothing"), None);
    }

    #[test]
    fn replies_parse_and_escape_values() {
        let reply = response("urn:x", "GetThing", &[("NewValue", "<&>".to_string())], false);
        let text = String::from_utf8(reply).unwrap();
        let document = roxmltree::Document::parse(&text).unwrap();
        let value = document.descendants().find(|n| n.has_tag_name("NewValue")).unwrap();
        assert_eq!(value.text(), Some("<&>"));
        let text = String::from_utf8(fault(718, "ConflictInMappingEntry", false)).unwrap();
        assert!(text.contains("<errorCode>718</errorCode>"));
        roxmltree::Document::parse(&text).unwrap();
    }
}
