//! Ranged GETs: every `Range` form, checked against slices of the source bytes.

use crate::{BUCKET, TestResult, error_code, fixture, pattern, put};

/// Crosses the server's 1 MiB read-chunk boundaries.
const SIZE: usize = 3 * 1024 * 1024 + 12_345;

#[tokio::test]
async fn ranged_gets_match_source_slices() -> TestResult {
    let fx = fixture()?;
    let data = pattern(SIZE, 7);
    put(&fx.client, BUCKET, "ranged.bin", &data).await?;
    let n = SIZE as u64;
    let mib = 1024 * 1024;

    // (Range header, expected first byte, expected last byte inclusive)
    let cases: Vec<(String, u64, u64)> = vec![
        ("bytes=0-0".into(), 0, 0),
        ("bytes=0-65535".into(), 0, 65_535),
        ("bytes=100-199".into(), 100, 199),
        (
            format!("bytes={}-{}", mib - 10, 2 * mib + 10),
            mib - 10,
            2 * mib + 10,
        ),
        (format!("bytes={}-", n - 1000), n - 1000, n - 1),
        (format!("bytes={}-", mib / 2), mib / 2, n - 1),
        // Crossing the end: clamped to the last byte.
        (format!("bytes={}-{}", n - 50, n + 5000), n - 50, n - 1),
        (format!("bytes={}-{}", n - 1, n - 1), n - 1, n - 1),
        // Suffix ranges, including one longer than the object.
        ("bytes=-500".into(), n - 500, n - 1),
        (format!("bytes=-{}", 2 * mib), n - 2 * mib, n - 1),
        (format!("bytes=-{}", n + 1), 0, n - 1),
    ];

    for (range, first, last) in cases {
        let out = fx
            .client
            .get_object()
            .bucket(BUCKET)
            .key("ranged.bin")
            .range(&range)
            .send()
            .await?;
        let len = last - first + 1;
        assert_eq!(out.content_length(), Some(len as i64), "{range}");
        let expected_range = format!("bytes {first}-{last}/{n}");
        assert_eq!(
            out.content_range(),
            Some(expected_range.as_str()),
            "{range}"
        );
        let body = out.body.collect().await?.into_bytes();
        assert_eq!(body.len() as u64, len, "{range}");
        assert!(
            body.as_ref() == &data[first as usize..=last as usize],
            "{range}: bytes differ from the source slice"
        );
    }
    Ok(())
}

#[tokio::test]
async fn unsatisfiable_ranges_are_invalid_range() -> TestResult {
    let fx = fixture()?;
    put(&fx.client, BUCKET, "small", &pattern(1000, 3)).await?;
    put(&fx.client, BUCKET, "empty", b"").await?;

    for (key, range) in [
        ("small", "bytes=1000-"),
        ("small", "bytes=1000-2000"),
        ("small", "bytes=5000-6000"),
        ("empty", "bytes=0-"),
        ("empty", "bytes=-10"),
    ] {
        let r = fx
            .client
            .get_object()
            .bucket(BUCKET)
            .key(key)
            .range(range)
            .send()
            .await;
        assert_eq!(
            error_code(&r).as_deref(),
            Some("InvalidRange"),
            "{key} {range}"
        );
        let status = r
            .as_ref()
            .err()
            .and_then(|e| e.raw_response())
            .map(|resp| resp.status().as_u16());
        assert_eq!(status, Some(416), "{key} {range}");
    }

    let r = fx
        .client
        .get_object()
        .bucket(BUCKET)
        .key("missing")
        .range("bytes=0-10")
        .send()
        .await;
    assert_eq!(error_code(&r).as_deref(), Some("NoSuchKey"));
    Ok(())
}
