//! The rules Sabre ships, as its paper and source describe them:
//!
//! - BOLA (Spiteri, Urgaonkar, Sitaraman, "BOLA: Near-Optimal Bitrate Adaptation for Online
//!   Videos", INFOCOM 2016): maximise `(V (u_m + gamma p) - Q) / S_m` over rungs `m`, with
//!   BOLA-O's oscillation control and BOLA-U's throughput cap on up-switches.
//! - BOLA-E (Spiteri, Sitaraman, Sparacio, "From Theory to Practice: Improving Bitrate
//!   Adaptation in the DASH Reference Player", MMSys 2018): placeholder buffer, startup from
//!   throughput, insufficient buffer rule, abandonment.
//! - Throughput rule with the insufficient buffer rule and abandonment (same MMSys'18 paper).
//! - DYNAMIC: throughput rule at low buffer, BOLA above 10 s (same paper).

use super::network::Progress;

/// What a rule sees when it decides.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Ctx<'a> {
    pub segment_time: f64,
    pub bitrates: &'a [f64],
    pub segments: usize,
    pub buffer_level: f64,
    pub throughput: f64,
    pub latency: f64,
}

impl Ctx<'_> {
    /// Highest rung whose download, with one latency, fits in one segment time at `tput`.
    fn quality_from_throughput(&self, tput: f64) -> usize {
        let p = self.segment_time;
        let mut q = 0;
        while q + 1 < self.bitrates.len() && self.latency + p * self.bitrates[q + 1] / tput <= p {
            q += 1;
        }
        q
    }
}

/// Settings shared by the rules (Sabre's command-line switches).
#[derive(Clone, Copy, Debug)]
pub(crate) struct RuleConfig {
    pub buffer_size: f64,
    pub gp: f64,
    pub abr_osc: bool,
    pub abr_basic: bool,
    pub no_ibr: bool,
}

fn best_by_score(bitrates: &[f64], utilities: &[f64], vp: f64, gp: f64, level: f64) -> usize {
    let mut quality = 0;
    let mut score: Option<f64> = None;
    for q in 0..bitrates.len() {
        let s = (vp * (utilities[q] + gp) - level) / bitrates[q];
        if score.is_none_or(|best| s > best) {
            quality = q;
            score = Some(s);
        }
    }
    quality
}

#[derive(Debug)]
pub(crate) struct Bola {
    utilities: Vec<f64>,
    gp: f64,
    buffer_size: f64,
    osc: bool,
    basic: bool,
    vp: f64,
    last_quality: usize,
}

impl Bola {
    pub fn new(c: &RuleConfig, segment_time: f64, bitrates: &[f64]) -> Self {
        let offset = -bitrates[0].ln();
        let utilities: Vec<f64> = bitrates.iter().map(|b| b.ln() + offset).collect();
        let top = utilities[utilities.len() - 1];
        let vp = (c.buffer_size - segment_time) / (top + c.gp);
        Self {
            utilities,
            gp: c.gp,
            buffer_size: c.buffer_size,
            osc: c.abr_osc,
            basic: c.abr_basic,
            vp,
            last_quality: 0,
        }
    }

    pub fn quality_delay(&mut self, segment: usize, x: &Ctx<'_>) -> (usize, f64) {
        if !self.basic {
            // Near the end of the video, act as if the buffer were smaller.
            let t = segment.min(x.segments - segment) as f64 / 2.0;
            let t = if 3.0 > t { 3.0 } else { t } * x.segment_time;
            let buffer_size = if t < self.buffer_size {
                t
            } else {
                self.buffer_size
            };
            self.vp = (buffer_size - x.segment_time)
                / (self.utilities[self.utilities.len() - 1] + self.gp);
        }
        let mut quality = best_by_score(
            x.bitrates,
            &self.utilities,
            self.vp,
            self.gp,
            x.buffer_level,
        );
        let mut delay = 0.0;
        if quality > self.last_quality {
            let quality_t = x.quality_from_throughput(x.throughput);
            if quality <= quality_t {
            } else if self.last_quality > quality_t {
                quality = self.last_quality;
            } else if !self.osc {
                quality = quality_t + 1;
            } else {
                quality = quality_t;
                let l = self.vp * (self.gp + self.utilities[quality]);
                let d = x.buffer_level - l;
                delay = if d > 0.0 { d } else { 0.0 };
                if quality == x.bitrates.len() - 1 {
                    delay = 0.0;
                }
            }
        }
        self.last_quality = quality;
        (quality, delay)
    }

