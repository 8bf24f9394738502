//! What a careful new user tripped over (issue 17). One range grammar: the same `--range`
//! text means the same bytes in `mezzfs get`, `mezzfs mount --range` and a spec file's
//! `"range"`; the ambiguous `A-B` is refused with what to write instead, and errors name the
//! option. `ls -l` labels its sizes; a daemon's log file is plain text.

mod common;

use common::{Kind, Mount, World, put};
use mezz_testkit::random_bytes;

const NAME: &str = "movie";

fn world() -> (World, Vec<u8>) {
    let w = World::new(Kind::Local);
    let src = random_bytes(3 << 20, 17);
    put(&w, &src, NAME, "1MiB");
    (w, src)
}

#[test]
fn get_reads_both_forms_and_refuses_the_ambiguous_one() {
    let (w, src) = world();
    for (range, want) in [
        ("100..200", 100..200),
        ("100+100", 100..200),
        ("1.5MiB+10", (3 << 19)..(3 << 19) + 10),
        ("1MiB..1.5MiB", (1 << 20)..(3 << 19)),
    ] {
        let got = w.ok(&["get", NAME, "--range", range]).stdout;
        assert!(
            got == src[want.clone()],
            "--range {range}: not bytes {want:?}"
        );
    }
    for (range, says) in [
        // Before: read as 100..200 by get and 100..199 by mount.
        ("100-199", "--range '100-199' is ambiguous"),
        ("100-199", "write 100..200 or 100+100"),
        ("10+", "--range '10+': LENGTH is missing"),
        ("1KB+1", "decimal units are ambiguous; write 1KiB"),
        ("1.3KiB+1", "not a whole number of bytes (1331.2)"),
    ] {
        let msg = w.fails(&["get", NAME, "--range", range]);
        assert!(
            msg.contains(says),
            "--range {range}: '{msg}' lacks '{says}'"
        );
        assert!(
            msg.starts_with("mezzfs: error: ") && msg.lines().count() == 1,
            "one clean line: {msg}"
        );
    }
}

#[test]
fn mount_and_spec_file_read_the_same_bytes_as_get() {
    let (w, src) = world();
    let spec = w.path("spec.json");
    std::fs::write(
        &spec,
        format!(r#"{{"ranges":[{{"file":"from-spec","source":"{NAME}","range":"1000..5000"}}]}}"#),
    )
    .expect("spec");
    let m = Mount::start(
        &w,
        "mnt",
        &[
            "--range",
            &format!("dots={NAME}:1000..5000"),
            "--range",
            &format!("plus={NAME}:1000+4000"),
            "--spec",
            spec.to_str().expect("utf-8"),
        ],
    );
    let by_get = w.ok(&["get", NAME, "--range", "1000..5000"]).stdout;
    assert!(by_get == src[1000..5000]);
    for file in ["dots", "plus", "from-spec"] {
        let got = std::fs::read(m.file(file)).expect("read range file");
        assert!(got == by_get, "{file}: {} bytes, not get's", got.len());
    }
    drop(m);
    let dir = w.path("mnt2");
    std::fs::create_dir_all(&dir).expect("dir");
    let msg = w.fails(&[
        "mount",
        dir.to_str().expect("utf-8"),
        "--range",
        &format!("f={NAME}:1000-4999"),
    ]);
    assert!(
        msg.contains("--range 'f=movie:1000-4999'") && msg.contains("write 1000..5000"),
        "{msg}"
    );
}

#[test]
fn ls_long_labels_plaintext_and_stored_sizes() {
    let (w, _) = world();
    let ls = String::from_utf8(w.ok(&["ls", "-l"]).stdout).expect("utf-8");
    let lines: Vec<&str> = ls.lines().collect();
    assert_eq!(lines.len(), 2, "{ls}");
    let header: Vec<&str> = lines[0].split_whitespace().collect();
    assert_eq!(header, ["SIZE", "STORED", "NAME"], "{ls}");
    let row: Vec<&str> = lines[1].split_whitespace().collect();
    // 3 MiB of plaintext (sealed, it is a little larger: tags and the manifest).
    assert_eq!(row[..2], ["3.00", "MiB"], "{ls}");
    assert_eq!(row.last(), Some(&NAME), "{ls}");
}

#[test]
fn a_daemon_log_file_has_no_colour_codes() {
    let (w, _) = world();
    let dir = w.path("mnt");
    std::fs::create_dir_all(&dir).expect("dir");
    let log = w.path("mount.log");
    let out = w
        .command()
        .env("MEZZFS_LOG", "debug")
        .args(["mount", dir.to_str().expect("utf-8"), "--log-file"])
        .arg(&log)
        .args(["--object", NAME])
        .output()
        .expect("mount runs");
    assert!(out.status.success(), "{}", common::stderr(&out));
    let mounted = std::fs::read(dir.join(NAME)).map(|b| b.len());
    let unmount = w.mezzfs(&["unmount", dir.to_str().expect("utf-8")]);
    assert_eq!(mounted.ok(), Some(3 << 20));
    assert!(unmount.status.success(), "{}", common::stderr(&unmount));
    let text = std::fs::read_to_string(&log).expect("log");
    assert!(!text.is_empty(), "debug logging wrote nothing");
    assert!(
        !text.contains('\u{1b}'),
        "ANSI codes in the log file: {text:?}"
    );
}

/// `mezzfs replay info r | head` is how a reader looks at a replay: when the reader stops,
/// mezzfs ends quietly with the shell's SIGPIPE status, not with a panic and a backtrace.
#[test]
fn a_closed_stdout_ends_a_command_quietly() {
    use std::process::Stdio;
    let w = World::new(Kind::Local);
    let replay = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../replays/corpus/tool-encode.mezzreplay");
    let mut child = w
        .command()
        .args(["replay", "info", replay.to_str().expect("utf-8")])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run mezzfs");
    // Close the reading end before mezzfs writes: its first line meets a closed pipe.
    drop(child.stdout.take());
    let out = child.wait_with_output().expect("wait");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("panicked"), "{err}");
    assert_eq!(out.status.code(), Some(141), "{err}");
}
