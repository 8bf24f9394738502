//! Replays end to end over real mounts of objects in the S3 test server: recording, info, dump,
//! Chrome export, rerun with the digest check (and its failure when the bytes changed), a
//! replay cut short by kill -9, and the batch gate on the committed corpus (synthetic patterns
//! and recordings of real tools).

mod common;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::{Kind, Mount, World, put, stderr, write};
use mezz_testkit::{XorShift, random_bytes};

fn stdout(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn record_inspect_export_and_rerun() {
    let w = World::new(Kind::S3);
    let data = random_bytes(24 << 20, 71);
    put(&w, &data, "movie", "8MiB");
    let replay = w.path("movie.mezzreplay");
    let r = replay.to_str().expect("utf-8");
    let m = Mount::start(
        &w,
        "mnt",
        &[
            "--object",
            "movie",
            "--range",
            "scene=movie:4MiB+6MiB",
            "--replay",
            r,
        ],
    );
    // A dense reader of the whole object, and sparse reads of the scene.
    assert!(std::fs::read(m.dir.join("movie")).expect("read") == data);
    {
        use std::os::unix::fs::FileExt;
        let f = std::fs::File::open(m.dir.join("scene")).expect("open");
        let mut rng = XorShift::new(3);
        let mut buf = vec![0u8; 65536];
        for _ in 0..20 {
            let off = (rng.next_u64() % 90) * 65536;
            f.read_exact_at(&mut buf, off).expect("pread");
        }
    }
    w.ok(&["unmount", m.dir.to_str().expect("utf-8")]);
    assert!(
        m.wait_gone(Duration::from_secs(10)),
        "the mount did not end"
    );

    let info: serde_json::Value =
        serde_json::from_str(&stdout(&w.ok(&["replay", "info", r, "--json"]))).expect("info JSON");
    assert_eq!(info["end"], "complete", "{info}");
    assert_eq!(info["clean_end"], true);
    assert!(info["bytes_read"].as_u64().expect("bytes_read") >= 24 << 20);
    assert!(info["fetches"].as_u64().expect("fetches") > 0);
    assert_eq!(info["objects"][0]["source"], "movie");
    let text = stdout(&w.ok(&["replay", "info", r]));
    assert!(
        text.contains("duration:") && text.contains("movie:"),
        "{text}"
    );

    let dump = stdout(&w.ok(&["replay", "dump", r, "--json"]));
    let kinds: Vec<String> = dump
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).expect("JSON line")["kind"]
                .as_str()
                .expect("kind")
                .to_string()
        })
        .collect();
    for k in [
        "meta",
        "open",
        "read",
        "schedule",
        "fetch_start",
        "fetch_done",
        "cache_insert",
        "release",
        "digest",
        "stats",
    ] {
        assert!(kinds.iter().any(|x| x == k), "no {k} record in the dump");
    }
    assert_eq!(kinds.first().map(String::as_str), Some("meta"));

    let trace = w.path("trace.json");
    w.ok(&[
        "replay",
        "export",
        r,
        "--format",
        "chrome",
        "-o",
        trace.to_str().expect("utf-8"),
    ]);
    let t: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&trace).expect("trace")).expect("trace JSON");
    let events = t["traceEvents"].as_array().expect("events");
    assert!(events.iter().any(|e| e["ph"] == "b" && e["cat"] == "read"));
    assert!(events.iter().any(|e| e["ph"] == "e" && e["cat"] == "fetch"));

    // A rerun mounts the same object and gets the same bytes.
    let rerun: serde_json::Value =
        serde_json::from_str(&stdout(&w.ok(&["replay", "rerun", r, "--json"])))
            .expect("rerun JSON");
    assert!(
        rerun["digests_checked"].as_u64().expect("digests") >= 1,
        "{rerun}"
    );
    assert_eq!(
        rerun["digest_mismatches"].as_array().map(Vec::len),
        Some(0),
        "{rerun}"
    );
    assert_eq!(rerun["unexpected"], 0);
    w.ok(&["replay", "rerun", r, "--readahead", "fixed:4MiB"]);

    // The object replaced by other bytes: the rerun says the bytes differ and fails.
    put(&w, &random_bytes(24 << 20, 72), "movie", "8MiB");
    let out = w.mezzfs(&["replay", "rerun", r]);
    assert!(!out.status.success());
    let all = format!("{}{}", stdout(&out), stderr(&out));
    assert!(
        all.contains("returned different bytes") && all.contains("is version"),
        "{all}"
    );
}