    pub fn check_abandon(&mut self, p: &Progress, level: f64, x: &Ctx<'_>) -> Option<usize> {
        if self.basic {
            return None;
        }
        let remain = p.size - p.downloaded;
        if p.downloaded <= 0.0 || remain <= 0.0 {
            return None;
        }
        let mut score = (self.vp * (self.gp + self.utilities[p.quality]) - level) / remain;
        if score < 0.0 {
            return None;
        }
        let mut to = None;
        for q in 0..p.quality {
            let other_size = p.size * x.bitrates[q] / x.bitrates[p.quality];
            let other = (self.vp * (self.gp + self.utilities[q]) - level) / other_size;
            if other_size < remain && other > score {
                score = other;
                to = Some(q);
            }
        }
        if let Some(q) = to {
            self.last_quality = q;
        }
        to
    }
}

/// BOLA-E's buffer floor for its startup placeholder, and per rung.
const MINIMUM_BUFFER: f64 = 10000.0;
const MINIMUM_BUFFER_PER_LEVEL: f64 = 2000.0;
/// Insufficient buffer rule: the safety factor starts at 0.9 and decays to 0.5.
const LOW_BUFFER_SAFETY: f64 = 0.5;
const LOW_BUFFER_SAFETY_INIT: f64 = 0.9;

#[derive(Debug)]
pub(crate) struct BolaE {
    utilities: Vec<f64>,
    gp: f64,
    vp: f64,
    osc: bool,
    no_ibr: bool,
    steady: bool,
    placeholder: f64,
    last_quality: usize,
    ibr_safety: f64,
}

impl BolaE {
    pub fn new(c: &RuleConfig, segment_time: f64, bitrates: &[f64]) -> Self {
        let offset = 1.0 - bitrates[0].ln();
        let utilities: Vec<f64> = bitrates.iter().map(|b| b.ln() + offset).collect();
        let top = utilities[utilities.len() - 1];
        let (gp, vp) = if c.no_ibr {
            let gp = c.gp - 1.0;
            (gp, (c.buffer_size - segment_time) / (top + gp))
        } else {
            let b = MINIMUM_BUFFER + MINIMUM_BUFFER_PER_LEVEL * bitrates.len() as f64;
            let b = if c.buffer_size > b { c.buffer_size } else { b };
            let gp = (top - 1.0) / (b / MINIMUM_BUFFER - 1.0);
            (gp, MINIMUM_BUFFER / gp)
        };
        Self {
            utilities,
            gp,
            vp,
            osc: c.abr_osc,
            no_ibr: c.no_ibr,
            steady: false,
            placeholder: 0.0,
            last_quality: 0,
            ibr_safety: 0.0,
        }
    }

    fn min_buffer_for(&self, quality: usize, bitrates: &[f64]) -> f64 {
        let bitrate = bitrates[quality];
        let utility = self.utilities[quality];
        let mut level = 0.0;
        for q in 0..quality {
            if self.utilities[q] < utility {
                let b = bitrates[q];
                let u = self.utilities[q];
                let l = self.vp * (self.gp + (bitrate * u - b * utility) / (bitrate - b));
                if l > level {
                    level = l;
                }
            }
        }
        level
    }

    fn max_buffer_for(&self, quality: usize) -> f64 {
        self.vp * (self.utilities[quality] + self.gp)
    }

