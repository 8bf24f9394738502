//! The doctor's verdicts: plain functions from gathered facts to one [`Check`] each, so every
//! verdict and its advice is tested without FUSE, S3 or a particular machine.

use std::path::PathBuf;

/// A verdict.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    Ok,
    /// Works, but something should be looked at.
    Warn,
    Fail,
}

/// One line of the report: what was checked, what was found, what to do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Check {
    pub status: Status,
    pub what: String,
    pub found: String,
    /// What to do about a warning or failure.
    pub fix: Option<String>,
}

impl Check {
    fn ok(what: impl Into<String>, found: impl Into<String>) -> Check {
        Check {
            status: Status::Ok,
            what: what.into(),
            found: found.into(),
            fix: None,
        }
    }

    fn bad(
        status: Status,
        what: impl Into<String>,
        found: impl Into<String>,
        fix: impl Into<String>,
    ) -> Check {
        Check {
            status,
            what: what.into(),
            found: found.into(),
            fix: Some(fix.into()),
        }
    }

    /// `OK   what: found`, `FAIL what: found; fix: ...`.
    pub fn line(&self) -> String {
        let tag = match self.status {
            Status::Ok => "OK  ",
            Status::Warn => "WARN",
            Status::Fail => "FAIL",
        };
        match &self.fix {
            Some(fix) => format!("{tag} {}: {}; fix: {fix}", self.what, self.found),
            None => format!("{tag} {}: {}", self.what, self.found),
        }
    }
}

/// What opening /dev/fuse for reading and writing gave.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DevFuse {
    Opened,
    Missing,
    Denied,
    Other(String),
}

pub fn dev_fuse(f: &DevFuse) -> Check {
    let what = "/dev/fuse";
    match f {
        DevFuse::Opened => Check::ok(what, "present and usable"),
        DevFuse::Missing => Check::bad(
            Status::Fail,
            what,
            "missing",
            "load the fuse module (modprobe fuse); in a container, pass the device (--device /dev/fuse)",
        ),
        DevFuse::Denied => Check::bad(
            Status::Fail,
            what,
            "permission denied",
            "make /dev/fuse readable and writable by this user (mode 0666 is the default)",
        ),
        DevFuse::Other(e) => Check::bad(Status::Fail, what, e.clone(), "check /dev/fuse"),
    }
}

/// Where fusermount3 was found and whether it can mount for an ordinary user.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fusermount {
    pub path: Option<PathBuf>,
    /// Owned by root with the set-user-id bit.
    pub setuid_root: bool,
    pub running_as_root: bool,
}

pub fn fusermount(f: &Fusermount) -> Check {
    let what = "fusermount3";
    match &f.path {
        None => Check::bad(
            Status::Fail,
            what,
            "not found on PATH",
            "install the fuse3 package (apt install fuse3)",
        ),
        Some(p) if !f.setuid_root && !f.running_as_root => Check::bad(
            Status::Fail,
            what,
            format!("{} is not set-user-id root", p.display()),
            format!(
                "chown root {0} && chmod u+s {0} (or reinstall fuse3)",
                p.display()
            ),
        ),
        Some(p) => Check::ok(what, p.display().to_string()),
    }
}

/// What the key file looks like.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyFile {
    pub path: Option<PathBuf>,
    /// `None`: missing; otherwise its permission bits.
    pub mode: Option<u32>,
    /// Loading it: `Err` says why it is not a key file.
    pub loaded: Result<(), String>,
    /// A KMS key is configured instead (`--kms-key-id`).
    pub kms_key_id: Option<String>,
}

pub fn key_file(k: &KeyFile) -> Check {
    let what = match &k.path {
        Some(p) => format!("key file {}", p.display()),
        None => "key file".to_string(),
    };
    let Some(mode) = k.mode else {
        if let Some(id) = &k.kms_key_id {
            return Check::ok(
                what,
                format!("none; new objects are wrapped with KMS key {id}"),
            );
        }
        return Check::bad(
            Status::Fail,
            what,
            "missing",
            "create one with `mezzfs key generate` (or pass --key-file / MEZZFS_KEY_FILE)",
        );
    };
    // Checked before loading: mezzfs refuses a key file others can read; the fix is plain.
    if mode & 0o077 != 0 {
        let path = k
            .path
            .as_ref()
            .map_or(String::new(), |p| p.display().to_string());
        return Check::bad(
            Status::Fail,
            what,
            format!(
                "readable by group or others (mode {:03o}), so mezzfs refuses it",
                mode & 0o777
            ),
            format!("chmod 600 {path}"),
        );
    }
    if let Err(e) = &k.loaded {
        return Check::bad(
            Status::Fail,
            what,
            format!("unreadable: {e}"),
            "point --key-file at the key made by `mezzfs key generate`",
        );
    }
    Check::ok(what, format!("loads, mode {:03o}", mode & 0o777))
}

