//! `rename_object` against a local directory and a real S3-compatible server on loopback:
//! the renamed object reads back byte for byte under its new name, the old name is gone,
//! an existing destination is refused unless overwriting, and a copy that fails half way
//! leaves the old object whole and nothing under the new name.

use std::sync::Arc;

use mezz_format::{LocalKeyFile, ObjectId};
use mezz_object::{ObjectError, ObjectReader, PutOptions, naming, put_object, rename_object};
use mezz_s3_server::{ACCESS_KEY, REGION, S3TestServer, SECRET_KEY};
use mezz_store::{LocalStore, ObjectStore, ReadStore, StoreError};
use mezz_store_s3::{S3Options, S3Store};
use mezz_testkit::random_bytes;

async fn put(store: &Arc<dyn ObjectStore>, keys: &LocalKeyFile, name: &str, data: &[u8]) {
    let opts = PutOptions {
        part_size: 1 << 20,
        segment_size: 16384,
        ..PutOptions::default()
    };
    put_object(
        store.clone(),
        keys,
        name,
        Box::new(std::io::Cursor::new(data.to_vec())),
        &opts,
        Arc::default(),
    )
    .await
    .expect("put");
}

async fn read(store: &Arc<dyn ObjectStore>, keys: &LocalKeyFile, name: &str) -> Vec<u8> {
    let read_store: Arc<dyn ReadStore> = store.clone();
    let r = ObjectReader::open(read_store, keys, name)
        .await
        .unwrap_or_else(|e| panic!("open {name}: {e}"));
    r.read_range(0..r.size(), 4).await.expect("read").to_vec()
}

async fn keys_under(store: &Arc<dyn ObjectStore>, prefix: &str) -> Vec<String> {
    store
        .list(prefix)
        .await
        .expect("list")
        .into_iter()
        .map(|m| m.key)
        .collect()
}

async fn check_rename(store: Arc<dyn ObjectStore>) {
    let keys = LocalKeyFile::from_parts("rename", [5; 32]);
    // Three parts and a short tail.
    let first = random_bytes(3_200_000, 1);
    put(&store, &keys, "out/movie.ivf.tmp123", &first).await;
    let renamed = rename_object(
        store.as_ref(),
        &keys,
        "out/movie.ivf.tmp123",
        "out/movie.ivf",
        false,
    )
    .await
    .expect("rename");
    assert_eq!(renamed.name, "out/movie.ivf");
    assert_eq!(renamed.part_count, 4);
    assert_eq!(read(&store, &keys, "out/movie.ivf").await, first);
    assert!(
        keys_under(&store, "out/movie.ivf.tmp123").await.is_empty(),
        "the old name is gone, parts and all"
    );
    let id = renamed.id().expect("id");
    assert_eq!(
        keys_under(&store, &naming::version_folder("out/movie.ivf", id))
            .await
            .len(),
        4
    );

    // An existing destination: refused, both unchanged; replaced when overwriting.
    let second = random_bytes(700_000, 2);
    put(&store, &keys, "out/other.ivf", &second).await;
    assert!(matches!(
        rename_object(store.as_ref(), &keys, "out/other.ivf", "out/movie.ivf", false).await,
        Err(ObjectError::Exists { name }) if name == "out/movie.ivf"
    ));
    assert_eq!(read(&store, &keys, "out/movie.ivf").await, first);
    assert_eq!(read(&store, &keys, "out/other.ivf").await, second);
    rename_object(
        store.as_ref(),
        &keys,
        "out/other.ivf",
        "out/movie.ivf",
        true,
    )
    .await
    .expect("rename over");
    assert_eq!(read(&store, &keys, "out/movie.ivf").await, second);
    assert!(matches!(
        read_err(&store, &keys, "out/other.ivf").await,
        ObjectError::NotFound { .. }
    ));

    // A missing source.
    assert!(matches!(
        rename_object(store.as_ref(), &keys, "out/none", "out/x", false).await,
        Err(ObjectError::NotFound { .. })
    ));

    // A copy that fails half way (a part of the source is gone): the source's manifest and
    // other parts stay, nothing appears under the new name, no copied part is left there.
    let third = random_bytes(2_500_000, 3);
    put(&store, &keys, "out/broken", &third).await;
    let raw = store
        .get(&naming::manifest_key("out/broken"))
        .await
        .expect("manifest");
    let sealed = mezz_format::SealedManifest::parse(raw.to_vec()).expect("parse");
    let broken_id: ObjectId = sealed.unverified().id().expect("id");
    store
        .delete(&naming::part_key("out/broken", broken_id, 2))
        .await
        .expect("delete a part");
    assert!(matches!(
        rename_object(store.as_ref(), &keys, "out/broken", "out/fixed", false).await,
        Err(ObjectError::MissingPart { part: 2, .. })
    ));
    assert!(keys_under(&store, "out/fixed").await.is_empty());
    assert!(
        store
            .head(&naming::manifest_key("out/broken"))
            .await
            .is_ok()
    );
    assert_eq!(keys_under(&store, "out/broken.mezz/").await.len(), 3);

    // Renaming onto itself changes nothing.
    rename_object(
        store.as_ref(),
        &keys,
        "out/movie.ivf",
        "out/movie.ivf",
        false,
    )
    .await
    .expect("same name");
    assert_eq!(read(&store, &keys, "out/movie.ivf").await, second);
}

