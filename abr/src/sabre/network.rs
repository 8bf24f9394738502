//! Sabre's network model: a trace of (duration, bandwidth, latency) periods replayed in a loop;
//! a request pays one latency, then its bits flow at the period's bandwidth. With abandonment
//! on, a download advances in steps of at least 12 000 bits or 50 ms and the rule is asked
//! after each step whether to give up.
//!
//! Arithmetic follows the reference operation by operation (plain `f64` in Sabre's units:
//! bits, ms, bits/ms) because the compatibility tests compare to 1e-6 relative and rounding
//! differences compound over hundreds of segments.

use super::reaction::Reaction;
use std::collections::VecDeque;

/// Sabre's minimum progress between abandonment checks.
pub(crate) const MIN_PROGRESS_BITS: f64 = 12000.0;
pub(crate) const MIN_PROGRESS_MS: f64 = 50.0;

#[derive(Clone, Copy, Debug)]
pub(crate) struct NetPeriod {
    pub duration: f64,
    pub bandwidth: f64,
    pub latency: f64,
}

/// How far a download got.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Progress {
    pub index: usize,
    pub quality: usize,
    pub size: f64,
    pub downloaded: f64,
    pub time: f64,
    pub time_to_first_bit: f64,
    pub abandon_to: Option<usize>,
}

/// Asked between progress steps: abandon to which rung, given progress and buffer level?
pub(crate) type AbandonCheck<'c> = &'c mut dyn FnMut(&Progress, f64) -> Option<usize>;

#[derive(Debug)]
pub(crate) struct Network<'a> {
    trace: &'a [NetPeriod],
    index: usize,
    time_to_next: f64,
}

impl<'a> Network<'a> {
    pub fn new(trace: &'a [NetPeriod], r: &mut Reaction<'_>, buffer: &VecDeque<usize>) -> Self {
        let mut n = Self {
            trace,
            index: trace.len() - 1,
            time_to_next: 0.0,
        };
        n.next_period(r, buffer);
        n
    }

    fn next_period(&mut self, r: &mut Reaction<'_>, buffer: &VecDeque<usize>) {
        self.index += 1;
        if self.index == self.trace.len() {
            self.index = 0;
        }
        let p = self.trace[self.index];
        self.time_to_next = p.duration;
        r.network_period(p, buffer);
    }

    fn latency_delay(
        &mut self,
        mut units: f64,
        r: &mut Reaction<'_>,
        buffer: &VecDeque<usize>,
    ) -> f64 {
        let mut total = 0.0;
        while units > 0.0 {
            let latency = self.trace[self.index].latency;
            let time = units * latency;
            if time <= self.time_to_next {
                total += time;
                r.network_time += time;
                self.time_to_next -= time;
                units = 0.0;
            } else {
                total += self.time_to_next;
                r.network_time += self.time_to_next;
                units -= self.time_to_next / latency;
                self.next_period(r, buffer);
            }
        }
        total
    }

    fn transfer(&mut self, mut size: f64, r: &mut Reaction<'_>, buffer: &VecDeque<usize>) -> f64 {
        let mut total = 0.0;
        while size > 0.0 {
            let bw = self.trace[self.index].bandwidth;
            if size <= self.time_to_next * bw {
                let time = size / bw;
                total += time;
                r.network_time += time;
                self.time_to_next -= time;
                size = 0.0;
            } else {
                total += self.time_to_next;
                r.network_time += self.time_to_next;
                size -= self.time_to_next * bw;
                self.next_period(r, buffer);
            }
        }
        total
    }

    /// Transfers until `min_size` bits and `min_time` ms have passed (or the download ends).
    fn minimal_transfer(
        &mut self,
        mut size: f64,
        mut min_size: f64,
        mut min_time: f64,
        r: &mut Reaction<'_>,
        buffer: &VecDeque<usize>,
    ) -> (f64, f64) {
        let mut total_size = 0.0;
        let mut total_time = 0.0;
        while size > 0.0 && (min_size > 0.0 || min_time > 0.0) {
            let bw = self.trace[self.index].bandwidth;
            let (bits, time);
            if bw > 0.0 {
                let min_bits = if min_time * bw > min_size {
                    min_time * bw
                } else {
                    min_size
                };
                let bits_to_next = self.time_to_next * bw;
                if size <= min_bits && size <= bits_to_next {
                    bits = size;
                    time = bits / bw;
                    self.time_to_next -= time;
                    r.network_time += time;
                } else if min_bits <= bits_to_next {
                    bits = min_bits;
                    time = bits / bw;
                    // Both minimums are met; zero them so rounding cannot keep the loop going.
                    min_size = 0.0;
                    min_time = 0.0;
                    self.time_to_next -= time;
                    r.network_time += time;
                } else {
                    bits = bits_to_next;
                    time = self.time_to_next;
                    r.network_time += time;
                    self.next_period(r, buffer);
                }
            } else {
                bits = 0.0;
                if min_size > 0.0 || min_time > self.time_to_next {
                    time = self.time_to_next;
                    r.network_time += time;
                    self.next_period(r, buffer);
                } else {
                    time = min_time;
                    self.time_to_next -= time;
                    r.network_time += time;
                }
            }
            total_size += bits;
            total_time += time;
            size -= bits;
            min_size -= bits;
            min_time -= time;
        }
        (total_size, total_time)
    }

    /// Lets `time` pass without downloading.
    pub fn delay(&mut self, mut time: f64, r: &mut Reaction<'_>, buffer: &VecDeque<usize>) {
        while time > self.time_to_next {
            time -= self.time_to_next;
            r.network_time += self.time_to_next;
            self.next_period(r, buffer);
        }
        self.time_to_next -= time;
        r.network_time += time;
    }

    /// Downloads one segment; `check` (if any) may abandon it between progress steps.
    #[allow(clippy::too_many_arguments)]
    pub fn download(
        &mut self,
        size: f64,
        index: usize,
        quality: usize,
        buffer_level: f64,
        check: Option<AbandonCheck<'_>>,
        r: &mut Reaction<'_>,
        buffer: &VecDeque<usize>,
    ) -> Progress {
        let mut p = Progress {
            index,
            quality,
            size,
            downloaded: 0.0,
            time: 0.0,
            time_to_first_bit: 0.0,
            abandon_to: None,
        };
        if size <= 0.0 {
            p.size = 0.0;
            return p;
        }
        let Some(check) = check else {
            let latency = self.latency_delay(1.0, r, buffer);
            p.time = latency + self.transfer(size, r, buffer);
            p.downloaded = size;
            p.time_to_first_bit = latency;
            return p;
        };
        let latency = self.latency_delay(1.0, r, buffer);
        p.time = latency;
        p.time_to_first_bit = latency;
        let mut min_time = MIN_PROGRESS_MS - p.time;
        let mut min_size = MIN_PROGRESS_BITS;
        while p.downloaded < size && p.abandon_to.is_none() {
            let (bits, time) =
                self.minimal_transfer(size - p.downloaded, min_size, min_time, r, buffer);
            p.time += time;
            p.downloaded += bits;
            if p.downloaded < size {
                let level = buffer_level - p.time;
                p.abandon_to = check(&p, if level > 0.0 { level } else { 0.0 });
                min_time = MIN_PROGRESS_MS;
                min_size = MIN_PROGRESS_BITS;
            }
        }
        p
    }
}
