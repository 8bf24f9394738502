//! End-to-end encodes of the bikes excerpt through the binary, checked by independent
//! decoders (dav1d, ffmpeg): frame counts, PSNR, byte-identity with a single pass, the MP4
//! and WebM containers, 10-bit input, scene range files, resume after `kill -9`.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::*;
use segment_encode::{SceneList, ivf};

/// Settings shared by the exactness tests: fixed quantizer, one tile, fastest preset.
const FAST: [&str; 6] = ["--speed", "10", "--quantizer", "100", "--tiles", "1"];

fn encode(input: &Path, out: &Path, extra: &[&str]) -> String {
    let mut args = a!["encode", input, "-o", out].to_vec();
    args.extend(FAST.iter().map(Into::into));
    args.extend(extra.iter().map(Into::into));
    ok(&run(&args))
}

/// Finished scenes in a work directory (their stats files; not half-written temporaries).
fn done_marks(work: &Path) -> usize {
    std::fs::read_dir(work.join("done"))
        .map(|d| {
            d.flatten()
                .filter(|e| e.path().extension().is_some_and(|x| x == "json"))
                .count()
        })
        .unwrap_or(0)
}

/// Scenes the run encoded, from its per-scene lines (`scene 3: 40 frames, ...`).
fn encoded_scenes(log: &str) -> usize {
    log.lines()
        .filter(|l| l.starts_with("scene ") && l.contains(" frames, "))
        .count()
}

#[test]
fn scenes_are_found_at_the_shot_cuts() {
    let dir = tempfile::tempdir().expect("tempdir");
    let clip = y4m(dir.path(), "bikes.y4m", 250, "yuv420p");
    let list_path = dir.path().join("scenes.json");
    let spec_path = dir.path().join("spec.json");
    ok(&run(&a![
        "scenes",
        &clip,
        "-o",
        &list_path,
        "--mezzfs-spec",
        &spec_path,
        "--mezzfs-source",
        "s3://bucket/bikes.y4m"
    ]));
    let (list, header) = SceneList::parse(&std::fs::read_to_string(&list_path).expect("read"))
        .expect("a valid scene list");
    assert_eq!(list.detected_cuts, vec![30, 76, 137, 187, 242]);
    let bounds: Vec<(u64, u64)> = list.scenes.iter().map(|s| (s.start, s.end)).collect();
    // 242..250 is shorter than the default minimum of 12 frames and joins the scene before.
    assert_eq!(
        bounds,
        vec![(0, 30), (30, 76), (76, 137), (137, 187), (187, 250)]
    );
    let bytes = std::fs::read(&clip).expect("read clip");
    for s in &list.scenes {
        let at = s.offset as usize;
        assert_eq!(
            &bytes[at..at + 6],
            b"FRAME\n",
            "scene {} starts at a frame",
            s.index
        );
        assert_eq!(s.len, (s.end - s.start) * header.frame_stride());
    }
    let spec: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&spec_path).expect("read")).expect("json");
    let ranges = spec["ranges"].as_array().expect("ranges");
    assert_eq!(ranges.len(), 6, "header.y4m and one file per scene");
    assert_eq!(ranges[2]["file"], "scene-0001.y4m");
    assert_eq!(ranges[2]["source"], "s3://bucket/bikes.y4m");
    assert_eq!(ranges[2]["offset"], list.scenes[1].offset);
}

#[test]
fn one_frame_flashes_are_not_cuts() {
    let dir = tempfile::tempdir().expect("tempdir");
    let clip = dir.path().join("flash.y4m");
    // Frames 100 and 160 (inside shots) turned near white, as a camera flash would.
    let status = std::process::Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-i"])
        .arg(excerpt())
        .args(["-vf", "lutyuv=y=235:enable='eq(n,100)+eq(n,160)'"])
        .args(["-pix_fmt", "yuv420p", "-strict", "-1"])
        .arg(&clip)
        .status()
        .expect("ffmpeg runs");
    assert!(status.success());
    let list_path = dir.path().join("scenes.json");
    ok(&run(&a!["scenes", &clip, "-o", &list_path]));
    let (list, _) = SceneList::parse(&std::fs::read_to_string(&list_path).expect("read"))
        .expect("a valid scene list");
    assert_eq!(list.detected_cuts, vec![30, 76, 137, 187, 242]);
}

