//! Bounded XML reading: no DTDs (so no entity expansion), a node cap, helpers that match
//! elements by local name (routers disagree on namespace prefixes).

use roxmltree::{Document, Node, ParsingOptions};

/// The most nodes one document may have; a 1000-entry listing needs about 20,000.
const NODES_LIMIT: u32 = 200_000;

/// The most attributes one element may have, namespace declarations included, and the most
/// namespace declarations in scope at once. roxmltree checks each attribute against the
/// element's others, and for every element that declares a namespace copies those in scope,
/// checking each against the copied ones: both quadratic, so a few thousand cost seconds and
/// a 4 MiB reply hours (found by fuzzing). Routers use a handful.
const ATTRIBUTES_LIMIT: usize = 32;
const NAMESPACES_LIMIT: usize = 16;

/// Parses `text`, refusing DTDs (billion laughs and external entities), huge trees and
/// elements with too many attributes or namespaces. A byte-order mark and anything before the
/// first `<` (whitespace, stray bytes some firmware sends before the declaration) are skipped.
pub(crate) fn parse(text: &str) -> Result<Document<'_>, String> {
    let text = skip_prolog_junk(text);
    check_attribute_counts(text)?;
    let options = ParsingOptions {
        allow_dtd: false,
        nodes_limit: NODES_LIMIT,
        ..ParsingOptions::default()
    };
    Document::parse_with_options(text, options).map_err(|err| match err {
        roxmltree::Error::DtdDetected => "it contains a DTD, which is refused (entity expansion)".to_owned(),
        other => format!("invalid XML: {other}"),
    })
}

/// The text from its first `<` on: a byte-order mark, blank lines or stray bytes before the XML
/// declaration are not the document.
fn skip_prolog_junk(text: &str) -> &str {
    text.find('<').map_or(text, |start| &text[start..])
}

/// The deepest nesting [`repair`] rebuilds; device descriptions nest five or six levels.
const REPAIR_DEPTH_LIMIT: usize = 64;

/// Rebuilds a document that is not well-formed into one that is, the way a tolerant scanner
/// (miniupnpc's) reads it: element names without their prefixes, attributes dropped (so no
/// namespace can be undeclared), a closing tag that matches an open element closes everything
/// inside it, a stray closing tag is ignored, what is still open at the end is closed, a bare
/// `&` becomes text, and several top-level elements share one root (`<repaired>`). Linear in
/// the input and bounded in depth. A DTD, or a document over the attribute and namespace caps,
/// is never repaired: `None` (no entity is expanded, and hostile input stays refused).
///
/// For documents where a few elements are all we need (device and service descriptions); never
/// for SOAP replies, where a truncated listing must not pass for a short one.
pub(crate) fn repair(text: &str) -> Option<String> {
    let text = skip_prolog_junk(text);
    // Sloppy is repaired; hostile (thousands of attributes or namespaces) is not.
    check_attribute_counts(text).ok()?;
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len() + 64);
    out.push_str("<repaired>");
    let mut open: Vec<&str> = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let Some(offset) = memchr::memchr2(b'<', b'&', &bytes[i..]) else {
            out.push_str(&text[i..]);
            break;
        };
        out.push_str(&text[i..i + offset]);
        i += offset;
        let rest = &text[i..];
        if let Some(after) = rest.strip_prefix('&') {
            let entity = after.find(';').filter(|&end| end <= 10).map(|end| &after[..=end]);
            let known = entity.is_some_and(|e| {
                matches!(e, "amp;" | "lt;" | "gt;" | "quot;" | "apos;")
                    || (e.starts_with('#')
                        && e.len() > 2
                        && e[1..e.len() - 1].chars().all(|c| c.is_ascii_hexdigit() || c == 'x'))
            });
            out.push_str(if known { "&" } else { "&amp;" });
            i += 1;
            continue;
        }
        let copy_through = |end: &str, from: usize| rest[from..].find(end).map(|p| from + p + end.len());
        if rest.starts_with("<!--") {
            i += copy_through("-->", 4).unwrap_or(rest.len());
        } else if rest.starts_with("<![CDATA[") {
            match copy_through("]]>", 9) {
                Some(end) => out.push_str(&rest[..end]),
                None => {
                    out.push_str(rest);
                    out.push_str("]]>");
                }
            }
            i += copy_through("]]>", 9).unwrap_or(rest.len());
        } else if rest.starts_with("<!") {
            return None;
        } else if rest.starts_with("<?") {
            i += copy_through("?>", 2).unwrap_or(rest.len());
        } else {
            let Some(end) = rest.find('>') else { break };
            let tag = &rest[1..end];
            i += end + 1;
            let closing = tag.starts_with('/');
            let tag = tag.trim_start_matches('/');
            let self_closing = tag.ends_with('/');
            let name = tag.split(|c: char| c.is_whitespace() || c == '/').next().unwrap_or("");
            let local = name.rsplit(':').next().unwrap_or("");
            let valid = local.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
                && local
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
            if !valid {
                out.push_str("&lt;");
                out.push_str(&xml_text(&rest[1..end]));
                out.push_str("&gt;");
                continue;
            }
            if closing {
                if let Some(at) = open.iter().rposition(|o| *o == local) {
                    for name in open.drain(at..).rev() {
                        out.push_str("</");
                        out.push_str(name);
                        out.push('>');
                    }
                }
            } else if self_closing {
                out.push('<');
                out.push_str(local);
                out.push_str("/>");
            } else {
                if open.len() == REPAIR_DEPTH_LIMIT {
                    return None;
                }
                open.push(local);
                out.push('<');
                out.push_str(local);
                out.push('>');
            }
        }
    }
    for name in open.into_iter().rev() {
        out.push_str("</");
        out.push_str(name);
        out.push('>');
    }
    out.push_str("</repaired>");
    Some(out)
}

