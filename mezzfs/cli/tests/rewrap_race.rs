//! A rewrap racing a put (issue 21): `rewrap_object` reads a manifest, re-wraps its key and
//! replaces it with a conditional write (S3 `If-Match` on the ETag it read; the directory
//! store's check-and-rename under its publish lock). Here a real put of a new version lands
//! between the read and the replace, on the S3 test server and on a directory store: the
//! conditional write is refused, the new version is left as it was put (it reads its own
//! bytes, under the key it was put with) and the object is reported as replaced; a second
//! rewrap then finds it and rewraps it.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use bytes::Bytes;
use mezz_format::{KeyProvider, LocalKeyFile};
use mezz_object::rewrap::{Rewrapped, rewrap_object};
use mezz_object::{ObjectReader, PutOptions, PutProgress, put_object};
use mezz_s3_server::{ACCESS_KEY, REGION, S3TestServer, SECRET_KEY};
use mezz_store::{
    LocalStore, ObjectMeta, ObjectStore, PendingUpload, PieceTag, ReadStore, StoreError, UploadId,
};
use mezz_store_s3::{S3Options, S3Store};
use mezz_testkit::random_bytes;

/// A store that, at its first conditional write, first puts a new version of `name` through
/// the store below (a real put, racing the rewrap). Everything else is passed through.
#[derive(Debug)]
struct PutBeforeReplace {
    inner: Arc<dyn ObjectStore>,
    keys: LocalKeyFile,
    name: String,
    data: Vec<u8>,
    raced: AtomicBool,
}

#[async_trait::async_trait]
impl ReadStore for PutBeforeReplace {
    fn describe(&self) -> String {
        self.inner.describe()
    }
    async fn get_range(&self, key: &str, range: std::ops::Range<u64>) -> Result<Bytes, StoreError> {
        self.inner.get_range(key, range).await
    }
    async fn get(&self, key: &str) -> Result<Bytes, StoreError> {
        self.inner.get(key).await
    }
    async fn head(&self, key: &str) -> Result<ObjectMeta, StoreError> {
        self.inner.head(key).await
    }
}

#[async_trait::async_trait]
impl ObjectStore for PutBeforeReplace {
    async fn put(&self, key: &str, body: Bytes) -> Result<(), StoreError> {
        self.inner.put(key, body).await
    }
    async fn list(&self, prefix: &str) -> Result<Vec<ObjectMeta>, StoreError> {
        self.inner.list(prefix).await
    }
    async fn delete(&self, key: &str) -> Result<(), StoreError> {
        self.inner.delete(key).await
    }
    async fn create_upload(&self, key: &str) -> Result<UploadId, StoreError> {
        self.inner.create_upload(key).await
    }
    async fn upload_piece(
        &self,
        key: &str,
        upload: &UploadId,
        number: u32,
        body: Bytes,
    ) -> Result<PieceTag, StoreError> {
        self.inner.upload_piece(key, upload, number, body).await
    }
    async fn complete_upload(
        &self,
        key: &str,
        upload: &UploadId,
        pieces: Vec<PieceTag>,
    ) -> Result<(), StoreError> {
        self.inner.complete_upload(key, upload, pieces).await
    }
    async fn abort_upload(&self, key: &str, upload: &UploadId) -> Result<(), StoreError> {
        self.inner.abort_upload(key, upload).await
    }
    async fn get_tagged(&self, key: &str) -> Result<(Bytes, String), StoreError> {
        self.inner.get_tagged(key).await
    }
    async fn put_if_match(&self, key: &str, body: Bytes, tag: &str) -> Result<(), StoreError> {
        if !self.raced.swap(true, Ordering::SeqCst) {
            put(&self.inner, &self.keys, &self.name, &self.data).await;
        }
        self.inner.put_if_match(key, body, tag).await
    }
    async fn list_uploads(&self, prefix: &str) -> Result<Vec<PendingUpload>, StoreError> {
        self.inner.list_uploads(prefix).await
    }
}

async fn put(store: &Arc<dyn ObjectStore>, keys: &dyn KeyProvider, name: &str, data: &[u8]) {
    put_object(
        store.clone(),
        keys,
        name,
        Box::new(std::io::Cursor::new(data.to_vec())),
        &PutOptions::default(),
        Arc::new(PutProgress::default()),
    )
    .await
    .expect("put");
}

