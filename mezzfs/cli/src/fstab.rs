//! `mount.mezzfs`: the helper `mount -t mezzfs` and fstab run (installed as a link to
//! `mezzfs`, which acts as the helper when called by that name).
//!
//! mount(8) calls `mount.mezzfs SOURCE DIR [-sfnv] [-o OPTIONS]`. SOURCE is an object (as
//! `mezzfs mount --object` takes it), or `none` when only a spec file is given. Each option
//! maps one to one onto a `mezzfs mount` flag: `store=URL` is `--store URL`, `allow_other` is
//! `--allow-other`, and so on ([`OPTIONS`]). The options mount(8) itself uses (`ro`,
//! `_netdev`, `noauto`, `x-systemd.*`, ...) are accepted and left out; anything else is
//! refused with the list of known options, never ignored.

/// fstab options with a value: option name (as the flag, `-` or `_` alike) and its flag.
pub const OPTIONS: &[&str] = &[
    // global
    "store",
    "key-file",
    "kms-key-id",
    "kms-endpoint-url",
    "endpoint-url",
    "region",
    "max-attempts",
    "log-format",
    // mount
    "object",
    "range",
    "spec",
    "readahead",
    "fixed-size",
    "memory",
    "request-size",
    "fuse-threads",
    "request-timeout",
    "read-timeout",
    "cache-dir",
    "cache-size",
    "regional-cache",
    "regional-endpoint-url",
    "replay",
    "log-file",
    "metrics-listen",
    "write-dir",
];

/// fstab options without a value that are `mezzfs mount` switches.
pub const SWITCHES: &[&str] = &[
    "allow-other",
    "virtual-hosted",
    "allow-overwrite",
    "allow-delete",
];

/// Options for mount(8), systemd or the kernel's generic flags, which mean nothing to mezzfs
/// (its files are always read-only, without devices, set-user-id bits or access times to
/// keep; mount(8) passes `rw` when `ro` is not given).
const GENERIC: &[&str] = &[
    "ro",
    "rw",
    "defaults",
    "auto",
    "noauto",
    "user",
    "nouser",
    "users",
    "owner",
    "group",
    "_netdev",
    "nofail",
    "nosuid",
    "suid",
    "nodev",
    "dev",
    "noexec",
    "exec",
    "noatime",
    "atime",
    "relatime",
    "norelatime",
    "strictatime",
    "nodiratime",
    "sync",
    "async",
];

/// Why a helper command line could not be translated.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum FstabError {
    #[error("usage: mount.mezzfs SOURCE DIR [-sfnv] [-o OPTIONS]")]
    Usage,
    #[error(
        "unknown option '{0}'; known options: {known}, {switches}, and mount's own (ro, _netdev, noauto, nofail, x-*, ...)",
        known = OPTIONS.join(", "),
        switches = SWITCHES.join(", ")
    )]
    Unknown(String),
    #[error("option '{0}' needs a value ({0}=...)")]
    MissingValue(String),
    #[error("option '{0}' takes no value")]
    UnexpectedValue(String),
}

/// What the helper should do.
#[derive(Debug, PartialEq, Eq)]
pub struct Helper {
    /// `mezzfs` arguments (without the program name).
    pub args: Vec<String>,
    /// `-f`: mount(8)'s "fake" mode, do everything but the mount.
    pub fake: bool,
}

/// Translates the helper's arguments (after the program name) into `mezzfs mount` ones.
pub fn helper_args(argv: &[String]) -> Result<Helper, FstabError> {
    let mut positional = Vec::new();
    let mut options = Vec::new();
    let mut fake = false;
    let mut it = argv.iter();
    while let Some(a) = it.next() {
        if a == "-o" {
            options.push(it.next().ok_or(FstabError::Usage)?.clone());
        } else if let Some(o) = a.strip_prefix("-o") {
            options.push(o.to_string());
        } else if let Some(flags) = a.strip_prefix('-').filter(|f| !f.is_empty()) {
            // -s sloppy, -n no mtab, -v verbose: nothing to do; -f fake.
            for c in flags.chars() {
                match c {
                    'f' => fake = true,
                    's' | 'n' | 'v' => {}
                    _ => return Err(FstabError::Usage),
                }
            }
        } else {
            positional.push(a.clone());
        }
    }
    let [source, dir] = positional.as_slice() else {
        return Err(FstabError::Usage);
    };
    let mut args = vec!["mount".to_string(), dir.clone()];
    if source != "none" {
        args.push("--object".into());
        args.push(source.clone());
    }
    for list in &options {
        for opt in list.split(',').filter(|o| !o.is_empty()) {
            args.extend(option_flag(opt)?);
        }
    }
    Ok(Helper { args, fake })
}

