//! Reads grouped into clusters of contiguous bytes: the one definition of an access pattern's
//! density, used by the read-ahead policy (`mezz-readahead`) to size windows and by the replay
//! analyses (`mezz-replays`) to classify recorded reads. Pure.
//!
//! The seed article's measure of density: with `r` the average bytes per read and `c` the
//! average bytes per cluster, `r / c` is near 1 when every read stands alone (sparse) and near
//! 0 when many reads chain into long runs (dense).

use std::ops::Range;

/// A run of reads that touch or overlap, possibly with gaps up to the tolerance.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cluster {
    pub start: u64,
    pub end: u64,
    pub reads: u32,
    /// Bytes asked for by the reads in the cluster (overlaps counted once per read).
    pub bytes: u64,
}

/// Clusters `reads` (in any order); reads closer than `gap` bytes join the same cluster.
pub fn clusters(reads: &[Range<u64>], gap: u64) -> Vec<Cluster> {
    let mut sorted: Vec<&Range<u64>> = reads.iter().filter(|r| r.end > r.start).collect();
    sorted.sort_by_key(|r| (r.start, r.end));
    let mut out: Vec<Cluster> = Vec::new();
    for r in sorted {
        match out.last_mut() {
            Some(c) if r.start <= c.end.saturating_add(gap) => {
                c.end = c.end.max(r.end);
                c.reads += 1;
                c.bytes += r.end - r.start;
            }
            _ => out.push(Cluster {
                start: r.start,
                end: r.end,
                reads: 1,
                bytes: r.end - r.start,
            }),
        }
    }
    out
}

/// Average bytes per read divided by average bytes per cluster, in (0, 1]; `None` without reads.
pub fn density_ratio(reads: &[Range<u64>], clusters: &[Cluster]) -> Option<f64> {
    let n_reads = clusters.iter().map(|c| u64::from(c.reads)).sum::<u64>();
    if n_reads == 0 || reads.is_empty() {
        return None;
    }
    let bytes: u64 = clusters.iter().map(|c| c.bytes).sum();
    let per_read = bytes as f64 / n_reads as f64;
    let per_cluster = bytes as f64 / clusters.len() as f64;
    Some(per_read / per_cluster)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sequential_reads_form_one_cluster() {
        let reads: Vec<_> = (0..16u64).map(|i| i * 65536..(i + 1) * 65536).collect();
        let c = clusters(&reads, 0);
        assert_eq!(
            c,
            [Cluster {
                start: 0,
                end: 16 * 65536,
                reads: 16,
                bytes: 16 * 65536
            }]
        );
        assert!((density_ratio(&reads, &c).unwrap_or(1.0) - 1.0 / 16.0).abs() < 1e-9);
    }

    #[test]
    fn scattered_reads_stay_apart() {
        let reads: Vec<_> = (0..8u64)
            .map(|i| i * 10_000_000..i * 10_000_000 + 65536)
            .collect();
        let c = clusters(&reads, 0);
        assert_eq!(c.len(), 8);
        assert_eq!(density_ratio(&reads, &c), Some(1.0));
    }

    #[test]
    fn interleaved_threads_make_one_cluster_each() {
        let mut reads = Vec::new();
        for i in 0..8u64 {
            for t in 0..4u64 {
                let base = t * (1 << 30);
                reads.push(base + i * 131072..base + (i + 1) * 131072);
            }
        }
        assert_eq!(clusters(&reads, 0).len(), 4);
    }
}
