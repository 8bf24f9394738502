//! The bottleneck link: a cursor over a trace that says what bandwidth and latency hold now
//! and for how long, and advances by a given time. Pure: the session owns the clock.

use crate::trace::{Period, Trace};
use crate::units::{Kbps, Ms};

/// What happens after the last period of a trace.
#[derive(
    Clone,
    Copy,
    Debug,
    Default,
    PartialEq,
    Eq,
    serde::Serialize,
    serde::Deserialize,
    clap::ValueEnum,
)]
#[serde(rename_all = "lowercase")]
pub enum TraceEnd {
    /// Start again from the first period (Sabre, Pensieve and mahimahi do this).
    #[default]
    Loop,
    /// Keep the last period's bandwidth and latency forever.
    Hold,
}

#[derive(Clone, Debug)]
pub struct Link<'a> {
    periods: &'a [Period],
    end: TraceEnd,
    index: usize,
    /// Time left in the current period.
    left: Ms,
}

impl<'a> Link<'a> {
    /// Starts at the first period with a positive duration. The trace must have one
    /// (parsers guarantee a positive total).
    pub fn new(trace: &'a Trace, end: TraceEnd) -> Self {
        let mut l = Self {
            periods: &trace.periods,
            end,
            index: 0,
            left: trace.periods[0].duration,
        };
        l.skip_empty();
        l
    }

    fn skip_empty(&mut self) {
        let mut guard = 0;
        while self.left.0 <= 0.0 && guard <= self.periods.len() {
            self.step();
            guard += 1;
        }
    }

    fn step(&mut self) {
        if self.index + 1 < self.periods.len() {
            self.index += 1;
        } else {
            match self.end {
                TraceEnd::Loop => self.index = 0,
                TraceEnd::Hold => {
                    self.left = Ms(f64::INFINITY);
                    return;
                }
            }
        }
        self.left = self.periods[self.index].duration;
    }

    pub fn bandwidth(&self) -> Kbps {
        self.periods[self.index].bandwidth
    }

    pub fn latency(&self) -> Ms {
        self.periods[self.index].latency
    }

    /// Time until the bandwidth or latency may change.
    pub fn until_change(&self) -> Ms {
        self.left
    }

    /// Moves the clock on by `dt`, which must not pass the next change by more than rounding.
    pub fn advance(&mut self, dt: Ms) {
        self.left -= dt;
        if self.left.0 <= 1e-9 {
            self.step();
            self.skip_empty();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trace() -> Trace {
        let p = |d, b| Period {
            duration: Ms(d),
            bandwidth: Kbps(b),
            latency: Ms(10.0),
        };
        Trace {
            name: "t".into(),
            periods: vec![p(100.0, 1.0), p(0.0, 9.0), p(50.0, 2.0)],
        }
    }

    #[test]
    fn loops_or_holds_and_skips_empty_periods() {
        let t = trace();
        let mut l = Link::new(&t, TraceEnd::Loop);
        l.advance(Ms(100.0));
        assert_eq!((l.bandwidth(), l.until_change()), (Kbps(2.0), Ms(50.0)));
        l.advance(Ms(50.0));
        assert_eq!(l.bandwidth(), Kbps(1.0));
        let mut h = Link::new(&t, TraceEnd::Hold);
        h.advance(Ms(100.0));
        h.advance(Ms(50.0));
        assert_eq!(
            (h.bandwidth(), h.until_change()),
            (Kbps(2.0), Ms(f64::INFINITY))
        );
    }
}
