//! Single-part object operations and listing.

use aws_sdk_s3::types::{Delete, ObjectIdentifier};

use crate::{BUCKET, TestResult, error_code, fixture, get, pattern, put};

#[tokio::test]
async fn put_get_head_delete_roundtrip() -> TestResult {
    let fx = fixture()?;
    let data = pattern(300_000, 1);
    put(&fx.client, BUCKET, "dir/sub/object.bin", &data).await?;

    let out = fx
        .client
        .get_object()
        .bucket(BUCKET)
        .key("dir/sub/object.bin")
        .send()
        .await?;
    assert_eq!(out.content_length(), Some(300_000));
    assert!(out.last_modified().is_some());
    assert_eq!(out.content_range(), None);
    assert_eq!(out.body.collect().await?.into_bytes().as_ref(), &data[..]);

    let head = fx
        .client
        .head_object()
        .bucket(BUCKET)
        .key("dir/sub/object.bin")
        .send()
        .await?;
    assert_eq!(head.content_length(), Some(300_000));
    assert!(head.last_modified().is_some());

    fx.client
        .delete_object()
        .bucket(BUCKET)
        .key("dir/sub/object.bin")
        .send()
        .await?;
    let gone = fx
        .client
        .get_object()
        .bucket(BUCKET)
        .key("dir/sub/object.bin")
        .send()
        .await;
    assert_eq!(error_code(&gone).as_deref(), Some("NoSuchKey"));
    Ok(())
}

#[tokio::test]
async fn empty_object_roundtrip() -> TestResult {
    let fx = fixture()?;
    put(&fx.client, BUCKET, "empty", b"").await?;
    assert!(get(&fx.client, BUCKET, "empty").await?.is_empty());
    Ok(())
}

#[tokio::test]
async fn overwrite_replaces_bytes() -> TestResult {
    let fx = fixture()?;
    put(&fx.client, BUCKET, "k", &pattern(5000, 1)).await?;
    put(&fx.client, BUCKET, "k", &pattern(700, 2)).await?;
    assert_eq!(get(&fx.client, BUCKET, "k").await?, pattern(700, 2));
    Ok(())
}

#[tokio::test]
async fn missing_key_and_missing_bucket() -> TestResult {
    let fx = fixture()?;
    let c = &fx.client;

    let r = c.get_object().bucket(BUCKET).key("nope").send().await;
    assert!(
        r.as_ref()
            .err()
            .and_then(|e| e.as_service_error())
            .is_some_and(|e| e.is_no_such_key())
    );

    let r = c
        .get_object()
        .bucket("no-such-bucket")
        .key("k")
        .send()
        .await;
    assert_eq!(error_code(&r).as_deref(), Some("NoSuchBucket"));

    let r = c.head_object().bucket(BUCKET).key("nope").send().await;
    assert!(
        r.as_ref()
            .err()
            .and_then(|e| e.as_service_error())
            .is_some_and(|e| e.is_not_found())
    );

    let r = c.list_objects_v2().bucket("no-such-bucket").send().await;
    assert_eq!(error_code(&r).as_deref(), Some("NoSuchBucket"));

    // Stock s3s-fs would create the bucket directory here; we refuse like S3 does.
    let r = c
        .put_object()
        .bucket("no-such-bucket")
        .key("k")
        .body(b"x".to_vec().into())
        .send()
        .await;
    assert_eq!(error_code(&r).as_deref(), Some("NoSuchBucket"));
    let r = c.head_bucket().bucket("no-such-bucket").send().await;
    assert!(r.is_err(), "put_object must not create the bucket");

    // A "directory" key is not an object.
    put(c, BUCKET, "a/b", b"x").await?;
    let r = c.get_object().bucket(BUCKET).key("a").send().await;
    assert_eq!(error_code(&r).as_deref(), Some("NoSuchKey"));
    Ok(())
}

