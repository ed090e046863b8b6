//! Viewer pseudonyms: a keyed hash (HMAC-SHA256) of the platform's viewer id.
//!
//! With a store, the key is the deployment's secret (`store` loads or makes it), so the same
//! viewer gets the same pseudonym across rooms and restarts while the database alone does not
//! let anyone test a guessed viewer id. Without a store the key is random per process. Either
//! way there is one form: a [`Pseudonym`] is 64 bits, spelled as 16 hex digits wherever it is
//! stored, shown or typed back (`forget`).

use std::fmt;
use std::sync::Arc;

use hmac::{Hmac, Mac};
use serde::{Serialize, Serializer};
use sha2::Sha256;

/// Length of a pseudonym key in bytes.
pub const SECRET_LEN: usize = 32;
/// Hex digits of a spelled pseudonym (64 bits: collisions stay negligible for millions of
/// viewers).
pub const PSEUDONYM_HEX: usize = 16;

/// A viewer's pseudonym. Only a [`Pseudonymizer`] (or [`Pseudonym::parse`] of one already
/// spelled) makes one, so a record can never carry a raw viewer id by mistake.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Pseudonym(u64);

impl Pseudonym {
    /// The number the room counts viewers by.
    pub fn as_u64(self) -> u64 {
        self.0
    }

    /// A pseudonym already spelled (16 hex digits), back to its value.
    pub fn parse(text: &str) -> Option<Pseudonym> {
        (text.len() == PSEUDONYM_HEX && text.bytes().all(|b| b.is_ascii_hexdigit()))
            .then(|| u64::from_str_radix(text, 16).ok().map(Pseudonym))
            .flatten()
    }

    /// The pseudonym a room's own counter gave (viewers without an id, simulated viewers).
    pub fn from_u64(value: u64) -> Pseudonym {
        Pseudonym(value)
    }
}

impl fmt::Display for Pseudonym {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:016x}", self.0)
    }
}

impl Serialize for Pseudonym {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// Turns raw viewer ids into pseudonyms. Cheap to clone; never prints its key.
#[derive(Clone)]
pub struct Pseudonymizer {
    /// The keyed state, cloned per call (saves the key schedule).
    mac: Arc<Hmac<Sha256>>,
}

impl fmt::Debug for Pseudonymizer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Pseudonymizer { key: <secret> }")
    }
}

impl Pseudonymizer {
    /// A pseudonymizer with this key.
    pub fn from_key(key: &[u8; SECRET_LEN]) -> Pseudonymizer {
        // HMAC takes keys of any length: this cannot fail.
        let mac = <Hmac<Sha256> as Mac>::new_from_slice(key)
            .unwrap_or_else(|_| unreachable!("HMAC accepts any key length"));
        Pseudonymizer { mac: Arc::new(mac) }
    }

    /// A pseudonymizer with a random key, for a process without a store: pseudonyms are
    /// stable while it runs and unlinkable after.
    pub fn random() -> Pseudonymizer {
        let key: [u8; SECRET_LEN] = rand::random();
        Pseudonymizer::from_key(&key)
    }

    /// The pseudonym of a raw viewer id: the first 64 bits of HMAC-SHA256(key, id).
    pub fn pseudonym(&self, raw_user_id: &str) -> Pseudonym {
        let mut mac = (*self.mac).clone();
        mac.update(raw_user_id.as_bytes());
        let digest: [u8; 32] = mac.finalize().into_bytes().into();
        let mut first = [0u8; 8];
        first.copy_from_slice(&digest[..8]);
        Pseudonym(u64::from_be_bytes(first))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pseudonyms_are_keyed_stable_and_spelled_in_hex() {
        let a = Pseudonymizer::from_key(&[1; 32]);
        let b = Pseudonymizer::from_key(&[2; 32]);
        let p = a.pseudonym("u123");
        let spelled = p.to_string();
        assert_eq!(spelled.len(), PSEUDONYM_HEX);
        assert!(spelled.chars().all(|c| c.is_ascii_hexdigit()));
        assert_eq!(p, a.pseudonym("u123"));
        assert_ne!(p, a.pseudonym("u124"));
        assert_ne!(p, b.pseudonym("u123"));
        assert_eq!(Pseudonym::parse(&spelled), Some(p));
        assert!(!format!("{a:?}").contains("1, 1"));
    }

    #[test]
    fn only_sixteen_hex_digits_parse() {
        assert_eq!(Pseudonym::parse("v0123abcd"), None);
        assert_eq!(Pseudonym::parse("0123456789abcdeg"), None);
        assert_eq!(Pseudonym::parse("+123456789abcdef"), None);
        assert_eq!(
            Pseudonym::parse("00000000000000ff"),
            Some(Pseudonym::from_u64(255))
        );
    }

    #[test]
    fn hmac_matches_rfc_4231() {
        // RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?".
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(b"Jefe").unwrap();
        mac.update(b"what do ya want for nothing?");
        let out: [u8; 32] = mac.finalize().into_bytes().into();
        assert_eq!(out[..4], [0x5b, 0xdc, 0xc1, 0x46]);
    }
}
