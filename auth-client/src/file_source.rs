//! A credential read from a file and re-read when the file changes (rotation without a
//! restart): certificates and secrets that Kubernetes, Key Vault's CSI driver or an operator
//! replaces in place.
//!
//! The file is read again before every use (one read per token request: tokens are cached, so
//! that is a few reads an hour). When its bytes differ from the ones in use, they are parsed;
//! the new credential replaces the old one only once it parses. A file that cannot be read or
//! parsed (half-written, garbage, removed during a swap) leaves the previous credential in use,
//! with one `warn` line per distinct bad content that names the file and what is wrong — never
//! the content.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use aws_lc_rs::digest;
use tracing::{info, warn};

/// The SHA-256 of a file's bytes: what is compared, so no copy of a secret is kept.
type Digest = [u8; 32];

/// A value parsed from a file, kept current.
pub(crate) struct FileSource<T> {
    path: PathBuf,
    /// What the file holds, for log lines: `certificate`, `client secret`.
    what: &'static str,
    parse: fn(&[u8]) -> Result<T, String>,
    state: Mutex<State<T>>,
}

struct State<T> {
    value: Arc<T>,
    digest: Digest,
    /// The last content refused, so that it is logged once, not on every request.
    refused: Option<Digest>,
}

fn sha256(bytes: &[u8]) -> Digest {
    let mut out = [0u8; 32];
    out.copy_from_slice(digest::digest(&digest::SHA256, bytes).as_ref());
    out
}

impl<T> FileSource<T> {
    /// Reads and parses the file now.
    ///
    /// # Errors
    /// Why the file cannot be read or parsed (never its content).
    pub(crate) fn open(
        path: &Path,
        what: &'static str,
        parse: fn(&[u8]) -> Result<T, String>,
    ) -> Result<Self, String> {
        let bytes =
            std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let value = parse(&bytes)?;
        Ok(FileSource {
            path: path.to_owned(),
            what,
            parse,
            state: Mutex::new(State {
                value: Arc::new(value),
                digest: sha256(&bytes),
                refused: None,
            }),
        })
    }

    /// The file's path.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State<T>> {
        // Nothing panics while the lock is held; a poisoned state is still consistent.
        crate::sync::lock(&self.state)
    }

    /// The current value: the file's, if it changed and parses; else the one in use.
    pub(crate) async fn current(&self) -> Arc<T> {
        let bytes = match tokio::fs::read(&self.path).await {
            Ok(bytes) => bytes,
            Err(error) => {
                warn!(
                    path = %self.path.display(),
                    %error,
                    "the {} file cannot be read; the one loaded before stays in use",
                    self.what
                );
                return Arc::clone(&self.lock().value);
            }
        };
        let digest = sha256(&bytes);
        {
            let state = self.lock();
            if state.digest == digest || state.refused == Some(digest) {
                return Arc::clone(&state.value);
            }
        }
        // Parsed outside the lock: a certificate's key takes a moment.
        let parsed = (self.parse)(&bytes);
        let mut state = self.lock();
        match parsed {
            Ok(value) => {
                info!(
                    path = %self.path.display(),
                    "the {} file changed: the new one is in use",
                    self.what
                );
                state.value = Arc::new(value);
                state.digest = digest;
                state.refused = None;
            }
            Err(reason) => {
                warn!(
                    path = %self.path.display(),
                    %reason,
                    "the {} file changed but cannot be used; the previous one stays in use \
                     until a usable file replaces it (write it elsewhere and rename it into \
                     place, so that it is never read half-written)",
                    self.what
                );
                state.refused = Some(digest);
            }
        }
        Arc::clone(&state.value)
    }
}

/// A client secret from a file's bytes: UTF-8, surrounding whitespace (a trailing newline)
/// trimmed, not empty, and visible ASCII only — Entra's generated secrets are; anything else is
/// a file caught mid-write or the wrong file.
pub(crate) fn parse_secret(bytes: &[u8]) -> Result<String, String> {
    let text = std::str::from_utf8(bytes).map_err(|_| "the file is not UTF-8 text".to_owned())?;
    let secret = text.trim();
    if secret.is_empty() {
        return Err("the file is empty".to_owned());
    }
    if !secret.bytes().all(|b| (b'!'..=b'~').contains(&b)) {
        return Err(
            "the secret holds whitespace or characters that are not visible ASCII".to_owned(),
        );
    }
    Ok(secret.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_trimmed_visible_ascii() {
        assert_eq!(parse_secret(b"abc~DEF.123_-\n").unwrap(), "abc~DEF.123_-");
        assert!(parse_secret(b"  \n").is_err());
        assert!(parse_secret(b"two words").is_err());
        assert!(parse_secret(&[0xff, 0xfe]).is_err());
        let err = parse_secret(b"s3cr\x01t").unwrap_err();
        assert!(!err.contains("s3cr"), "{err}");
    }

    #[tokio::test]
    async fn rule_a_changed_file_is_used_only_once_it_parses() {
        let dir = std::env::temp_dir().join(format!(
            "auth-client-file-source-{}-{}",
            std::process::id(),
            line!()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("secret");
        std::fs::write(&path, "first\n").unwrap();
        let source = FileSource::open(&path, "client secret", parse_secret).unwrap();
        assert_eq!(*source.current().await, "first");
        std::fs::write(&path, "second").unwrap();
        assert_eq!(*source.current().await, "second");
        // Garbage, an empty file, a missing file: the previous secret stays.
        std::fs::write(&path, [0u8, 159, 146, 150]).unwrap();
        assert_eq!(*source.current().await, "second");
        std::fs::write(&path, "").unwrap();
        assert_eq!(*source.current().await, "second");
        std::fs::remove_file(&path).unwrap();
        assert_eq!(*source.current().await, "second");
        std::fs::write(&path, "third").unwrap();
        assert_eq!(*source.current().await, "third");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