#[tokio::test]
async fn buckets_create_list_delete() -> TestResult {
    let fx = fixture()?;
    let c = &fx.client;
    c.create_bucket().bucket("second").send().await?;
    c.head_bucket().bucket("second").send().await?;

    let listed = c.list_buckets().send().await?;
    let mut names: Vec<&str> = listed.buckets().iter().filter_map(|b| b.name()).collect();
    names.sort_unstable();
    assert_eq!(names, ["media", "second"]);

    c.delete_bucket().bucket("second").send().await?;
    assert!(c.head_bucket().bucket("second").send().await.is_err());
    Ok(())
}

#[tokio::test]
async fn list_objects_v2_prefix_and_pagination() -> TestResult {
    let fx = fixture()?;
    let c = &fx.client;
    let mut expected = Vec::new();
    for i in 0..10 {
        let key = format!("list/item-{i:02}");
        put(c, BUCKET, &key, &pattern(10 + i, i as u64)).await?;
        expected.push(key);
    }
    put(c, BUCKET, "other/x", b"x").await?;
    put(c, BUCKET, "listing-not-under-prefix", b"y").await?;

    let mut seen = Vec::new();
    let mut pages = 0;
    let mut token: Option<String> = None;
    loop {
        let out = c
            .list_objects_v2()
            .bucket(BUCKET)
            .prefix("list/")
            .max_keys(4)
            .set_continuation_token(token.clone())
            .send()
            .await?;
        pages += 1;
        for obj in out.contents() {
            let key = obj.key().unwrap_or_default().to_owned();
            let i: usize = key.trim_start_matches("list/item-").parse()?;
            assert_eq!(obj.size(), Some(10 + i as i64));
            seen.push(key);
        }
        if out.is_truncated() == Some(true) {
            token = out.next_continuation_token().map(str::to_owned);
            assert!(token.is_some());
        } else {
            break;
        }
        assert!(pages < 10, "pagination does not terminate");
    }
    assert_eq!(pages, 3);
    assert_eq!(seen, expected);

    let all = c.list_objects_v2().bucket(BUCKET).send().await?;
    assert_eq!(all.key_count(), Some(12));

    let top = c
        .list_objects_v2()
        .bucket(BUCKET)
        .delimiter("/")
        .send()
        .await?;
    let prefixes: Vec<&str> = top
        .common_prefixes()
        .iter()
        .filter_map(|p| p.prefix())
        .collect();
    assert_eq!(prefixes, ["list/", "other/"]);
    Ok(())
}

#[tokio::test]
async fn delete_objects_and_copy() -> TestResult {
    let fx = fixture()?;
    let c = &fx.client;
    put(c, BUCKET, "a", b"alpha").await?;
    put(c, BUCKET, "b", b"beta").await?;

    c.copy_object()
        .bucket(BUCKET)
        .key("c")
        .copy_source(format!("{BUCKET}/a"))
        .send()
        .await?;
    assert_eq!(get(c, BUCKET, "c").await?, b"alpha");

    let delete = Delete::builder()
        .objects(ObjectIdentifier::builder().key("a").build()?)
        .objects(ObjectIdentifier::builder().key("b").build()?)
        .build()?;
    let out = c
        .delete_objects()
        .bucket(BUCKET)
        .delete(delete)
        .send()
        .await?;
    assert_eq!(out.deleted().len(), 2);

    let left = c.list_objects_v2().bucket(BUCKET).send().await?;
    let keys: Vec<&str> = left.contents().iter().filter_map(|o| o.key()).collect();
    assert_eq!(keys, ["c"]);
    Ok(())
}

#[tokio::test]
async fn large_object_full_get() -> TestResult {
    let fx = fixture()?;
    let data = pattern(64 * 1024 * 1024, 64);
    put(&fx.client, BUCKET, "big.bin", &data).await?;
    let got = get(&fx.client, BUCKET, "big.bin").await?;
    assert_eq!(got.len(), data.len());
    assert!(got == data, "64 MiB object came back different");
    Ok(())
}
