//! Bitrate selection rules behind one trait, [`Abr`]. The session asks for a rung each time
//! it requests a segment of a track, may ask whether to abandon a download in flight, and
//! reports finished downloads. Rules see the world only through a [`View`]: both ladders,
//! both buffer levels, the throughput estimates; no clock, no I/O.
//!
//! Names accepted by [`by_name`]:
//! - `<video>` or `<video>+<audio>`: a video rule — `throughput`, `bba`, `bola`, `bolae`,
//!   `dynamic`, `mpc` — paired with an audio policy, `fixed` (picked once at start, the
//!   article's "before"; the default) or `indep` (its own throughput share, re-chosen for
//!   every segment without regard to video) or `fixed@KBPS` (the highest rung at or below
//!   KBPS for the whole session, a static default such as 192 kbps 5.1).
//! - `joint`: our joint audio-video rule ([`joint`]); `joint-nohyst` without its audio
//!   hysteresis; `joint:key=value:...` with other constants (tuning, ablation).

pub mod joint;
mod split;
mod video;

use crate::error::SimError;
use crate::manifest::{Kind, Track};
use crate::units::{Bits, Kbps, Ms};

use split::VideoRule;
pub use split::{AUDIO_SHARE, AudioPolicy, Split};

/// Everything a rule may look at when it decides.
#[derive(Clone, Copy, Debug)]
pub struct View<'a> {
    pub now: Ms,
    pub video: &'a Track,
    pub audio: Option<&'a Track>,
    /// Buffer levels, indexed by [`slot`].
    pub level: [Ms; 2],
    /// Next segment to request per track.
    pub next: [usize; 2],
    /// Rung of the last segment requested per track.
    pub last: [Option<usize>; 2],
    /// Rungs of the segments downloaded so far per track, in segment order. Segments below
    /// `next` that are not here are in flight, at rung `last`.
    pub rungs: [&'a [usize]; 2],
    /// Conservative EWMA of the link throughput; `None` before the first download.
    pub throughput: Option<Kbps>,
    /// Harmonic mean of recent samples.
    pub harmonic: Option<Kbps>,
    /// Largest recent relative prediction error of the harmonic mean.
    pub max_error: f64,
    pub latency: Ms,
    pub max_buffer: Ms,
    /// Whether playback has started.
    pub playing: bool,
}

/// Index of a track kind in [`View`]'s arrays.
pub const fn slot(k: Kind) -> usize {
    match k {
        Kind::Video => 0,
        Kind::Audio => 1,
    }
}

impl View<'_> {
    pub fn track(&self, k: Kind) -> Option<&Track> {
        match k {
            Kind::Video => Some(self.video),
            Kind::Audio => self.audio,
        }
    }

    /// Bitrate of the audio being fetched now (zero without audio).
    pub fn audio_bitrate(&self) -> Kbps {
        match (self.audio, self.last[1]) {
            (Some(a), Some(r)) => a.bitrates[r],
            (Some(a), None) => a.bitrates[0],
            _ => Kbps::ZERO,
        }
    }

    /// The throughput left for video once the current audio is paid for.
    pub fn video_budget(&self, est: Kbps) -> Kbps {
        (est - self.audio_bitrate()).max(Kbps(est.0 * 0.1))
    }

    /// The rung segment `s` of `kind` has or will have, if it was requested already.
    pub fn rung_of(&self, kind: Kind, s: usize) -> Option<usize> {
        let i = slot(kind);
        if s >= self.next[i] {
            None
        } else {
            self.rungs[i].get(s).copied().or(self.last[i])
        }
    }

    /// The smaller of the two buffers (only video without audio).
    pub fn min_level(&self) -> Ms {
        if self.audio.is_some() {
            self.level[0].min(self.level[1])
        } else {
            self.level[0]
        }
    }
}

/// A download in flight, for abandonment decisions.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct InFlight {
    pub kind: Kind,
    pub segment: usize,
    pub rung: usize,
    pub size: Bits,
    pub received: Bits,
    /// Since the request went out, including latency.
    pub elapsed: Ms,
    pub latency: Ms,
}

/// A finished download.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Done {
    pub kind: Kind,
    pub segment: usize,
    pub rung: usize,
    pub size: Bits,
    pub time: Ms,
    pub latency: Ms,
}

/// A bitrate selection rule.
pub trait Abr: Send + std::fmt::Debug {
    /// The rung for segment `v.next[slot(kind)]` of `kind`.
    fn choose(&mut self, kind: Kind, v: &View<'_>) -> usize;
    /// Give up a download and fetch the same segment at another rung instead?
    fn abandon(&mut self, _f: &InFlight, _v: &View<'_>) -> Option<usize> {
        None
    }
    fn on_download(&mut self, _d: &Done, _v: &View<'_>) {}
    /// Before the next request: drop the last downloaded segment of this track, which has not
    /// started playing, and fetch it again (asking [`Abr::choose`] for its rung)? Its bits
    /// stay counted as downloaded and are counted as wasted. The default never does; only
    /// the general player model asks (Sabre-exact mode has no such step).
    fn replace(&mut self, _v: &View<'_>) -> Option<Kind> {
        None
    }
}

/// Every rule name [`by_name`] takes, for help texts and comparisons.
pub const NAMES: [&str; 14] = [
    "throughput",
    "bba",
    "bola",
    "bolae",
    "dynamic",
    "mpc",
    "throughput+indep",
    "bba+indep",
    "bola+indep",
    "bolae+indep",
    "dynamic+indep",
    "mpc+indep",
    "joint",
    "joint-nohyst",
];

/// Builds a rule by name for a manifest's tracks.
pub fn by_name(
    name: &str,
    video: &Track,
    audio: Option<&Track>,
    max_buffer: Ms,
) -> Result<Box<dyn Abr>, SimError> {
    let unknown = || SimError::UnknownAlgorithm(name.to_owned());
    if name == "joint" {
        let c = joint::JointConfig::default();
        return Ok(Box::new(joint::Joint::new(video, audio, c)));
    }
    if name == "joint-nohyst" {
        let cfg = joint::JointConfig {
            up_votes: 1,
            down_votes: 1,
            dwell_s: 0.0,
            ..Default::default()
        };
        return Ok(Box::new(joint::Joint::new(video, audio, cfg)));
    }
    if let Some(spec) = name.strip_prefix("joint:") {
        let cfg = joint::JointConfig::parse(spec).ok_or_else(unknown)?;
        return Ok(Box::new(joint::Joint::new(video, audio, cfg)));
    }
    let (v, a) = name.split_once('+').unwrap_or((name, "fixed"));
    let audio_policy = match a {
        "fixed" => AudioPolicy::Fixed,
        "indep" => AudioPolicy::Independent,
        _ => match a.strip_prefix("fixed@").and_then(|k| k.parse::<f64>().ok()) {
            Some(k) if k >= 0.0 => AudioPolicy::FixedAt(Kbps(k)),
            _ => return Err(unknown()),
        },
    };
    let rule = VideoRule::by_name(v, video, max_buffer).ok_or_else(unknown)?;
    Ok(Box::new(Split::new(rule, audio_policy)))
}