#[test]
fn chunked_encode_is_byte_identical_to_a_single_pass_and_decodes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let clip = y4m(dir.path(), "clip.y4m", 60, "yuv420p");
    let limits = ["--min-scene-len", "6", "--max-scene-len", "20"];
    let chunked = dir.path().join("chunked.ivf");
    let log = encode(
        &clip,
        &chunked,
        &[&limits[..], &["--workers", "2"]].concat(),
    );
    // Cut at 30, scenes split to at most 20 frames: 0-15, 15-30, 30-45, 45-60.
    assert_eq!(encoded_scenes(&log), 4, "{log}");
    let single = dir.path().join("single.ivf");
    encode(
        &clip,
        &single,
        &[&limits[..], &["--single-pass", "--workers", "1"]].concat(),
    );

    let (a, b) = (
        std::fs::read(&chunked).expect("read"),
        std::fs::read(&single).expect("read"),
    );
    let (ha, fa) = ivf::parse(&a).expect("chunked IVF parses");
    let (hb, fb) = ivf::parse(&b).expect("single IVF parses");
    assert_eq!((ha.frames, fa.len()), (60, 60));
    assert_eq!(ha, hb);
    for (i, (x, y)) in fa.iter().zip(&fb).enumerate() {
        assert_eq!(x.pts, i as u64);
        assert!(x == y, "frame {i} differs between chunked and single pass");
    }
    assert!(a == b, "the files are identical");

    let decoded = dir.path().join("decoded.y4m");
    assert_eq!(dav1d_frames(&chunked, &decoded), 60);
    let psnr = psnr_y(&decoded, &clip);
    assert!(psnr > 36.0, "PSNR-Y {psnr:.2} dB at q100");
}

#[test]
fn mp4_output_decodes_to_every_frame() {
    let dir = tempfile::tempdir().expect("tempdir");
    let clip = y4m(dir.path(), "clip.y4m", 40, "yuv420p");
    let out = dir.path().join("out.mp4");
    encode(
        &clip,
        &out,
        &["--min-scene-len", "5", "--max-scene-len", "10", "--psnr"],
    );
    assert_eq!(ffmpeg_frames(&out), 40);
    let decoded = dir.path().join("decoded.y4m");
    let status = std::process::Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-i"])
        .arg(&out)
        .args(["-strict", "-1"])
        .arg(&decoded)
        .status()
        .expect("ffmpeg runs");
    assert!(status.success());
    assert_eq!(count_y4m_frames(&decoded), 40);
    assert!(psnr_y(&decoded, &clip) > 36.0);
}

/// Frames ffmpeg decodes from `path` as raw YUV, and their presentation times in seconds.
fn ffmpeg_decode(path: &Path) -> (Vec<u8>, Vec<f64>) {
    let raw = std::process::Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-i"])
        .arg(path)
        .args(["-f", "rawvideo", "-pix_fmt", "yuv420p", "-"])
        .output()
        .expect("ffmpeg runs");
    assert!(
        raw.status.success(),
        "ffmpeg: {}",
        String::from_utf8_lossy(&raw.stderr)
    );
    let times = std::process::Command::new("ffprobe")
        .args(["-v", "error", "-select_streams", "v:0", "-show_entries"])
        .args(["frame=pts_time", "-of", "csv=p=0"])
        .arg(path)
        .output()
        .expect("ffprobe runs");
    let times = String::from_utf8_lossy(&times.stdout)
        .lines()
        .map(|l| l.trim().parse().expect("a time"))
        .collect();
    (raw.stdout, times)
}

#[test]
fn webm_output_decodes_to_the_ivf_frames_at_the_frame_times() {
    let dir = tempfile::tempdir().expect("tempdir");
    let clip = y4m(dir.path(), "clip.y4m", 40, "yuv420p");
    let limits = ["--min-scene-len", "5", "--max-scene-len", "10"];
    let ivf_out = dir.path().join("out.ivf");
    let webm_out = dir.path().join("out.webm");
    encode(&clip, &ivf_out, &limits);
    encode(&clip, &webm_out, &limits);
    assert_eq!(ffmpeg_frames(&webm_out), 40);
    let (ivf_frames, _) = ffmpeg_decode(&ivf_out);
    let (webm_frames, times) = ffmpeg_decode(&webm_out);
    assert_eq!(ivf_frames.len(), 40 * 320 * 136 * 3 / 2);
    assert!(
        ivf_frames == webm_frames,
        "the WebM holds other frames than the IVF"
    );
    let expected: Vec<f64> = (0..40).map(|i| f64::from(i) * 0.04).collect();
    assert_eq!(times.len(), 40);
    for (got, want) in times.iter().zip(&expected) {
        assert!((got - want).abs() < 0.0015, "frame times {times:?}");
    }
}