/// A store of the spec and what reaching it gave.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Store {
    pub url: String,
    pub s3: bool,
    /// Where the AWS credential chain found credentials (S3 only), or why it found none.
    pub credentials: Result<String, String>,
    /// Listing an empty prefix: `Err` is the store's error.
    pub reached: Result<(), String>,
}

pub fn store(s: &Store) -> Check {
    let what = format!("store {}", s.url);
    let source = match &s.credentials {
        Ok(src) if s.s3 => format!(" with credentials from {src}"),
        _ => String::new(),
    };
    match (&s.reached, &s.credentials) {
        (Ok(()), _) => Check::ok(what, format!("reachable{source}")),
        (Err(e), Err(why)) if s.s3 => Check::bad(
            Status::Fail,
            what,
            format!("{e} (no credentials: {why})"),
            "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE with ~/.aws/credentials, or run where an instance role applies",
        ),
        (Err(e), _) if e.contains("permission denied") => Check::bad(
            Status::Fail,
            what,
            format!("{e}{source}"),
            "grant these credentials s3:ListBucket and s3:GetObject on the bucket, or use other credentials",
        ),
        (Err(e), _) if e.contains("does not exist") => Check::bad(
            Status::Fail,
            what,
            e.clone(),
            "check the bucket name and --region",
        ),
        (Err(e), _) => Check::bad(
            Status::Fail,
            what,
            format!("{e}{source}"),
            "check --endpoint-url (or AWS_ENDPOINT_URL), the network, and that the server runs",
        ),
    }
}

/// The disk cache directory (`--cache-dir`), if one is used.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CacheDir {
    pub path: PathBuf,
    /// Whether it exists or could be created, and is writable: `Err` says why not.
    pub writable: Result<(), String>,
    pub free_bytes: Option<u64>,
    /// Free space the disk cache always leaves (it caches nothing below it).
    pub floor_bytes: u64,
}

pub fn cache_dir(c: Option<&CacheDir>) -> Check {
    let Some(c) = c else {
        return Check::ok(
            "disk cache",
            "none configured (mount --cache-dir DIR adds one)",
        );
    };
    let what = format!("disk cache {}", c.path.display());
    if let Err(e) = &c.writable {
        return Check::bad(
            Status::Fail,
            what,
            e.clone(),
            "create the directory and make it writable by this user, or pick another --cache-dir",
        );
    }
    let gib = |b: u64| b as f64 / (1u64 << 30) as f64;
    match c.free_bytes {
        Some(free) if free <= c.floor_bytes => Check::bad(
            Status::Fail,
            what,
            format!(
                "{:.1} GiB free, the cache keeps {:.1} GiB free so it would cache nothing",
                gib(free),
                gib(c.floor_bytes)
            ),
            "free space on that filesystem or put --cache-dir on another one",
        ),
        Some(free) => Check::ok(what, format!("writable, {:.1} GiB free", gib(free))),
        None => Check::bad(
            Status::Warn,
            what,
            "free space unknown",
            "check the filesystem (statvfs failed)",
        ),
    }
}

