//! The general player/network model: separate audio and video buffers fed over one
//! bottleneck link, driven by a simulated clock from event to event.
//!
//! Events are: a request's latency ends, a download completes, the trace changes, a buffer
//! runs dry, a full buffer gets room again, an abandonment check is due, playback reaches the
//! end. Between events everything is linear, so the session advances exactly to the next one.
//!
//! - Requests are *sequential* (one at a time; the track with the lower buffer goes first,
//!   video first of all) or *parallel* (one per track; transferring requests share the
//!   bandwidth equally). Each request waits one latency of the period it starts in before its
//!   first bit.
//! - A track requests only while its buffer has room for one more segment below the maximum.
//! - Playback starts once every track holds `startup` of content (or all of what is left),
//!   stalls when either buffer runs dry (recording which), and resumes by the same test.
//! - Before a request the rule may drop the last downloaded segment of a track that has not
//!   started playing ([`Abr::replace`]); it is fetched again and its bits count as wasted.
//!   Only the joint rule's start-up probe uses it; every other rule never replaces.
//! - The estimator sees one sample per download: bits over the link time the download had,
//!   with time shared by `k` transfers counting `1/k` (what the client can measure as the sum
//!   over its own connections).

mod account;
mod estimate;
pub mod link;

pub use estimate::Estimator;
pub use link::TraceEnd;

use crate::algo::{Abr, Done, InFlight, View};
use crate::error::SimError;
use crate::manifest::{Kind, Manifest, Track};
use crate::metrics::SessionMetrics;
use crate::trace::Trace;
use crate::units::{Bits, Kbps, Ms};
use account::{account_playback, finish, record, sample};
use link::Link;
use serde::Serialize;

/// Sequential or parallel audio and video requests.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Requests {
    #[default]
    Sequential,
    Parallel,
}

/// Player and network settings.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct SimConfig {
    pub max_buffer: Ms,
    /// Content each buffer must hold before playback starts or resumes.
    pub startup: Ms,
    pub requests: Requests,
    pub trace_end: TraceEnd,
    /// Ask the rule about abandoning at this interval during transfers; `None` disables it.
    pub abandon_every: Option<Ms>,
}

impl Default for SimConfig {
    fn default() -> Self {
        Self {
            max_buffer: Ms(25000.0),
            startup: Ms(2000.0),
            requests: Requests::Sequential,
            trace_end: TraceEnd::Loop,
            abandon_every: Some(Ms(250.0)),
        }
    }
}

/// One download in the per-segment log.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SegmentRecord {
    pub kind: Kind,
    pub segment: usize,
    pub rung: usize,
    pub bitrate_kbps: f64,
    pub size_bits: f64,
    pub requested_ms: f64,
    pub done_ms: f64,
    /// Abandoned in flight, or dropped from the buffer before it played ([`Abr::replace`]):
    /// its bits are wasted.
    pub abandoned: bool,
    pub video_buffer_ms: f64,
    pub audio_buffer_ms: f64,
    pub estimate_kbps: f64,
}

/// A point of the time series that plots draw.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Sample {
    pub t_ms: f64,
    pub bandwidth_kbps: f64,
    pub video_buffer_ms: f64,
    pub audio_buffer_ms: f64,
    pub video_kbps: f64,
    pub audio_kbps: f64,
    pub stalled: bool,
}

/// What a logged session keeps besides its metrics.
#[derive(Clone, Debug, Default, Serialize)]
pub struct SessionLog {
    pub segments: Vec<SegmentRecord>,
    pub samples: Vec<Sample>,
}

const EPS: f64 = 1e-9;
/// A guard against rules or traces that would never finish.
const MAX_EVENTS: u64 = 50_000_000;

#[derive(Clone, Copy, Debug)]
struct Request {
    segment: usize,
    rung: usize,
    size: Bits,
    received: Bits,
    latency: Ms,
    latency_left: Ms,
    started: Ms,
    link_time: Ms,
    next_check: Ms,
}

#[derive(Debug)]
struct TrackState<'a> {
    track: &'a Track,
    kind: Kind,
    needed: usize,
    next: usize,
    /// Content time downloaded so far.
    buffered: Ms,
    req: Option<Request>,
    last: Option<usize>,
    /// Rung of each downloaded segment, for playback accounting.
    played_rungs: Vec<usize>,
}

impl TrackState<'_> {
    fn complete(&self) -> bool {
        self.next >= self.needed && self.req.is_none()
    }
}