/// A rerun keeps the recording's order of handles: one opened after another had finished
/// reading starts when that one is done (a tool working through files one after the other is
/// not rerun as parallel readers), and handles read together are still read together. The
/// rerun's own recording (`--record`) shows the order it kept.
#[test]
fn a_rerun_keeps_the_order_of_handles() {
    use std::io::Read;
    use std::os::unix::fs::FileExt;
    let w = World::new(Kind::S3);
    put(&w, &random_bytes(16 << 20, 73), "movie", "8MiB");
    let replay = w.path("order.mezzreplay");
    let r = replay.to_str().expect("utf-8");
    let m = Mount::start(
        &w,
        "mnt",
        &[
            "--object",
            "movie",
            "--range",
            "s1=movie:0+4MiB",
            "--range",
            "s2=movie:8MiB+4MiB",
            "--replay",
            r,
        ],
    );
    {
        let mut first = vec![0u8; 1 << 20];
        std::fs::File::open(m.dir.join("movie"))
            .expect("open movie")
            .read_exact(&mut first)
            .expect("read movie");
    }
    {
        let (a, b) = (
            std::fs::File::open(m.dir.join("s1")).expect("open s1"),
            std::fs::File::open(m.dir.join("s2")).expect("open s2"),
        );
        let mut buf = vec![0u8; 256 << 10];
        for i in 0..4 {
            a.read_exact_at(&mut buf, i * (256 << 10)).expect("read s1");
            b.read_exact_at(&mut buf, i * (256 << 10)).expect("read s2");
        }
    }
    w.ok(&["unmount", m.dir.to_str().expect("utf-8")]);
    assert!(
        m.wait_gone(Duration::from_secs(10)),
        "the mount did not end"
    );

    let again = w.path("again.mezzreplay");
    let a = again.to_str().expect("utf-8");
    w.ok(&["replay", "rerun", r, "--record", a]);
    // Files in the order the mount lists them: movie, s1, s2.
    let (movie, s1, s2) = (0, 1, 2);
    for (what, replay) in [("recorded", &replay), ("rerun", &again)] {
        let d = mezz_replays::decode(&std::fs::read(replay).expect("read replay")).expect("decode");
        let spans = mezz_replays::handle_spans(&d.records);
        let span = |file: u64| {
            spans
                .iter()
                .find(|s| s.file == file)
                .unwrap_or_else(|| panic!("{what}: file {file} was not opened: {spans:?}"))
        };
        let done_before = |a: u64, b: u64| span(a).done_before(span(b));
        assert!(done_before(movie, s1), "{what}: {spans:?}");
        assert!(done_before(movie, s2), "{what}: {spans:?}");
        assert!(!done_before(s1, s2), "{what}: {spans:?}");
        assert!(!done_before(s2, s1), "{what}: {spans:?}");
    }
}

