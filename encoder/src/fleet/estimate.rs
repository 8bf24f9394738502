//! `status` arithmetic: where a job's scenes are, the fleet's rate, the ETA, and the number of
//! workers needed to drain the backlog in a target time (the autoscaling signal).
//!
//! Scenes are *done* when their chunk is stored, *failed* when their last error says they went
//! to the dead-letter queue, and otherwise waiting or in flight; the queue only counts messages
//! (of every job on it), so in flight is the queue's in-flight count bounded by what is left.

use std::collections::BTreeSet;

use serde::Serialize;

/// A finished scene, as its done record gives it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Finished {
    pub frames: u64,
    /// Worker seconds the scene took (receive to delete).
    pub seconds: f64,
    pub finished_unix: f64,
}

/// What `status` prints (and `--json` writes).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Status {
    pub scenes: usize,
    pub done: usize,
    pub in_flight: usize,
    pub waiting: usize,
    pub failed: Vec<usize>,
    pub frames: u64,
    pub frames_done: u64,
    /// Frames per second of one worker (frames over worker seconds).
    pub worker_fps: Option<f64>,
    /// Frames per second of the whole fleet, over the recent window.
    pub fleet_fps: Option<f64>,
    pub eta_seconds: Option<f64>,
    /// Workers needed to finish what is left in `target_seconds` at `worker_fps`: the number
    /// an autoscaler sets the fleet to (0 when nothing is left).
    pub workers_needed: usize,
    pub target_seconds: f64,
}

/// Counts and estimates for a job of `scene_frames` (frames by scene index).
#[allow(clippy::too_many_arguments)]
pub fn status(
    scene_frames: &[u64],
    done: &BTreeSet<usize>,
    failed: &BTreeSet<usize>,
    finished: &[Finished],
    queue_in_flight: Option<u64>,
    now_unix: f64,
    window_seconds: f64,
    target_seconds: f64,
) -> Status {
    let scenes = scene_frames.len();
    let done_n = done.iter().filter(|&&i| i < scenes).count();
    let failed: Vec<usize> = failed
        .iter()
        .copied()
        .filter(|i| *i < scenes && !done.contains(i))
        .collect();
    let left = scenes - done_n - failed.len();
    let in_flight = queue_in_flight.map_or(0, |n| (n as usize).min(left));
    let frames: u64 = scene_frames.iter().sum();
    let frames_done: u64 = done
        .iter()
        .filter_map(|&i| scene_frames.get(i))
        .sum::<u64>();
    let frames_left: u64 = (0..scenes)
        .filter(|i| !done.contains(i) && !failed.contains(i))
        .map(|i| scene_frames[i])
        .sum();
    let worker_seconds: f64 = finished.iter().map(|f| f.seconds).sum();
    let worker_frames: u64 = finished.iter().map(|f| f.frames).sum();
    let worker_fps = (worker_seconds > 0.0).then(|| worker_frames as f64 / worker_seconds);
    let fleet_fps = fleet_rate(finished, now_unix, window_seconds);
    let eta_seconds = match (frames_left, fleet_fps) {
        (0, _) => Some(0.0),
        (n, Some(fps)) if fps > 0.0 => Some(n as f64 / fps),
        _ => None,
    };
    Status {
        scenes,
        done: done_n,
        in_flight,
        waiting: left - in_flight,
        failed,
        frames,
        frames_done,
        worker_fps,
        fleet_fps,
        eta_seconds,
        workers_needed: workers_needed(frames_left, left, worker_fps, target_seconds),
        target_seconds,
    }
}

