//! Hand-written HTTP/1.1, so faults can control every byte: requests in, responses out.

use std::io::{self, Read};

/// The largest request (head and body) the gateway reads.
pub(crate) const MAX_REQUEST: usize = 64 * 1024;
/// The most header lines the gateway accepts in one request.
const MAX_HEADERS: usize = 64;
/// What padding is made of; streamed from this buffer, never allocated per reply.
static PADDING: [u8; 16 * 1024] = [b'A'; 16 * 1024];

/// The `Server` header miniupnpd 2.3.1 sends on Debian: the simulator's by default.
pub const MINIUPNPD_SERVER: &str = "Debian/12 UPnP/1.1 MiniUPnPd/2.3.1";

/// One parsed request.
#[derive(Debug)]
pub(crate) struct Request {
    pub(crate) method: String,
    pub(crate) path: String,
    /// True for HTTP/1.0 (no keep-alive unless asked for).
    pub(crate) http10: bool,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: Vec<u8>,
}

impl Request {
    /// The first header with this name, compared case-insensitively.
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(header, _)| header.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }

    /// Whether the connection stays open after the reply: HTTP/1.1 unless `Connection: close`.
    pub(crate) fn keep_alive(&self) -> bool {
        let tokens = self.header("connection").unwrap_or("").to_ascii_lowercase();
        let has = |token: &str| tokens.split(',').any(|t| t.trim() == token);
        if has("close") {
            false
        } else if self.http10 {
            has("keep-alive")
        } else {
            true
        }
    }
}