/// Runs one session; fills `log` if given.
pub fn simulate<'m>(
    trace: &Trace,
    manifest: &'m Manifest,
    abr: &mut dyn Abr,
    name: &str,
    cfg: &SimConfig,
    mut log: Option<&mut SessionLog>,
) -> Result<SessionMetrics, SimError> {
    if !(cfg.max_buffer.0 > 0.0) || !(cfg.startup.0 >= 0.0) {
        return Err(SimError::Setting {
            name: "max_buffer/startup",
            message: "max_buffer must be > 0 and startup >= 0".into(),
        });
    }
    let seg_max = manifest.video.segment_duration.max(
        manifest
            .audio
            .as_ref()
            .map_or(Ms::ZERO, |a| a.segment_duration),
    );
    if cfg.max_buffer < seg_max {
        return Err(SimError::Setting {
            name: "max_buffer",
            message: format!("must hold one segment ({} ms)", seg_max.0),
        });
    }
    if !trace
        .periods
        .iter()
        .any(|p| p.duration.0 > 0.0 && p.bandwidth.0 > 0.0)
    {
        return Err(SimError::DeadTrace(trace.name.clone()));
    }
    let content = manifest
        .audio
        .as_ref()
        .map_or(manifest.video.duration(), |a| {
            a.duration().min(manifest.video.duration())
        });
    let mk = |t: &'m Track| -> TrackState<'m> {
        TrackState {
            track: t,
            kind: t.kind,
            needed: ((content.0 / t.segment_duration.0) - 1e-9).ceil().max(1.0) as usize,
            next: 0,
            buffered: Ms::ZERO,
            req: None,
            last: None,
            played_rungs: Vec::new(),
        }
    };
    let mut tracks: Vec<TrackState<'_>> = vec![mk(&manifest.video)];
    if let Some(a) = &manifest.audio {
        tracks.push(mk(a));
    }
    let mut link = Link::new(trace, cfg.trace_end);
    let mut est = Estimator::default();
    let mut now = Ms::ZERO;
    let mut pos = Ms::ZERO;
    let mut playing = false;
    let mut started_at: Option<Ms> = None;
    let mut stall_cause: Option<Kind> = None;
    let mut m = SessionMetrics {
        trace: trace.name.clone(),
        algorithm: name.to_owned(),
        ..Default::default()
    };
    let mut events = 0u64;

    loop {
        events += 1;
        if events > MAX_EVENTS {
            return Err(SimError::Setting {
                name: "trace",
                message: format!("{} needs more than {MAX_EVENTS} events", trace.name),
            });
        }
        // Issue requests.
        let in_flight = tracks.iter().any(|t| t.req.is_some());
        let eligible = |t: &TrackState<'_>| {
            t.req.is_none()
                && t.next < t.needed
                && (t.buffered - pos) + t.track.segment_duration <= cfg.max_buffer + Ms(EPS)
        };
        let mut to_issue: [bool; 2] = [false; 2];
        match cfg.requests {
            Requests::Parallel => {
                for (i, t) in tracks.iter().enumerate() {
                    to_issue[i] = eligible(t);
                }
            }
            Requests::Sequential if !in_flight => {
                // Video first of all (the first estimate comes from it), then the lower buffer.
                let pick = tracks
                    .iter()
                    .enumerate()
                    .filter(|(_, t)| eligible(t))
                    .min_by(|(_, a), (_, b)| {
                        let key = |t: &TrackState<'_>| {
                            if t.next == 0 && t.kind == Kind::Video {
                                f64::NEG_INFINITY
                            } else {
                                t.buffered.0
                            }
                        };
                        key(a).total_cmp(&key(b))
                    })
                    .map(|(i, _)| i);
                if let Some(i) = pick {
                    to_issue[i] = true;
                }
            }
            Requests::Sequential => {}
        }
        if to_issue.iter().any(|&x| x) {
            let v = make_view(manifest, cfg, &tracks, &est, now, pos, playing);
            if let Some(kind) = abr.replace(&v)
                && let Some(t) = tracks.iter_mut().find(|t| t.kind == kind)
                && drop_last_queued(t, pos, playing, &mut m)
            {
                if let Some(l) = log.as_deref_mut()
                    && let Some(rec) = l
                        .segments
                        .iter_mut()
                        .rev()
                        .find(|s| s.kind == kind && !s.abandoned)
                {
                    // Logged like an abandoned download: its bits are wasted.
                    rec.abandoned = true;
                }
                // Issue again with the segment back in the queue (sequential mode may now
                // pick the other track).
                continue;
            }
        }
        for i in 0..tracks.len() {
            if to_issue[i] {
                let v = make_view(manifest, cfg, &tracks, &est, now, pos, playing);
                let kind = tracks[i].kind;
                let rung = abr.choose(kind, &v).min(tracks[i].track.rungs() - 1);
                let t = &mut tracks[i];
                let latency = link.latency();
                t.req = Some(Request {
                    segment: t.next,
                    rung,
                    size: t.track.size(t.next, rung),
                    received: Bits::ZERO,
                    latency,
                    latency_left: latency,
                    started: now,
                    link_time: Ms::ZERO,
                    next_check: now + latency + cfg.abandon_every.unwrap_or(Ms(f64::INFINITY)),
                });
                t.last = Some(rung);
                t.next += 1;
            }
        }
        if pos.0 >= content.0 - EPS && tracks.iter().all(TrackState::complete) {
            break;
        }

        // Time to the next event.
        let transferring = tracks
            .iter()
            .filter(|t| t.req.is_some_and(|r| r.latency_left.0 <= 0.0))
            .count();
        let share = if transferring > 0 {
            link.bandwidth() / transferring as f64
        } else {
            Kbps::ZERO
        };
        let mut dt = link.until_change();
        for t in &tracks {
            if let Some(r) = &t.req {
                if r.latency_left.0 > 0.0 {
                    dt = dt.min(r.latency_left);
                } else {
                    if share.0 > 0.0 {
                        dt = dt.min((r.size - r.received) / share);
                    }
                    if cfg.abandon_every.is_some() {
                        dt = dt.min((r.next_check - now).max(Ms::ZERO));
                    }
                }
            }
        }
        if playing {
            dt = dt.min(content - pos);
            for t in &tracks {
                let level = t.buffered - pos;
                if t.next < t.needed || t.req.is_some() {
                    dt = dt.min(level);
                }
                // A track waiting for room gets it when playback has drained enough.
                let room_in = level + t.track.segment_duration - cfg.max_buffer;
                if t.req.is_none() && t.next < t.needed && room_in.0 > EPS {
                    dt = dt.min(room_in);
                }
            }
        }
        let dt = dt.max(Ms::ZERO);
        if !dt.0.is_finite() {
            return Err(SimError::DeadTrace(trace.name.clone()));
        }

        // Advance.
        for t in tracks.iter_mut() {
            if let Some(r) = &mut t.req {
                if r.latency_left.0 > 0.0 {
                    r.latency_left = (r.latency_left - dt).max(Ms::ZERO);
                    if r.latency_left.0 <= EPS {
                        r.latency_left = Ms::ZERO;
                    }
                } else {
                    r.received = (r.received + share * dt).min(r.size);
                    r.link_time += dt / transferring as f64;
                }
            }
        }
        if let Some(l) = log.as_deref_mut() {
            l.samples.push(sample(
                now,
                &link,
                &tracks,
                pos,
                !playing && started_at.is_some(),
            ));
        }
        link.advance(dt);
        now += dt;
        if playing {
            account_playback(&tracks, pos, dt, &mut m);
            pos += dt;
        } else if let Some(cause) = stall_cause {
            m.rebuffer_s += dt.secs();
            match cause {
                Kind::Video => m.rebuffer_video_s += dt.secs(),
                Kind::Audio => m.rebuffer_audio_s += dt.secs(),
            }
        }

        // Completions and abandonment checks.
        for i in 0..tracks.len() {
            let Some(r) = tracks[i].req else { continue };
            if r.latency_left.0 > 0.0 {
                continue;
            }
            if r.received.0 >= r.size.0 - 1e-6 {
                let t = &mut tracks[i];
                t.req = None;
                t.buffered += t.track.segment_duration;
                t.played_rungs.push(r.rung);
                m.bits_downloaded += r.size.0;
                if r.link_time.0 > 0.0 {
                    est.push(r.size / r.link_time, now - r.started - r.latency, r.latency);
                }
                let done = Done {
                    kind: t.kind,
                    segment: r.segment,
                    rung: r.rung,
                    size: r.size,
                    time: now - r.started,
                    latency: r.latency,
                };
                let v = make_view(manifest, cfg, &tracks, &est, now, pos, playing);
                abr.on_download(&done, &v);
                if let Some(l) = log.as_deref_mut() {
                    l.segments.push(record(&tracks[i], &r, now, &v, false));
                }
            } else if cfg.abandon_every.is_some() && now.0 >= r.next_check.0 - EPS {
                let f = InFlight {
                    kind: tracks[i].kind,
                    segment: r.segment,
                    rung: r.rung,
                    size: r.size,
                    received: r.received,
                    elapsed: now - r.started,
                    latency: r.latency,
                };
                let v = make_view(manifest, cfg, &tracks, &est, now, pos, playing);
                let decision = abr
                    .abandon(&f, &v)
                    .filter(|&q| q != r.rung && q < tracks[i].track.rungs());
                if let Some(l) = log.as_deref_mut()
                    && decision.is_some()
                {
                    l.segments.push(record(&tracks[i], &r, now, &v, true));
                }
                let t = &mut tracks[i];
                match decision {
                    Some(q) => {
                        m.abandoned += 1;
                        m.bits_wasted += r.received.0;
                        m.bits_downloaded += r.received.0;
                        let latency = link.latency();
                        t.req = Some(Request {
                            segment: r.segment,
                            rung: q,
                            size: t.track.size(r.segment, q),
                            received: Bits::ZERO,
                            latency,
                            latency_left: latency,
                            started: now,
                            link_time: Ms::ZERO,
                            next_check: now
                                + latency
                                + cfg.abandon_every.unwrap_or(Ms(f64::INFINITY)),
                        });
                        t.last = Some(q);
                    }
                    None => {
                        if let Some(req) = &mut t.req {
                            req.next_check = now + cfg.abandon_every.unwrap_or(Ms(f64::INFINITY));
                        }
                    }
                }
            }
        }

        // Playback state.
        let remaining = content - pos;
        if playing {
            if remaining.0 <= EPS {
                playing = false;
            } else if let Some(t) = tracks
                .iter()
                .find(|t| (t.buffered - pos).0 <= EPS && (t.next < t.needed || t.req.is_some()))
            {
                playing = false;
                stall_cause = Some(t.kind);
                m.rebuffer_count += 1;
                match t.kind {
                    Kind::Video => m.rebuffer_video_count += 1,
                    Kind::Audio => m.rebuffer_audio_count += 1,
                }
            }
        } else if remaining.0 > EPS {
            let need = cfg.startup.min(remaining);
            if tracks.iter().all(|t| {
                (t.buffered - pos).0 >= need.0 - EPS
                    || (t.complete() && t.buffered.0 >= content.0 - EPS)
            }) {
                playing = true;
                stall_cause = None;
                if started_at.is_none() {
                    started_at = Some(now);
                }
            }
        }
    }
    if let Some(l) = log {
        l.samples.push(sample(now, &link, &tracks, pos, false));
    }
    m.events = events;
    finish(
        &mut m,
        &tracks,
        manifest,
        content,
        started_at.unwrap_or(now),
        now,
    );
    Ok(m)
}

