//! Moving through a replay's timeline: play at a speed, step one event, seek anywhere.
//!
//! Seeking is "nearest keyframe at or before the target, then apply the events in between".
//! Keyframes are full copies of the [`State`] every `interval` events, taken in one pass when
//! the replay is opened; the interval grows with the replay so that keyframes never take more
//! than [`KEYFRAME_BUDGET`] bytes. A seek therefore applies at most `interval` events whatever
//! the replay's length. Time is an argument (`advance` is told how much wall time passed), so
//! playback is tested without a clock.

use crate::state::State;
use crate::timeline::Timeline;

/// Memory for keyframes.
pub const KEYFRAME_BUDGET: usize = 192 << 20;
/// Fewest events between keyframes: closer ones cost memory and save little.
const MIN_INTERVAL: usize = 2048;

pub const MIN_SPEED: f64 = 0.1;
pub const MAX_SPEED: f64 = 1000.0;

#[derive(Debug)]
pub struct Player {
    timeline: Timeline,
    keyframes: Vec<State>,
    interval: usize,
    state: State,
    /// The moment shown, µs on the replay's clock.
    now: u64,
    pub playing: bool,
    speed: f64,
}

impl Player {
    pub fn new(timeline: Timeline) -> Player {
        let empty = State::empty(&timeline);
        let frame = empty.cell_bytes().max(1);
        let n = timeline.events.len();
        let affordable = (KEYFRAME_BUDGET / frame).max(1);
        let interval = n.div_ceil(affordable).max(MIN_INTERVAL);
        let mut keyframes = Vec::with_capacity(n / interval + 1);
        let mut s = empty.clone();
        for (i, e) in timeline.events.iter().enumerate() {
            if i % interval == 0 {
                keyframes.push(s.clone());
            }
            s.apply(e);
        }
        if keyframes.is_empty() {
            keyframes.push(s.clone());
        }
        // Before the first event, so stepping forward shows it.
        Player {
            keyframes,
            interval,
            state: empty,
            now: timeline.start,
            playing: false,
            speed: 1.0,
            timeline,
        }
    }

    pub fn timeline(&self) -> &Timeline {
        &self.timeline
    }

    pub fn state(&self) -> &State {
        &self.state
    }

    pub fn now(&self) -> u64 {
        self.now
    }

    pub fn speed(&self) -> f64 {
        self.speed
    }

    pub fn keyframe_interval(&self) -> usize {
        self.interval
    }

    pub fn set_speed(&mut self, speed: f64) {
        self.speed = if speed.is_finite() {
            speed.clamp(MIN_SPEED, MAX_SPEED)
        } else {
            1.0
        };
    }

    /// Shows the moment `t` (clamped to the replay): every event at or before it applied.
    pub fn seek(&mut self, t: u64) {
        let t = t.clamp(self.timeline.start, self.timeline.end_time);
        self.goto_event(self.timeline.events_by(t));
        self.now = t;
    }

    /// Applies exactly the first `n` events, from the current state when that is on the way,
    /// else from the nearest keyframe.
    fn goto_event(&mut self, n: usize) {
        let n = n.min(self.timeline.events.len());
        let here = self.state.applied;
        if n < here || n - here > self.interval {
            let k = (n / self.interval).min(self.keyframes.len() - 1);
            self.state.clone_from(&self.keyframes[k]);
        }
        for e in &self.timeline.events[self.state.applied..n] {
            self.state.apply(e);
        }
    }

    /// One event forward; the clock moves to its time.
    pub fn step_forward(&mut self) {
        self.playing = false;
        let n = self.state.applied;
        if let Some(e) = self.timeline.events.get(n) {
            let t = e.t;
            self.goto_event(n + 1);
            self.now = t;
        }
    }

    /// One event back; the clock moves to the time of the last event still applied.
    pub fn step_back(&mut self) {
        self.playing = false;
        let n = self.state.applied.saturating_sub(1);
        self.goto_event(n);
        self.now = match n {
            0 => self.timeline.start,
            n => self.timeline.events[n - 1].t,
        };
    }

    pub fn at_end(&self) -> bool {
        self.now >= self.timeline.end_time
    }

