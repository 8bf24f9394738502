use std::fmt;
use std::str::FromStr;

use crate::FormatError;

/// A random 128-bit identifier given to every stored version of an object.
///
/// It names the folder holding the version's parts and salts its key derivation, so parts of
/// one version can never be decrypted as parts of another.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ObjectId([u8; 16]);

impl ObjectId {
    pub fn random() -> Result<Self, FormatError> {
        let mut b = [0u8; 16];
        fill_random(&mut b)?;
        Ok(ObjectId(b))
    }

    pub fn from_bytes(b: [u8; 16]) -> Self {
        ObjectId(b)
    }

    pub fn as_bytes(&self) -> &[u8; 16] {
        &self.0
    }
}

impl fmt::Display for ObjectId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl fmt::Debug for ObjectId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ObjectId({self})")
    }
}

impl FromStr for ObjectId {
    type Err = FormatError;
    fn from_str(s: &str) -> Result<Self, FormatError> {
        let mut b = [0u8; 16];
        hex::decode_to_slice(s, &mut b)
            .map_err(|e| FormatError::ManifestMalformed(format!("object id '{s}': {e}")))?;
        Ok(ObjectId(b))
    }
}

pub(crate) fn fill_random(buf: &mut [u8]) -> Result<(), FormatError> {
    getrandom::fill(buf).map_err(|e| FormatError::Random(e.to_string()))
}
