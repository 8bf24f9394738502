//! Segment encoder: parallel scene- and tile-based AV1 encoding with rav1e.
//!
//! Not built yet: this crate reserves its place in the workspace layout described in
//! ARCHITECTURE.md; its issue is open in the tracker.
