//! Multipart uploads of object parts that were begun and never completed or aborted: left by
//! a writer that was killed (a mount, a put) or lost its store mid-write. They are invisible
//! (no manifest points at them) but the store keeps, and bills, their pieces until they are
//! aborted. [`select`] is the pure rule; [`find_abandoned`] and [`abort_all`] do the I/O.

use std::time::{Duration, SystemTime};

use mezz_store::{ObjectStore, PendingUpload};

use crate::{ObjectError, naming};

/// The uploads among `pending` that are mezzfs parts begun at least `older_than` before
/// `now`. An upload without a start time counts as old only when `older_than` is zero, so an
/// upload a live writer may still be using is never taken by age guessing.
pub fn select(
    pending: Vec<PendingUpload>,
    now: SystemTime,
    older_than: Duration,
) -> Vec<PendingUpload> {
    pending
        .into_iter()
        .filter(|u| naming::parse_part_key(&u.key).is_some())
        .filter(|u| match u.initiated {
            Some(t) => now.duration_since(t).unwrap_or_default() >= older_than,
            None => older_than.is_zero(),
        })
        .collect()
}

/// The abandoned part uploads under `prefix` begun at least `older_than` ago.
pub async fn find_abandoned(
    store: &dyn ObjectStore,
    prefix: &str,
    older_than: Duration,
) -> Result<Vec<PendingUpload>, ObjectError> {
    let pending = store
        .list_uploads(prefix)
        .await
        .map_err(|cause| ObjectError::Store {
            name: prefix.into(),
            cause,
        })?;
    Ok(select(pending, SystemTime::now(), older_than))
}

/// Aborts every upload of `uploads`; returns how many were aborted and the failures.
pub async fn abort_all(
    store: &dyn ObjectStore,
    uploads: &[PendingUpload],
) -> (usize, Vec<(String, mezz_store::StoreError)>) {
    let mut aborted = 0;
    let mut failed = Vec::new();
    for u in uploads {
        match store.abort_upload(&u.key, &u.upload).await {
            Ok(()) => aborted += 1,
            Err(e) => failed.push((u.key.clone(), e)),
        }
    }
    (aborted, failed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use mezz_store::UploadId;

    fn up(key: &str, age: Option<u64>, now: SystemTime) -> PendingUpload {
        PendingUpload {
            key: key.into(),
            upload: UploadId("u".into()),
            initiated: age.map(|s| now - Duration::from_secs(s)),
        }
    }

    #[test]
    fn only_old_enough_mezzfs_parts() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        let id = "0123456789abcdef0123456789abcdef";
        let part = format!("out/x.ivf.mezz/{id}/000000");
        let pending = vec![
            up(&part, Some(7200), now),
            up(&part, Some(10), now),
            up("someone/else.bin", Some(7200), now),
            up(&part, None, now),
        ];
        let old = select(pending.clone(), now, Duration::from_secs(3600));
        assert_eq!(old, vec![pending[0].clone()]);
        let all = select(pending.clone(), now, Duration::ZERO);
        assert_eq!(all.len(), 3, "everything of ours, unknown ages included");
    }
}
