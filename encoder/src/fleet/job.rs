//! The job record (`jobs/<job>/job.json`): everything a worker needs to encode any scene of a
//! job, and the store keys of the job's files.
//!
//! The job id is a hash of what decides the output (object and its version id, scenes,
//! settings, encoder version), so submitting the same job twice gives the same id and the
//! same record: that is what makes a resubmit idempotent. A worker recomputes the id from the
//! record it reads, so a damaged or edited record is refused rather than encoded.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::encode::EncodeSettings;
use crate::scenelist::SceneList;
use crate::y4m::Y4mHeader;

pub const FORMAT: &str = "segment-encode fleet job";
pub const VERSION: u32 = 1;

/// `jobs/<job>/job.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct JobRecord {
    pub format: String,
    pub version: u32,
    /// The job id: [`job_id`] of the other fields.
    pub job: String,
    /// The mezzanine's object name in the store.
    pub object: String,
    /// The object version's id: a worker refuses to read another version.
    pub object_id: String,
    pub object_size: u64,
    /// The scenes with their frames and byte ranges, and the mezzanine's Y4M header.
    pub scenes: SceneList,
    /// Encoder settings; tiles are fixed so that chunks do not depend on the fleet's size.
    pub settings: EncodeSettings,
    /// `segment-encode <version> (rav1e <version>)`: chunks from another encoder version would
    /// not join into the stream one machine makes.
    pub encoder: String,
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum JobError {
    #[error("not a job record: {0}")]
    Json(#[from] serde_json::Error),
    #[error("not a job record (format '{0}')")]
    Format(String),
    #[error("job record version {0} is not supported (this is version {VERSION})")]
    Version(u32),
    #[error("job record's scene list: {0}")]
    Scenes(#[from] crate::scenelist::SceneListError),
    #[error("job record does not match its id {stated} (its content hashes to {computed})")]
    Id { stated: String, computed: String },
    #[error("tiles must be fixed for a fleet job")]
    Tiles,
    #[error("the scene list covers {scenes} bytes, the object is {object} bytes")]
    Size { scenes: u64, object: u64 },
}

/// This binary's encoder identity.
pub fn encoder_version() -> String {
    format!(
        "segment-encode {} (rav1e {})",
        env!("CARGO_PKG_VERSION"),
        rav1e::version::short()
    )
}

impl JobRecord {
    /// A new record (its id computed) for `scenes` of object `object` version `object_id`.
    pub fn new(
        object: &str,
        object_id: &str,
        object_size: u64,
        scenes: SceneList,
        settings: EncodeSettings,
    ) -> Result<JobRecord, JobError> {
        let mut record = JobRecord {
            format: FORMAT.into(),
            version: VERSION,
            job: String::new(),
            object: object.into(),
            object_id: object_id.into(),
            object_size,
            scenes,
            settings: EncodeSettings {
                psnr: false,
                ..settings
            },
            encoder: encoder_version(),
        };
        record.job = job_id(&record);
        record.check()?;
        Ok(record)
    }

    /// Parses and checks a stored record: format, scene list, id.
    pub fn parse(bytes: &[u8]) -> Result<(JobRecord, Y4mHeader), JobError> {
        let record: JobRecord = serde_json::from_slice(bytes)?;
        if record.format != FORMAT {
            return Err(JobError::Format(record.format));
        }
        if record.version != VERSION {
            return Err(JobError::Version(record.version));
        }
        let header = record.check()?;
        Ok((record, header))
    }

    fn check(&self) -> Result<Y4mHeader, JobError> {
        let computed = job_id(self);
        if computed != self.job {
            return Err(JobError::Id {
                stated: self.job.clone(),
                computed,
            });
        }
        if self.settings.tiles.is_none() {
            return Err(JobError::Tiles);
        }
        let text = serde_json::to_string(&self.scenes)?;
        let (list, header) = SceneList::parse(&text)?;
        let scenes = list.header_bytes + list.frames * list.frame_bytes;
        if scenes != self.object_size {
            return Err(JobError::Size {
                scenes,
                object: self.object_size,
            });
        }
        Ok(header)
    }

    pub fn to_json(&self) -> Vec<u8> {
        let mut v = serde_json::to_vec_pretty(self).unwrap_or_default();
        v.push(b'\n');
        v
    }
}

/// 16 hex digits of SHA-256 over the record without its id.
pub fn job_id(record: &JobRecord) -> String {
    let identity = serde_json::json!({
        "object": record.object,
        "object_id": record.object_id,
        "object_size": record.object_size,
        "scenes": record.scenes,
        "settings": record.settings,
        "encoder": record.encoder,
    });
    let digest = Sha256::digest(identity.to_string().as_bytes());
    hex::encode(&digest[..8])
}

/// Store keys of a job's files, relative to the store's root (next to the object).
pub mod keys {
    pub fn job(job: &str) -> String {
        format!("jobs/{job}/job.json")
    }
    /// Written once every scene's message is sent: a resubmit then sends nothing.
    pub fn submitted(job: &str) -> String {
        format!("jobs/{job}/submitted.json")
    }
    pub fn chunks(job: &str) -> String {
        format!("jobs/{job}/scenes/")
    }
    pub fn chunk(job: &str, scene: usize) -> String {
        format!("jobs/{job}/scenes/{scene:05}")
    }
    pub fn done_dir(job: &str) -> String {
        format!("jobs/{job}/done/")
    }
    pub fn done(job: &str, scene: usize) -> String {
        format!("jobs/{job}/done/{scene:05}.json")
    }
    pub fn errors(job: &str) -> String {
        format!("jobs/{job}/errors/")
    }
    pub fn error(job: &str, scene: usize) -> String {
        format!("jobs/{job}/errors/{scene:05}")
    }
    /// The scene number at the end of a key listed under one of the folders above.
    pub fn scene_of(key: &str) -> Option<usize> {
        let last = key.rsplit('/').next()?;
        last.strip_suffix(".json").unwrap_or(last).parse().ok()
    }
}

/// What a worker records after a scene, for `status` (rate, ETA); not part of the output.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DoneRecord {
    pub scene: usize,
    pub frames: u64,
    /// Seconds from receiving the message to deleting it (read, encode, upload).
    pub seconds: f64,
    pub encode_seconds: f64,
    /// Bytes fetched from the store for the scene (sealed, with tags) and the scene's bytes.
    pub fetched_bytes: u64,
    pub scene_bytes: u64,
    /// Unix time the scene finished, in seconds.
    pub finished_unix: f64,
    pub worker: String,
}

/// `jobs/<job>/errors/<n>`: why the scene failed on its last attempt.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ErrorRecord {
    pub scene: usize,
    pub error: String,
    /// The delivery that failed (SQS's approximate receive count).
    pub attempt: u32,
    /// The queue's maximum receive count; `attempt >= max_attempts` means the scene is in the
    /// dead-letter queue now.
    pub max_attempts: Option<u32>,
    pub worker: String,
    pub at_unix: f64,
}