/// Drops `t`'s last downloaded segment if nothing of it has played and no request of the
/// track is in flight, so it is fetched again; its bits were downloaded for nothing.
fn drop_last_queued(
    t: &mut TrackState<'_>,
    pos: Ms,
    playing: bool,
    m: &mut SessionMetrics,
) -> bool {
    let Some(&rung) = t.played_rungs.last() else {
        return false;
    };
    let start = t.buffered - t.track.segment_duration;
    let unplayed = start.0 > pos.0 + EPS || (!playing && start.0 >= pos.0 - EPS);
    if t.req.is_some() || !unplayed || t.next != t.played_rungs.len() {
        return false;
    }
    t.played_rungs.pop();
    t.next -= 1;
    t.buffered = start;
    m.bits_wasted += t.track.size(t.next, rung).0;
    m.replaced += 1;
    true
}

/// What the rule sees: buffers, progress and estimates at `now`.
fn make_view<'a>(
    manifest: &'a Manifest,
    cfg: &SimConfig,
    tracks: &'a [TrackState<'a>],
    est: &Estimator,
    now: Ms,
    pos: Ms,
    playing: bool,
) -> View<'a> {
    let level = |i: usize| {
        tracks
            .get(i)
            .map_or(Ms::ZERO, |t| (t.buffered - pos).max(Ms::ZERO))
    };
    View {
        now,
        video: &manifest.video,
        audio: manifest.audio.as_ref(),
        level: [level(0), level(1)],
        next: [tracks[0].next, tracks.get(1).map_or(0, |t| t.next)],
        last: [tracks[0].last, tracks.get(1).and_then(|t| t.last)],
        rungs: [
            &tracks[0].played_rungs,
            tracks.get(1).map_or(&[][..], |t| &t.played_rungs),
        ],
        throughput: est.ewma(),
        harmonic: est.harmonic(),
        max_error: est.max_error(),
        latency: est.latency(),
        max_buffer: cfg.max_buffer,
        playing,
    }
}

/// The same session twice must give the same result: nothing here reads a clock or a random
/// source. Helper for the CLI: runs `name` on a trace with a fresh rule.
pub fn run_named(
    trace: &Trace,
    manifest: &Manifest,
    name: &str,
    cfg: &SimConfig,
    log: Option<&mut SessionLog>,
) -> Result<SessionMetrics, SimError> {
    let mut abr = crate::algo::by_name(
        name,
        &manifest.video,
        manifest.audio.as_ref(),
        cfg.max_buffer,
    )?;
    simulate(trace, manifest, abr.as_mut(), name, cfg, log)
}
