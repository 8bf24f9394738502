//! Bytes read, fetched and written over time, binned once when the replay is opened, so the
//! throughput chart costs the same at every frame whatever the replay's length.

use crate::timeline::{Kind, Timeline};

/// Bins over the whole replay: finer than any terminal is wide.
pub const BINS: usize = 4096;

#[derive(Clone, Debug, PartialEq)]
pub struct Series {
    pub start: u64,
    /// µs per bin, at least 1.
    pub bin: u64,
    pub read: Vec<u64>,
    pub fetched: Vec<u64>,
    /// Bytes written through writable directories (writes taken).
    pub written: Vec<u64>,
}

impl Series {
    pub fn of(t: &Timeline) -> Series {
        let bin = t.duration().div_ceil(BINS as u64).max(1);
        let n = (t.duration() / bin + 1) as usize;
        let mut s = Series {
            start: t.start,
            bin,
            read: vec![0; n],
            fetched: vec![0; n],
            written: vec![0; n],
        };
        for e in &t.events {
            let i = ((e.t - t.start) / bin) as usize;
            match e.kind {
                Kind::ReadDone { span, ok: true, .. } => s.read[i] += span.len(),
                Kind::FetchDone { bytes, .. } => s.fetched[i] += bytes,
                Kind::Write { bytes, ok: true } => {
                    s.written[i] = s.written[i].saturating_add(bytes)
                }
                _ => {}
            }
        }
        s
    }

    /// Throughput in bytes/s in `columns` equal slices of the replay from its start to `now`
    /// (the chart grows as the replay plays), read and fetched.
    pub fn rates(&self, now: u64, end: u64, columns: usize) -> (Vec<u64>, Vec<u64>) {
        (
            self.rates_of(&self.read, now, end, columns),
            self.rates_of(&self.fetched, now, end, columns),
        )
    }

    /// Write throughput, as [`Series::rates`].
    pub fn written_rates(&self, now: u64, end: u64, columns: usize) -> Vec<u64> {
        self.rates_of(&self.written, now, end, columns)
    }

    fn rates_of(&self, v: &[u64], now: u64, end: u64, columns: usize) -> Vec<u64> {
        if columns == 0 {
            return Vec::new();
        }
        let bins = self.read.len();
        let shown = if end <= self.start {
            bins
        } else {
            let upto = now.saturating_sub(self.start).min(end - self.start);
            ((upto / self.bin) as usize + 1).min(bins)
        };
        // Columns split all bins, so the chart's x axis is the whole replay.
        let per = bins.div_ceil(columns).max(1);
        let secs = (per as u64 * self.bin) as f64 / 1e6;
        let rate = |c: usize| -> u64 {
            let a = c * per;
            let b = ((c + 1) * per).min(shown);
            (v[a..b].iter().sum::<u64>() as f64 / secs) as u64
        };
        (0..shown.div_ceil(per)).map(rate).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mezz_replays::{Decoded, End, FileMeta, Meta, ObjectMeta, Record};

    #[test]
    fn rates_cover_the_replay_up_to_now_and_conserve_bytes() {
        let meta = Meta {
            objects: vec![ObjectMeta {
                size: 1 << 30,
                segment_size: 1 << 16,
                ..Default::default()
            }],
            files: vec![FileMeta {
                path: "o".into(),
                object: 0,
                offset: 0,
                len: 1 << 30,
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
        for i in 0..1000u64 {
            r.push(Record::Read {
                t: i * 1000,
                handle: 1,
                offset: i << 16,
                len: 1 << 16,
                dur: 0,
                ok: true,
            });
        }
        let t = Timeline::from_decoded(&Decoded {
            records: r,
            end: End::Complete,
            chunks: 1,
        })
        .expect("timeline");
        let s = Series::of(&t);
        assert_eq!(s.read.iter().sum::<u64>(), 1000 << 16);
        let (read, fetched) = s.rates(t.end_time, t.end_time, 50);
        assert_eq!(read.len(), 50);
        assert!(fetched.iter().all(|f| *f == 0));
        // 64 KiB per ms is 65.5 MB/s in every column.
        assert!(
            read.iter().all(|r| (60_000_000..70_000_000).contains(r)),
            "{read:?}"
        );
        let (half, _) = s.rates(t.end_time / 2, t.end_time, 50);
        assert!((24..=26).contains(&half.len()), "{}", half.len());
    }
}
