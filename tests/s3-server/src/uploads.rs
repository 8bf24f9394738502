//! Multipart uploads in progress, read from the files `s3s-fs` keeps beside the buckets:
//! `.upload-{id}.json` while upload `id` exists, and
//! `.bucket-{b64 bucket}.object-{b64 key}.upload-{id}.metadata.json` naming its bucket and key
//! (base64 URL-safe without padding). Both go when the upload is completed or aborted.

use std::path::Path;
use std::time::SystemTime;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// One upload found.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Pending {
    pub key: String,
    pub upload_id: String,
    pub initiated: Option<SystemTime>,
}

/// The uploads of `bucket` whose key starts with `prefix`, in key order.
pub(crate) fn pending(root: &Path, bucket: &str, prefix: &str) -> std::io::Result<Vec<Pending>> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(root)? {
        let entry = entry?;
        let name = entry.file_name();
        let Some((b, key, id)) = name.to_str().and_then(parse) else {
            continue;
        };
        if b != bucket || !key.starts_with(prefix) {
            continue;
        }
        if !root.join(format!(".upload-{id}.json")).exists() {
            continue;
        }
        out.push(Pending {
            key,
            upload_id: id,
            initiated: entry.metadata().and_then(|m| m.modified()).ok(),
        });
    }
    out.sort_by(|a, b| (&a.key, &a.upload_id).cmp(&(&b.key, &b.upload_id)));
    Ok(out)
}

/// (bucket, key, upload id) of an upload's metadata file name.
fn parse(name: &str) -> Option<(String, String, String)> {
    let rest = name
        .strip_prefix(".bucket-")?
        .strip_suffix(".metadata.json")?;
    let (bucket, rest) = rest.split_once(".object-")?;
    let (key, id) = rest.split_once(".upload-")?;
    let decode = |s: &str| {
        URL_SAFE_NO_PAD
            .decode(s)
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
    };
    Some((decode(bucket)?, decode(key)?, id.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_file_names() {
        let b = URL_SAFE_NO_PAD.encode("media");
        let k = URL_SAFE_NO_PAD.encode("out/x.mezz/abc/000000");
        let name = format!(".bucket-{b}.object-{k}.upload-1234-5678.metadata.json");
        assert_eq!(
            parse(&name),
            Some((
                "media".into(),
                "out/x.mezz/abc/000000".into(),
                "1234-5678".into()
            ))
        );
        assert_eq!(
            parse(&format!(".bucket-{b}.object-{k}.metadata.json")),
            None
        );
        assert_eq!(parse(".upload-1234.json"), None);
    }
}
