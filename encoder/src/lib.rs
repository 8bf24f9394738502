//! Segment encoder: parallel scene- and tile-based AV1 encoding with rav1e.
//!
//! A Y4M mezzanine is cut into scenes, the scenes are encoded in parallel by stateless workers,
//! and their packets are joined into one AV1 stream (IVF or MP4). The parts, pure first:
//!
//! - [`y4m`]: the Y4M header and the fixed frame layout that makes frame `i` a computable byte
//!   range. [`source`] reads frames with `pread`, from a whole file or from a *range file*
//!   holding one scene's frames (what a mezzfs range mount shows).
//! - [`detect`]: scene cuts from luma thumbnails; [`plan`]: cuts to scenes within a minimum and
//!   maximum length (also one cut at a time, while detection runs), longest-first order, tiles
//!   for the tail; [`scenelist`]: the scene list JSON
//!   (frames and byte ranges) and the mezzfs range spec written from it.
//! - [`encode`]: settings to a rav1e configuration and one encode loop; [`queue`]: scenes
//!   waiting for a worker, fed by the detector while workers take; [`run`]: the rayon worker
//!   pool over scenes; [`workdir`]: the work directory (per-scene packets and done
//!   marks), the only state, which is what makes `kill -9` and a rerun resume.
//! - [`ivf`], [`mp4`], [`webm`]: container formats (pure), [`obu`]: the temporal delimiters
//!   MP4 and WebM leave out; [`mux`]: joins scenes into the output file.
//! - [`audio`]: the mezzanine's audio (WAV, FLAC, AAC in MP4 through symphonia) cut
//!   sample-accurately at the scene or fixed-length segment boundaries, per-segment loudness
//!   (BS.1770) and peak, segment-aligned WAV files.
//!
//! - [`ladder`]: a streaming ladder by per-scene convex-hull encoding: a grid of resolutions x
//!   quantizers per scene ([`scale`] downscales, [`quality`] measures PSNR-Y and SSIM-Y on the
//!   frames upscaled back), each scene's rate-quality hull, one hull point per scene per rung
//!   at a common slope. [`bdrate`]: Bjøntegaard delta rate between two rate-quality curves.
//!   [`cmaf`]: a ladder's rungs as CMAF segments and a DASH MPD; `ladder::abr_manifest`: the
//!   ladder as abr-sim's manifest (per-segment sizes and quality).
//!
//! - [`fleet`]: the same encode spread over machines: scenes as SQS messages, stateless
//!   workers reading their scene's bytes through mezzfs, checked chunks in the store, one
//!   join.
//!
//! The `segment-encode` binary is a thin CLI over these (`scenes`, `encode`, `audio`, the
//! fleet's `submit`, `worker`, `status`, `assemble`, `requeue`, `setup-queue`, and `ladder`,
//! `bdrate`, `quality`, `abr-manifest`, `package`).

pub mod audio;
pub mod bdrate;
pub mod cmaf;
pub mod detect;
pub mod encode;
pub mod fleet;
pub mod ivf;
pub mod ladder;
pub mod mp4;
pub mod mux;
pub mod obu;
pub mod plan;
pub mod psnr;
pub mod quality;
pub mod queue;
pub mod run;
pub mod scale;
pub mod scan;
pub mod scenelist;
pub mod source;
pub mod webm;
pub mod workdir;
pub mod y4m;

pub use encode::{EncodeError, EncodeSettings};
pub use plan::{Scene, SceneLimits};
pub use scenelist::SceneList;
pub use source::{SourceError, Y4mFile};
pub use y4m::{Y4mError, Y4mHeader};
