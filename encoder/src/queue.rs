//! The scenes waiting for a worker, fed while workers already take from it.
//!
//! A producer (a scene list read at once, or the detector still reading the clip) pushes
//! scenes as they become final; workers take the longest waiting one. While the producer is
//! open nobody knows how many scenes are left, so a worker is told "unknown" and uses one tile;
//! once it is closed the count is exact and the last scenes can get more tiles. The choice of
//! scene is the pure [`pick`]; the queue adds only the locking and the waiting.

use std::sync::{Condvar, Mutex, MutexGuard};

use crate::plan::Scene;

/// Index in `waiting` of the scene a worker takes next: the longest, ties to the earliest.
pub fn pick(waiting: &[Scene]) -> Option<usize> {
    (0..waiting.len()).min_by_key(|&i| (std::cmp::Reverse(waiting[i].len()), waiting[i].index))
}

/// A scene handed to a worker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Taken {
    pub scene: Scene,
    /// Scenes not yet started, this one included; `None` while more may still be pushed.
    pub unstarted: Option<usize>,
}

#[derive(Debug, Default)]
struct State {
    waiting: Vec<Scene>,
    closed: bool,
    cancelled: bool,
}

#[derive(Debug, Default)]
pub struct SceneQueue {
    state: Mutex<State>,
    changed: Condvar,
}

impl SceneQueue {
    pub fn new() -> Self {
        SceneQueue::default()
    }

    pub fn push(&self, scene: Scene) {
        self.lock().waiting.push(scene);
        self.changed.notify_one();
    }

    /// No more scenes will be pushed.
    pub fn close(&self) {
        self.lock().closed = true;
        self.changed.notify_all();
    }

    /// The run failed: workers stop taking scenes.
    pub fn cancel(&self) {
        self.lock().cancelled = true;
        self.changed.notify_all();
    }

    pub fn is_cancelled(&self) -> bool {
        self.lock().cancelled
    }

    /// The next scene, waiting for the producer if needed; `None` when the queue is closed and
    /// empty, or cancelled.
    pub fn take(&self) -> Option<Taken> {
        let mut state = self.lock();
        loop {
            if state.cancelled {
                return None;
            }
            if let Some(i) = pick(&state.waiting) {
                let unstarted = state.closed.then_some(state.waiting.len());
                let scene = state.waiting.swap_remove(i);
                return Some(Taken { scene, unstarted });
            }
            if state.closed {
                return None;
            }
            state = self.changed.wait(state).unwrap_or_else(|p| p.into_inner());
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panicking holder leaves the state consistent: every change is one statement.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn scenes(lens: &[u64]) -> Vec<Scene> {
        let mut start = 0;
        lens.iter()
            .enumerate()
            .map(|(index, &l)| {
                let s = Scene {
                    index,
                    start,
                    end: start + l,
                };
                start += l;
                s
            })
            .collect()
    }

    #[test]
    fn longest_waiting_scene_first_and_count_known_only_when_closed() {
        let q = SceneQueue::new();
        for s in scenes(&[30, 107, 50]) {
            q.push(s);
        }
        assert_eq!(
            q.take().map(|t| (t.scene.index, t.unstarted)),
            Some((1, None))
        );
        q.close();
        assert_eq!(
            q.take().map(|t| (t.scene.index, t.unstarted)),
            Some((2, Some(2)))
        );
        assert_eq!(
            q.take().map(|t| (t.scene.index, t.unstarted)),
            Some((0, Some(1)))
        );
        assert_eq!(q.take(), None);
    }

    #[test]
    fn a_waiting_worker_wakes_for_a_pushed_scene_and_for_close() {
        let q = SceneQueue::new();
        std::thread::scope(|s| {
            let taker = s.spawn(|| (q.take(), q.take()));
            q.push(scenes(&[10]).remove(0));
            q.close();
            let (first, second) = taker.join().expect("taker");
            assert_eq!(first.map(|t| t.scene.index), Some(0));
            assert_eq!(second, None);
        });
    }

    #[test]
    fn cancel_stops_takers() {
        let q = SceneQueue::new();
        q.push(scenes(&[10]).remove(0));
        q.cancel();
        assert_eq!(q.take(), None);
    }

    proptest! {
        #[test]
        fn taking_all_after_close_is_longest_first(lens in proptest::collection::vec(1u64..500, 0..50)) {
            let all = scenes(&lens);
            let q = SceneQueue::new();
            for s in &all {
                q.push(s.clone());
            }
            q.close();
            let taken: Vec<usize> = std::iter::from_fn(|| q.take()).map(|t| t.scene.index).collect();
            prop_assert_eq!(taken, crate::plan::longest_first(&all));
        }
    }
}
