//! Sabre's bookkeeping of how the network's sustainable quality changes and how long the
//! player takes to follow an increase ("reaction time"), and of the ramp-up time.
//!
//! The sustainable quality of a period is the highest rung whose bitrate fits in the period's
//! bandwidth after charging one latency per segment. An increase opens a pending entry; it
//! closes when a segment of that quality starts playing or the network falls back below it,
//! and it is counted once it is older than the maximum buffer.

use super::network::NetPeriod;
use std::collections::VecDeque;

#[derive(Clone, Copy, Debug)]
struct Pending {
    time: f64,
    quality: usize,
    end: Option<f64>,
}

#[derive(Debug)]
pub(crate) struct Reaction<'a> {
    bitrates: &'a [f64],
    segment_time: f64,
    max_buffer: f64,
    pub sustainable: Option<usize>,
    pub network_time: f64,
    pending: VecDeque<Pending>,
    pub total_reaction_time: f64,
}

impl<'a> Reaction<'a> {
    pub fn new(bitrates: &'a [f64], segment_time: f64, max_buffer: f64) -> Self {
        Self {
            bitrates,
            segment_time,
            max_buffer,
            sustainable: None,
            network_time: 0.0,
            pending: VecDeque::new(),
            total_reaction_time: 0.0,
        }
    }

    /// A new trace period starts.
    pub fn network_period(&mut self, p: NetPeriod, buffer: &VecDeque<usize>) {
        let latency_factor = 1.0 - p.latency / self.segment_time;
        let effective = p.bandwidth * latency_factor;
        let previous = self.sustainable;
        let mut q = 0;
        for i in 1..self.bitrates.len() {
            if self.bitrates[i] > effective {
                break;
            }
            q = i;
        }
        self.sustainable = Some(q);
        if let Some(prev) = previous
            && prev != q
        {
            self.advertise(q, prev, buffer);
        }
    }

    fn advertise(&mut self, quality: usize, previous: usize, buffer: &VecDeque<usize>) {
        self.process(self.network_time);
        let now = self.network_time;
        for p in &mut self.pending {
            if p.end.is_none() && p.quality > quality {
                p.end = Some(now);
            }
        }
        if quality <= previous
            || buffer.iter().any(|&q| quality <= q)
            || self.pending.iter().any(|p| quality <= p.quality)
        {
            return;
        }
        self.pending.push_back(Pending {
            time: now,
            quality,
            end: None,
        });
    }

    /// Counts the pending increases older than the maximum buffer.
    pub fn process(&mut self, now: f64) {
        let cutoff = now - self.max_buffer;
        while let Some(p) = self.pending.front().copied() {
            if p.time >= cutoff {
                break;
            }
            self.pending.pop_front();
            self.total_reaction_time += match p.end {
                None => self.max_buffer,
                Some(end) => {
                    let r = end - p.time;
                    if r < self.max_buffer {
                        r
                    } else {
                        self.max_buffer
                    }
                }
            };
        }
    }

    /// A segment of `quality` starts playing at play time `now`.
    pub fn played(&mut self, quality: usize, now: f64) {
        for p in &mut self.pending {
            if p.end.is_none() && quality >= p.quality {
                p.end = Some(now);
            }
        }
    }
}
