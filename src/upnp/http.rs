//! HTTP to the gateway: one kept-alive connection pool, a deadline on every request
//! (the body included, so a gateway that drips bytes cannot hold us), and a size cap.

use std::io::Read;
use std::time::Duration;

use super::error::{HttpFailure, UpnpError};

/// The largest reply we read: a 1000-entry listing is about 600 KiB.
pub(crate) const MAX_REPLY_BYTES: usize = 4 << 20;

/// An HTTP client for one gateway.
#[derive(Clone, Debug)]
pub(crate) struct Http {
    agent: ureq::Agent,
    timeout: Duration,
}

/// A reply as received: status, the `Server` header and body text.
pub(crate) struct Reply {
    pub status: u16,
    pub server: Option<String>,
    pub body: String,
}

impl Http {
    /// A client whose requests each end within `timeout`, connection and body included.
    pub(crate) fn new(timeout: Duration) -> Http {
        let agent = ureq::AgentBuilder::new()
            .timeout(timeout)
            .timeout_connect(timeout)
            .max_idle_connections_per_host(2)
            .redirects(0)
            .try_proxy_from_env(false)
            .user_agent(concat!("PortForward/", env!("CARGO_PKG_VERSION"), " UPnP/1.1"))
            .build();
        Http { agent, timeout }
    }

    /// The deadline each request gets.
    pub(crate) fn timeout(&self) -> Duration {
        self.timeout
    }

    /// GETs a document (device or service description).
    pub(crate) fn get(&self, url: &str) -> Result<Reply, UpnpError> {
        self.finish(url, self.agent.get(url).call())
    }

    /// POSTs a SOAP request.
    pub(crate) fn post_soap(&self, url: &str, soap_action: &str, body: &str) -> Result<Reply, UpnpError> {
        let request = self
            .agent
            .post(url)
            .set("Content-Type", "text/xml; charset=\"utf-8\"")
            .set("SOAPAction", soap_action);
        self.finish(url, request.send_string(body))
    }

    fn finish(&self, url: &str, result: Result<ureq::Response, ureq::Error>) -> Result<Reply, UpnpError> {
        let unreachable = |failure| UpnpError::Unreachable {
            url: url.to_owned(),
            failure,
        };
        let response = match result {
            Ok(response) => response,
            // A SOAP fault comes as HTTP 500 with a body we must read.
            Err(ureq::Error::Status(_, response)) => response,
            Err(ureq::Error::Transport(transport)) => return Err(unreachable(self.transport_failure(&transport))),
        };
        let status = response.status();
        let server = response.header("Server").map(str::to_owned);
        let length = response
            .header("Content-Length")
            .and_then(|v| v.trim().parse::<usize>().ok());
        if length.is_some_and(|length| length > MAX_REPLY_BYTES) {
            return Err(unreachable(HttpFailure::TooLarge(MAX_REPLY_BYTES)));
        }
        // Sized by the announced length (within the cap), so a big listing is not regrown.
        let mut bytes = Vec::with_capacity(length.unwrap_or(0));
        // Reading to the end (within the cap) hands the connection back to the pool.
        response
            .into_reader()
            .take(MAX_REPLY_BYTES as u64 + 1)
            .read_to_end(&mut bytes)
            .map_err(|err| unreachable(self.io_failure(&err)))?;
        if bytes.len() > MAX_REPLY_BYTES {
            return Err(unreachable(HttpFailure::TooLarge(MAX_REPLY_BYTES)));
        }
        Ok(Reply {
            status,
            server,
            // Valid UTF-8 (every router we know) is taken as is, without a copy.
            body: String::from_utf8(bytes).unwrap_or_else(|err| String::from_utf8_lossy(err.as_bytes()).into_owned()),
        })
    }

    fn transport_failure(&self, transport: &ureq::Transport) -> HttpFailure {
        use std::error::Error;
        if let Some(io) = transport.source().and_then(|s| s.downcast_ref::<std::io::Error>()) {
            return self.io_failure(io);
        }
        match transport.kind() {
            ureq::ErrorKind::InvalidUrl | ureq::ErrorKind::UnknownScheme => HttpFailure::BadUrl(transport.to_string()),
            ureq::ErrorKind::ConnectionFailed | ureq::ErrorKind::Dns => HttpFailure::Refused(transport.to_string()),
            ureq::ErrorKind::BadStatus | ureq::ErrorKind::BadHeader => HttpFailure::Garbled,
            _ => HttpFailure::Refused(transport.to_string()),
        }
    }

    fn io_failure(&self, err: &std::io::Error) -> HttpFailure {
        io_failure(err, self.timeout)
    }
}

/// Classifies an I/O error on a request whose deadline was `timeout`.
pub(crate) fn io_failure(err: &std::io::Error, timeout: Duration) -> HttpFailure {
    use std::io::ErrorKind;
    match err.kind() {
        ErrorKind::TimedOut | ErrorKind::WouldBlock => HttpFailure::TimedOut(timeout),
        ErrorKind::UnexpectedEof
        | ErrorKind::ConnectionReset
        | ErrorKind::ConnectionAborted
        | ErrorKind::BrokenPipe => HttpFailure::Closed,
        ErrorKind::ConnectionRefused => HttpFailure::Refused("connection refused".to_owned()),
        _ => HttpFailure::Refused(err.to_string()),
    }
}
