//! Sabre compatibility mode: Sabre's single-buffer player, network model, estimators and its
//! BOLA, BOLA-E, throughput and DYNAMIC rules, reproducing the metrics the reference
//! (UMass-LIDS/sabre, `src/sabre.py`) prints to within 1e-6 relative; see
//! `tests/sabre_golden.rs`.
//!
//! Written from the published rules and checked against the reference's outputs, not
//! translated from it. Not covered: seeking, segment replacement (`-r`), custom `.py` rules
//! and `dynamicdash`. One quirk of the reference is kept on purpose: after an abandoned
//! download the next decision is the rule's own, not the rung it abandoned to.

mod estimate;
mod network;
mod player;
mod reaction;
// The rules index several parallel arrays per rung, as the papers' formulas do.
#[allow(clippy::needless_range_loop)]
pub(crate) mod rules;

pub use estimate::Average;
pub use network::Progress;

use crate::error::SimError;
use crate::manifest::Track;
use crate::trace::Trace;
use network::{NetPeriod, Network};
use player::Player;
use reaction::Reaction;
use rules::{Bola, BolaE, Ctx, Dynamic, Rule, RuleConfig, ThroughputRule};
use serde::Serialize;

/// Sabre's built-in rules.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum SabreRule {
    Bola,
    Bolae,
    Throughput,
    Dynamic,
}

/// Sabre's command-line settings that this mode supports, with Sabre's defaults.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SabreConfig {
    pub rule: SabreRule,
    /// `-b`, seconds.
    pub max_buffer_s: f64,
    /// `-gp`, seconds.
    pub gamma_p: f64,
    /// `-ao`
    pub abr_osc: bool,
    /// `-ab`
    pub abr_basic: bool,
    /// `-noibr`
    pub no_ibr: bool,
    /// `-noa`
    pub no_abandon: bool,
    /// `-ma` with `-hl` / `-ws`
    pub average: Average,
    /// `-nm`
    pub network_multiplier: f64,
    /// `-rmp`
    pub rampup_threshold: Option<usize>,
}

impl Default for SabreConfig {
    fn default() -> Self {
        Self {
            rule: SabreRule::Bolae,
            max_buffer_s: 25.0,
            gamma_p: 5.0,
            abr_osc: false,
            abr_basic: false,
            no_ibr: false,
            no_abandon: false,
            average: Average::default(),
            network_multiplier: 1.0,
            rampup_threshold: None,
        }
    }
}

/// The metrics Sabre prints, at full precision.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct SabreMetrics {
    pub buffer_size: f64,
    pub total_played_utility: f64,
    pub time_average_played_utility: f64,
    pub total_played_bitrate: f64,
    pub time_average_played_bitrate: f64,
    pub total_play_time: f64,
    pub total_play_time_chunks: f64,
    pub total_rebuffer: f64,
    pub rebuffer_ratio: f64,
    pub time_average_rebuffer: f64,
    pub total_rebuffer_events: f64,
    pub time_average_rebuffer_events: f64,
    pub total_bitrate_change: f64,
    pub time_average_bitrate_change: f64,
    pub total_log_bitrate_change: f64,
    pub time_average_log_bitrate_change: f64,
    pub time_average_score: f64,
    pub over_estimate_count: f64,
    pub over_estimate: f64,
    pub leq_estimate_count: f64,
    pub leq_estimate: f64,
    pub estimate: f64,
    pub rampup_time: f64,
    pub total_reaction_time: f64,
    /// Not printed by Sabre: the first segment's transfer time (without latency).
    pub startup_time: f64,
}

impl SabreMetrics {
    /// `(label, value)` in Sabre's printing order, labels as Sabre prints them.
    pub fn lines(&self) -> Vec<(&'static str, f64)> {
        vec![
            ("buffer size", self.buffer_size),
            ("total played utility", self.total_played_utility),
            (
                "time average played utility",
                self.time_average_played_utility,
            ),
            ("total played bitrate", self.total_played_bitrate),
            (
                "time average played bitrate",
                self.time_average_played_bitrate,
            ),
            ("total play time", self.total_play_time),
            ("total play time chunks", self.total_play_time_chunks),
            ("total rebuffer", self.total_rebuffer),
            ("rebuffer ratio", self.rebuffer_ratio),
            ("time average rebuffer", self.time_average_rebuffer),
            ("total rebuffer events", self.total_rebuffer_events),
            (
                "time average rebuffer events",
                self.time_average_rebuffer_events,
            ),
            ("total bitrate change", self.total_bitrate_change),
            (
                "time average bitrate change",
                self.time_average_bitrate_change,
            ),
            ("total log bitrate change", self.total_log_bitrate_change),
            (
                "time average log bitrate change",
                self.time_average_log_bitrate_change,
            ),
            ("time average score", self.time_average_score),
            ("over estimate count", self.over_estimate_count),
            ("over estimate", self.over_estimate),
            ("leq estimate count", self.leq_estimate_count),
            ("leq estimate", self.leq_estimate),
            ("estimate", self.estimate),
            ("rampup time", self.rampup_time),
            ("total reaction time", self.total_reaction_time),
        ]
    }

