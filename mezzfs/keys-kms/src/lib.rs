//! `mezz-keys-kms`: data keys wrapped by AWS KMS, and the key ring the tools unwrap with.
//!
//! Every object's data key is wrapped by a key-encryption key (`mezz_format::KeyProvider`).
//! The local key file has to be copied to every machine that reads; with KMS, machines get
//! permission to call `Encrypt` / `Decrypt` on a key and never hold the key itself, and the
//! key is rotated or disabled in one place.
//!
//! - [`KmsKeys`] (`kms.rs`) gets each new object's data key from KMS `GenerateDataKey` under
//!   a key id, ARN or `alias/NAME`, with the object's name and id as encryption context, so a
//!   wrapped key copied into another object's manifest (or a manifest moved to another name)
//!   does not unwrap; rotation re-wraps an existing data key with `Encrypt` under the same
//!   context. The manifest records provider `aws-kms`, the key's ARN and the ciphertext.
//!   Plaintext data keys stay in memory.
//! - [`KeyRing`] (`ring.rs`) is what the tools hold: it wraps new objects with the chosen
//!   provider (the key file, or KMS when a KMS key is given) and unwraps each manifest with
//!   the provider the manifest names, so one store may hold objects of both kinds and a
//!   reader needs the key file only for objects wrapped by it. [`KeyRing::wrapping_key`]
//!   names the key new wraps go under, as manifests record it, so `mezzfs key rewrap` can
//!   skip objects already under it.
//!
//! The AWS SDK finds the KMS endpoint, region and credentials as every AWS tool does
//! (`AWS_ENDPOINT_URL_KMS`, `AWS_REGION`, profiles, instance roles); tests point it at moto's
//! server on 127.0.0.1.

mod kms;
mod ring;

pub use kms::{KMS_PROVIDER, KmsKeys};
pub use ring::KeyRing;
