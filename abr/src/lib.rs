//! ABR trace simulator: joint audio and video bitrate selection against network throughput traces.
//!
//! Not built yet: this crate reserves its place in the workspace layout described in
//! ARCHITECTURE.md; its issue is open in the tracker.
