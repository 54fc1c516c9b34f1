//! Session ids: what a valid one looks like, and how new ones are generated.
//!
//! Validation happens before any file, directory or lock is touched, because an id becomes a
//! file name: `../x` must never reach the file system.

use std::collections::hash_map::RandomState;
use std::fmt;
use std::hash::{BuildHasher as _, Hasher as _};

/// A validated session id: 1-128 letters, digits, `.`, `_` or `-`, not starting with `.`
/// (a hidden file) or `-` (it would read as an option on a command line: `--help`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SessionId(String);

impl SessionId {
    pub const MAX_LEN: usize = 128;

    /// Check `raw` and wrap it, or say what is wrong with it.
    pub fn parse(raw: &str) -> anyhow::Result<SessionId> {
        let problem = if raw.is_empty() {
            Some("it is empty")
        } else if raw.len() > Self::MAX_LEN {
            Some("it is longer than 128 characters")
        } else if raw.starts_with('.') {
            Some("it starts with `.`")
        } else if raw.starts_with('-') {
            Some("it starts with `-`, like an option")
        } else if !raw
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
        {
            Some("only letters, digits, `.`, `_` and `-` are allowed")
        } else {
            None
        };
        match problem {
            None => Ok(SessionId(raw.to_owned())),
            Some(problem) => Err(crate::error::hinted(
                format!("invalid session id `{}`: {problem}", raw.escape_debug()),
                "a session id is 1-128 letters, digits, `.`, `_` or `-`, not starting with `.` or `-`",
            )),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// A valid id made from any name (a project's, for its handoff file): characters that
    /// are not allowed become `-`, leading `.` and `-` go, and it is cut at 128 characters.
    pub fn from_name(name: &str) -> SessionId {
        let cleaned: String = name
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                    c
                } else {
                    '-'
                }
            })
            .collect();
        let cleaned = cleaned.trim_start_matches(['.', '-']);
        let cleaned: String = cleaned.chars().take(Self::MAX_LEN).collect();
        if cleaned.is_empty() {
            SessionId("project".to_owned())
        } else {
            SessionId(cleaned)
        }
    }
}

impl fmt::Display for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Generates lowercase UUID v4 strings: random by default, reproducible from a seed
/// (`ORCHESTRON_ID_SEED`) so that tests can predict every id.
#[derive(Debug)]
pub struct IdGenerator {
    state: u64,
}

impl IdGenerator {
    /// A generator whose sequence depends only on `seed`.
    pub fn seeded(seed: &str) -> IdGenerator {
        // FNV-1a: stable across Rust versions, unlike `DefaultHasher`.
        let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
        for byte in seed.bytes() {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
        IdGenerator { state: hash }
    }

    /// A generator seeded from the operating system's randomness (through `RandomState`,
    /// whose keys come from it), the clock and the process id.
    pub fn random() -> IdGenerator {
        let mut hasher = RandomState::new().build_hasher();
        hasher.write_u32(std::process::id());
        if let Ok(since_epoch) = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)
        {
            hasher.write_u128(since_epoch.as_nanos());
        }
        IdGenerator {
            state: hasher.finish(),
        }
    }

    /// SplitMix64: small, fast, and every seed gives a full-period sequence.
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// The next UUID v4, such as `3f2b8c1e-9d4a-4e7b-8f00-1a2b3c4d5e6f`.
    pub fn uuid_v4(&mut self) -> String {
        let mut bytes = [0u8; 16];
        bytes[..8].copy_from_slice(&self.next_u64().to_be_bytes());
        bytes[8..].copy_from_slice(&self.next_u64().to_be_bytes());
        bytes[6] = (bytes[6] & 0x0f) | 0x40; // version 4
        bytes[8] = (bytes[8] & 0x3f) | 0x80; // RFC 4122 variant
        let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        format!(
            "{}-{}-{}-{}-{}",
            &hex[0..8],
            &hex[8..12],
            &hex[12..16],
            &hex[16..20],
            &hex[20..32]
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_from_any_name() {
        assert_eq!(SessionId::from_name("my app").as_str(), "my-app");
        assert_eq!(SessionId::from_name("../etc").as_str(), "etc");
        assert_eq!(SessionId::from_name("-.-x").as_str(), "x");
        assert_eq!(SessionId::from_name("--").as_str(), "project");
        assert_eq!(SessionId::from_name("").as_str(), "project");
        assert_eq!(SessionId::from_name(&"x".repeat(300)).as_str().len(), 128);
        for name in [
            "my app",
            "../etc",
            "",
            ".hidden",
            "ünïcode",
            "--help",
            "-",
            " x",
        ] {
            let id = SessionId::from_name(name);
            assert!(SessionId::parse(id.as_str()).is_ok(), "{name}");
        }
    }

    #[test]
    fn valid_and_invalid_ids() {
        for good in ["a", "A-1", "x.y_z", "0", &"a".repeat(128)] {
            assert!(SessionId::parse(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            ".x",
            "../x",
            "a/b",
            "a b",
            "é",
            "a\0",
            &"a".repeat(129),
            "..",
        ] {
            assert!(SessionId::parse(bad).is_err(), "{bad:?}");
        }
    }

    /// Finding 15: `--id=--help` was accepted, and such an id reads as an option wherever it
    /// is passed on.
    #[test]
    fn finding_15_ids_that_look_like_options_are_refused() {
        for bad in [
            "-",
            "--",
            "--help",
            "-x",
            "-rf",
            &format!("-{}", "a".repeat(127)),
        ] {
            let err = SessionId::parse(bad).unwrap_err().to_string();
            assert!(err.contains("starts with `-`"), "{bad}: {err}");
        }
        for good in ["a-", "a--help", "x-1", "0-"] {
            assert!(SessionId::parse(good).is_ok(), "{good}");
        }
    }

    #[test]
    fn seeded_uuids_are_reproducible_v4() {
        let first = IdGenerator::seeded("test").uuid_v4();
        assert_eq!(first, IdGenerator::seeded("test").uuid_v4());
        assert_ne!(first, IdGenerator::seeded("other").uuid_v4());
        assert_eq!(first.len(), 36);
        assert_eq!(&first[14..15], "4");
        assert!(matches!(&first[19..20], "8" | "9" | "a" | "b"));
        assert!(SessionId::parse(&first).is_ok());
    }

    #[test]
    fn random_uuids_differ() {
        assert_ne!(
            IdGenerator::random().uuid_v4(),
            IdGenerator::random().uuid_v4()
        );
    }
}
