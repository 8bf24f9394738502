//! End to end: the real `replay-viz` binary in a real terminal (a tmux pane), driven by key
//! presses and read back with capture-pane. Each test runs its own tmux server on its own
//! socket. tmux comes from scripts/test.sh.

use std::path::PathBuf;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

struct Tmux {
    socket: String,
}

impl Tmux {
    /// Starts `replay-viz ARGS` in a detached w × h pane; the shell around it reports how the
    /// terminal was left once the viewer exits, then waits so the pane can still be read.
    fn start(name: &str, args: &[&str], w: u16, h: u16) -> Tmux {
        let socket = format!("mezz-viz-{name}-{}", std::process::id());
        let bin = env!("CARGO_BIN_EXE_replay-viz");
        let quoted: Vec<String> = args.iter().map(|a| format!("'{a}'")).collect();
        let script = format!(
            "'{bin}' {}; echo \"EXITED $?\"; stty -a | tr ' ' '\\n' | grep -x -- '-\\?icanon'; sleep 60",
            quoted.join(" ")
        );
        let t = Tmux { socket };
        let out = t.tmux(&[
            "new-session",
            "-d",
            "-x",
            &w.to_string(),
            "-y",
            &h.to_string(),
            "-s",
            "viz",
            "sh",
            "-c",
            &script,
        ]);
        assert!(
            out.status.success(),
            "tmux: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        t
    }

    fn tmux(&self, args: &[&str]) -> Output {
        Command::new("tmux")
            .args(["-L", &self.socket, "-f", "/dev/null"])
            .args(args)
            .env_remove("TMUX")
            .env("TERM", "xterm-256color")
            .output()
            .expect("tmux must be installed (scripts/test.sh installs it)")
    }

    fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", "viz"];
        args.extend_from_slice(keys);
        assert!(self.tmux(&args).status.success());
    }

    fn capture(&self, escapes: bool) -> String {
        let mut args = vec!["capture-pane", "-p", "-t", "viz"];
        if escapes {
            args.push("-e");
        }
        String::from_utf8_lossy(&self.tmux(&args).stdout).into_owned()
    }