#[test]
fn a_killed_mount_leaves_a_readable_replay() {
    let w = World::new(Kind::S3);
    put(&w, &random_bytes(16 << 20, 81), "movie", "8MiB");
    let replay = w.path("killed.mezzreplay");
    let r = replay.to_str().expect("utf-8");
    let m = Mount::start(&w, "mnt", &["--object", "movie", "--replay", r]);
    assert_eq!(
        std::fs::read(m.dir.join("movie")).expect("read").len(),
        16 << 20
    );
    std::thread::sleep(Duration::from_millis(1500)); // the recorder flushes every second
    Command::new("kill")
        .arg("-9")
        .arg(m.pid.to_string())
        .status()
        .expect("kill");
    assert!(
        m.wait_gone(Duration::from_secs(10)),
        "the mount did not end"
    );
    let info: serde_json::Value =
        serde_json::from_str(&stdout(&w.ok(&["replay", "info", r, "--json"]))).expect("info JSON");
    assert_eq!(info["clean_end"], false, "{info}");
    assert!(info["reads"].as_u64().expect("reads") > 0, "{info}");
    let text = stdout(&w.ok(&["replay", "info", r]));
    assert!(text.contains("did not end cleanly"), "{text}");

    // Garbage is refused with a clear message, not a panic.
    let junk = w.path("junk.mezzreplay");
    write(&junk, b"definitely not a replay");
    let msg = w.fails(&["replay", "info", junk.to_str().expect("utf-8")]);
    assert!(msg.contains("not a mezzfs replay"), "{msg}");
}

#[test]
fn the_batch_gate_passes_the_corpus_and_catches_a_slow_candidate() {
    let w = World::new(Kind::S3);
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../replays/corpus");
    let objects = std::fs::read_to_string(corpus.join("objects.txt")).expect("objects.txt");
    for line in objects.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        let (size, seed) = (f[1].parse().expect("size"), f[2].parse().expect("seed"));
        put(&w, &random_bytes(size, seed), f[0], "64MiB");
    }
    let c = corpus.to_str().expect("utf-8");
    // A nearby store made to cost what S3 does: 20 ms to first byte, 720 Mbit/s per request,
    // a 2 Gbit/s link. Timing on a shared 2-core machine is noisy, so this gate allows 25%;
    // bytes fetched are exact.
    let shape = [
        "--latency-ms",
        "20",
        "--request-mbit",
        "720",
        "--link-mbit",
        "2000",
    ];
    let mut args = vec![
        "replay",
        "batch",
        c,
        "--control",
        "fixed",
        "--candidate",
        "adaptive",
        "--runs",
        "2",
        "--threshold",
        "1.25",
        "--json",
    ];
    args.extend_from_slice(&shape);
    let out = w.mezzfs(&args);
    let rows: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("batch JSON");
    assert!(
        out.status.success(),
        "gate failed: {rows:#}\n{}",
        stderr(&out)
    );
    let row = |name: &str| {
        rows.as_array()
            .expect("rows")
            .iter()
            .find(|r| r["replay"] == name)
            .unwrap_or_else(|| panic!("no row for {name}"))
            .clone()
    };
    let sparse = row("sparse.mezzreplay");
    let (fixed, adaptive) = (
        sparse["control_fetched"].as_u64().expect("control"),
        sparse["candidate_fetched"].as_u64().expect("candidate"),
    );
    assert!(
        adaptive * 10 < fixed,
        "sparse: adaptive fetched {adaptive}, fixed {fixed}"
    );
    let dense = row("dense.mezzreplay");
    assert!(
        dense["ratio"].as_f64().expect("ratio") < 1.0,
        "dense: {dense}"
    );
    // The encoder's scene scan (luma read, chroma skipped in each frame) is one stream, not
    // a round trip per frame, and fetches no more than the fixed buffer.
    let scan = row("tool-scenes.mezzreplay");
    assert!(scan["ratio"].as_f64().expect("ratio") < 1.0, "scan: {scan}");
    for name in ["tool-scenes.mezzreplay", "tool-encode.mezzreplay"] {
        let r = row(name);
        let (fixed, adaptive) = (
            r["control_fetched"].as_u64().expect("control"),
            r["candidate_fetched"].as_u64().expect("candidate"),
        );
        assert!(adaptive <= fixed + fixed / 100, "{name}: {r}");
    }

    // The same gate with an impossible threshold fails, naming the replays.
    let mut strict = vec!["replay", "batch", c, "--runs", "1", "--threshold", "0.01"];
    strict.extend_from_slice(&shape);
    let msg = w.fails(&strict);
    assert!(msg.contains("the gate failed for"), "{msg}");
}

