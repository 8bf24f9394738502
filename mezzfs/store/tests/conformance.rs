//! One behaviour, two stores: the same checks run against a local directory and against a real
//! S3-compatible server on loopback.

use std::sync::Arc;

use bytes::Bytes;
use mezz_s3_server::{ACCESS_KEY, REGION, S3TestServer, SECRET_KEY};
use mezz_store::{LocalStore, ObjectStore, ReadStore, StoreError};
use mezz_store_s3::{S3Options, S3Store};

fn pattern(n: usize, seed: u8) -> Vec<u8> {
    (0..n)
        .map(|i| (i as u8).wrapping_mul(13).wrapping_add(seed) ^ (i >> 10) as u8)
        .collect()
}

fn s3_options(server: &S3TestServer) -> S3Options {
    S3Options {
        endpoint_url: Some(server.endpoint()),
        region: Some(REGION.into()),
        static_credentials: Some((ACCESS_KEY.into(), SECRET_KEY.into())),
        ..S3Options::default()
    }
}

async fn check_store(store: Arc<dyn ObjectStore>) {
    // put / get / head
    let body = pattern(300_000, 1);
    store
        .put("a/b/obj", Bytes::from(body.clone()))
        .await
        .expect("put");
    assert_eq!(store.get("a/b/obj").await.expect("get"), body);
    assert_eq!(store.head("a/b/obj").await.expect("head").size, 300_000);
    // ranges, including the last byte
    for r in [0..1u64, 5..70_000, 299_999..300_000, 0..300_000] {
        let got = store.get_range("a/b/obj", r.clone()).await.expect("range");
        assert_eq!(
            &got[..],
            &body[r.start as usize..r.end as usize],
            "range {r:?}"
        );
    }
    assert!(matches!(
        store.get_range("a/b/obj", 299_000..300_001).await,
        Err(StoreError::InvalidRange { .. } | StoreError::ShortRead { .. })
    ));
    // missing keys
    assert!(matches!(
        store.get("nope").await,
        Err(StoreError::NotFound { .. })
    ));
    assert!(matches!(
        store.get_range("nope", 0..10).await,
        Err(StoreError::NotFound { .. })
    ));
    assert!(matches!(
        store.head("nope").await,
        Err(StoreError::NotFound { .. })
    ));
    // overwrite is whole
    store
        .put("a/b/obj", Bytes::from_static(b"short"))
        .await
        .expect("overwrite");
    assert_eq!(&store.get("a/b/obj").await.expect("get")[..], b"short");
    // list by prefix, sorted
    store
        .put("a/c", Bytes::from_static(b"1"))
        .await
        .expect("put");
    store
        .put("ab", Bytes::from_static(b"22"))
        .await
        .expect("put");
    let keys: Vec<_> = store
        .list("a/")
        .await
        .expect("list")
        .into_iter()
        .map(|m| m.key)
        .collect();
    assert_eq!(keys, ["a/b/obj", "a/c"]);
    let all: Vec<_> = store
        .list("")
        .await
        .expect("list")
        .into_iter()
        .map(|m| (m.key, m.size))
        .collect();
    assert_eq!(
        all,
        [
            ("a/b/obj".to_string(), 5),
            ("a/c".to_string(), 1),
            ("ab".to_string(), 2)
        ]
    );
    // multipart: two 5 MiB pieces and a short tail, uploaded out of order
    let pieces = [pattern(5 << 20, 2), pattern(5 << 20, 3), pattern(1234, 4)];
    let up = store.create_upload("mp/obj").await.expect("create");
    let mut tags = Vec::new();
    for i in [2usize, 0, 1] {
        tags.push(
            store
                .upload_piece("mp/obj", &up, i as u32 + 1, Bytes::from(pieces[i].clone()))
                .await
                .expect("piece"),
        );
    }
    store
        .complete_upload("mp/obj", &up, tags)
        .await
        .expect("complete");
    assert_eq!(store.get("mp/obj").await.expect("get"), pieces.concat());
    // an aborted upload leaves nothing
    let up = store.create_upload("mp/aborted").await.expect("create");
    store
        .upload_piece("mp/aborted", &up, 1, Bytes::from_static(b"x"))
        .await
        .expect("piece");
    // an unfinished upload is listed (under its prefix only) until it is aborted
    let pending = store.list_uploads("mp/").await.expect("list uploads");
    assert_eq!(pending.len(), 1, "{pending:?}");
    assert_eq!(
        (pending[0].key.as_str(), &pending[0].upload),
        ("mp/aborted", &up)
    );
    assert!(pending[0].initiated.is_some());
    assert!(store.list_uploads("other/").await.expect("list").is_empty());
    store.abort_upload("mp/aborted", &up).await.expect("abort");
    assert!(store.list_uploads("mp/").await.expect("list").is_empty());
    let keys: Vec<_> = store
        .list("mp/")
        .await
        .expect("list")
        .into_iter()
        .map(|m| m.key)
        .collect();
    assert_eq!(keys, ["mp/obj"]);
    // server-side copy: to a new key (one that needs URL encoding), over an existing one;
    // the copy stays as it was when the source is replaced afterwards
    store.copy("mp/obj", "cp/a b+c/obj").await.expect("copy");
    assert_eq!(
        store.get("cp/a b+c/obj").await.expect("get"),
        pieces.concat()
    );
    store.copy("ab", "cp/a b+c/obj").await.expect("copy over");
    assert_eq!(&store.get("cp/a b+c/obj").await.expect("get")[..], b"22");
    store
        .put("ab", Bytes::from_static(b"333"))
        .await
        .expect("replace the source");
    assert_eq!(&store.get("cp/a b+c/obj").await.expect("get")[..], b"22");
    assert_eq!(store.get("mp/obj").await.expect("get"), pieces.concat());
    assert!(matches!(
        store.copy("nope", "cp/x").await,
        Err(StoreError::NotFound { .. })
    ));
    assert!(matches!(
        store.head("cp/x").await,
        Err(StoreError::NotFound { .. })
    ));
    store.delete("cp/a b+c/obj").await.expect("delete the copy");
    store
        .put("ab", Bytes::from_static(b"22"))
        .await
        .expect("put back");
    // delete, twice
    store.delete("a/c").await.expect("delete");
    store.delete("a/c").await.expect("delete again");
    assert!(matches!(
        store.get("a/c").await,
        Err(StoreError::NotFound { .. })
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_store_behaves_like_a_bucket() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = LocalStore::open(&dir.path().join("bucket")).expect("open");
    check_store(Arc::new(store)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_store_against_a_real_server() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = S3TestServer::start(dir.path(), &["bucket"]).expect("S3 test server must start");
    let store = S3Store::connect("bucket", "prefix/", &s3_options(&server))
        .await
        .expect("connect");
    check_store(Arc::new(store)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_errors_are_named() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = S3TestServer::start(dir.path(), &["bucket"]).expect("S3 test server must start");
    let missing = S3Store::connect("no-such-bucket", "", &s3_options(&server))
        .await
        .expect("connect");
    let err = missing.get("k").await.expect_err("missing bucket");
    assert!(
        matches!(
            err,
            StoreError::BucketNotFound { .. } | StoreError::NotFound { .. }
        ),
        "{err}"
    );
    let err = missing
        .put("k", Bytes::from_static(b"x"))
        .await
        .expect_err("missing bucket");
    assert!(matches!(err, StoreError::BucketNotFound { .. }), "{err}");

    let mut bad = s3_options(&server);
    bad.static_credentials = Some((ACCESS_KEY.into(), "wrong-secret".into()));
    let denied = S3Store::connect("bucket", "", &bad).await.expect("connect");
    let err = denied
        .put("k", Bytes::from_static(b"x"))
        .await
        .expect_err("denied");
    assert!(matches!(err, StoreError::PermissionDenied { .. }), "{err}");

    // Nothing listens on the server's port once it is shut down.
    let endpoint_opts = s3_options(&server);
    server.shutdown();
    let mut fast = endpoint_opts;
    fast.max_attempts = 2;
    let gone = S3Store::connect("bucket", "", &fast)
        .await
        .expect("connect");
    let err = gone.get("k").await.expect_err("unreachable");
    assert!(matches!(err, StoreError::Unreachable { .. }), "{err}");
    assert!(err.to_string().contains("127.0.0.1"), "{err}");
}

#[test]
fn local_store_refuses_escaping_keys_and_missing_roots() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = LocalStore::open(dir.path()).expect("open");
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    for key in ["../x", "/abs", "a//b", "a/./b", ".mezz-uploads/x", ""] {
        assert!(
            matches!(
                rt.block_on(store.put(key, Bytes::new())),
                Err(StoreError::InvalidKey { .. })
            ),
            "{key}"
        );
    }
    assert!(matches!(
        LocalStore::open(&dir.path().join("no/such/dir")),
        Err(StoreError::BucketNotFound { .. })
    ));

    // A root removed under an open store: reads and writes say so, and writes do not
    // quietly recreate it.
    let root = dir.path().join("vanishing");
    let store = LocalStore::open(&root).expect("open");
    rt.block_on(store.put("k", Bytes::from_static(b"v")))
        .expect("put");
    std::fs::remove_dir_all(&root).expect("remove root");
    let gone = |r: Result<(), StoreError>| matches!(r, Err(StoreError::BucketNotFound { .. }));
    assert!(gone(rt.block_on(store.get("k")).map(|_| ())));
    assert!(gone(rt.block_on(store.get_range("k", 0..1)).map(|_| ())));
    assert!(gone(rt.block_on(store.head("k")).map(|_| ())));
    assert!(gone(rt.block_on(store.list("")).map(|_| ())));
    assert!(gone(rt.block_on(store.put("k", Bytes::new()))));
    assert!(!root.exists());
}