    pub fn quality_delay(&mut self, x: &Ctx<'_>) -> (usize, f64) {
        let level = x.buffer_level;
        if !self.steady {
            self.steady = true;
            self.ibr_safety = LOW_BUFFER_SAFETY_INIT;
            let quality = x.quality_from_throughput(x.throughput);
            let ph = self.min_buffer_for(quality, x.bitrates) - level;
            self.placeholder = if ph > 0.0 { ph } else { 0.0 };
            return (quality, 0.0);
        }
        let mut quality = best_by_score(
            x.bitrates,
            &self.utilities,
            self.vp,
            self.gp,
            level + self.placeholder,
        );
        let quality_t = x.quality_from_throughput(x.throughput);
        if quality > self.last_quality && quality > quality_t {
            quality = self.last_quality.max(quality_t);
            if !self.osc {
                quality += 1;
            }
        }
        let max_level = self.max_buffer_for(quality);
        let mut delay = level + self.placeholder - max_level;
        if delay > 0.0 {
            if delay <= self.placeholder {
                self.placeholder -= delay;
                delay = 0.0;
            } else {
                delay -= self.placeholder;
                self.placeholder = 0.0;
            }
        } else {
            delay = 0.0;
        }
        if quality == x.bitrates.len() - 1 {
            delay = 0.0;
        }
        if !self.no_ibr {
            let safe_size = self.ibr_safety * (level - x.latency) * x.throughput;
            self.ibr_safety *= LOW_BUFFER_SAFETY_INIT;
            if LOW_BUFFER_SAFETY > self.ibr_safety {
                self.ibr_safety = LOW_BUFFER_SAFETY;
            }
            if let Some(q) = (0..quality).find(|&q| x.bitrates[q + 1] * x.segment_time > safe_size)
            {
                quality = q;
                delay = 0.0;
                let max_ph = self.min_buffer_for(quality, x.bitrates) - level;
                let max_ph = if max_ph > 0.0 { max_ph } else { 0.0 };
                if max_ph < self.placeholder {
                    self.placeholder = max_ph;
                }
            }
        }
        (quality, delay)
    }

    pub fn report_delay(&mut self, delay: f64) {
        self.placeholder += delay;
    }

    pub fn report_download(&mut self, p: &Progress, level: f64, x: &Ctx<'_>) {
        self.last_quality = p.quality;
        match p.abandon_to {
            None => {
                let level_was = level + p.time;
                let max_ph = self.max_buffer_for(p.quality) - level_was;
                let max_ph = if max_ph > 0.0 { max_ph } else { 0.0 };
                if max_ph < self.placeholder {
                    self.placeholder = max_ph;
                }
                if level > 0.0 {
                    let min_ph = self.min_buffer_for(p.quality, x.bitrates) - level_was;
                    if min_ph > self.placeholder {
                        self.placeholder = min_ph;
                    }
                }
            }
            Some(to) => {
                let want = if to > 0 {
                    self.min_buffer_for(to, x.bitrates)
                } else {
                    MINIMUM_BUFFER
                };
                let max_ph = want - level;
                let max_ph = if max_ph > 0.0 { max_ph } else { 0.0 };
                if max_ph < self.placeholder {
                    self.placeholder = max_ph;
                }
            }
        }
    }

    pub fn check_abandon(&mut self, p: &Progress, level: f64, x: &Ctx<'_>) -> Option<usize> {
        let remain = p.size - p.downloaded;
        if p.downloaded <= 0.0 || remain <= 0.0 {
            return None;
        }
        // A new request pays a latency; estimate where things stand after it.
        let bl = level + self.placeholder - p.time_to_first_bit;
        let bl = if bl > 0.0 { bl } else { 0.0 };
        let tp = p.downloaded / (p.time - p.time_to_first_bit);
        let sz = remain - p.time_to_first_bit * tp;
        if sz <= 0.0 {
            return None;
        }
        let mut score = (self.vp * (self.gp + self.utilities[p.quality]) - bl) / sz;
        let mut to = None;
        for q in 0..p.quality {
            let other_size = p.size * x.bitrates[q] / x.bitrates[p.quality];
            let other = (self.vp * (self.gp + self.utilities[q]) - bl) / other_size;
            // Switching only pays if the new download is smaller than what is left.
            if other_size < sz && other > score {
                score = other;
                to = Some(q);
            }
        }
        to
    }
}

const TPUT_SAFETY: f64 = 0.9;
const ABANDON_MULTIPLIER: f64 = 1.8;
const ABANDON_GRACE_MS: f64 = 500.0;

#[derive(Debug)]
pub(crate) struct ThroughputRule {
    ibr_safety: f64,
    no_ibr: bool,
}

impl ThroughputRule {
    pub fn new(c: &RuleConfig) -> Self {
        Self {
            ibr_safety: LOW_BUFFER_SAFETY_INIT,
            no_ibr: c.no_ibr,
        }
    }