    /// Captures until `ok` holds on a settled screen (two captures 30 ms apart agree, so a
    /// frame half written out is never judged), for at most 15 s.
    fn wait_for(&self, what: &str, ok: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let screen = self.capture(false);
            if ok(&screen) {
                std::thread::sleep(Duration::from_millis(30));
                if self.capture(false) == screen {
                    return screen;
                }
                continue;
            }
            assert!(
                Instant::now() < deadline,
                "waited for {what}; screen:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.tmux(&["kill-server"]);
    }
}

fn corpus(name: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../replays/corpus")
        .join(name)
        .display()
        .to_string()
}

/// The byte map's rows: what lies between the first two `│` of each bordered map row.
fn map_rows(screen: &str) -> Vec<String> {
    screen
        .lines()
        .skip(2)
        .filter_map(|l| l.strip_prefix('│'))
        .filter_map(|l| l.split('│').next())
        .map(str::to_string)
        .collect()
}

fn count(rows: &[String], glyphs: &[char]) -> usize {
    rows.iter()
        .flat_map(|r| r.chars())
        .filter(|c| glyphs.contains(c))
        .count()
}

fn event_number(screen: &str) -> u64 {
    let first = screen.lines().next().unwrap_or_default();
    let after = first.split("event ").nth(1).unwrap_or_default();
    after
        .split('/')
        .next()
        .unwrap_or_default()
        .trim()
        .parse()
        .unwrap_or(0)
}

#[test]
fn dense_replay_fills_a_band_as_it_plays_and_q_restores_the_terminal() {
    let t = Tmux::start("dense", &["--glyphs", &corpus("dense.mezzreplay")], 120, 36);
    let start = t.wait_for("the viewer", |s| {
        s.contains("dense.mezzreplay") && s.contains("legend")
    });
    assert_eq!(
        count(&map_rows(&start), &['#', '+']),
        0,
        "nothing returned before the start"
    );

    let mut filled = Vec::new();
    for at in ["25%", "50%", "75%"] {
        t.keys(&["g"]);
        t.keys(&["-l", at]);
        t.keys(&["Enter"]);
        let s = t.wait_for(at, |s| !s.contains("go to (") && event_number(s) > 0);
        let rows = map_rows(&s);
        let read = count(&rows, &['#', '+']);
        // A band: every row above the last one holding returned bytes is full of them.
        let last = rows
            .iter()
            .rposition(|r| r.contains('#') || r.contains('+'))
            .expect("band");
        for r in &rows[..last] {
            assert!(!r.contains('.'), "{at}: a gap above the band's edge:\n{s}");
        }
        filled.push(read);
    }
    assert!(
        filled.windows(2).all(|w| w[0] < w[1]),
        "the band grows: {filled:?}"
    );

    // Playing moves the event counter on its own.
    t.keys(&["Home"]);
    t.keys(&["-l", "0"]);
    let before = event_number(&t.wait_for("start", |s| s.contains("⏸")));
    t.keys(&["Space"]);
    t.wait_for("playback to move on", |s| event_number(s) > before + 10);

    t.keys(&["q"]);
    // The shell prints the exit status, then the terminal's icanon flag.
    let after = t.wait_for("exit", |s| s.contains("EXITED") && s.contains("icanon"));
    assert!(after.contains("EXITED 0"), "{after}");
    // Cooked mode again: the line discipline's icanon flag is back on.
    assert!(
        after.lines().any(|l| l.trim() == "icanon"),
        "terminal left in raw mode:\n{after}"
    );
}

#[test]
fn sparse_replay_scatters_marks_and_keys_switch_views() {
    let t = Tmux::start(
        "sparse",
        &["--glyphs", &corpus("sparse.mezzreplay")],
        120,
        36,
    );
    t.wait_for("the viewer", |s| s.contains("sparse.mezzreplay"));
    t.keys(&["End"]);
    let s = t.wait_for("the end", |s| event_number(s) > 600);
    let rows = map_rows(&s);
    let marks: usize = rows
        .iter()
        .map(|r| {
            r.split(|c| c != '#' && c != '+')
                .filter(|run| !run.is_empty())
                .count()
        })
        .sum();
    assert!(marks >= 20, "{marks} scattered marks:\n{s}");
    let read = count(&rows, &['#', '+']);
    let cells = count(&rows, &['#', '+', '.', 'o', 'x', '~', ':', '!']);
    assert!(
        read * 10 < cells,
        "sparse reads cover little of the object:\n{s}"
    );

    // Help overlay, then colours: the map becomes half blocks with 24-bit colours.
    t.keys(&["?"]);
    t.wait_for("help", |s| {
        s.contains(" keys ") && s.contains("go to a time")
    });
    t.keys(&["Escape"]);
    t.wait_for("help closed", |s| !s.contains("go to a time"));
    t.keys(&["m"]);
    t.wait_for("colour map", |s| s.contains('▀'));
    let coloured = t.capture(true);
    assert!(coloured.contains("\u{1b}["), "colour escapes in the pane");

    // A narrower terminal drops the side panel and redraws the map to fit.
    assert!(
        t.tmux(&["resize-window", "-t", "viz", "-x", "70", "-y", "20"])
            .status
            .success()
    );
    let small = t.wait_for("the redraw", |s| {
        !s.contains("legend") && s.contains("object 1/1")
    });
    assert!(small.lines().all(|l| l.chars().count() <= 70), "{small}");
    assert!(
        t.tmux(&["resize-window", "-t", "viz", "-x", "120", "-y", "36"])
            .status
            .success()
    );
    t.wait_for("the panel again", |s| s.contains("legend"));

    // Step back one event at a time.
    let n = event_number(&t.capture(false));
    t.keys(&[","]);
    t.wait_for("step back", |s| event_number(s) == n - 1);

    // A bad time is explained, not fatal.
    t.keys(&["g"]);
    t.keys(&["-l", "later"]);
    t.keys(&["Enter"]);
    t.wait_for("the explanation", |s| {
        s.contains("not a moment in the replay")
    });

    t.keys(&["C-c"]);
    let after = t.wait_for("exit", |s| s.contains("EXITED"));
    assert!(after.contains("EXITED 0"), "{after}");
}

#[test]
fn snapshot_prints_a_frame_and_bad_input_is_explained() {
    let bin = env!("CARGO_BIN_EXE_replay-viz");
    let out = Command::new(bin)
        .args([
            &corpus("scenes.mezzreplay"),
            "--snapshot-at",
            "end",
            "--width",
            "100",
            "--height",
            "30",
        ])
        .output()
        .expect("run");
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(text.lines().count(), 30);
    assert!(text.contains("scene-0002") && text.contains('#'), "{text}");

    let dir = tempfile::tempdir().expect("tempdir");
    let junk = dir.path().join("junk.mezzreplay");
    std::fs::write(&junk, b"definitely not a replay").expect("write");
    let cases: [(&[&str], &str); 4] = [
        (
            &[junk.to_str().unwrap_or_default(), "--snapshot-at", "end"],
            "not a mezzfs replay",
        ),
        (
            &["/nonexistent/x.mezzreplay", "--snapshot-at", "end"],
            "reading /nonexistent",
        ),
        (
            &[&corpus("dense.mezzreplay"), "--snapshot-at", "soon"],
            "not a moment",
        ),
        (
            &[
                &corpus("dense.mezzreplay"),
                "--object",
                "3",
                "--snapshot-at",
                "end",
            ],
            "has 1 object",
        ),
    ];
    for (args, want) in cases {
        let out = Command::new(bin).args(args).output().expect("run");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            !out.status.success() && err.contains(want),
            "{args:?}: {err}"
        );
    }
    // Not a terminal: the viewer says how to get text instead.
    let out = Command::new(bin)
        .arg(corpus("dense.mezzreplay"))
        .output()
        .expect("run");
    assert!(String::from_utf8_lossy(&out.stderr).contains("--snapshot-at"));
}

