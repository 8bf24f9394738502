//! The article's scenario as data: a Netflix-like ladder with 5.1 audio from 192 to 640 kbps
//! (stereo rungs below), segments of different durations for audio and video, and a trace
//! whose throughput drops suddenly.

use crate::manifest::{Kind, Manifest, Track};
use crate::trace::Trace;
use crate::units::{Kbps, Ms};

pub const VIDEO_KBPS: [f64; 9] = [
    235.0, 375.0, 560.0, 750.0, 1050.0, 1750.0, 2350.0, 3000.0, 4300.0,
];
pub const AUDIO_KBPS: [f64; 5] = [64.0, 128.0, 192.0, 384.0, 640.0];

/// 4 s video segments and 2 s audio segments (AAC/E-AC-3 segments often differ from video).
pub fn manifest(duration: Ms) -> Manifest {
    let vd = Ms(4000.0);
    let ad = Ms(2000.0);
    let nv = (duration.0 / vd.0).ceil() as usize;
    let na = (duration.0 / ad.0).ceil() as usize;
    // Constant inputs, so construction cannot fail.
    let video = Track::constant(Kind::Video, vd, &VIDEO_KBPS.map(Kbps), nv);
    let audio = Track::constant(Kind::Audio, ad, &AUDIO_KBPS.map(Kbps), na);
    match (video, audio) {
        (Ok(video), Ok(audio)) => Manifest {
            video,
            audio: Some(audio),
        },
        _ => unreachable!("constant ladders are valid"),
    }
}

/// `before` until `at`, then `after` (40 ms latency).
pub fn drop_trace(before: Kbps, at: Ms, after: Kbps) -> Trace {
    Trace::step("sudden-drop", before, at, after, Ms(40.0))
}
