//! State snapshots: a plugin's state in bincode, labelled with the layout
//! that wrote it.

use std::time::SystemTime;

use semver::Version;
use serde::Serialize;
use serde::de::DeserializeOwned;

/// The largest state a snapshot may claim to hold. A decoder reading
/// arbitrary bytes never allocates more than this for one value.
pub const MAX_STATE_BYTES: usize = 256 * 1024 * 1024;

fn config() -> impl bincode::config::Config {
    bincode::config::standard().with_limit::<MAX_STATE_BYTES>()
}

/// Why a state could not be encoded or decoded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The state could not be encoded.
    #[error("cannot encode state: {0}")]
    Encode(#[from] bincode::error::EncodeError),
    /// The bytes are not a state of this layout.
    #[error("cannot decode state: {0}")]
    Decode(#[from] bincode::error::DecodeError),
    /// The bytes decoded, with bytes left over: another layout wrote them.
    #[error("cannot decode state: {trailing} trailing bytes")]
    Trailing {
        /// How many bytes were not consumed.
        trailing: usize,
    },
    /// A snapshot was offered to a plugin it was not taken from.
    #[error("snapshot of `{snapshot}` cannot restore plugin `{plugin}`")]
    WrongPlugin {
        /// The plugin the snapshot belongs to.
        snapshot: String,
        /// The plugin asked to restore it.
        plugin: String,
    },
}

/// Encodes a state with bincode (standard configuration).
pub fn encode<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, Error> {
    Ok(bincode::serde::encode_to_vec(value, config())?)
}

/// Decodes a state written by [`encode`]. Never panics, whatever the bytes;
/// refuses bytes left over.
pub fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Error> {
    let (value, read) = bincode::serde::decode_from_slice(bytes, config())?;
    match bytes.len() - read {
        0 => Ok(value),
        trailing => Err(Error::Trailing { trailing }),
    }
}

/// A plugin's state at one moment, with what is needed to restore it safely:
/// the state fingerprint and state version of the code that wrote it.
///
/// Taken by every reload, and by hand with
/// [`PluginSystem::create_state_snapshot`](crate::PluginSystem::create_state_snapshot).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Snapshot {
    /// The plugin the state belongs to.
    pub plugin: String,
    /// The plugin's version when the snapshot was taken.
    pub version: Version,
    /// The plugin's state version when the snapshot was taken.
    pub state_version: u32,
    /// The state fingerprint of the code that wrote `bytes`.
    pub fingerprint: u64,
    /// The state, in bincode.
    pub bytes: Vec<u8>,
    /// When it was taken.
    pub taken_at: SystemTime,
}

impl Snapshot {
    /// The view a migration hook gets of this snapshot.
    pub fn old_state(&self) -> OldState<'_> {
        OldState {
            version: &self.version,
            state_version: self.state_version,
            fingerprint: self.fingerprint,
            bytes: &self.bytes,
        }
    }
}

/// A snapshot taken by another state layout, handed to
/// [`Plugin::migrate`](crate::Plugin::migrate).
#[derive(Clone, Copy, Debug)]
#[non_exhaustive]
pub struct OldState<'a> {
    /// The plugin version that wrote the state.
    pub version: &'a Version,
    /// The state version that wrote the state.
    pub state_version: u32,
    /// The state fingerprint that wrote the state.
    pub fingerprint: u64,
    /// The state, in bincode.
    pub bytes: &'a [u8],
}

impl OldState<'_> {
    /// Decodes the old bytes as `T`, typically a copy of the old state struct.
    pub fn decode<T: DeserializeOwned>(&self) -> Result<T, Error> {
        decode(self.bytes)
    }
}

/// The error of the default [`Plugin::migrate`](crate::Plugin::migrate).
#[derive(Debug, thiserror::Error)]
#[error("no migration from state version {state_version}")]
pub struct NoMigration {
    pub(crate) state_version: u32,
}

pub(crate) const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
pub(crate) const FNV_PRIME: u64 = 0x0100_0000_01b3;

pub(crate) const fn fnv_u64(mut h: u64, v: u64) -> u64 {
    let bytes = v.to_le_bytes();
    let mut i = 0;
    while i < 8 {
        h ^= bytes[i] as u64;
        h = h.wrapping_mul(FNV_PRIME);
        i += 1;
    }
    h
}

/// FNV-1a over a string: the same hash the macro uses, for tests.
pub const fn fnv1a(s: &str) -> u64 {
    let bytes = s.as_bytes();
    let mut h = FNV_OFFSET;
    let mut i = 0;
    while i < bytes.len() {
        h ^= bytes[i] as u64;
        h = h.wrapping_mul(FNV_PRIME);
        i += 1;
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_trailing_bytes() {
        let bytes = encode(&(7u32, String::from("x"))).unwrap();
        assert_eq!(decode::<(u32, String)>(&bytes).unwrap(), (7, "x".into()));
        assert!(matches!(decode::<u32>(&bytes), Err(Error::Trailing { .. })));
        assert!(decode::<(u32, String)>(&bytes[..bytes.len() - 1]).is_err());
    }

    #[test]
    fn huge_length_claims_are_refused() {
        // varint tag 253 = u64 length follows; claim 2^60 bytes.
        let mut bytes = vec![253u8];
        bytes.extend_from_slice(&(1u64 << 60).to_le_bytes());
        assert!(decode::<Vec<u8>>(&bytes).is_err());
        assert!(decode::<String>(&bytes).is_err());
    }
}
