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
/// elements with too many attributes or namespaces.
pub(crate) fn parse(text: &str) -> Result<Document<'_>, String> {
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
