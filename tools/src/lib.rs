//! Terminal tools around mezzfs, starting with the replay visualizer.
//!
//! Not built yet: this crate reserves its place in the workspace layout described in
//! ARCHITECTURE.md; its issue is open in the tracker.
