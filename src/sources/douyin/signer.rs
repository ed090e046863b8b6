//! The operator's URL signer: the push URL's `signature` is asked of an HTTP endpoint the
//! operator runs, before every connection ([`sign_url`] reads its answer).

use serde_json::Value;

use crate::sources::Secret;
use crate::sources::http::Http;

/// The operator's URL signer.
pub(super) struct Signer {
    pub(super) http: Http,
    pub(super) url: String,
    pub(super) token: Secret,
    /// The configured `url` without its `signature`.
    pub(super) unsigned: String,
    pub(super) room_id: Option<u64>,
    pub(super) user_agent: String,
}

/// The signature parameter's value, percent-encoded where it is not URL-safe.
fn encode_param(value: &str) -> String {
    use std::fmt::Write as _;
    value.bytes().fold(String::new(), |mut out, b| {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
        out
    })
}

/// `url` without the query parameter `name`.
pub fn without_param(url: &str, name: &str) -> String {
    let Some((base, query)) = url.split_once('?') else {
        return url.to_owned();
    };
    let kept: Vec<&str> = query
        .split('&')
        .filter(|p| !p.is_empty() && p.split('=').next() != Some(name))
        .collect();
    if kept.is_empty() {
        base.to_owned()
    } else {
        format!("{base}?{}", kept.join("&"))
    }
}

/// What a signer's answer means for `unsigned`: a whole signed URL (`{"url": "wss://…"}`),
/// or the signature to add (`{"signature": "…"}`).
pub fn sign_url(unsigned: &str, answer: &Value) -> Result<String, String> {
    if let Some(url) = answer.get("url").and_then(Value::as_str) {
        crate::sources::check_ws_url(url)?;
        return Ok(url.to_owned());
    }
    match answer.get("signature").and_then(Value::as_str) {
        Some(signature) if !signature.is_empty() => {
            let sep = if unsigned.contains('?') { '&' } else { '?' };
            Ok(format!(
                "{unsigned}{sep}signature={}",
                encode_param(signature)
            ))
        }
        _ => Err("the signer's answer has neither url nor signature".into()),
    }
}

impl Signer {
    /// Asks for a signed URL: `POST {signer_url}` with `{"url", "room_id", "user_agent"}`.
    pub(super) async fn sign(&self) -> Result<String, String> {
        let body = serde_json::json!({
            "url": self.unsigned,
            "room_id": self.room_id.map(|id| id.to_string()),
            "user_agent": self.user_agent,
        });
        let auth = if self.token.is_empty() {
            String::new()
        } else {
            format!("Bearer {}", self.token.expose())
        };
        let answer = self
            .http
            .post_json(
                &self.url,
                &[("Authorization", auth)],
                body.to_string().into_bytes(),
            )
            .await
            .map_err(|e| e.to_string())?;
        sign_url(&self.unsigned, &answer)
    }
}
