//! Multipart uploads.

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};

use crate::{BUCKET, TestResult, error_code, fixture, get, pattern};

const MIB: usize = 1024 * 1024;

#[tokio::test]
async fn three_part_upload_completes_to_the_right_bytes() -> TestResult {
    let fx = fixture()?;
    let c = &fx.client;
    let parts = [
        pattern(5 * MIB, 11),
        pattern(5 * MIB + 3, 12),
        pattern(1234, 13),
    ];

    let created = c
        .create_multipart_upload()
        .bucket(BUCKET)
        .key("mp/object")
        .send()
        .await?;
    let upload_id = created.upload_id().ok_or("no upload id")?.to_owned();

    let mut completed = Vec::new();
    // Upload out of order; the listing must still come back sorted.
    for index in [2usize, 0, 1] {
        let number = index as i32 + 1;
        let out = c
            .upload_part()
            .bucket(BUCKET)
            .key("mp/object")
            .upload_id(&upload_id)
            .part_number(number)
            .body(ByteStream::from(parts[index].clone()))
            .send()
            .await?;
        completed.push(
            CompletedPart::builder()
                .part_number(number)
                .set_e_tag(out.e_tag().map(str::to_owned))
                .build(),
        );
    }
    completed.sort_by_key(|p| p.part_number());

    let listed = c
        .list_parts()
        .bucket(BUCKET)
        .key("mp/object")
        .upload_id(&upload_id)
        .send()
        .await?;
    let numbers: Vec<i32> = listed
        .parts()
        .iter()
        .filter_map(|p| p.part_number())
        .collect();
    assert_eq!(numbers, [1, 2, 3]);
    let sizes: Vec<i64> = listed.parts().iter().filter_map(|p| p.size()).collect();
    assert_eq!(
        sizes,
        parts.iter().map(|p| p.len() as i64).collect::<Vec<_>>()
    );

    c.complete_multipart_upload()
        .bucket(BUCKET)
        .key("mp/object")
        .upload_id(&upload_id)
        .multipart_upload(
            CompletedMultipartUpload::builder()
                .set_parts(Some(completed))
                .build(),
        )
        .send()
        .await?;

    let whole = get(c, BUCKET, "mp/object").await?;
    assert_eq!(whole.len(), parts.iter().map(Vec::len).sum::<usize>());
    assert!(
        whole == parts.concat(),
        "completed object differs from the parts"
    );

    // A range across the part 1 / part 2 seam.
    let out = c
        .get_object()
        .bucket(BUCKET)
        .key("mp/object")
        .range(format!("bytes={}-{}", 5 * MIB - 100, 5 * MIB + 99))
        .send()
        .await?;
    let body = out.body.collect().await?.into_bytes();
    assert_eq!(body.as_ref(), &whole[5 * MIB - 100..5 * MIB + 100]);
    Ok(())
}

#[tokio::test]
async fn aborted_upload_leaves_no_object() -> TestResult {
    let fx = fixture()?;
    let c = &fx.client;
    let created = c
        .create_multipart_upload()
        .bucket(BUCKET)
        .key("mp/aborted")
        .send()
        .await?;
    let upload_id = created.upload_id().ok_or("no upload id")?.to_owned();
    c.upload_part()
        .bucket(BUCKET)
        .key("mp/aborted")
        .upload_id(&upload_id)
        .part_number(1)
        .body(ByteStream::from(pattern(1000, 1)))
        .send()
        .await?;
    c.abort_multipart_upload()
        .bucket(BUCKET)
        .key("mp/aborted")
        .upload_id(&upload_id)
        .send()
        .await?;

    let r = c.get_object().bucket(BUCKET).key("mp/aborted").send().await;
    assert_eq!(error_code(&r).as_deref(), Some("NoSuchKey"));
    let listed = c
        .list_parts()
        .bucket(BUCKET)
        .key("mp/aborted")
        .upload_id(&upload_id)
        .send()
        .await?;
    assert!(listed.parts().is_empty());
    Ok(())
}

#[tokio::test]
async fn multipart_into_missing_bucket_is_no_such_bucket() -> TestResult {
    let fx = fixture()?;
    let r = fx
        .client
        .create_multipart_upload()
        .bucket("no-such-bucket")
        .key("k")
        .send()
        .await;
    assert_eq!(error_code(&r).as_deref(), Some("NoSuchBucket"));
    Ok(())
}
