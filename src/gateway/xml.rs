//! Bounded XML reading: no DTDs (so no entity expansion), a node cap, helpers that match
//! elements by local name (routers disagree on namespace prefixes).

use roxmltree::{Document, Node, ParsingOptions};

/// The most nodes one document may have; a 1000-entry listing needs about 20,000.
const NODES_LIMIT: u32 = 200_000;

/// Parses `text`, refusing DTDs (billion laughs and external entities) and huge trees.
pub(crate) fn parse(text: &str) -> Result<Document<'_>, String> {
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
/// # use portforward::gateway::escape_xml;
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
