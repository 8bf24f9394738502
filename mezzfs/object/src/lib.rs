//! The mezzfs object layer: huge media objects stored as encrypted multi-part objects in any
//! [`mezz_store::ObjectStore`], read back by byte range from any [`mezz_store::ReadStore`].
//!
//! - [`put_object`] cuts a source into sealed parts and uploads them in parallel with bounded
//!   memory, then publishes the manifest; [`StreamWriter`] does the same with bytes pushed as
//!   a program writes them (the mount's writable directories). Both cut where [`chunking`]
//!   says (pure) and upload through one shared pipeline (`upload.rs`: seal in place,
//!   multipart pieces, manifest last, clean-up on failure);
//! - [`rename_object`] gives an object another name by copying its parts inside the store
//!   (no download, no re-encryption) and re-wrapping its manifest, new manifest last;
//! - [`delete_object`] removes an object, manifest first; [`abandoned`] finds and aborts the
//!   multipart uploads writers left behind;
//! - [`ObjectReader`] opens a manifest and serves any byte range, one ranged GET per part
//!   span, never returning a byte that failed authentication; [`LockedObject`] is the same
//!   object before its data key is unwrapped (sizes and layout only), unlocked on demand;
//! - [`rewrap`] re-wraps objects' data keys under another key (rotation), touching only
//!   manifests; its planner is a pure function;
//! - [`naming`] says where manifests and parts live in a bucket.
//!
//! The format (layout, sealing, manifests, keys) is `mezz-format`; buckets are `mezz-store`;
//! the `mezzfs` binary and the mount are built on this crate.

pub mod abandoned;
pub mod chunking;
mod delete;
mod error;
pub mod naming;
mod reader;
mod rename;
pub mod rewrap;
mod stored;
mod stream;
mod upload;
mod writer;

pub use delete::delete_object;
pub use error::ObjectError;
pub use reader::{LockedObject, ObjectReader};
pub use rename::rename_object;
pub use stored::stored_size;
pub use stream::{StreamOptions, StreamWriter};
pub use writer::{PutOptions, PutProgress, put_object};