/// A replay holding writes: `--snapshot-at` shows the bytes written, the files stored and not,
/// and a written-throughput row; a replay of writable directories alone opens too.
#[test]
fn snapshot_shows_what_was_written() {
    use mezz_replays::{FileMeta, Meta, ObjectMeta, Record, ReplayWriter};

    let write = |objects: bool| -> Vec<u8> {
        let mut meta = Meta::default();
        if objects {
            meta.objects.push(ObjectMeta {
                source: "movie".into(),
                size: 1 << 20,
                version: "v".into(),
                segment_size: 1 << 16,
            });
            meta.files.push(FileMeta {
                path: "movie".into(),
                object: 0,
                offset: 0,
                len: 1 << 20,
            });
        }
        let mut w = ReplayWriter::new(Vec::new(), meta).expect("writer");
        let mut push = |r: Record| w.push(&r).expect("push");
        if objects {
            push(Record::Open {
                t: 0,
                handle: 1,
                file: 0,
            });
            for i in 0..4 {
                push(Record::Read {
                    t: 10 + i * 100,
                    handle: 1,
                    offset: i << 18,
                    len: 1 << 18,
                    dur: 50,
                    ok: true,
                });
            }
        }
        push(Record::Create {
            t: 500,
            handle: 2,
            path: "out/clip.ivf".into(),
        });
        for i in 0..6 {
            push(Record::Write {
                t: 600 + i * 1000,
                handle: 2,
                offset: i << 19,
                len: 1 << 19,
                dur: 200,
                ok: true,
            });
        }
        push(Record::Commit {
            t: 7000,
            handle: 2,
            object: "encodes/clip.ivf".into(),
            bytes: 3 << 20,
            dur: 900,
            ok: true,
        });
        push(Record::Create {
            t: 8000,
            handle: 3,
            path: "out/bad.bin".into(),
        });
        push(Record::Write {
            t: 8100,
            handle: 3,
            offset: 0,
            len: 4096,
            dur: 20,
            ok: true,
        });
        push(Record::Write {
            t: 8200,
            handle: 3,
            offset: 100,
            len: 10,
            dur: 5,
            ok: false,
        });
        push(Record::Commit {
            t: 8300,
            handle: 3,
            object: "encodes/bad.bin".into(),
            bytes: 4096,
            dur: 30,
            ok: false,
        });
        w.finish(serde_json::json!({})).expect("finish")
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let snapshot = |name: &str, bytes: &[u8], at: &str| -> String {
        let file = dir.path().join(name);
        std::fs::write(&file, bytes).expect("write replay");
        let out = Command::new(env!("CARGO_BIN_EXE_replay-viz"))
            .args([
                file.to_str().unwrap_or_default(),
                "--snapshot-at",
                at,
                "--width",
                "120",
                "--height",
                "44",
            ])
            .output()
            .expect("run");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let both = write(true);
    let end = snapshot("both.mezzreplay", &both, "end");
    assert!(
        end.contains("written    3.0 MiB  7 writes, 1 refused")
            && end.contains("files   2 created, 1 stored, 1 not stored"),
        "{end}"
    );
    assert!(end.contains("1.0 MiB  4 reads"), "{end}");
    assert!(
        end.contains("read / fetched / written") && end.contains("written "),
        "{end}"
    );
    // Before the second file: one stored, nothing refused yet.
    let mid = snapshot("both.mezzreplay", &both, "7950us");
    assert!(
        mid.contains("written    3.0 MiB  6 writes ")
            && mid.contains("files   1 created, 1 stored, 0 not stored"),
        "{mid}"
    );

    let only = snapshot("only.mezzreplay", &write(false), "end");
    assert!(
        only.contains("this replay only wrote") && only.contains("2 created, 1 stored"),
        "{only}"
    );
}