    pub fn quality_delay(&mut self, x: &Ctx<'_>) -> (usize, f64) {
        let mut quality = x.quality_from_throughput(x.throughput * TPUT_SAFETY);
        if !self.no_ibr {
            let safe_size = self.ibr_safety * (x.buffer_level - x.latency) * x.throughput;
            self.ibr_safety *= LOW_BUFFER_SAFETY_INIT;
            if LOW_BUFFER_SAFETY > self.ibr_safety {
                self.ibr_safety = LOW_BUFFER_SAFETY;
            }
            for q in 0..quality {
                if x.bitrates[q + 1] * x.segment_time > safe_size {
                    quality = q;
                    break;
                }
            }
        }
        (quality, 0.0)
    }

    pub fn check_abandon(&self, p: &Progress, x: &Ctx<'_>) -> Option<usize> {
        let dl_time = p.time - p.time_to_first_bit;
        if p.time >= ABANDON_GRACE_MS && dl_time > 0.0 {
            let tput = p.downloaded / dl_time;
            let size_left = p.size - p.downloaded;
            let time_left = size_left / tput;
            if p.time + time_left > ABANDON_MULTIPLIER * x.segment_time {
                let q = x.quality_from_throughput(tput * TPUT_SAFETY);
                let estimate = p.size * x.bitrates[q] / x.bitrates[p.quality];
                if q >= p.quality || estimate >= size_left {
                    return None;
                }
                return Some(q);
            }
        }
        None
    }
}

/// DYNAMIC switches to BOLA above this buffer level and back to throughput below it.
const DYNAMIC_THRESHOLD: f64 = 10000.0;

#[derive(Debug)]
pub(crate) struct Dynamic {
    bola: Bola,
    tput: ThroughputRule,
    is_bola: bool,
}

impl Dynamic {
    pub fn new(c: &RuleConfig, segment_time: f64, bitrates: &[f64]) -> Self {
        Self {
            bola: Bola::new(c, segment_time, bitrates),
            tput: ThroughputRule::new(c),
            is_bola: false,
        }
    }

    pub fn quality_delay(&mut self, segment: usize, x: &Ctx<'_>) -> (usize, f64) {
        let b = self.bola.quality_delay(segment, x);
        let t = self.tput.quality_delay(x);
        if self.is_bola {
            if x.buffer_level < DYNAMIC_THRESHOLD && b.0 < t.0 {
                self.is_bola = false;
            }
        } else if x.buffer_level > DYNAMIC_THRESHOLD && b.0 >= t.0 {
            self.is_bola = true;
        }
        if self.is_bola { b } else { t }
    }

    pub fn check_abandon(&self, p: &Progress, x: &Ctx<'_>) -> Option<usize> {
        // Sabre's DYNAMIC always abandons by the throughput rule.
        self.tput.check_abandon(p, x)
    }
}

/// One of Sabre's rules.
#[derive(Debug)]
pub(crate) enum Rule {
    Bola(Bola),
    BolaE(BolaE),
    Throughput(ThroughputRule),
    Dynamic(Dynamic),
}

impl Rule {
    pub fn quality_delay(&mut self, segment: usize, x: &Ctx<'_>) -> (usize, f64) {
        match self {
            Rule::Bola(r) => r.quality_delay(segment, x),
            Rule::BolaE(r) => r.quality_delay(x),
            Rule::Throughput(r) => r.quality_delay(x),
            Rule::Dynamic(r) => r.quality_delay(segment, x),
        }
    }

    pub fn report_delay(&mut self, delay: f64) {
        if let Rule::BolaE(r) = self {
            r.report_delay(delay);
        }
    }

    pub fn report_download(&mut self, p: &Progress, level: f64, x: &Ctx<'_>) {
        if let Rule::BolaE(r) = self {
            r.report_download(p, level, x);
        }
    }

    pub fn check_abandon(&mut self, p: &Progress, level: f64, x: &Ctx<'_>) -> Option<usize> {
        match self {
            Rule::Bola(r) => r.check_abandon(p, level, x),
            Rule::BolaE(r) => r.check_abandon(p, level, x),
            Rule::Throughput(r) => r.check_abandon(p, x),
            Rule::Dynamic(r) => r.check_abandon(p, x),
        }
    }
}
