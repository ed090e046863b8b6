//! The deployment's pseudonym secret: 32 random bytes in `<data_dir>/secret.key` (mode 0600),
//! made on first start and never stored in the database. It keys the
//! [`Pseudonymizer`](crate::privacy::Pseudonymizer) every room uses, so the same viewer gets the
//! same pseudonym across rooms and restarts. Deleting the key file makes every stored
//! pseudonym unlinkable to future ones.

use std::fs;
use std::io::Write;
use std::path::Path;

use super::StoreError;
use crate::privacy::{Pseudonymizer, SECRET_LEN};

/// File name of the secret inside the data directory.
pub const SECRET_FILE: &str = "secret.key";

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
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => load_or_create(dir),
                Err(e) => Err(err(format!("cannot create: {e}"))),
            }
        }
        Err(e) => Err(err(format!("cannot read: {e}"))),
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
