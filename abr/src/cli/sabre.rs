//! `abr-sim sabre`: Sabre compatibility mode with Sabre's options and output.

use abr_sim::manifest;
use abr_sim::sabre::{self, Average, SabreConfig, SabreRule};
use abr_sim::trace::{self, TraceSet};
use anyhow::Context;
use clap::Args;
use std::path::PathBuf;
use std::time::Instant;

#[derive(Debug, Args)]
pub struct SabreArgs {
    /// Sabre network trace JSON (Sabre's -n); a directory runs every trace in it.
    #[arg(long, short)]
    pub network: PathBuf,
    /// Sabre movie JSON (-m).
    #[arg(long, short)]
    pub movie: PathBuf,
    /// Rule (-a).
    #[arg(long, short, value_enum, default_value_t = SabreRule::Bolae)]
    pub abr: SabreRule,
    /// Maximum buffer, seconds (-b).
    #[arg(long, default_value_t = 25.0)]
    pub max_buffer: f64,
    /// Gamma p product, seconds (-gp).
    #[arg(long, default_value_t = 5.0)]
    pub gamma_p: f64,
    /// Minimise oscillations (-ao).
    #[arg(long)]
    pub abr_osc: bool,
    /// BOLA basic (-ab).
    #[arg(long)]
    pub abr_basic: bool,
    /// Disable the insufficient buffer rule (-noibr).
    #[arg(long)]
    pub no_ibr: bool,
    /// Disable abandonment (-noa).
    #[arg(long)]
    pub no_abandon: bool,
    /// Sliding window instead of EWMA (-ma sliding), with these window sizes (-ws).
    #[arg(long, num_args = 1..)]
    pub window_size: Option<Vec<usize>>,
    /// EWMA half-lives, seconds (-hl).
    #[arg(long, num_args = 1.., default_values_t = [3.0, 8.0])]
    pub half_life: Vec<f64>,
    /// Multiply bandwidth (-nm).
    #[arg(long, default_value_t = 1.0)]
    pub network_multiplier: f64,
    /// Quality index counted as ramped up (-rmp).
    #[arg(long)]
    pub rampup_threshold: Option<usize>,
    /// Print every download (index, rung, bits, times, buffer) before the metrics.
    #[arg(long, short)]
    pub verbose: bool,
    /// Run each session this many times (for timing); metrics are printed once.
    #[arg(long, default_value_t = 1)]
    pub repeat: usize,
    /// Print the time per session to stderr.
    #[arg(long)]
    pub time: bool,
}

pub fn main(a: SabreArgs) -> anyhow::Result<()> {
    let movie =
        manifest::load(&a.movie).with_context(|| format!("loading movie {}", a.movie.display()))?;
    let cfg = SabreConfig {
        rule: a.abr,
        max_buffer_s: a.max_buffer,
        gamma_p: a.gamma_p,
        abr_osc: a.abr_osc,
        abr_basic: a.abr_basic,
        no_ibr: a.no_ibr,
        no_abandon: a.no_abandon,
        average: match &a.window_size {
            Some(w) => Average::Sliding { windows: w.clone() },
            None => Average::Ewma {
                half_life_s: a.half_life.clone(),
            },
        },
        network_multiplier: a.network_multiplier,
        rampup_threshold: a.rampup_threshold,
    };
    let set = TraceSet::open(
        &a.network,
        Some(trace::TraceFormat::SabreJson),
        Default::default(),
    )?;
    let start = Instant::now();
    let mut sessions = 0usize;
    for i in 0..set.len() {
        let t = set.get(i)?;
        if set.len() > 1 {
            println!("== {}", t.name);
        }
        for _ in 1..a.repeat.max(1) {
            std::hint::black_box(sabre::run_metrics(&t, &movie.video, &cfg)?);
            sessions += 1;
        }
        let run = sabre::run(&t, &movie.video, &cfg)?;
        sessions += 1;
        if a.verbose {
            for d in &run.downloads {
                println!(
                    "{}: q={} s={}/{} t={}={}+{} bl={}{}",
                    d.index,
                    d.quality,
                    d.downloaded_bits,
                    movie.video.size(d.index, d.quality).0,
                    d.time_ms,
                    d.time_to_first_bit_ms,
                    d.time_ms - d.time_to_first_bit_ms,
                    d.buffer_after_ms,
                    d.abandon_to
                        .map_or(String::new(), |q| format!(" ABANDONED to {q}"))
                );
            }
        }
        print!("{}", run.metrics.printed());
    }
    if a.time {
        let el = start.elapsed().as_secs_f64();
        eprintln!(
            "{sessions} sessions in {el:.4} s: {:.1} us/session",
            el * 1e6 / sessions as f64
        );
    }
    Ok(())
}
