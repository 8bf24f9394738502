//! The replay format of mezzfs mounts: records, a pure codec, and the tools that inspect, export and rerun replays.
//!
//! Not built yet: this crate reserves its place in the workspace layout described in
//! ARCHITECTURE.md; its issue is open in the tracker.
