//! The body of a scene message: which store, which job, which scene. Everything else a worker
//! needs is in the job record, read once per job.

use serde::{Deserialize, Serialize};

pub const FORMAT: &str = "segment-encode scene";

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SceneMessage {
    pub format: String,
    /// The mezzfs store holding the object and the job (`s3://bucket/prefix`).
    pub store: String,
    pub job: String,
    pub scene: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a scene message ({0}): {1:.200}")]
pub struct MessageError(String, String);

impl SceneMessage {
    pub fn new(store: &str, job: &str, scene: usize) -> Self {
        SceneMessage {
            format: FORMAT.into(),
            store: store.into(),
            job: job.into(),
            scene,
        }
    }

    pub fn body(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    pub fn parse(body: &str) -> Result<Self, MessageError> {
        let m: SceneMessage =
            serde_json::from_str(body).map_err(|e| MessageError(e.to_string(), body.into()))?;
        if m.format != FORMAT {
            return Err(MessageError(format!("format '{}'", m.format), body.into()));
        }
        let id_ok = !m.job.is_empty() && m.job.bytes().all(|b| b.is_ascii_hexdigit());
        if !id_ok {
            return Err(MessageError("bad job id".into(), body.into()));
        }
        Ok(m)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_garbage() {
        let m = SceneMessage::new("s3://media/movies", "00ff", 3);
        assert_eq!(SceneMessage::parse(&m.body()), Ok(m));
        assert!(SceneMessage::parse("hello").is_err());
        let bad_job = SceneMessage::new("s3://x/y", "../../etc", 1).body();
        assert!(SceneMessage::parse(&bad_job).is_err());
    }
}