/// The flag (and value) of one fstab option; nothing for mount(8)'s own options.
pub fn option_flag(opt: &str) -> Result<Vec<String>, FstabError> {
    let (name, value) = match opt.split_once('=') {
        Some((n, v)) => (n, Some(v)),
        None => (opt, None),
    };
    if GENERIC.contains(&name) || name.starts_with("x-") || name == "comment" {
        return Ok(Vec::new());
    }
    let flag = name.replace('_', "-");
    if OPTIONS.contains(&flag.as_str()) {
        let v = value
            .filter(|v| !v.is_empty())
            .ok_or_else(|| FstabError::MissingValue(name.to_string()))?;
        return Ok(vec![format!("--{flag}"), v.to_string()]);
    }
    if SWITCHES.contains(&flag.as_str()) {
        if value.is_some() {
            return Err(FstabError::UnexpectedValue(name.to_string()));
        }
        return Ok(vec![format!("--{flag}")]);
    }
    Err(FstabError::Unknown(name.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(a: &[&str]) -> Result<Helper, FstabError> {
        helper_args(&a.iter().map(|s| s.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn the_issue_example_maps_one_to_one() {
        let h = args(&[
            "movies/movie.y4m",
            "/mnt/mezz",
            "-o",
            "_netdev,ro,store=s3://bucket/prefix,key-file=/etc/mezzfs/key",
        ])
        .expect("valid");
        assert_eq!(
            h.args,
            [
                "mount",
                "/mnt/mezz",
                "--object",
                "movies/movie.y4m",
                "--store",
                "s3://bucket/prefix",
                "--key-file",
                "/etc/mezzfs/key"
            ]
        );
        assert!(!h.fake);
    }

    #[test]
    fn values_keep_their_equals_signs_and_switches_take_none() {
        let h = args(&[
            "none",
            "/m",
            "-sfnv",
            "-orange=a/b.y4m=movie:0+1MiB,allow_other,cache_dir=/var/cache/mezzfs,x-systemd.automount",
        ])
        .expect("valid");
        assert_eq!(
            h.args,
            [
                "mount",
                "/m",
                "--range",
                "a/b.y4m=movie:0+1MiB",
                "--allow-other",
                "--cache-dir",
                "/var/cache/mezzfs"
            ]
        );
        assert!(h.fake);
    }

    #[test]
    fn writable_directories_map_too() {
        let h = args(&[
            "none",
            "/m",
            "-owrite_dir=out=encodes/,allow_overwrite,allow-delete",
        ])
        .expect("valid");
        assert_eq!(
            h.args,
            [
                "mount",
                "/m",
                "--write-dir",
                "out=encodes/",
                "--allow-overwrite",
                "--allow-delete"
            ]
        );
    }

    #[test]
    fn unknown_and_malformed_options_are_refused() {
        let e = args(&["o", "/m", "-o", "stor=s3://b"]).expect_err("typo");
        assert_eq!(e, FstabError::Unknown("stor".into()));
        let msg = e.to_string();
        assert!(msg.contains("unknown option 'stor'"), "{msg}");
        assert!(msg.contains("store, key-file"), "{msg}");
        assert_eq!(
            args(&["o", "/m", "-o", "store"]),
            Err(FstabError::MissingValue("store".into()))
        );
        assert_eq!(
            args(&["o", "/m", "-o", "allow_other=1"]),
            Err(FstabError::UnexpectedValue("allow_other".into()))
        );
        // mount(8) adds rw when ro is not given; the files are read-only whatever it says.
        assert_eq!(args(&["o", "/m", "-o", "rw"]).map(|h| h.args.len()), Ok(4));
        assert_eq!(args(&["o"]), Err(FstabError::Usage));
        assert_eq!(args(&["o", "/m", "-o"]), Err(FstabError::Usage));
        assert_eq!(args(&["o", "/m", "-x"]), Err(FstabError::Usage));
    }

    #[test]
    fn every_option_is_a_mezzfs_flag() {
        use clap::CommandFactory;
        let cmd = crate::cli::Args::command();
        let mount = cmd.find_subcommand("mount").expect("mount subcommand");
        let longs: Vec<&str> = cmd
            .get_arguments()
            .chain(mount.get_arguments())
            .filter_map(|a| a.get_long())
            .collect();
        for o in OPTIONS
            .iter()
            .chain(SWITCHES)
            .filter(|o| **o != "object" && **o != "range")
        {
            assert!(longs.contains(o), "--{o} is not a flag of mezzfs mount");
        }
        assert!(longs.contains(&"object") && longs.contains(&"range"));
    }
}
