//! Sabre's player: one buffer of whole segments (the first possibly part-played) and the
//! running totals its printed metrics come from.

use super::reaction::Reaction;
use std::collections::VecDeque;

#[derive(Debug)]
pub(crate) struct Player<'a> {
    pub segment_time: f64,
    bitrates: &'a [f64],
    utilities: &'a [f64],
    pub contents: VecDeque<usize>,
    /// How much of the first buffered segment has played.
    pub fcc: f64,
    pub rebuffer_events: u64,
    pub rebuffer_time: f64,
    pub played_utility: f64,
    pub played_bitrate: f64,
    pub play_time: f64,
    pub bitrate_change: f64,
    pub log_bitrate_change: f64,
    last_played: Option<usize>,
    pub rampup_origin: f64,
    pub rampup_time: Option<f64>,
    pub rampup_threshold: Option<usize>,
}

impl<'a> Player<'a> {
    pub fn new(
        segment_time: f64,
        bitrates: &'a [f64],
        utilities: &'a [f64],
        rampup_threshold: Option<usize>,
    ) -> Self {
        Self {
            segment_time,
            bitrates,
            utilities,
            contents: VecDeque::new(),
            fcc: 0.0,
            rebuffer_events: 0,
            rebuffer_time: 0.0,
            played_utility: 0.0,
            played_bitrate: 0.0,
            play_time: 0.0,
            bitrate_change: 0.0,
            log_bitrate_change: 0.0,
            last_played: None,
            rampup_origin: 0.0,
            rampup_time: None,
            rampup_threshold,
        }
    }

    pub fn level(&self) -> f64 {
        self.segment_time * self.contents.len() as f64 - self.fcc
    }

    /// Plays for `time` ms; an empty buffer rebuffers instead.
    pub fn deplete(&mut self, mut time: f64, r: &mut Reaction<'_>) {
        if self.contents.is_empty() {
            self.rebuffer_time += time;
            self.play_time += time;
            return;
        }
        if self.fcc > 0.0 {
            if time + self.fcc < self.segment_time {
                self.fcc += time;
                self.play_time += time;
                return;
            }
            time -= self.segment_time - self.fcc;
            self.play_time += self.segment_time - self.fcc;
            self.contents.pop_front();
            self.fcc = 0.0;
        }
        while time > 0.0 {
            let Some(&quality) = self.contents.front() else {
                break;
            };
            self.played_utility += self.utilities[quality];
            self.played_bitrate += self.bitrates[quality];
            if let Some(last) = self.last_played
                && quality != last
            {
                self.bitrate_change += (self.bitrates[quality] - self.bitrates[last]).abs();
                self.log_bitrate_change +=
                    (self.bitrates[quality] / self.bitrates[last]).ln().abs();
            }
            self.last_played = Some(quality);
            if self.rampup_time.is_none() {
                let threshold = self.rampup_threshold.or(r.sustainable).unwrap_or(0);
                if quality >= threshold {
                    self.rampup_time = Some(self.play_time - self.rampup_origin);
                }
            }
            r.played(quality, self.play_time);
            if time >= self.segment_time {
                self.contents.pop_front();
                self.play_time += self.segment_time;
                time -= self.segment_time;
            } else {
                self.fcc = time;
                self.play_time += time;
                time = 0.0;
            }
        }
        if time > 0.0 {
            self.rebuffer_time += time;
            self.play_time += time;
            self.rebuffer_events += 1;
        }
        r.process(self.play_time);
    }

    /// Plays out whatever is buffered at the end of the session.
    pub fn play_out(&mut self, r: &mut Reaction<'_>) {
        self.deplete(self.level(), r);
        self.contents.clear();
        self.fcc = 0.0;
    }
}
