//! Terminal tools around mezzfs; today the replay visualizer, `replay-viz`.
//!
//! `replay-viz FILE` animates a mezzfs replay the way the original MezzFS visualizer did: the
//! object's bytes are pixels (top-left = first byte, bottom-right = last), coloured by what
//! is happening to them: scheduled, downloading, cached, returned to the reader, evicted,
//! failed. A sequential stream is a band filling the screen; sparse access sprinkles marks.
//!
//! The parts, from data to screen, each pure and tested on its own:
//! - [`timeline`]: decoded records → one time-ordered list of events on object byte spans
//!   (handles, files and fetch ids resolved once).
//! - [`blocks`]: per-object block cells (one byte each) and how blocks become pixels.
//! - [`state`]: the state at one moment; [`state::State::apply`] is its only mutator.
//! - [`player`]: play, step and seek; seeks restore a keyframe and apply the rest, so any
//!   moment of a million-event replay is a few milliseconds away.
//! - [`series`]: read and fetched bytes binned over time for the throughput chart.
//! - [`app`]: what is on screen and how keys change it.
//! - [`ui`]: widgets drawing an [`app::App`] into a ratatui buffer.
//!
//! The binary (`src/bin/replay-viz.rs`) only reads the file, runs the terminal loop with
//! crossterm, and prints text snapshots.

pub mod app;
pub mod blocks;
pub mod player;
pub mod series;
pub mod state;
pub mod timeline;
pub mod timespec;
pub mod ui;

pub use app::{App, Flow, Key};
pub use timeline::{Timeline, TimelineError};

/// Opens a replay file's bytes for viewing.
pub fn open(bytes: &[u8], name: String) -> Result<App, OpenError> {
    let decoded = mezz_replays::decode(bytes)?;
    let timeline = Timeline::from_decoded(&decoded)?;
    Ok(App::new(timeline, name))
}

#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error(transparent)]
    Decode(#[from] mezz_replays::DecodeError),
    #[error(transparent)]
    Timeline(#[from] TimelineError),
}