#[test]
fn ten_bit_input_encodes_and_decodes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let clip = y4m(dir.path(), "clip10.y4m", 12, "yuv420p10le");
    let out = dir.path().join("out.ivf");
    encode(
        &clip,
        &out,
        &["--min-scene-len", "3", "--max-scene-len", "6"],
    );
    let decoded = dir.path().join("decoded.y4m");
    assert_eq!(dav1d_frames(&out, &decoded), 12);
    let header = std::fs::read(&decoded).expect("read");
    let header = segment_encode::y4m::parse_header(&header).expect("header");
    assert_eq!(header.depth.0, 10);
    assert!(psnr_y(&decoded, &clip) > 36.0);
}

#[test]
fn scene_range_files_give_the_same_output_as_the_whole_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let clip = y4m(dir.path(), "clip.y4m", 45, "yuv420p");
    let list_path = dir.path().join("scenes.json");
    ok(&run(&a![
        "scenes",
        &clip,
        "-o",
        &list_path,
        "--min-scene-len",
        "5",
        "--max-scene-len",
        "20"
    ]));
    let (list, _) =
        SceneList::parse(&std::fs::read_to_string(&list_path).expect("read")).expect("scene list");
    // What a mezzfs mount of the spec shows: one file per scene holding exactly its bytes.
    let mount = dir.path().join("mount");
    std::fs::create_dir(&mount).expect("mkdir");
    let bytes = std::fs::read(&clip).expect("read");
    for s in &list.scenes {
        let range = &bytes[s.offset as usize..(s.offset + s.len) as usize];
        std::fs::write(mount.join(&s.file), range).expect("write range file");
    }
    let whole = dir.path().join("whole.ivf");
    encode(
        &clip,
        &whole,
        &["--scenes", list_path.to_str().expect("utf-8")],
    );
    let ranged = dir.path().join("ranged.ivf");
    let mut args = a![
        "encode",
        "-o",
        &ranged,
        "--scenes",
        &list_path,
        "--scene-dir",
        &mount
    ]
    .to_vec();
    args.extend(FAST.iter().map(Into::into));
    ok(&run(&args));
    assert!(
        std::fs::read(&whole).ok() == std::fs::read(&ranged).ok(),
        "same stream from ranges"
    );

    // A range file cut short is refused with the file named.
    let first = mount.join(&list.scenes[0].file);
    let len = std::fs::metadata(&first).expect("stat").len();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&first)
        .expect("open")
        .set_len(len - 7)
        .expect("truncate");
    let err = failed(&run(&args));
    assert!(
        err.contains("scene-0000.y4m") && err.contains("truncated"),
        "{err}"
    );
}

#[test]
fn resume_after_kill_encodes_only_the_missing_scenes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let clip = y4m(dir.path(), "clip.y4m", 250, "yuv420p");
    let reference = dir.path().join("reference.ivf");
    let log = encode(
        &clip,
        &reference,
        &["--workers", "1", "--max-scene-len", "40"],
    );
    // Cuts at 30, 76, 137, 187 (242 is too close to the end), scenes split to at most 40
    // frames: 30, 23+23, 30+31, 25+25, 31+32.
    let scenes_total = encoded_scenes(&log);
    assert_eq!(scenes_total, 9, "{log}");

    let out = dir.path().join("out.ivf");
    let work = dir.path().join("work");
    let mut args = a![
        "encode",
        &clip,
        "-o",
        &out,
        "--work-dir",
        &work,
        "--workers",
        "1"
    ]
    .to_vec();
    args.extend(FAST.iter().map(Into::into));
    args.extend(a!["--max-scene-len", "40"]);
    let mut child = std::process::Command::new(BIN)
        .args(&args)
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn");
    // Kill -9 as soon as two scenes are done.
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let done = done_marks(&work);
        if done >= 2 {
            break;
        }
        assert!(Instant::now() < deadline, "no scene finished in time");
        assert!(
            child.try_wait().expect("wait").is_none(),
            "finished before it could be killed"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().expect("SIGKILL");
    child.wait().expect("reap");
    let done_before = done_marks(&work);
    assert!(!out.exists(), "killed before the output was written");

    let log = ok(&run(&args));
    let resumed = format!("resumed: {done_before} scenes");
    assert!(log.contains(&resumed), "{log}");
    assert_eq!(encoded_scenes(&log), scenes_total - done_before, "{log}");
    assert!(
        std::fs::read(&out).ok() == std::fs::read(&reference).ok(),
        "resumed output identical"
    );
}