    /// The report as Sabre prints it (`%d` for the buffer size and the integer counts it
    /// prints that way, `%f` otherwise).
    pub fn printed(&self) -> String {
        let mut s = String::new();
        for (label, v) in self.lines() {
            let int_line = label == "buffer size"
                || (label.ends_with("count") && v.fract() == 0.0)
                || ((label == "over estimate" || label == "leq estimate") && v == 0.0);
            if int_line {
                s.push_str(&format!("{label}: {}\n", v.trunc() as i64));
            } else {
                s.push_str(&format!("{label}: {v:.6}\n"));
            }
        }
        s
    }
}

/// One download as the reference's per-segment log reports it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SabreDownload {
    pub index: usize,
    pub quality: usize,
    pub downloaded_bits: f64,
    pub time_ms: f64,
    pub time_to_first_bit_ms: f64,
    pub abandon_to: Option<usize>,
    /// Buffer level after the download and after adding the segment, if it completed.
    pub buffer_after_ms: f64,
    pub rebuffer_after_ms: f64,
}

/// A finished compatibility-mode session.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SabreRun {
    pub metrics: SabreMetrics,
    /// The segment 0 download, then every later one including abandoned ones.
    pub downloads: Vec<SabreDownload>,
}

/// Runs one Sabre session of `video` over `trace`.
pub fn run(trace: &Trace, video: &Track, cfg: &SabreConfig) -> Result<SabreRun, SimError> {
    run_inner(trace, video, cfg, true)
}

/// As [`run`], without keeping the per-download log (for benchmarks and large comparisons).
pub fn run_metrics(
    trace: &Trace,
    video: &Track,
    cfg: &SabreConfig,
) -> Result<SabreMetrics, SimError> {
    run_inner(trace, video, cfg, false).map(|r| r.metrics)
}

fn validate(trace: &Trace, cfg: &SabreConfig) -> Result<Vec<NetPeriod>, SimError> {
    let setting = |name, message: &str| {
        Err(SimError::Setting {
            name,
            message: message.to_owned(),
        })
    };
    if !(cfg.max_buffer_s > 0.0 && cfg.max_buffer_s.is_finite()) {
        return setting("max_buffer_s", "must be a positive number of seconds");
    }
    if !(cfg.network_multiplier > 0.0 && cfg.network_multiplier.is_finite()) {
        return setting("network_multiplier", "must be > 0");
    }
    match &cfg.average {
        Average::Ewma { half_life_s }
            if half_life_s.is_empty() || half_life_s.iter().any(|h| !(*h > 0.0)) =>
        {
            return setting("half_life_s", "needs one or more half-lives > 0");
        }
        Average::Sliding { windows } if windows.is_empty() || windows.contains(&0) => {
            return setting("windows", "needs one or more window sizes >= 1");
        }
        _ => {}
    }
    let periods: Vec<NetPeriod> = trace
        .periods
        .iter()
        .map(|p| NetPeriod {
            duration: p.duration.0,
            bandwidth: p.bandwidth.0 * cfg.network_multiplier,
            latency: p.latency.0,
        })
        .collect();
    // A trace that can never deliver a bit would loop forever in the reference.
    if !periods
        .iter()
        .any(|p| p.duration > 0.0 && p.bandwidth > 0.0)
    {
        return Err(SimError::DeadTrace(trace.name.clone()));
    }
    Ok(periods)
}

