//! The few HTTP calls platform sources make: the Bilibili open platform's app start /
//! heartbeat / end, Bilibili's `getDanmuInfo`, and the user's Douyin URL signer.
//!
//! One small client over hyper (already in the tree through axum) with rustls for `https://`
//! (ring and webpki roots, as the WebSocket side uses). Every call is bounded: an answer within
//! [`HTTP_TIMEOUT`], at most [`MAX_RESPONSE_BYTES`] read. Only the status, the body and a typed
//! error come back; the caller decides what a platform's own `code` means.

use std::time::Duration;

use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Bytes;
use hyper::{Method, Request};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;
use thiserror::Error;

use super::MAX_MESSAGE_BYTES;
use super::health::clip_to;

/// Longest wait for one whole answer (connect, send, read).
pub const HTTP_TIMEOUT: Duration = Duration::from_secs(10);
/// Largest answer read, in bytes.
pub const MAX_RESPONSE_BYTES: usize = MAX_MESSAGE_BYTES;

/// Why an HTTP call gave nothing usable.
#[derive(Debug, Clone, Error, PartialEq)]
pub enum HttpError {
    #[error("cannot build the request to {url:?}: {reason}")]
    BadRequest { url: String, reason: String },
    #[error("TLS setup: {0}")]
    Tls(String),
    #[error("request failed: {0}")]
    Request(String),
    #[error("no answer within {0:?}")]
    Timeout(Duration),
    #[error("HTTP {status}: {body}")]
    Status { status: u16, body: String },
    #[error("the answer is larger than {MAX_RESPONSE_BYTES} bytes")]
    TooLarge,
    #[error("the answer is not JSON: {0}")]
    BadJson(String),
}

type Connector = hyper_rustls::HttpsConnector<HttpConnector>;

/// A cheap-to-clone HTTP/1.1 client for `http://` and `https://` URLs.
#[derive(Clone, Debug)]
pub struct Http {
    client: Client<Connector, Full<Bytes>>,
}

impl Http {
    pub fn new() -> Result<Http, HttpError> {
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_provider_and_webpki_roots(rustls::crypto::ring::default_provider())
            .map_err(|e| HttpError::Tls(e.to_string()))?
            .https_or_http()
            .enable_http1()
            .build();
        Ok(Http {
            client: Client::builder(TokioExecutor::new()).build(connector),
        })
    }

    /// Sends one request; a 2xx answer's body, else [`HttpError::Status`] with the start of
    /// the body (for the log and the status line).
    pub async fn send(
        &self,
        method: Method,
        url: &str,
        headers: &[(&str, String)],
        body: Vec<u8>,
    ) -> Result<Bytes, HttpError> {
        let bad_request = |reason: String| HttpError::BadRequest {
            url: redact(url),
            reason,
        };
        let mut request = Request::builder().method(method).uri(url);
        for (name, value) in headers.iter().filter(|(_, v)| !v.is_empty()) {
            request = request.header(*name, value.as_str());
        }
        let request = request
            .body(Full::new(Bytes::from(body)))
            .map_err(|e| bad_request(e.to_string()))?;
        let call = async {
            let response = self
                .client
                .request(request)
                .await
                .map_err(|e| HttpError::Request(error_chain(&e)))?;
            let status = response.status();
            let bytes = Limited::new(response.into_body(), MAX_RESPONSE_BYTES)
                .collect()
                .await
                .map_err(|e| {
                    if e.is::<http_body_util::LengthLimitError>() {
                        HttpError::TooLarge
                    } else {
                        HttpError::Request(e.to_string())
                    }
                })?
                .to_bytes();
            if !status.is_success() {
                return Err(HttpError::Status {
                    status: status.as_u16(),
                    body: clip_to(&String::from_utf8_lossy(&bytes), 200).to_owned(),
                });
            }
            Ok(bytes)
        };
        tokio::time::timeout(HTTP_TIMEOUT, call)
            .await
            .map_err(|_| HttpError::Timeout(HTTP_TIMEOUT))?
    }

    /// `POST` a JSON body; the answer as JSON.
    pub async fn post_json(
        &self,
        url: &str,
        headers: &[(&str, String)],
        body: Vec<u8>,
    ) -> Result<Value, HttpError> {
        let mut all = vec![
            ("Content-Type", "application/json".to_owned()),
            ("Accept", "application/json".to_owned()),
        ];
        all.extend(headers.iter().cloned());
        let bytes = self.send(Method::POST, url, &all, body).await?;
        parse(&bytes)
    }

    /// `GET`; the answer as JSON.
    pub async fn get_json(
        &self,
        url: &str,
        headers: &[(&str, String)],
    ) -> Result<Value, HttpError> {
        let mut all = vec![("Accept", "application/json".to_owned())];
        all.extend(headers.iter().cloned());
        let bytes = self.send(Method::GET, url, &all, Vec::new()).await?;
        parse(&bytes)
    }
}

fn parse(bytes: &[u8]) -> Result<Value, HttpError> {
    serde_json::from_slice(bytes).map_err(|e| HttpError::BadJson(e.to_string()))
}

/// An error with its causes ("connection refused" hides under hyper's "client error").
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        text.push_str(": ");
        text.push_str(&c.to_string());
        cause = c.source();
    }
    clip_to(&text, 300).to_owned()
}

/// A URL without its query (it may carry keys or signatures).
pub(crate) fn redact(url: &str) -> String {
    match url.split_once('?') {
        Some((base, _)) => format!("{base}?…"),
        None => url.to_owned(),
    }
}

/// Checks a configured `http://` or `https://` base address.
pub(crate) fn check_http_url(what: &str, url: &str) -> Result<(), String> {
    let lower = url.to_ascii_lowercase();
    if !(lower.starts_with("http://") || lower.starts_with("https://")) {
        return Err(format!(
            "{what} {url:?}: must start with http:// or https://"
        ));
    }
    if url.len() > 2048 || url.chars().any(char::is_whitespace) {
        return Err(format!(
            "{what}: longer than 2048 bytes or contains whitespace"
        ));
    }
    if url.parse::<hyper::Uri>().is_err() {
        return Err(format!("{what} {url:?}: not a valid URL"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_checked_and_redacted() {
        assert!(check_http_url("api_base", "https://live-open.biliapi.com").is_ok());
        assert!(check_http_url("api_base", "http://127.0.0.1:9/x").is_ok());
        assert!(check_http_url("api_base", "ws://x").is_err());
        assert!(check_http_url("api_base", "http://a b").is_err());
        assert_eq!(redact("http://h/p?sig=1"), "http://h/p?…");
    }

    #[tokio::test]
    async fn a_closed_port_is_a_request_error() {
        let http = Http::new().unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let err = http
            .get_json(&format!("http://127.0.0.1:{port}/"), &[])
            .await
            .unwrap_err();
        assert!(matches!(err, HttpError::Request(_)), "{err}");
    }
}