/// Writes through a writable directory reach the replay: a file written, renamed while open
/// and stored under its new name; a file refused after a backward write (EINVAL) and not
/// stored; `info`, `dump` and `export` show them, and `rerun` reruns the reads only.
#[test]
fn writes_are_recorded_and_shown_and_not_rerun() {
    use std::os::unix::fs::FileExt;

    let w = World::new(Kind::S3);
    let movie = random_bytes(2 << 20, 81);
    put(&w, &movie, "movie", "1MiB");
    let replay = w.path("writes.mezzreplay");
    let r = replay.to_str().expect("utf-8");
    let m = Mount::start(
        &w,
        "mnt",
        &[
            "--object",
            "movie",
            "--write-dir",
            "out=encodes/",
            "--read-timeout",
            "12s",
            "--replay",
            r,
        ],
    );
    assert!(std::fs::read(m.file("movie")).expect("read") == movie);
    let data = random_bytes((3 << 20) + 12345, 82);
    {
        let mut f = std::fs::File::create(m.file("out/.clip.tmp")).expect("create");
        std::io::Write::write_all(&mut f, &data).expect("write");
        std::fs::rename(m.file("out/.clip.tmp"), m.file("out/clip.ivf")).expect("rename");
    } // the close commits, under the new name
    {
        let f = std::fs::File::create(m.file("out/bad.bin")).expect("create");
        f.write_all_at(&[1; 4096], 0).expect("first write");
        let e = f.write_all_at(&[2; 10], 100).expect_err("a backward write");
        assert_eq!(e.raw_os_error(), Some(libc::EINVAL), "{e}");
    } // the close fails: nothing stored
    w.ok(&["unmount", m.dir.to_str().expect("utf-8")]);
    assert!(
        m.wait_gone(Duration::from_secs(10)),
        "the mount did not end"
    );

    let info: serde_json::Value =
        serde_json::from_str(&stdout(&w.ok(&["replay", "info", r, "--json"]))).expect("info JSON");
    assert_eq!(info["clean_end"], true, "{info}");
    assert_eq!(info["files_created"], 2, "{info}");
    assert_eq!(info["commits_ok"], 1, "{info}");
    assert_eq!(info["commits_failed"], 1, "{info}");
    assert_eq!(info["bytes_committed"], data.len() as u64, "{info}");
    assert_eq!(info["bytes_written"], data.len() as u64 + 4096, "{info}");
    assert_eq!(info["failed_writes"], 1, "{info}");
    assert_eq!(info["renames"], 1, "{info}");
    assert_eq!(info["failed_renames"], 0, "{info}");
    assert!(info["writes"].as_u64().expect("writes") >= 3, "{info}");
    assert!(info["bytes_read"].as_u64().expect("bytes_read") >= movie.len() as u64);
    let files = info["written_files"].as_array().expect("written_files");
    assert_eq!(files.len(), 2, "{info}");
    assert_eq!(files[0]["path"], "out/.clip.tmp");
    assert_eq!(files[0]["object"], "encodes/clip.ivf");
    assert_eq!(files[0]["bytes_written"], data.len() as u64);
    assert_eq!(files[0]["outcome"], "stored");
    assert_eq!(files[1]["path"], "out/bad.bin");
    assert_eq!(files[1]["bytes_written"], 4096);
    assert_eq!(files[1]["outcome"], "not stored");
    let text = stdout(&w.ok(&["replay", "info", r]));
    assert!(
        text.contains("commits:      1 stored")
            && text.contains("1 not stored")
            && text.contains("out/.clip.tmp: 4 writes, 3.0 MiB, stored as encodes/clip.ivf")
            && text.contains("out/bad.bin: 1 writes, 0.0 MiB, not stored (encodes/bad.bin)"),
        "{text}"
    );

    let dump = stdout(&w.ok(&["replay", "dump", r, "--json"]));
    let records: Vec<serde_json::Value> = dump
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON line"))
        .collect();
    let rename = records
        .iter()
        .find(|x| x["kind"] == "rename")
        .expect("a rename record");
    assert_eq!(rename["from"], "out/.clip.tmp");
    assert_eq!(rename["to"], "out/clip.ivf");
    assert_eq!(rename["ok"], true);
    let refused = records
        .iter()
        .find(|x| x["kind"] == "write" && x["ok"] == false)
        .expect("the refused write");
    assert_eq!(
        (refused["offset"].as_u64(), refused["len"].as_u64()),
        (Some(100), Some(10))
    );
    assert!(
        records.iter().any(|x| x["kind"] == "error"
            && x["message"]
                .as_str()
                .is_some_and(|m| m.contains("encodes/bad.bin"))),
        "the failed commit's reason is recorded"
    );

    let trace: serde_json::Value =
        serde_json::from_str(&stdout(&w.ok(&["replay", "export", r]))).expect("trace JSON");
    let events = trace["traceEvents"].as_array().expect("events");
    assert!(events.iter().any(|e| e["ph"] == "b" && e["cat"] == "write"));
    assert!(
        events
            .iter()
            .any(|e| e["ph"] == "e" && e["cat"] == "commit")
    );

    // The rerun performs the reads (same bytes) and says the writes were not rerun.
    let stored = listed(&w, "encodes/");
    assert!(
        stored.contains("encodes/clip.ivf")
            && !stored.contains("bad.bin")
            && !stored.contains(".clip.tmp"),
        "{stored}"
    );
    let rerun: serde_json::Value =
        serde_json::from_str(&stdout(&w.ok(&["replay", "rerun", r, "--json"])))
            .expect("rerun JSON");
    assert_eq!(rerun["unexpected"], 0, "{rerun}");
    assert_eq!(rerun["digest_mismatches"].as_array().map(Vec::len), Some(0));
    assert!(
        rerun["writes_not_rerun"]
            .as_u64()
            .expect("writes_not_rerun")
            >= 6,
        "{rerun}"
    );
    assert_eq!(listed(&w, "encodes/"), stored, "the rerun stored nothing");

    // A mount of a writable directory alone: nothing to rerun, and the gate skips it.
    let only_dir = w.path("write-only");
    std::fs::create_dir(&only_dir).expect("dir");
    let only = only_dir.join("w.mezzreplay");
    let o = only.to_str().expect("utf-8");
    let m = Mount::start(&w, "mnt2", &["--write-dir", "out=encodes/", "--replay", o]);
    std::fs::write(m.file("out/small.bin"), b"small").expect("write");
    w.ok(&["unmount", m.dir.to_str().expect("utf-8")]);
    assert!(
        m.wait_gone(Duration::from_secs(10)),
        "the mount did not end"
    );
    let info: serde_json::Value =
        serde_json::from_str(&stdout(&w.ok(&["replay", "info", o, "--json"]))).expect("info JSON");
    assert_eq!(
        (
            info["commits_ok"].as_u64(),
            info["bytes_committed"].as_u64()
        ),
        (Some(1), Some(5))
    );
    let msg = w.fails(&["replay", "rerun", o]);
    assert!(
        msg.contains("nothing to rerun") && msg.contains("writes are not rerun"),
        "{msg}"
    );
    let out = w.ok(&[
        "replay",
        "batch",
        only_dir.to_str().expect("utf-8"),
        "--runs",
        "1",
    ]);
    assert!(stderr(&out).contains("skipped"), "{}", stderr(&out));
}

fn listed(w: &World, prefix: &str) -> String {
    stdout(&w.ok(&["ls", prefix]))
}