/// Why a request could not be read.
#[derive(Debug)]
pub(crate) enum ReadError {
    /// The peer hung up mid-request or the socket failed: nothing to answer.
    Closed,
    /// Not HTTP we understand: answer 400.
    Malformed(&'static str),
    /// Head and body exceed [`MAX_REQUEST`]: answer 413.
    TooLarge,
    /// A feature we do not implement (chunked bodies): answer 501.
    Unsupported,
}

/// Reads one request; `buf` keeps bytes that arrived after it (pipelining). `Ok(None)` on a clean hang-up.
pub(crate) fn read_request(reader: &mut impl Read, buf: &mut Vec<u8>) -> Result<Option<Request>, ReadError> {
    loop {
        // Stray blank lines between requests are allowed (RFC 9112, 2.2).
        let blank = buf.iter().take_while(|&&byte| byte == b'\r' || byte == b'\n').count();
        buf.drain(..blank);
        if let Some(head_end) = head_end(buf) {
            let (mut request, length) = parse_head(&buf[..head_end])?;
            if head_end.saturating_add(length) > MAX_REQUEST {
                return Err(ReadError::TooLarge);
            }
            while buf.len() < head_end + length {
                if fill(reader, buf)? == 0 {
                    return Err(ReadError::Closed);
                }
            }
            request.body = buf[head_end..head_end + length].to_vec();
            buf.drain(..head_end + length);
            return Ok(Some(request));
        }
        if buf.len() >= MAX_REQUEST {
            return Err(ReadError::TooLarge);
        }
        if fill(reader, buf)? == 0 {
            return if buf.is_empty() {
                Ok(None)
            } else {
                Err(ReadError::Closed)
            };
        }
    }
}

fn fill(reader: &mut impl Read, buf: &mut Vec<u8>) -> Result<usize, ReadError> {
    let mut chunk = [0u8; 4096];
    let room = (MAX_REQUEST + 1).saturating_sub(buf.len()).clamp(1, chunk.len());
    loop {
        match reader.read(&mut chunk[..room]) {
            Ok(read) => {
                buf.extend_from_slice(&chunk[..read]);
                return Ok(read);
            }
            Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
            Err(_) => return Err(ReadError::Closed),
        }
    }
}

/// The index just past the blank line ending the head (CRLF CRLF, or bare LF LF).
fn head_end(buf: &[u8]) -> Option<usize> {
    let crlf = buf.windows(4).position(|w| w == b"\r\n\r\n").map(|at| at + 4);
    let lf = buf.windows(2).position(|w| w == b"\n\n").map(|at| at + 2);
    match (crlf, lf) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

fn parse_head(head: &[u8]) -> Result<(Request, usize), ReadError> {
    let head = std::str::from_utf8(head).map_err(|_| ReadError::Malformed("head is not UTF-8"))?;
    let mut lines = head.split('\n').map(|line| line.strip_suffix('\r').unwrap_or(line));
    let request_line = lines.next().unwrap_or("");
    let mut parts = request_line.split(' ');
    let (Some(method), Some(target), Some(version), None) = (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(ReadError::Malformed("bad request line"));
    };
    if method.is_empty() || !method.bytes().all(|byte| byte.is_ascii_uppercase() || byte == b'-') {
        return Err(ReadError::Malformed("bad method"));
    }
    let http10 = match version {
        "HTTP/1.1" => false,
        "HTTP/1.0" => true,
        _ => return Err(ReadError::Malformed("unsupported HTTP version")),
    };
    let mut headers = Vec::new();
    for line in lines.filter(|line| !line.is_empty()) {
        if headers.len() == MAX_HEADERS {
            return Err(ReadError::Malformed("too many headers"));
        }
        let (name, value) = line
            .split_once(':')
            .ok_or(ReadError::Malformed("header without colon"))?;
        if name.is_empty()
            || name
                .bytes()
                .any(|byte| byte.is_ascii_whitespace() || byte.is_ascii_control())
        {
            return Err(ReadError::Malformed("bad header name"));
        }
        headers.push((name.to_string(), value.trim().to_string()));
    }
    let request = Request {
        method: method.to_string(),
        path: path_of(target).ok_or(ReadError::Malformed("bad request target"))?,
        http10,
        headers,
        body: Vec::new(),
    };
    if request.header("transfer-encoding").is_some() {
        return Err(ReadError::Unsupported);
    }
    let mut length = None;
    for (_, value) in request
        .headers
        .iter()
        .filter(|(name, _)| name.eq_ignore_ascii_case("content-length"))
    {
        let value: usize = value.parse().map_err(|_| ReadError::Malformed("bad Content-Length"))?;
        if length.is_some_and(|length| length != value) {
            return Err(ReadError::Malformed("conflicting Content-Length"));
        }
        length = Some(value);
    }
    Ok((request, length.unwrap_or(0)))
}

/// The path of an origin-form (`/x?y`) or absolute-form (`http://host/x`) target, without the query.
fn path_of(target: &str) -> Option<String> {
    let path = if let Some(rest) = target.strip_prefix("http://") {
        rest.find('/').map_or("/", |at| &rest[at..])
    } else if target.starts_with('/') || target == "*" {
        target
    } else {
        return None;
    };
    Some(path.split(['?', '#']).next().unwrap_or(path).to_string())
}

/// A reply body: in memory, or a start followed by streamed padding.
pub(crate) enum Body {
    Full(Vec<u8>),
    Padded { prefix: Vec<u8>, padding: u64 },
}

impl Body {
    pub(crate) fn len(&self) -> u64 {
        match self {
            Body::Full(bytes) => bytes.len() as u64,
            Body::Padded { prefix, padding } => prefix.len() as u64 + padding,
        }
    }

    /// Hands the first `limit` bytes of the body to `sink`, chunk by chunk; stops at the sink's first error.
    pub(crate) fn stream(&self, limit: u64, mut sink: impl FnMut(&[u8]) -> io::Result<()>) -> io::Result<()> {
        let take = |bytes: &[u8], left: u64| usize::try_from(left).map_or(bytes.len(), |left| left.min(bytes.len()));
        match self {
            Body::Full(bytes) => sink(&bytes[..take(bytes, limit)]),
            Body::Padded { prefix, padding } => {
                let first = take(prefix, limit);
                sink(&prefix[..first])?;
                let mut left = limit.saturating_sub(first as u64).min(*padding);
                while left > 0 {
                    let chunk = take(&PADDING, left);
                    sink(&PADDING[..chunk])?;
                    left -= chunk as u64;
                }
                Ok(())
            }
        }
    }
}

/// A reply: status line, a few fixed headers, a body.
pub(crate) struct Response {
    pub(crate) status: u16,
    pub(crate) reason: &'static str,
    pub(crate) body: Body,
    /// Headers beyond the fixed ones (SID and TIMEOUT of a subscription).
    pub(crate) headers: Vec<(&'static str, String)>,
}

impl Response {
    pub(crate) fn xml(status: u16, reason: &'static str, body: Vec<u8>) -> Response {
        Response {
            status,
            reason,
            body: Body::Full(body),
            headers: Vec::new(),
        }
    }

    /// A short plain error page (400, 404, …).
    pub(crate) fn error(status: u16, reason: &'static str) -> Response {
        let body =
            format!("<HTML><HEAD><TITLE>{status} {reason}</TITLE></HEAD><BODY>{status} {reason}</BODY></HTML>\r\n");
        Response::xml(status, reason, body.into_bytes())
    }

    /// The status line and headers, ending with the blank line.
    pub(crate) fn head(&self, keep_alive: bool, server: &str) -> Vec<u8> {
        let connection = if keep_alive { "keep-alive" } else { "close" };
        let extra: String = self
            .headers
            .iter()
            .map(|(name, value)| format!("{name}: {value}\r\n"))
            .collect();
        format!(
            "HTTP/1.1 {} {}\r\nContent-Type: text/xml; charset=\"utf-8\"\r\nConnection: {connection}\r\n\
             Content-Length: {}\r\nServer: {server}\r\nExt:\r\n{extra}\r\n",
            self.status,
            self.reason,
            self.body.len(),
        )
        .into_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(bytes: &[u8]) -> Result<Option<Request>, ReadError> {
        let mut reader = bytes;
        read_request(&mut reader, &mut Vec::new())
    }

    #[test]
    fn reads_pipelined_requests_with_bodies() {
        let mut reader: &[u8] = b"POST /ctl HTTP/1.1\r\nContent-Length: 3\r\n\r\nabcGET /x?q=1 HTTP/1.0\n\n";
        let mut buf = Vec::new();
        let first = read_request(&mut reader, &mut buf).unwrap().unwrap();
        assert_eq!(
            (first.method.as_str(), first.path.as_str(), &first.body[..]),
            ("POST", "/ctl", &b"abc"[..])
        );
        assert!(first.keep_alive());
        let second = read_request(&mut reader, &mut buf).unwrap().unwrap();
        assert_eq!(second.path, "/x");
        assert!(!second.keep_alive());
        assert!(read_request(&mut reader, &mut buf).unwrap().is_none());
    }

    #[test]
    fn refuses_garbage_and_oversized_requests() {
        assert!(matches!(read(b"\x00\x01garbage\r\n\r\n"), Err(ReadError::Malformed(_))));
        assert!(matches!(read(b"GET / HTTP/2\r\n\r\n"), Err(ReadError::Malformed(_))));
        assert!(matches!(
            read(b"GET / HTTP/1.1\r\nNoColon\r\n\r\n"),
            Err(ReadError::Malformed(_))
        ));
        assert!(matches!(
            read(b"POST / HTTP/1.1\r\nContent-Length: 70000\r\n\r\n"),
            Err(ReadError::TooLarge)
        ));
        assert!(matches!(read(&[b'a'; MAX_REQUEST + 10]), Err(ReadError::TooLarge)));
        let many: String = (0..100).map(|i| format!("X-{i}: y\r\n")).collect();
        assert!(matches!(
            read(format!("GET / HTTP/1.1\r\n{many}\r\n").as_bytes()),
            Err(ReadError::Malformed(_))
        ));
        assert!(matches!(
            read(b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"),
            Err(ReadError::Unsupported)
        ));
        assert!(matches!(read(b"GET / HTT"), Err(ReadError::Closed)));
    }

    #[test]
    fn padded_body_streams_exactly_its_length() {
        let body = Body::Padded {
            prefix: b"<a>".to_vec(),
            padding: 40_000,
        };
        let mut total = 0u64;
        body.stream(u64::MAX, |chunk| {
            total += chunk.len() as u64;
            Ok(())
        })
        .unwrap();
        assert_eq!(total, body.len());
        let mut half = 0u64;
        body.stream(body.len() / 2, |chunk| {
            half += chunk.len() as u64;
            Ok(())
        })
        .unwrap();
        assert_eq!(half, body.len() / 2);
    }
}
