//! Where an object's manifest and parts live in a bucket.
//!
//! ```text
//! {name}.mezz/manifest              the current version's manifest
//! {name}.mezz/{object id}/{part}    its parts, part numbers as six or more digits
//! ```
//!
//! Each stored version has its own folder, so a new `put` never touches the parts a reader of
//! the previous version is using until the new manifest is in place.

use mezz_format::ObjectId;

use crate::ObjectError;

const SUFFIX: &str = ".mezz";

pub fn manifest_key(name: &str) -> String {
    format!("{name}{SUFFIX}/manifest")
}

pub fn object_folder(name: &str) -> String {
    format!("{name}{SUFFIX}/")
}

pub fn version_folder(name: &str, id: ObjectId) -> String {
    format!("{name}{SUFFIX}/{id}/")
}

pub fn part_key(name: &str, id: ObjectId, part: u64) -> String {
    format!("{name}{SUFFIX}/{id}/{part:06}")
}

/// Whether a path component is an object's folder (`{name}.mezz`) rather than a directory.
pub fn is_object_folder(component: &str) -> bool {
    component.ends_with(SUFFIX)
}

/// The object name whose manifest is stored under `key`, if it is one.
pub fn name_of_manifest(key: &str) -> Option<&str> {
    key.strip_suffix("/manifest")?
        .strip_suffix(SUFFIX)
        .filter(|n| !n.is_empty())
}

/// (object name, version id, part number) of a part key, if it is one.
pub fn parse_part_key(key: &str) -> Option<(&str, &str, u64)> {
    let (rest, part) = key.rsplit_once('/')?;
    let (folder, id) = rest.rsplit_once('/')?;
    let name = folder.strip_suffix(SUFFIX).filter(|n| !n.is_empty())?;
    if part.len() < 6 || !part.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if id.len() != 32 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    Some((name, id, part.parse().ok()?))
}

/// Names are relative slash-separated paths without empty, `.` or `..` segments.
pub fn check_name(name: &str) -> Result<(), ObjectError> {
    let bad = |reason: &str| {
        Err(ObjectError::InvalidName {
            name: name.into(),
            reason: reason.into(),
        })
    };
    if name.is_empty() || name.len() > 900 {
        return bad("names are 1 to 900 bytes long");
    }
    if name
        .split('/')
        .any(|s| s.is_empty() || s == "." || s == "..")
    {
        return bad("no empty, '.' or '..' path segments, and no leading or trailing '/'");
    }
    if name.split('/').any(|s| s.ends_with(SUFFIX)) {
        return bad("path segments may not end in '.mezz' (reserved for object folders)");
    }
    if name.chars().any(char::is_control) {
        return bad("no control characters");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_round_trip() {
        let id = ObjectId::from_bytes([0xab; 16]);
        assert_eq!(manifest_key("movies/a.y4m"), "movies/a.y4m.mezz/manifest");
        assert_eq!(
            name_of_manifest("movies/a.y4m.mezz/manifest"),
            Some("movies/a.y4m")
        );
        assert_eq!(name_of_manifest("movies/a.y4m.mezz/abab/000001"), None);
        assert_eq!(part_key("a", id, 7), format!("a.mezz/{id}/000007"));
        assert!(part_key("a", id, 7).starts_with(&version_folder("a", id)));
        let key = part_key("movies/a.y4m", id, 12);
        let id_text = id.to_string();
        assert_eq!(
            parse_part_key(&key),
            Some(("movies/a.y4m", id_text.as_str(), 12))
        );
        assert_eq!(parse_part_key("movies/a.y4m.mezz/manifest"), None);
        assert_eq!(parse_part_key("x/y/000001"), None);
    }

    #[test]
    fn names_are_checked() {
        for ok in ["a", "movies/2026/clip.y4m", "with space"] {
            assert!(check_name(ok).is_ok(), "{ok}");
        }
        for bad in ["", "/a", "a/", "a//b", "../a", "a/./b", "x.mezz/y", "a\nb"] {
            assert!(check_name(bad).is_err(), "{bad}");
        }
    }
}