/// Frames per second the fleet finished over the last `window` seconds (or since the first
/// scene started, when the job is younger than that).
pub fn fleet_rate(finished: &[Finished], now_unix: f64, window: f64) -> Option<f64> {
    let since = now_unix - window;
    let recent: Vec<&Finished> = finished
        .iter()
        .filter(|f| f.finished_unix >= since)
        .collect();
    let started = recent
        .iter()
        .map(|f| f.finished_unix - f.seconds)
        .fold(f64::INFINITY, f64::min)
        .max(since);
    let span = now_unix - started;
    let frames: u64 = recent.iter().map(|f| f.frames).sum();
    (frames > 0 && span > 0.0).then(|| frames as f64 / span)
}

/// Workers to finish `frames_left` frames in `target_seconds` at `worker_fps` each, never more
/// than the scenes left (a scene is one worker's), at least 1 while anything is left. With no
/// rate measured yet, one worker per scene left: scale out first, measure, then settle.
pub fn workers_needed(
    frames_left: u64,
    scenes_left: usize,
    worker_fps: Option<f64>,
    target_seconds: f64,
) -> usize {
    if scenes_left == 0 || frames_left == 0 {
        return 0;
    }
    let Some(fps) = worker_fps.filter(|f| *f > 0.0) else {
        return scenes_left;
    };
    let worker_seconds = frames_left as f64 / fps;
    let n = (worker_seconds / target_seconds.max(1.0)).ceil() as usize;
    n.clamp(1, scenes_left)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(v: &[usize]) -> BTreeSet<usize> {
        v.iter().copied().collect()
    }

    #[test]
    fn counts_add_up_and_failed_scenes_are_named() {
        let frames = [100, 50, 50, 30];
        let s = status(
            &frames,
            &set(&[0]),
            &set(&[2]),
            &[],
            Some(5),
            0.0,
            600.0,
            60.0,
        );
        assert_eq!((s.done, s.in_flight, s.waiting), (1, 2, 0));
        assert_eq!(s.failed, vec![2]);
        assert_eq!((s.frames, s.frames_done), (230, 100));
        // A failed scene later encoded (after requeue) counts as done only.
        let s = status(
            &frames,
            &set(&[0, 2]),
            &set(&[2]),
            &[],
            None,
            0.0,
            600.0,
            60.0,
        );
        assert!(s.failed.is_empty());
        assert_eq!((s.done, s.waiting), (2, 2));
    }

    #[test]
    fn eta_and_workers_from_measured_rates() {
        // Two workers each did 100 frames in 10 s, finishing at t=100: 10 fps a worker, 20 fps
        // for the fleet over the 10 s since they started.
        let finished = [
            Finished {
                frames: 100,
                seconds: 10.0,
                finished_unix: 100.0,
            },
            Finished {
                frames: 100,
                seconds: 10.0,
                finished_unix: 100.0,
            },
        ];
        let frames = [100, 100, 400, 400, 200];
        let s = status(
            &frames,
            &set(&[0, 1]),
            &set(&[]),
            &finished,
            Some(0),
            100.0,
            600.0,
            20.0,
        );
        assert_eq!(s.worker_fps, Some(10.0));
        assert_eq!(s.fleet_fps, Some(20.0));
        assert_eq!(s.eta_seconds, Some(50.0));
        // 1000 frames at 10 fps is 100 worker-seconds: 5 workers for 20 s.
        assert_eq!(s.workers_needed, 3, "capped by the 3 scenes left");
        assert_eq!(workers_needed(1000, 10, Some(10.0), 20.0), 5);
        assert_eq!(workers_needed(1000, 10, Some(10.0), 1000.0), 1);
        assert_eq!(workers_needed(0, 0, Some(10.0), 20.0), 0);
        assert_eq!(workers_needed(500, 7, None, 20.0), 7);
    }

    #[test]
    fn old_finishes_fall_out_of_the_window() {
        let f = [Finished {
            frames: 100,
            seconds: 10.0,
            finished_unix: 0.0,
        }];
        assert_eq!(fleet_rate(&f, 1000.0, 60.0), None);
        assert_eq!(fleet_rate(&f, 10.0, 60.0), Some(5.0));
    }
}
