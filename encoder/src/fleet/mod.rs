//! Fleet encoding: a job's scenes as messages on an SQS queue, stateless workers anywhere
//! reading only their scene's bytes through mezzfs, chunks in the store, one join at the end.
//!
//! ```text
//! submit ─► STORE/jobs/<job>/job.json            what to encode (object, object id, scenes, settings)
//!        └► QUEUE: one message per scene, longest first
//! worker ◄─ QUEUE (long poll) ─► reads its scene's byte range of the object ─► rav1e
//!        └► STORE/jobs/<job>/scenes/<n>          packets + checksum + job identity; then delete
//!           STORE/jobs/<job>/done/<n>.json       timing, for status (not part of the output)
//!           STORE/jobs/<job>/errors/<n>          the last error of a failing scene
//! status ◄─ the store's listing + the queue's counts: done, in flight, waiting, failed, ETA,
//!           workers needed to drain the backlog in a target time (the autoscaling signal)
//! assemble ◄─ every chunk checked, then joined (IVF/MP4/WebM), all or nothing
//! ```
//!
//! Pure parts, tested on their own: [`job`] (the job record, its id and the store keys),
//! [`message`] (a scene message's body), [`chunk`] (the chunk format), [`estimate`] (status
//! counts, rate, ETA, workers needed), [`policy`] (heartbeat, retry delay and long-poll
//! timing), [`metrics`] (a worker's counters and their Prometheus text). Adapters: [`store`]
//! (everything mezzfs: the only module that names mezzfs crates), [`sqs`] (the queue),
//! [`worker`] (the worker loop joining them). The worker's HTTP endpoint for the metrics
//! (`--metrics-listen`) is `mezz_ops::metrics_http`, shared with `mezzfs mount`.

pub mod chunk;
pub mod estimate;
pub mod job;
pub mod message;
pub mod metrics;
pub mod policy;
pub mod sqs;
pub mod store;
pub mod worker;

/// What goes wrong in the fleet's adapters, with what was being done.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FleetError {
    #[error("store: {0}")]
    Store(String),
    #[error("queue {queue}: {detail}")]
    Queue { queue: String, detail: String },
    #[error("job {job}: {detail}")]
    Job { job: String, detail: String },
    #[error("{0}")]
    Other(String),
}
