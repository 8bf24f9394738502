//! Sabre's throughput and latency estimators: an exponentially weighted moving average with
//! zero-bias correction over several half-lives (the conservative minimum throughput and
//! maximum latency win), or a sliding window mean over several window sizes.

/// Which estimator, with its parameters.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub enum Average {
    /// Half-lives in seconds; Sabre's default is `[3, 8]`.
    Ewma { half_life_s: Vec<f64> },
    /// Window sizes in segments; Sabre's default is `[3]`.
    Sliding { windows: Vec<usize> },
}

impl Default for Average {
    fn default() -> Self {
        Average::Ewma {
            half_life_s: vec![3.0, 8.0],
        }
    }
}

/// Sliding windows keep at most this many samples.
const MAX_STORE: usize = 20;

#[derive(Debug)]
pub(crate) enum Estimator {
    Ewma {
        half_life: Vec<f64>,
        latency_half_life: Vec<f64>,
        tput: Vec<f64>,
        lat: Vec<f64>,
        weight_tput: f64,
        weight_lat: f64,
    },
    Sliding {
        windows: Vec<usize>,
        tputs: Vec<f64>,
        lats: Vec<f64>,
    },
}

impl Estimator {
    pub fn new(a: &Average, segment_time: f64) -> Self {
        match a {
            Average::Ewma { half_life_s } => {
                let half_life: Vec<f64> = half_life_s.iter().map(|h| h * 1000.0).collect();
                let latency_half_life = half_life.iter().map(|h| h / segment_time).collect();
                let n = half_life.len();
                Estimator::Ewma {
                    half_life,
                    latency_half_life,
                    tput: vec![0.0; n],
                    lat: vec![0.0; n],
                    weight_tput: 0.0,
                    weight_lat: 0.0,
                }
            }
            Average::Sliding { windows } => Estimator::Sliding {
                windows: windows.clone(),
                tputs: Vec::new(),
                lats: Vec::new(),
            },
        }
    }

    /// Adds a download that took `time` ms at `tput` bits/ms after `lat` ms of latency;
    /// returns the new (throughput, latency) estimate.
    pub fn push(&mut self, time: f64, tput: f64, lat: f64) -> (f64, f64) {
        match self {
            Estimator::Ewma {
                half_life,
                latency_half_life,
                tput: t,
                lat: l,
                weight_tput,
                weight_lat,
            } => {
                for i in 0..half_life.len() {
                    let alpha = 0.5f64.powf(time / half_life[i]);
                    t[i] = alpha * t[i] + (1.0 - alpha) * tput;
                    let alpha = 0.5f64.powf(1.0 / latency_half_life[i]);
                    l[i] = alpha * l[i] + (1.0 - alpha) * lat;
                }
                *weight_tput += time;
                *weight_lat += 1.0;
                let mut est: Option<(f64, f64)> = None;
                for i in 0..half_life.len() {
                    let zero_factor = 1.0 - 0.5f64.powf(*weight_tput / half_life[i]);
                    let tt = t[i] / zero_factor;
                    let zero_factor = 1.0 - 0.5f64.powf(*weight_lat / latency_half_life[i]);
                    let ll = l[i] / zero_factor;
                    est = Some(match est {
                        None => (tt, ll),
                        Some((a, b)) => (if tt < a { tt } else { a }, if ll > b { ll } else { b }),
                    });
                }
                est.unwrap_or((tput, lat))
            }
            Estimator::Sliding {
                windows,
                tputs,
                lats,
            } => {
                tputs.push(tput);
                lats.push(lat);
                if tputs.len() > MAX_STORE {
                    tputs.remove(0);
                    lats.remove(0);
                }
                let mean = |v: &[f64], ws: usize| {
                    let s = &v[v.len().saturating_sub(ws)..];
                    s.iter().fold(0.0, |a, x| a + x) / s.len() as f64
                };
                let mut est: Option<(f64, f64)> = None;
                for &ws in windows.iter() {
                    let (tt, ll) = (mean(tputs, ws), mean(lats, ws));
                    est = Some(match est {
                        None => (tt, ll),
                        Some((a, b)) => (if tt < a { tt } else { a }, if ll > b { ll } else { b }),
                    });
                }
                est.unwrap_or((tput, lat))
            }
        }
    }
}