/// Names the source of credentials the AWS chain would use, from the environment's facts,
/// in the chain's order: environment, web identity, profile, container, instance metadata.
pub fn credential_source(env: &dyn Fn(&str) -> Option<String>, profile_files: bool) -> String {
    let set = |k: &str| env(k).is_some_and(|v| !v.is_empty());
    if set("AWS_ACCESS_KEY_ID") && set("AWS_SECRET_ACCESS_KEY") {
        return "environment (AWS_ACCESS_KEY_ID)".into();
    }
    if set("AWS_WEB_IDENTITY_TOKEN_FILE") {
        return "web identity token (AWS_WEB_IDENTITY_TOKEN_FILE)".into();
    }
    if profile_files {
        let name = env("AWS_PROFILE").unwrap_or_else(|| "default".into());
        return format!("profile '{name}' (~/.aws)");
    }
    if set("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI") || set("AWS_CONTAINER_CREDENTIALS_FULL_URI") {
        return "container credentials endpoint".into();
    }
    "instance metadata (IMDS)".into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_say_status_finding_and_fix() {
        let c = dev_fuse(&DevFuse::Missing);
        assert_eq!(c.status, Status::Fail);
        assert!(
            c.line()
                .starts_with("FAIL /dev/fuse: missing; fix: load the fuse module")
        );
        assert_eq!(
            dev_fuse(&DevFuse::Opened).line(),
            "OK   /dev/fuse: present and usable"
        );
    }

    #[test]
    fn fusermount_needs_setuid_unless_root() {
        let f = |setuid_root, running_as_root| Fusermount {
            path: Some("/usr/bin/fusermount3".into()),
            setuid_root,
            running_as_root,
        };
        assert_eq!(fusermount(&f(true, false)).status, Status::Ok);
        assert_eq!(fusermount(&f(false, true)).status, Status::Ok);
        assert!(fusermount(&f(false, false)).line().contains("chmod u+s"));
        let none = Fusermount {
            path: None,
            setuid_root: false,
            running_as_root: true,
        };
        assert!(fusermount(&none).line().contains("apt install fuse3"));
    }

    #[test]
    fn key_file_permissions_and_presence() {
        let k = |mode, loaded: Result<(), String>| KeyFile {
            path: Some("/etc/mezzfs/key".into()),
            mode,
            loaded,
            kms_key_id: None,
        };
        assert_eq!(key_file(&k(Some(0o600), Ok(()))).status, Status::Ok);
        let open = key_file(&k(Some(0o644), Err("refused".into())));
        assert_eq!(open.status, Status::Fail);
        assert!(open.line().contains("mode 644"), "{}", open.line());
        assert!(open.line().contains("chmod 600 /etc/mezzfs/key"));
        assert_eq!(key_file(&k(Some(0o640), Ok(()))).status, Status::Fail);
        assert_eq!(key_file(&k(None, Ok(()))).status, Status::Fail);
        assert_eq!(
            key_file(&k(Some(0o600), Err("bad".into()))).status,
            Status::Fail
        );
        let kms = KeyFile {
            kms_key_id: Some("alias/media".into()),
            ..k(None, Ok(()))
        };
        assert_eq!(key_file(&kms).status, Status::Ok);
    }

    #[test]
    fn store_verdicts_name_the_credential_source_and_the_fix() {
        let s = |reached: Result<(), String>, credentials: Result<String, String>| Store {
            url: "s3://media/p".into(),
            s3: true,
            credentials,
            reached,
        };
        let ok = store(&s(Ok(()), Ok("environment (AWS_ACCESS_KEY_ID)".into())));
        assert_eq!(
            ok.line(),
            "OK   store s3://media/p: reachable with credentials from environment (AWS_ACCESS_KEY_ID)"
        );
        let down = store(&s(
            Err("cannot reach http://127.0.0.1:1: connection refused".into()),
            Ok("environment (AWS_ACCESS_KEY_ID)".into()),
        ));
        assert_eq!(down.status, Status::Fail);
        assert!(
            down.line().contains("check --endpoint-url"),
            "{}",
            down.line()
        );
        let nocreds = store(&s(Err("x".into()), Err("no providers".into())));
        assert!(
            nocreds.line().contains("AWS_ACCESS_KEY_ID"),
            "{}",
            nocreds.line()
        );
        let denied = store(&s(
            Err("k: permission denied (403)".into()),
            Ok("env".into()),
        ));
        assert!(denied.line().contains("s3:ListBucket"));
    }

    #[test]
    fn cache_dir_needs_room_above_the_floor() {
        let c = |free| CacheDir {
            path: "/var/cache/mezzfs".into(),
            writable: Ok(()),
            free_bytes: free,
            floor_bytes: 1 << 30,
        };
        assert_eq!(cache_dir(None).status, Status::Ok);
        assert_eq!(cache_dir(Some(&c(Some(5 << 30)))).status, Status::Ok);
        assert_eq!(cache_dir(Some(&c(Some(1 << 29)))).status, Status::Fail);
        assert_eq!(cache_dir(Some(&c(None))).status, Status::Warn);
    }

    #[test]
    fn credential_source_follows_the_chain_order() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| {
                pairs
                    .iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| v.to_string())
            }
        };
        let both = env(&[
            ("AWS_ACCESS_KEY_ID", "a"),
            ("AWS_SECRET_ACCESS_KEY", "b"),
            ("AWS_PROFILE", "p"),
        ]);
        assert!(credential_source(&both, true).starts_with("environment"));
        let prof = env(&[("AWS_PROFILE", "media")]);
        assert_eq!(credential_source(&prof, true), "profile 'media' (~/.aws)");
        assert!(credential_source(&env(&[]), false).contains("IMDS"));
    }
}