async fn read_err(store: &Arc<dyn ObjectStore>, keys: &LocalKeyFile, name: &str) -> ObjectError {
    let read_store: Arc<dyn ReadStore> = store.clone();
    match ObjectReader::open(read_store, keys, name).await {
        Ok(_) => panic!("{name} still opens"),
        Err(e) => e,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rename_in_a_local_store() {
    let dir = tempfile::tempdir().expect("tempdir");
    check_rename(Arc::new(LocalStore::open(dir.path()).expect("open"))).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rename_in_s3_copies_parts_server_side() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = S3TestServer::start(dir.path(), &["bkt"]).expect("server");
    let opts = S3Options {
        endpoint_url: Some(server.endpoint()),
        region: Some(REGION.into()),
        static_credentials: Some((ACCESS_KEY.into(), SECRET_KEY.into())),
        ..S3Options::default()
    };
    let store = S3Store::connect("bkt", "pre/", &opts)
        .await
        .expect("connect");
    check_rename(Arc::new(store)).await;
    // The store itself refuses a copy of a missing key (what a failed part copy reports).
    let s3 = S3Store::connect("bkt", "pre/", &opts)
        .await
        .expect("connect");
    assert!(matches!(
        s3.copy("out/none", "out/none2").await,
        Err(StoreError::NotFound { .. })
    ));
}

/// A file renamed while it is written (the mount's case): `commit_as` stores it under the new
/// name only, its parts copied there before the manifest, nothing left under the old name.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_committed_under_another_name_appears_only_there() {
    use mezz_object::{StreamOptions, StreamWriter};
    let dir = tempfile::tempdir().expect("tempdir");
    let store: Arc<dyn ObjectStore> = Arc::new(LocalStore::open(dir.path()).expect("open"));
    let keys = LocalKeyFile::from_parts("rename", [6; 32]);
    let data = random_bytes(2_300_000, 9);
    let opts = StreamOptions {
        part_size: 1 << 20,
        segment_size: 16384,
        chunk_size: 256 << 10,
        keep_old_versions: false,
    };
    let permits = Arc::new(tokio::sync::Semaphore::new(4));
    let mut w = StreamWriter::create(store.clone(), &keys, "out/.x.tmp", opts, permits)
        .await
        .expect("create");
    for piece in data.chunks(100_000) {
        w.write(piece).await.expect("write");
    }
    let manifest = w.commit_as(&keys, "out/x").await.expect("commit as");
    assert_eq!((manifest.name.as_str(), manifest.part_count), ("out/x", 3));
    assert_eq!(read(&store, &keys, "out/x").await, data);
    assert!(keys_under(&store, "out/.x.tmp").await.is_empty());
}
