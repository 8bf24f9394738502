//! ABR trace simulator: joint audio and video bitrate selection against throughput traces.

pub mod error;
mod jsonpos;
pub mod manifest;
pub mod sabre;
pub mod trace;
pub mod units;