    /// Moves the clock by `wall_us` of real time times the speed, if playing. Stops at the end.
    pub fn advance(&mut self, wall_us: u64) {
        if !self.playing {
            return;
        }
        let dt = (wall_us as f64 * self.speed).round() as u64;
        self.seek(self.now.saturating_add(dt.max(1)));
        if self.at_end() {
            self.playing = false;
        }
    }

    pub fn toggle_play(&mut self) {
        if !self.playing && self.at_end() {
            self.seek(self.timeline.start);
        }
        self.playing = !self.playing;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mezz_replays::{Decoded, End, FileMeta, Meta, ObjectMeta, Record};

    /// A dense stream of `n` reads with their fetches, inserts and evictions.
    fn stream(n: u64) -> Timeline {
        let seg = 4096;
        let meta = Meta {
            objects: vec![ObjectMeta {
                source: "o".into(),
                size: n * seg,
                version: "v".into(),
                segment_size: seg,
            }],
            files: vec![FileMeta {
                path: "o".into(),
                object: 0,
                offset: 0,
                len: n * seg,
            }],
            ..Meta::default()
        };
        let mut r = vec![
            Record::Meta(meta),
            Record::Open {
                t: 0,
                handle: 1,
                file: 0,
            },
        ];
        for i in 0..n {
            let t = 10 * i + 1;
            r.push(Record::FetchStart {
                t,
                fetch: i,
                object: 0,
                offset: i * seg,
                len: seg,
            });
            r.push(Record::FetchDone {
                t: t + 3,
                fetch: i,
                bytes: seg,
                ok: true,
            });
            r.push(Record::CacheInsert {
                t: t + 3,
                object: 0,
                first: i,
                count: 1,
            });
            r.push(Record::Read {
                t,
                handle: 1,
                offset: i * seg,
                len: seg,
                dur: 4,
                ok: true,
            });
            if i >= 2 {
                r.push(Record::CacheEvict {
                    t: t + 6,
                    object: 0,
                    first: i - 2,
                    count: 1,
                });
            }
        }
        Timeline::from_decoded(&Decoded {
            records: r,
            end: End::Complete,
            chunks: 1,
        })
        .expect("timeline")
    }

    fn from_zero(t: &Timeline, upto: u64) -> State {
        let mut s = State::empty(t);
        for e in t.events.iter().take_while(|e| e.t <= upto) {
            s.apply(e);
        }
        s
    }

    #[test]
    fn seeking_anywhere_equals_playing_from_the_start() {
        let t = stream(3000);
        let mut p = Player::new(t.clone());
        assert!(p.keyframes.len() > 3, "the test must cross keyframes");
        let targets = [29_000, 5, 15_000, 14_999, 0, 30_010, 12_345, 29_999, 20_000];
        for &target in &targets {
            p.seek(target);
            assert_eq!(p.state(), &from_zero(&t, target), "seek to {target}");
        }
    }

    #[test]
    fn stepping_walks_one_event_at_a_time_both_ways() {
        let t = stream(10);
        let mut p = Player::new(t.clone());
        for i in 1..=t.events.len() {
            p.step_forward();
            assert_eq!(p.state().applied, i);
            assert_eq!(p.now(), t.events[i - 1].t);
        }
        p.step_forward();
        assert_eq!(p.state().applied, t.events.len(), "stays at the end");
        for i in (0..t.events.len()).rev() {
            p.step_back();
            assert_eq!(p.state().applied, i);
        }
    }

    #[test]
    fn playback_moves_by_wall_time_times_speed_and_stops_at_the_end() {
        let mut p = Player::new(stream(100));
        p.toggle_play();
        p.advance(100);
        assert_eq!(p.now(), 100);
        p.set_speed(10.0);
        p.advance(50);
        assert_eq!(p.now(), 600);
        p.set_speed(1e9);
        assert_eq!(p.speed(), MAX_SPEED);
        p.set_speed(0.0);
        assert_eq!(p.speed(), MIN_SPEED);
        p.set_speed(f64::NAN);
        assert_eq!(p.speed(), 1.0);
        p.advance(10_000_000);
        assert!(p.at_end() && !p.playing);
        p.toggle_play();
        assert!(
            p.playing && p.now() == p.timeline().start,
            "play at the end restarts"
        );
        p.playing = false;
        p.advance(1000);
        assert_eq!(p.now(), p.timeline().start, "paused does not move");
    }
}
