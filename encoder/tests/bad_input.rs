//! Corrupt, truncated and unsupported Y4M input is refused with a message naming the problem,
//! never a panic, and no output is written.

mod common;

use common::*;

fn refused(dir: &std::path::Path, bytes: &[u8]) -> String {
    let input = dir.join("bad.y4m");
    std::fs::write(&input, bytes).expect("write");
    let out = dir.join("out.ivf");
    let err = failed(&run(&a!["encode", &input, "-o", &out, "--speed", "10"]));
    assert!(!out.exists(), "no output for bad input");
    let scenes_err = failed(&run(&a!["scenes", &input]));
    assert!(scenes_err.contains("bad.y4m"), "{scenes_err}");
    err
}

#[test]
fn bad_y4m_is_rejected_with_a_clear_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let clip = std::fs::read(y4m(dir.path(), "clip.y4m", 3, "yuv420p")).expect("read");
    let header_len = clip.iter().position(|&b| b == b'\n').expect("header") + 1;
    let stride = (clip.len() - header_len) / 3;

    let cases: Vec<(Vec<u8>, &str)> = vec![
        (
            clip[..clip.len() - 100].to_vec(),
            "truncated Y4M: 2 whole frames",
        ),
        (clip[..20].to_vec(), "header ends before its end of line"),
        (b"RIFF\0\0\0\0WAVEfmt ".to_vec(), "not a Y4M stream"),
        (
            b"YUV4MPEG2 W320 H136 F25:1 C444\nFRAME\n".to_vec(),
            "unsupported Y4M colour space 'C444'",
        ),
        (
            b"YUV4MPEG2 W320 H136 F25:1 It C420jpeg\n".to_vec(),
            "only progressive",
        ),
        (b"YUV4MPEG2 W0 H136\n".to_vec(), "width must be"),
        (
            b"YUV4MPEG2 W320 H136 Fx:1\n".to_vec(),
            "expected F<num>:<den>",
        ),
        (
            {
                let mut c = clip.clone();
                c[header_len + stride..header_len + stride + 6].copy_from_slice(b"FRAMX\n");
                c
            },
            "frame 1: expected the marker",
        ),
        (Vec::new(), "not a Y4M stream"),
    ];
    for (bytes, expected) in cases {
        let err = refused(dir.path(), &bytes);
        assert!(err.contains(expected), "expected '{expected}' in: {err}");
    }
}

#[test]
fn bad_options_are_rejected() {
    let dir = tempfile::tempdir().expect("tempdir");
    let clip = y4m(dir.path(), "clip.y4m", 3, "yuv420p");
    let out = dir.path().join("out.avi");
    let err = failed(&run(&a!["encode", &clip, "-o", &out]));
    assert!(err.contains("use .ivf, .mp4 or .webm"), "{err}");
    let ivf = dir.path().join("out.ivf");
    let err = failed(&run(&a!["encode", &clip, "-o", &ivf, "--tiles", "3"]));
    assert!(err.contains("power of two"), "{err}");
    let err = failed(&run(&a![
        "encode",
        &clip,
        "-o",
        &ivf,
        "--min-scene-len",
        "10",
        "--max-scene-len",
        "12"
    ]));
    assert!(err.contains("at most half the maximum"), "{err}");
    let err = failed(&run(&a!["encode", &clip, "-o", &ivf, "--speed", "11"]));
    assert!(err.contains("11"), "{err}");
}

/// Options that cannot mean anything are refused before any work, in the tool's one-line
/// error style, and nothing is created.
#[test]
fn impossible_options_are_refused_before_any_work() {
    let dir = tempfile::tempdir().expect("tempdir");
    let clip = y4m(dir.path(), "clip.y4m", 3, "yuv420p");
    let ivf = dir.path().join("out.ivf");
    let err = failed(&run(&a!["encode", &clip, "-o", &ivf, "--workers", "0"]));
    assert!(err.contains("--workers 0: give at least 1"), "{err}");
    // Before: `/nonexist/` was created for the work directory.
    let missing = dir.path().join("nonexist");
    let err = failed(&run(&a!["encode", &clip, "-o", missing.join("x.ivf")]));
    assert!(err.contains("does not exist"), "{err}");
    assert!(!missing.exists(), "no directory created");
    // Before: the input file was silently ignored for --scene-dir.
    let list = dir.path().join("scenes.json");
    ok(&run(&a!["scenes", &clip, "-o", &list]));
    let err = failed(&run(&a![
        "encode",
        &clip,
        "-o",
        &ivf,
        "--scenes",
        &list,
        "--scene-dir",
        dir.path()
    ]));
    assert!(err.contains("not both"), "{err}");
    let err = failed(&run(&a!["encode", &clip, "-o", &ivf, "--tiles", "some"]));
    assert!(err.contains("power of two or 'auto'"), "{err}");
    assert!(!ivf.exists());
    for out in [
        run(&a!["encode", &clip, "-o", &ivf, "--workers", "0"]),
        run(&a!["scenes", dir.path().join("missing.y4m")]),
    ] {
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.starts_with("segment-encode: error: ") && err.lines().count() == 1,
            "one clean line: {err}"
        );
    }
}
