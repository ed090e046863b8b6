//! Viewer pseudonyms: a keyed hash (HMAC-SHA256) of the platform's viewer id.
//!
//! The key is a per-deployment secret, 32 random bytes in `<data_dir>/secret.key` (mode 0600),
//! made on first start and never stored in the database. The same viewer gets the same
//! pseudonym across rooms and restarts (so returning viewers can be recognized), while the
//! database alone does not let anyone test a guessed viewer id: that needs the key as well.
//! Deleting the key file makes every stored pseudonym unlinkable to future ones.

use std::fs;
use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::StoreError;

/// File name of the secret inside the data directory.
pub const SECRET_FILE: &str = "secret.key";
/// Length of the secret in bytes.
pub const SECRET_LEN: usize = 32;
/// Hex characters kept of the HMAC (64 bits: collisions stay negligible for millions of viewers).
pub const PSEUDONYM_HEX: usize = 16;

/// A viewer's pseudonym. Only a [`Pseudonymizer`] makes one, so a record can never carry a raw
/// viewer id by mistake.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Pseudonym(String);

impl Pseudonym {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for Pseudonym {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Turns raw viewer ids into pseudonyms. Cheap to clone; never prints its key.
#[derive(Clone)]
pub struct Pseudonymizer {
    /// The keyed state, cloned per call (saves the key schedule).
    mac: Arc<Hmac<Sha256>>,
}

impl std::fmt::Debug for Pseudonymizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Pseudonymizer { key: <secret> }")
    }
}

impl Pseudonymizer {
    /// A pseudonymizer with a given key (tests; everything else loads the deployment's key).
    pub fn from_key(key: &[u8; SECRET_LEN]) -> Pseudonymizer {
        // HMAC takes keys of any length: this cannot fail.
        let mac = <Hmac<Sha256> as Mac>::new_from_slice(key)
            .unwrap_or_else(|_| unreachable!("HMAC accepts any key length"));
        Pseudonymizer { mac: Arc::new(mac) }
    }

    /// Loads `<dir>/secret.key`, or makes it (32 random bytes, mode 0600) when missing.
    pub fn load_or_create(dir: &Path) -> Result<Pseudonymizer, StoreError> {
        let path = dir.join(SECRET_FILE);
        let err = |message: String| StoreError::Secret {
            path: path.display().to_string(),
            message,
        };
        match fs::read(&path) {
            Ok(bytes) => {
                let key: [u8; SECRET_LEN] = bytes.as_slice().try_into().map_err(|_| {
                    err(format!(
                        "is {} bytes, expected {SECRET_LEN}; restore it from a backup (a new \
                         key would make new pseudonyms unlinkable to the stored ones)",
                        bytes.len()
                    ))
                })?;
                warn_if_readable(&path);
                Ok(Pseudonymizer::from_key(&key))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let mut key = [0u8; SECRET_LEN];
                use rand::TryRngCore;
                rand::rngs::OsRng
                    .try_fill_bytes(&mut key)
                    .map_err(|e| err(format!("no randomness from the OS: {e}")))?;
                // Write a temporary file, then link it into place: a crash never leaves a short
                // key behind, and of two processes starting at once, the first link wins and
                // the other reads the winner's key.
                let tmp = dir.join(format!("{SECRET_FILE}.{}.tmp", std::process::id()));
                write_private(&tmp, &key).map_err(|e| err(format!("cannot write: {e}")))?;
                let linked = fs::hard_link(&tmp, &path);
                let _ = fs::remove_file(&tmp);
                match linked {
                    Ok(()) => {
                        tracing::info!(path = %path.display(), "made a new pseudonym secret");
                        Ok(Pseudonymizer::from_key(&key))
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                        Pseudonymizer::load_or_create(dir)
                    }
                    Err(e) => Err(err(format!("cannot create: {e}"))),
                }
            }
            Err(e) => Err(err(format!("cannot read: {e}"))),
        }
    }

    /// The pseudonym of a raw viewer id: 16 hex characters of HMAC-SHA256(key, id).
    pub fn pseudonym(&self, raw_user_id: &str) -> String {
        let digest = self.digest(raw_user_id);
        let mut out = String::with_capacity(PSEUDONYM_HEX);
        for byte in &digest[..PSEUDONYM_HEX / 2] {
            use std::fmt::Write as _;
            let _ = write!(out, "{byte:02x}");
        }
        out
    }

    /// [`Pseudonymizer::pseudonym`] as the type records take.
    pub fn viewer(&self, raw_user_id: &str) -> Pseudonym {
        Pseudonym(self.pseudonym(raw_user_id))
    }

    /// The same hash as a number (the first 8 bytes), for in-memory per-viewer counting.
    pub fn pseudonym_u64(&self, raw_user_id: &str) -> u64 {
        let digest = self.digest(raw_user_id);
        let mut first = [0u8; 8];
        first.copy_from_slice(&digest[..8]);
        u64::from_be_bytes(first)
    }

    fn digest(&self, raw: &str) -> [u8; 32] {
        let mut mac = (*self.mac).clone();
        mac.update(raw.as_bytes());
        mac.finalize().into_bytes().into()
    }
}

fn write_private(path: &Path, key: &[u8]) -> std::io::Result<()> {
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(key)?;
    file.sync_all()
}

fn warn_if_readable(path: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if let Ok(meta) = fs::metadata(path)
            && meta.permissions().mode() & 0o077 != 0
        {
            tracing::warn!(path = %path.display(), "the pseudonym secret is readable by others: chmod 600 it");
        }
    }
    #[cfg(not(unix))]
    let _ = path;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pseudonyms_are_keyed_stable_and_short() {
        let a = Pseudonymizer::from_key(&[1; 32]);
        let b = Pseudonymizer::from_key(&[2; 32]);
        let p = a.pseudonym("u123");
        assert_eq!(p.len(), PSEUDONYM_HEX);
        assert!(p.chars().all(|c| c.is_ascii_hexdigit()));
        assert_eq!(p, a.pseudonym("u123"));
        assert_ne!(p, a.pseudonym("u124"));
        assert_ne!(p, b.pseudonym("u123"));
        assert_eq!(
            format!("{:016x}", a.pseudonym_u64("u123")),
            p,
            "the number is the same hash"
        );
        assert!(!format!("{a:?}").contains("1, 1"));
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