fn run_inner(
    trace: &Trace,
    video: &Track,
    cfg: &SabreConfig,
    keep_log: bool,
) -> Result<SabreRun, SimError> {
    let periods = validate(trace, cfg)?;
    let seg = video.segment_duration.0;
    let bitrates: Vec<f64> = video.bitrates.iter().map(|b| b.0).collect();
    let offset = 0.0 - bitrates[0].ln();
    let utilities: Vec<f64> = bitrates.iter().map(|b| b.ln() + offset).collect();
    let n = video.segments();
    let buffer_size = cfg.max_buffer_s * 1000.0;
    let rc = RuleConfig {
        buffer_size,
        gp: cfg.gamma_p,
        abr_osc: cfg.abr_osc,
        abr_basic: cfg.abr_basic,
        no_ibr: cfg.no_ibr,
    };
    let mut rule = match cfg.rule {
        SabreRule::Bola => Rule::Bola(Bola::new(&rc, seg, &bitrates)),
        SabreRule::Bolae => Rule::BolaE(BolaE::new(&rc, seg, &bitrates)),
        SabreRule::Throughput => Rule::Throughput(ThroughputRule::new(&rc)),
        SabreRule::Dynamic => Rule::Dynamic(Dynamic::new(&rc, seg, &bitrates)),
    };
    let mut react = Reaction::new(&bitrates, seg, buffer_size);
    let mut player = Player::new(seg, &bitrates, &utilities, cfg.rampup_threshold);
    let mut net = Network::new(&periods, &mut react, &player.contents);
    let mut est = estimate::Estimator::new(&cfg.average, seg);
    let mut log = Vec::new();
    let mut record = |p: &Progress, player: &Player<'_>| {
        if keep_log {
            log.push(SabreDownload {
                index: p.index,
                quality: p.quality,
                downloaded_bits: p.downloaded,
                time_ms: p.time,
                time_to_first_bit_ms: p.time_to_first_bit,
                abandon_to: p.abandon_to,
                buffer_after_ms: player.level(),
                rebuffer_after_ms: player.rebuffer_time,
            });
        }
    };

    // Segment 0 at the lowest rung, never abandoned; its time is startup, not rebuffering.
    let first = net.download(
        video.size(0, 0).0,
        0,
        0,
        0.0,
        None,
        &mut react,
        &player.contents,
    );
    let download_time = first.time - first.time_to_first_bit;
    let startup_time = download_time;
    player.contents.push_back(first.quality);
    let (mut throughput, mut latency) = est.push(
        download_time,
        first.size / download_time,
        first.time_to_first_bit,
    );
    player.play_time += first.time;
    record(&first, &player);

    let (mut over_n, mut over_avg, mut good_n, mut good_avg, mut est_avg) =
        (0u64, 0.0, 0u64, 0.0, 0.0);
    let mut next = 1;
    while next < n {
        let full_delay = player.level() + seg - buffer_size;
        if full_delay > 0.0 {
            player.deplete(full_delay, &mut react);
            net.delay(full_delay, &mut react, &player.contents);
            rule.report_delay(full_delay);
        }
        let ctx = |level| Ctx {
            segment_time: seg,
            bitrates: &bitrates,
            segments: n,
            buffer_level: level,
            throughput,
            latency,
        };
        let (quality, delay) = rule.quality_delay(next, &ctx(player.level()));
        let size = video.size(next, quality).0;
        if delay > 0.0 {
            player.deplete(delay, &mut react);
            net.delay(delay, &mut react, &player.contents);
        }
        let x = ctx(player.level());
        let p = if cfg.no_abandon {
            net.download(
                size,
                next,
                quality,
                x.buffer_level,
                None,
                &mut react,
                &player.contents,
            )
        } else {
            let mut check = |p: &Progress, level: f64| rule.check_abandon(p, level, &x);
            net.download(
                size,
                next,
                quality,
                x.buffer_level,
                Some(&mut check),
                &mut react,
                &player.contents,
            )
        };
        player.deplete(p.time, &mut react);
        if p.abandon_to.is_none() {
            player.contents.push_back(quality);
            next += 1;
        }
        record(&p, &player);
        rule.report_download(&p, player.level(), &x);

        let download_time = p.time - p.time_to_first_bit;
        let t = p.downloaded / download_time;
        if throughput > t {
            over_n += 1;
            over_avg += (throughput - t - over_avg) / over_n as f64;
        } else {
            good_n += 1;
            good_avg += (t - throughput - good_avg) / good_n as f64;
        }
        est_avg += (throughput - t - est_avg) / (over_n + good_n) as f64;
        if p.abandon_to.is_none() {
            (throughput, latency) = est.push(download_time, t, p.time_to_first_bit);
        }
    }
    player.play_out(&mut react);

    let to_avg = 1.0 / (player.play_time / seg);
    let m = SabreMetrics {
        buffer_size,
        total_played_utility: player.played_utility,
        time_average_played_utility: player.played_utility * to_avg,
        total_played_bitrate: player.played_bitrate,
        time_average_played_bitrate: player.played_bitrate * to_avg,
        total_play_time: player.play_time / 1000.0,
        total_play_time_chunks: player.play_time / seg,
        total_rebuffer: player.rebuffer_time / 1000.0,
        rebuffer_ratio: player.rebuffer_time / player.play_time,
        time_average_rebuffer: player.rebuffer_time / 1000.0 * to_avg,
        total_rebuffer_events: player.rebuffer_events as f64,
        time_average_rebuffer_events: player.rebuffer_events as f64 * to_avg,
        total_bitrate_change: player.bitrate_change,
        time_average_bitrate_change: player.bitrate_change * to_avg,
        total_log_bitrate_change: player.log_bitrate_change,
        time_average_log_bitrate_change: player.log_bitrate_change * to_avg,
        time_average_score: to_avg
            * (player.played_utility - cfg.gamma_p * player.rebuffer_time / seg),
        over_estimate_count: over_n as f64,
        over_estimate: over_avg,
        leq_estimate_count: good_n as f64,
        leq_estimate: good_avg,
        estimate: est_avg,
        rampup_time: player
            .rampup_time
            .map_or(n as f64 * seg / 1000.0, |t| t / 1000.0),
        total_reaction_time: react.total_reaction_time / 1000.0,
        startup_time,
    };
    Ok(SabreRun {
        metrics: m,
        downloads: log,
    })
}