/// `text` with `<`, `>` and `&` escaped.
fn xml_text(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// Enforces [`ATTRIBUTES_LIMIT`] and [`NAMESPACES_LIMIT`] in one pass over the markup, before
/// roxmltree sees it. It only counts: a document it lets through may still be invalid, and
/// one it refuses (an `=` or `xmlns` outside quotes counted that was not an attribute) was
/// invalid XML or hostile anyway.
fn check_attribute_counts(text: &str) -> Result<(), String> {
    let bytes = text.as_bytes();
    // The depth of the open elements, and the (depth, count) of those that declare
    // namespaces (at most NAMESPACES_LIMIT of them) with the count's sum.
    let mut depth = 0usize;
    let mut declaring: Vec<(usize, usize)> = Vec::new();
    let mut in_scope = 0;
    let mut i = 0;
    while let Some(offset) = memchr::memchr(b'<', &bytes[i..]) {
        i += offset;
        let rest = &bytes[i..];
        let skip_to = |from: usize, end: &[u8]| {
            memchr::memmem::find(bytes.get(from..).unwrap_or_default(), end)
                .map_or(bytes.len(), |p| from + p + end.len())
        };
        if rest.starts_with(b"<!--") {
            i = skip_to(i + 4, b"-->");
        } else if rest.starts_with(b"<![CDATA[") {
            i = skip_to(i + 9, b"]]>");
        } else if rest.starts_with(b"<?") {
            i = skip_to(i + 2, b"?>");
        } else if rest.starts_with(b"<!") {
            // A DTD: roxmltree refuses it.
            i = skip_to(i + 2, b">");
        } else if rest.starts_with(b"</") {
            depth = depth.saturating_sub(1);
            while let Some(&(at, count)) = declaring.last()
                && at >= depth
            {
                declaring.pop();
                in_scope -= count;
            }
            i = skip_to(i + 2, b">");
        } else {
            // A start tag: an attribute per `=` outside quoted values, a declaration per
            // name starting with xmlns.
            let (mut attributes, mut declarations, mut quote, mut empty) = (0, 0, None, false);
            i += 1;
            while i < bytes.len() {
                let b = bytes[i];
                i += 1;
                match (quote, b) {
                    (Some(q), _) if b == q => quote = None,
                    (Some(_), _) => {}
                    (None, b'"' | b'\'') => quote = Some(b),
                    (None, b'=') => attributes += 1,
                    (None, b' ' | b'\t' | b'\r' | b'\n') if bytes[i..].starts_with(b"xmlns") => declarations += 1,
                    (None, b'>') => break,
                    _ => {}
                }
                empty = quote.is_none() && b == b'/';
            }
            if attributes > ATTRIBUTES_LIMIT {
                return Err(format!(
                    "invalid XML: an element has more than {ATTRIBUTES_LIMIT} attributes"
                ));
            }
            if in_scope + declarations > NAMESPACES_LIMIT {
                return Err(format!(
                    "invalid XML: more than {NAMESPACES_LIMIT} namespace declarations in scope"
                ));
            }
            if !empty {
                if declarations > 0 {
                    declaring.push((depth, declarations));
                    in_scope += declarations;
                }
                depth += 1;
            }
        }
    }
    Ok(())
}

/// The first element below `node` (at any depth) with this local name.
pub(crate) fn descendant<'a, 'input>(node: Node<'a, 'input>, name: &str) -> Option<Node<'a, 'input>> {
    node.descendants()
        .find(|n| n.is_element() && n.tag_name().name() == name)
}

/// The direct child element with this local name.
pub(crate) fn child<'a, 'input>(node: Node<'a, 'input>, name: &str) -> Option<Node<'a, 'input>> {
    node.children().find(|n| n.is_element() && n.tag_name().name() == name)
}

/// The trimmed text of the direct child element with this local name; "" when it is empty.
pub(crate) fn child_text(node: Node<'_, '_>, name: &str) -> Option<String> {
    child(node, name).map(|c| c.text().unwrap_or("").trim().to_owned())
}

/// Escapes the five XML special characters.
///
/// ```
/// # use portforward::upnp::escape_xml;
/// assert_eq!(escape_xml("<a & 'b' \"c\">"), "&lt;a &amp; &apos;b&apos; &quot;c&quot;&gt;");
/// ```
pub fn escape_xml(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dtds_are_refused() {
        let laughs =
            r#"<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;">]><a>&lol2;</a>"#;
        assert!(parse(laughs).unwrap_err().contains("DTD"));
    }

    #[test]
    fn attributes_and_namespaces_are_counted_in_the_markup_only() {
        let many = |n: usize| (0..n).map(|i| format!(" a{i}=\"\"")).collect::<String>();
        assert!(parse(&format!("<a{}/>", many(ATTRIBUTES_LIMIT))).is_ok());
        assert!(
            parse(&format!("<a{}/>", many(ATTRIBUTES_LIMIT + 1)))
                .unwrap_err()
                .contains("attributes")
        );
        // `=` and `>` in values, comments, CDATA and text are not attributes.
        let equals = "=".repeat(100);
        let doc = format!(
            "<?xml version=\"1.0\"?><!-- {equals} --><a b='{equals}>' c=\"'{equals}\"><![CDATA[<x {equals}>]]>{equals}</a>"
        );
        assert!(parse(&doc).is_ok());
        // Declarations add up along the path and are released when their element closes.
        let ns = |from: usize, to: usize| (from..to).map(|i| format!(" xmlns:n{i}=\"u\"")).collect::<String>();
        let half = NAMESPACES_LIMIT / 2;
        let nested = format!(
            "<a{}><b{}><x/></b><c{}><x/></c></a>",
            ns(0, half),
            ns(half, NAMESPACES_LIMIT),
            ns(half, NAMESPACES_LIMIT)
        );
        assert!(parse(&nested).is_ok());
        let deeper = format!(
            "<a{}><b{}><c xmlns=\"u\"/></b></a>",
            ns(0, half),
            ns(half, NAMESPACES_LIMIT)
        );
        assert!(parse(&deeper).unwrap_err().contains("namespace"));
        let siblings = (0..100)
            .map(|_| format!("<b{}/>", ns(0, NAMESPACES_LIMIT)))
            .collect::<String>();
        assert!(parse(&format!("<a>{siblings}</a>")).is_ok());
        // Unterminated markup ends the count without a panic.
        for broken in [
            "<a b='",
            "<a",
            "<!--",
            "<![CDATA[",
            "<?x",
            "</",
            "<!DOCTYPE",
            "<a/><",
            "</a></b>",
        ] {
            let _ = parse(broken);
        }
    }

    #[test]
    fn junk_before_the_declaration_and_a_byte_order_mark_are_skipped() {
        for text in [
            "\u{feff}<?xml version=\"1.0\"?><a/>",
            "\r\n\r\n<?xml version=\"1.0\"?><a/>",
            "\0\0<a/>",
        ] {
            assert_eq!(parse(text).unwrap().root_element().tag_name().name(), "a", "{text:?}");
        }
    }

    #[test]
    fn a_broken_document_is_repaired_into_the_elements_a_scanner_would_see() {
        // Undeclared prefixes, a mismatched close, a bare &, an unclosed element, two roots.
        let broken = "junk<x:root><device><friendlyName>Box & Co</friendlyName><deviceType>d:1</devicetype>\
                      <serviceList><service><serviceType>s:1</serviceType></service></root><extra/>";
        assert!(parse(broken).is_err());
        let fixed = repair(broken).unwrap();
        let doc = parse(&fixed).unwrap();
        let device = descendant(doc.root_element(), "device").unwrap();
        assert_eq!(child_text(device, "friendlyName").as_deref(), Some("Box & Co"));
        let service = descendant(doc.root_element(), "service").unwrap();
        assert_eq!(child_text(service, "serviceType").as_deref(), Some("s:1"));
        assert!(descendant(doc.root_element(), "extra").is_some());
    }

    #[test]
    fn repair_never_expands_a_dtd_and_stays_bounded() {
        assert_eq!(repair("<!DOCTYPE a [<!ENTITY x \"y\">]><a>&x;</a>"), None);
        let deep = "<a>".repeat(REPAIR_DEPTH_LIMIT + 1);
        assert_eq!(repair(&deep), None);
        for broken in [
            "<",
            "<a",
            "<a b='",
            "&",
            "<!--",
            "<![CDATA[",
            "</a>",
            "<1a>x</1a>",
            "<a>&#x41;&bogus;</a>",
        ] {
            let fixed = repair(broken).unwrap();
            assert!(parse(&fixed).is_ok(), "{broken:?} -> {fixed:?}");
        }
    }

    #[test]
    fn local_names_ignore_prefixes() {
        let doc =
            parse(r#"<s:Envelope xmlns:s="x"><s:Body><u:R xmlns:u="y"><A> 1 </A><B/></u:R></s:Body></s:Envelope>"#)
                .unwrap();
        let r = descendant(doc.root_element(), "R").unwrap();
        assert_eq!(child_text(r, "A").as_deref(), Some("1"));
        assert_eq!(child_text(r, "B").as_deref(), Some(""));
        assert_eq!(child_text(r, "C"), None);
    }
}