/// Default settings (no --tiles) give the same bytes whatever the worker count and however
/// the workers are scheduled. Before, a scene got one or two tiles depending on which worker
/// took it first, so two runs with --workers 2 could differ.
#[test]
fn default_encodes_are_reproducible_whatever_the_workers() {
    let dir = tempfile::tempdir().expect("tempdir");
    // Cuts at 30 and 76: scenes 0..30, 30..76, 76..100.
    let clip = y4m(dir.path(), "clip.y4m", 100, "yuv420p");
    let outputs: Vec<Vec<u8>> = [("a", "2"), ("b", "2"), ("c", "1"), ("d", "3")]
        .iter()
        .map(|(name, workers)| {
            let out = dir.path().join(format!("{name}.ivf"));
            let log = ok(&run(&a![
                "encode",
                &clip,
                "-o",
                &out,
                "--speed",
                "10",
                "--workers",
                workers
            ]));
            assert_eq!(encoded_scenes(&log), 3, "{log}");
            assert!(
                log.lines()
                    .filter(|l| l.starts_with("scene ") && l.contains(" frames, "))
                    .all(|l| l.ends_with(", 1 tile(s)")),
                "one tile a scene by default: {log}"
            );
            std::fs::read(&out).expect("output")
        })
        .collect();
    for (i, o) in outputs.iter().enumerate().skip(1) {
        assert!(*o == outputs[0], "run {i} differs from run 0");
    }
    let out = dir.path().join("a.ivf");
    assert_eq!(dav1d_frames(&out, &dir.path().join("a.y4m")), 100);
    // Automatic tiles stay available, opt-in.
    let auto = dir.path().join("auto.ivf");
    ok(&run(&a![
        "encode",
        &clip,
        "-o",
        &auto,
        "--speed",
        "10",
        "--workers",
        "2",
        "--tiles",
        "auto"
    ]));
    assert_eq!(dav1d_frames(&auto, &dir.path().join("auto.y4m")), 100);
}

/// A stored scene whose packet file changed (one flipped byte) is not joined: the rerun says
/// so, encodes it again and writes the same output as before. A fully resumed run reports no
/// encoding rate; `-q` leaves only the summary.
#[test]
fn a_damaged_stored_scene_is_encoded_again_and_said() {
    let dir = tempfile::tempdir().expect("tempdir");
    let clip = y4m(dir.path(), "clip.y4m", 100, "yuv420p");
    let out = dir.path().join("out.ivf");
    let work = dir.path().join("work");
    let args = |extra: &[&str]| {
        let mut v = a![
            "encode",
            &clip,
            "-o",
            &out,
            "--work-dir",
            &work,
            "--workers",
            "1"
        ]
        .to_vec();
        v.extend(FAST.iter().chain(extra).map(Into::into));
        v
    };
    let log = ok(&run(&args(&[])));
    assert_eq!(encoded_scenes(&log), 3, "{log}");
    let reference = std::fs::read(&out).expect("output");

    let pkt = work.join("scene-0001.pkt");
    let mut bytes = std::fs::read(&pkt).expect("packets");
    let at = bytes.len() / 2;
    bytes[at] ^= 0x01;
    std::fs::write(&pkt, &bytes).expect("damage");
    let log = ok(&run(&args(&[])));
    let first = log.lines().next().unwrap_or_default();
    assert!(
        first.starts_with("resuming from") && first.contains("3 scenes stored"),
        "said at the start: {log}"
    );
    assert!(
        log.contains("scene 1: not reused, encoding it again")
            && log.contains("scene-0001.pkt: checksum mismatch"),
        "{log}"
    );
    assert_eq!(encoded_scenes(&log), 1, "{log}");
    assert!(log.contains("resumed: 2 scenes"), "{log}");
    assert!(
        std::fs::read(&out).expect("output") == reference,
        "same bytes as before"
    );
    assert_eq!(dav1d_frames(&out, &dir.path().join("out.y4m")), 100);

    // Nothing left to encode: no rate made up from resumed frames.
    let log = ok(&run(&args(&[])));
    assert!(log.contains("all scenes resumed, none encoded"), "{log}");
    assert!(!log.contains("fps"), "{log}");
    let log = ok(&run(&args(&["-q"])));
    assert_eq!(log.lines().count(), 1, "only the summary with -q: {log}");
}