impl ErrorRecord {
    /// The scene's message has gone (or is going) to the dead-letter queue.
    pub fn is_final(&self) -> bool {
        self.max_attempts.is_some_and(|m| self.attempt >= m)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{SceneLimits, plan_scenes};

    fn record() -> JobRecord {
        let header = crate::y4m::parse_header(b"YUV4MPEG2 W64 H32 F25:1 C420jpeg\n").expect("h");
        let scenes = plan_scenes(&[10], 30, SceneLimits::new(2, 100).expect("limits"));
        let list = SceneList::new("clip", &header, 30, (2, 100), vec![10], &scenes);
        let size = list.header_bytes + 30 * list.frame_bytes;
        let settings = EncodeSettings {
            tiles: Some(1),
            ..EncodeSettings::default()
        };
        JobRecord::new("clip", "0123", size, list, settings).expect("record")
    }

    #[test]
    fn same_job_same_id_and_any_change_another() {
        let a = record();
        assert_eq!(a.job, record().job);
        assert_eq!(a.job.len(), 16);
        let mut b = a.clone();
        b.settings.quantizer += 1;
        assert_ne!(job_id(&b), a.job);
        let mut c = a.clone();
        c.object_id = "4567".into();
        assert_ne!(job_id(&c), a.job);
    }

    #[test]
    fn parse_round_trip_and_tampering_is_refused() {
        let a = record();
        let (back, _) = JobRecord::parse(&a.to_json()).expect("parse");
        assert_eq!(back, a);
        let mut edited = a.clone();
        edited.settings.speed = 3;
        let err = JobRecord::parse(&edited.to_json()).expect_err("id mismatch");
        assert!(matches!(err, JobError::Id { .. }), "{err}");
        assert!(JobRecord::parse(b"{}").is_err());
        let mut wrong_size = a.clone();
        wrong_size.object_size += 1;
        wrong_size.job = job_id(&wrong_size);
        assert!(matches!(
            JobRecord::parse(&wrong_size.to_json()),
            Err(JobError::Size { .. })
        ));
    }

    #[test]
    fn keys_and_scene_numbers() {
        assert_eq!(keys::chunk("ab", 7), "jobs/ab/scenes/00007");
        assert_eq!(keys::scene_of(&keys::chunk("ab", 7)), Some(7));
        assert_eq!(keys::scene_of(&keys::done("ab", 12)), Some(12));
        assert_eq!(keys::scene_of("jobs/ab/scenes/x"), None);
    }

    #[test]
    fn an_error_is_final_at_the_maximum_receive_count() {
        let mut e = ErrorRecord {
            scene: 1,
            error: "bad".into(),
            attempt: 1,
            max_attempts: Some(2),
            worker: "w".into(),
            at_unix: 0.0,
        };
        assert!(!e.is_final());
        e.attempt = 2;
        assert!(e.is_final());
        e.max_attempts = None;
        assert!(!e.is_final());
    }
}