async fn a_put_between_read_and_replace_wins(store: Arc<dyn ObjectStore>) {
    let old_key = LocalKeyFile::from_parts("00000000000000a1", [1; 32]);
    let new_key = LocalKeyFile::from_parts("00000000000000b2", [2; 32]);
    let first = random_bytes(50_000, 61);
    let second = random_bytes(70_000, 62);
    put(&store, &old_key, "race/a", &first).await;
    put(&store, &old_key, "race/b", &first).await;
    let racing: Arc<dyn ObjectStore> = Arc::new(PutBeforeReplace {
        inner: store.clone(),
        keys: old_key.clone(),
        name: "race/a".into(),
        data: second.clone(),
        raced: AtomicBool::new(false),
    });

    let outcome = rewrap_object(racing, &old_key, &new_key, "race/a")
        .await
        .expect("rewrap");
    assert_eq!(outcome, Rewrapped::Replaced, "the racing put must win");
    // The new version is as it was put: its bytes, still under the key it was put with.
    let r = ObjectReader::open(store.clone(), &old_key, "race/a")
        .await
        .expect("the racing version opens under its own key");
    assert!(r.read_range(0..u64::MAX, 4).await.expect("read") == second);
    assert!(
        ObjectReader::open(store.clone(), &new_key, "race/a")
            .await
            .is_err(),
        "the racing version was not rewrapped behind its writer's back"
    );

    // Without a race, both objects are rewrapped; the rerun finds a, as the report says.
    for name in ["race/a", "race/b"] {
        let outcome = rewrap_object(store.clone(), &old_key, &new_key, name)
            .await
            .expect("rewrap");
        assert_eq!(outcome, Rewrapped::Done, "{name}");
    }
    let r = ObjectReader::open(store.clone(), &new_key, "race/a")
        .await
        .expect("rewrapped");
    assert!(r.read_range(0..u64::MAX, 4).await.expect("read") == second);
    let r = ObjectReader::open(store, &new_key, "race/b")
        .await
        .expect("rewrapped");
    assert!(r.read_range(0..u64::MAX, 4).await.expect("read") == first);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_s3_a_put_between_read_and_replace_is_left_alone() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = S3TestServer::start(dir.path(), &["media"]).expect("S3 test server must start");
    let opts = S3Options {
        endpoint_url: Some(server.endpoint()),
        region: Some(REGION.into()),
        static_credentials: Some((ACCESS_KEY.into(), SECRET_KEY.into())),
        ..S3Options::default()
    };
    let s3: Arc<dyn ObjectStore> = Arc::new(
        S3Store::connect("media", "p", &opts)
            .await
            .expect("connect"),
    );
    a_put_between_read_and_replace_wins(s3).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_a_directory_store_a_put_between_read_and_replace_is_left_alone() {
    let dir = tempfile::tempdir().expect("tempdir");
    let local: Arc<dyn ObjectStore> =
        Arc::new(LocalStore::open(&dir.path().join("store")).expect("store"));
    a_put_between_read_and_replace_wins(local).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_s3_test_server_refuses_a_stale_if_match_and_a_missing_object() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = S3TestServer::start(dir.path(), &["media"]).expect("S3 test server must start");
    let opts = S3Options {
        endpoint_url: Some(server.endpoint()),
        region: Some(REGION.into()),
        static_credentials: Some((ACCESS_KEY.into(), SECRET_KEY.into())),
        ..S3Options::default()
    };
    let s3 = S3Store::connect("media", "", &opts).await.expect("connect");
    s3.put("k", Bytes::from_static(b"one")).await.expect("put");
    let (body, tag) = s3.get_tagged("k").await.expect("get");
    assert_eq!(&body[..], b"one");
    s3.put("k", Bytes::from_static(b"two")).await.expect("put");
    let stale = s3
        .put_if_match("k", Bytes::from_static(b"three"), &tag)
        .await;
    assert!(
        matches!(stale, Err(StoreError::PreconditionFailed { .. })),
        "{stale:?}"
    );
    assert_eq!(&s3.get("k").await.expect("get")[..], b"two");
    let (_, tag) = s3.get_tagged("k").await.expect("get");
    s3.put_if_match("k", Bytes::from_static(b"three"), &tag)
        .await
        .expect("a current If-Match replaces");
    assert_eq!(&s3.get("k").await.expect("get")[..], b"three");
    let gone = s3
        .put_if_match("missing", Bytes::from_static(b"x"), &tag)
        .await;
    assert!(matches!(gone, Err(StoreError::NotFound { .. })), "{gone:?}");
}
