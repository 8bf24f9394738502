//! Fleet encoding end to end, with real processes: the mezzanine in the S3 test server
//! (in-process, loopback), an SQS queue in moto's server (started here on a free port), and
//! `segment-encode worker` processes that are killed, signalled and left idle for real.
//!
//! moto comes from scripts/test.sh (a venv; its `moto_server` named by `MEZZ_MOTO_SERVER`) or
//! from PATH. Each test has its own S3 server, moto and queue, and compares the assembled
//! stream with `segment-encode encode` of the same clip and settings on one machine. The same
//! moto serves KMS for a mezzanine whose data key is wrapped by KMS.

mod common;

use std::fs::File;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use mezz_s3_server::{ACCESS_KEY, REGION, S3TestServer, SECRET_KEY};
use mezz_testkit::Moto;

/// One test's world: S3 server with the store, moto with a queue, a key, a clip, a reference.
struct Fleet {
    dir: tempfile::TempDir,
    s3: S3TestServer,
    moto: Moto,
    queue: String,
    clip: PathBuf,
}

const STORE: &str = "s3://media/fleet";

impl Fleet {
    /// `frames` of the excerpt (cuts at 30 and 76), a queue with `visibility` and
    /// `max_receives`.
    fn new(frames: u32, visibility: &str, max_receives: u32) -> Fleet {
        let dir = tempfile::tempdir().expect("tempdir");
        let d = dir.path();
        let s3 = S3TestServer::start(&d.join("s3"), &["media", "near"]).expect("S3 test server");
        let moto = Moto::start(d);
        segment_encode::fleet::store::generate_key_file(&d.join("key")).expect("key");
        let clip = y4m(d, "clip.y4m", frames, "yuv420p");
        let mut fleet = Fleet {
            queue: String::new(),
            dir,
            s3,
            moto,
            clip,
        };
        let out = fleet
            .cmd(&[
                "setup-queue",
                "scenes",
                "--visibility-timeout",
                visibility,
                "--max-receives",
                &max_receives.to_string(),
            ])
            .output()
            .expect("setup-queue runs");
        ok(&out);
        fleet.queue = String::from_utf8_lossy(&out.stdout).trim().to_string();
        assert!(
            fleet.queue.starts_with("http://127.0.0.1"),
            "{}",
            fleet.queue
        );
        fleet
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// The binary with the test's endpoints, credentials, key and store.
    fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(BIN);
        c.env("AWS_ACCESS_KEY_ID", ACCESS_KEY)
            .env("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
            .env("AWS_REGION", REGION)
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("MEZZFS_KEY_FILE", self.path("key"))
            .env("MEZZFS_STORE", STORE)
            .env("AWS_ENDPOINT_URL_SQS", self.moto.endpoint())
            .env("AWS_ENDPOINT_URL_KMS", self.moto.endpoint())
            .env_remove("MEZZFS_KMS_KEY_ID")
            .env_remove("AWS_PROFILE")
            .env_remove("AWS_ENDPOINT_URL")
            .args(args);
        if args.first().is_some_and(|a| *a != "setup-queue") {
            c.args(["--endpoint-url", &self.s3.endpoint()]);
        }
        c
    }

    fn run(&self, args: &[&str]) -> std::process::Output {
        self.cmd(args).output().expect("segment-encode runs")
    }

    /// Submits the clip with `settings`; returns the job id.
    fn submit(&self, settings: &[&str]) -> String {
        let clip = self.clip.display().to_string();
        let mut args = vec![
            "submit",
            "bikes.y4m",
            "--input",
            &clip,
            "--queue",
            &self.queue,
        ];
        args.extend(settings);
        let out = self.run(&args);
        let stdout = String::from_utf8_lossy(&out.stdout).trim().to_string();
        ok(&out);
        assert_eq!(stdout.len(), 16, "a job id on stdout: {stdout}");
        stdout
    }

    /// A worker process logging to `<name>.log`.
    fn worker(&self, name: &str, extra: &[&str]) -> Child {
        let log = File::create(self.path(&format!("{name}.log"))).expect("log");
        let mut args = vec!["worker", "--queue", &self.queue, "--name", name];
        args.extend(extra);
        self.cmd(&args)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("worker starts")
    }

    fn log(&self, name: &str) -> String {
        std::fs::read_to_string(self.path(&format!("{name}.log"))).unwrap_or_default()
    }

    /// `segment-encode encode` of the clip on this machine: what the fleet must reproduce.
    fn reference(&self, settings: &[&str]) -> Vec<u8> {
        let out = self.path("reference.ivf");
        let clip = self.clip.display().to_string();
        let o = out.display().to_string();
        let mut args = vec!["encode", &clip, "-o", &o, "--tiles", "1"];
        args.extend(settings);
        ok(&run(&args.iter().map(Into::into).collect::<Vec<_>>()));
        std::fs::read(&out).expect("reference")
    }

    fn assemble(&self, job: &str) -> (std::process::Output, PathBuf) {
        let out = self.path("fleet.ivf");
        (
            self.run(&["assemble", job, "-o", &out.display().to_string()]),
            out,
        )
    }

    /// Assembles the job and checks the stream is the one-machine encode's, byte for byte;
    /// returns the output's path.
    fn assemble_equals_encode(&self, job: &str, settings: &[&str]) -> PathBuf {
        let (out, path) = self.assemble(job);
        ok(&out);
        assert!(
            std::fs::read(&path).ok() == Some(self.reference(settings)),
            "the fleet's stream differs from the one-machine encode"
        );
        path
    }

    fn status(&self, job: &str) -> serde_json::Value {
        let out = self.run(&["status", job, "--json"]);
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        ok(&out);
        serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("status JSON {e}: {stdout}"))
    }
}

/// Waits for a child, killing it after `limit`.
fn wait(child: &mut Child, limit: Duration) -> std::process::ExitStatus {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(s) = child.try_wait().expect("wait") {
            return s;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("a worker did not exit within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Waits until `name`'s log contains `needle`.
fn wait_log(f: &Fleet, name: &str, needle: &str, limit: Duration) {
    let deadline = Instant::now() + limit;
    while !f.log(name).contains(needle) {
        assert!(
            Instant::now() < deadline,
            "'{needle}' not in {name}'s log within {limit:?}:\n{}",
            f.log(name)
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn count(haystack: &str, needle: &str) -> usize {
    haystack.matches(needle).count()
}

const FAST: [&str; 2] = ["--speed", "10"];

#[test]
fn three_workers_reproduce_the_one_machine_encode() {
    let f = Fleet::new(100, "20s", 3);
    let job = f.submit(&FAST);
    // The same submit again is the same job and sends nothing.
    assert_eq!(f.submit(&FAST), job);
    let mut workers: Vec<Child> = (0..3)
        .map(|i| f.worker(&format!("w{i}"), &["--idle-exit", "3s"]))
        .collect();
    for w in &mut workers {
        assert!(wait(w, Duration::from_secs(120)).success());
    }
    let logs: String = (0..3).map(|i| f.log(&format!("w{i}"))).collect();
    assert_eq!(count(&logs, ": done (delivery 1)"), 3, "{logs}");
    assert_eq!(
        count(&logs, "duplicate"),
        0,
        "the resubmit sent nothing: {logs}"
    );
    let status = f.status(&job);
    assert_eq!(status["status"]["done"], 3, "{status}");
    assert_eq!(status["status"]["workers_needed"], 0, "{status}");
    let path = f.assemble_equals_encode(&job, &FAST);
    assert_eq!(dav1d_frames(&path, &f.path("decoded.y4m")), 100);
    // Each worker read about its scene's bytes, not the object.
    for line in logs.lines().filter(|l| l.contains(": done")) {
        let n: Vec<u64> = line
            .split_whitespace()
            .filter_map(|w| w.parse().ok())
            .collect();
        let (fetched, scene) = (n[n.len() - 2], n[n.len() - 1]);
        assert!(
            fetched >= scene && fetched <= scene + scene / 50 + 32 * 1024,
            "{line}"
        );
    }
}

#[test]
fn a_killed_worker_s_scene_is_finished_by_another_after_the_visibility_timeout() {
    let slow = ["--speed", "8"];
    let f = Fleet::new(100, "3s", 5);
    let job = f.submit(&slow);
    let mut a = f.worker("a", &[]);
    wait_log(&f, "a", "started (delivery 1", Duration::from_secs(60));
    let _ = a.kill(); // SIGKILL: no heartbeat, no release, no cleanup
    let _ = a.wait();
    let mut b = f.worker("b", &["--idle-exit", "8s"]);
    assert!(wait(&mut b, Duration::from_secs(180)).success());
    let log = f.log("b");
    assert!(
        log.contains("done (delivery 2)"),
        "the killed scene came back: {log}"
    );
    f.assemble_equals_encode(&job, &slow);
}

#[test]
fn a_scene_longer_than_the_visibility_timeout_is_encoded_once() {
    // About 3-10 s a scene at speed 1 here: longer than the 2 s timeout, so only the
    // heartbeat keeps the second worker away.
    let slow = ["--speed", "1"];
    let f = Fleet::new(60, "2s", 5);
    let job = f.submit(&slow);
    let mut workers = [
        f.worker("h1", &["--idle-exit", "5s"]),
        f.worker("h2", &["--idle-exit", "5s"]),
    ];
    for w in &mut workers {
        assert!(wait(w, Duration::from_secs(240)).success());
    }
    let logs = f.log("h1") + &f.log("h2");
    let slowest = logs
        .lines()
        .filter(|l| l.contains(": done"))
        .filter_map(|l| {
            l.split(" in ")
                .nth(1)?
                .split(' ')
                .next()?
                .parse::<f64>()
                .ok()
        })
        .fold(0.0, f64::max);
    assert!(
        slowest > 2.0,
        "no scene outlasted the visibility timeout: {logs}"
    );
    assert_eq!(
        count(&logs, "started"),
        2,
        "each scene received once: {logs}"
    );
    assert_eq!(count(&logs, "delivery 2"), 0, "{logs}");
    ok(&f.assemble(&job).0);
}

#[test]
fn the_same_message_twice_is_done_once() {
    let f = Fleet::new(60, "20s", 3);
    let job = f.submit(&FAST);
    // A second copy of scene 0's message, as SQS's at-least-once delivery may give.
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async {
        let client = segment_encode::fleet::sqs::client(&segment_encode::fleet::sqs::SqsConfig {
            endpoint_url: Some(f.moto.endpoint().to_owned()),
            region: Some(REGION.into()),
            static_credentials: Some((ACCESS_KEY.into(), SECRET_KEY.into())),
        })
        .await;
        let q = segment_encode::fleet::sqs::Queue::new(client, &f.queue);
        let body = segment_encode::fleet::message::SceneMessage::new(STORE, &job, 0).body();
        q.send_all(&[body]).await.expect("send");
    });
    let mut w = f.worker("d", &["--idle-exit", "3s"]);
    assert!(wait(&mut w, Duration::from_secs(120)).success());
    let log = f.log("d");
    assert_eq!(count(&log, "scene 0: already done (duplicate"), 1, "{log}");
    assert_eq!(count(&log, ": done (delivery 1)"), 2, "{log}");
    assert_eq!(f.status(&job)["status"]["done"], 2);
    f.assemble_equals_encode(&job, &FAST);
}

/// The stored part file of the mezzanine in the S3 server's directory.
fn part_file(root: &Path) -> PathBuf {
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).expect("read_dir").flatten() {
            let p = e.path();
            let s = p.display().to_string();
            if p.is_dir() {
                stack.push(p);
            } else if s.contains("bikes.y4m.mezz/")
                && !s.ends_with("manifest")
                && !s.contains("jobs/")
            {
                return p;
            }
        }
    }
    panic!("no part file under {}", root.display());
}

#[test]
fn a_poison_scene_goes_to_the_dead_letter_queue_and_assemble_names_it() {
    let f = Fleet::new(100, "20s", 2);
    let job = f.submit(&FAST);
    // Damage one byte in the middle of scene 1 (frames 30..76) of the stored, sealed object.
    let stride = 320 * 136 * 3 / 2 + 6;
    let plain = 40 + 53 * stride;
    let part = part_file(f.s3.root());
    let mut bytes = std::fs::read(&part).expect("part");
    let at = plain + plain / 16384 * 16;
    bytes[at] ^= 0x55;
    std::fs::write(&part, &bytes).expect("damage");

    let mut w = f.worker("p", &["--idle-exit", "10s"]);
    assert!(wait(&mut w, Duration::from_secs(120)).success());
    let log = f.log("p");
    assert!(
        log.contains("scene 1: failed (delivery 1), will be retried"),
        "{log}"
    );
    assert!(
        log.contains("scene 1: failed (delivery 2), going to the dead-letter queue"),
        "{log}"
    );
    let status = f.status(&job);
    assert_eq!(
        status["status"]["failed"],
        serde_json::json!([1]),
        "{status}"
    );
    assert_eq!(status["status"]["done"], 2, "{status}");
    let human = String::from_utf8_lossy(&f.run(&["status", &job]).stdout).into_owned();
    assert!(
        human.contains("scene 1 failed, in the dead-letter queue"),
        "{human}"
    );
    let (out, path) = f.assemble(&job);
    let err = failed(&out);
    assert!(err.contains("have no chunk yet: 1;"), "{err}");
    assert!(!path.exists(), "no output from a refused assemble");

    // After the fix, requeue brings scene 1 back from the dead-letter queue.
    bytes[at] ^= 0x55;
    std::fs::write(&part, &bytes).expect("repair");
    let requeue = f.run(&["requeue", &job]);
    assert!(ok(&requeue).contains("1 scene(s) moved back"));
    let mut w = f.worker("p2", &["--idle-exit", "3s"]);
    assert!(wait(&mut w, Duration::from_secs(120)).success());
    f.assemble_equals_encode(&job, &FAST);
}

#[test]
fn a_damaged_chunk_is_named_and_nothing_is_written() {
    let f = Fleet::new(60, "20s", 3);
    let job = f.submit(&FAST);
    let mut w = f.worker("c", &["--idle-exit", "3s"]);
    assert!(wait(&mut w, Duration::from_secs(120)).success());
    let chunk =
        f.s3.root()
            .join(format!("media/fleet/jobs/{job}/scenes/00001"));
    let mut bytes = std::fs::read(&chunk).expect("chunk in the server's directory");
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    std::fs::write(&chunk, bytes).expect("damage");
    let (out, path) = f.assemble(&job);
    let err = failed(&out);
    assert!(err.contains("scene 1: checksum mismatch"), "{err}");
    assert!(!path.exists());
    let dir: Vec<_> = std::fs::read_dir(f.dir.path())
        .expect("ls")
        .flatten()
        .collect();
    assert!(
        dir.iter()
            .all(|e| !e.file_name().to_string_lossy().contains("partial")),
        "a partial output was left"
    );
}

#[test]
fn sigterm_finishes_the_current_scene_and_takes_no_more() {
    let f = Fleet::new(100, "20s", 3);
    let job = f.submit(&["--speed", "8"]);
    let w = f.worker("t", &["--grace", "60s"]);
    wait_log(&f, "t", "started (delivery 1", Duration::from_secs(60));
    let pid = w.id().to_string();
    let mut w = w;
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("kill")
            .success()
    );
    assert!(
        wait(&mut w, Duration::from_secs(60)).success(),
        "exit 0 after draining"
    );
    let log = f.log("t");
    assert_eq!(count(&log, ": done (delivery 1)"), 1, "{log}");
    assert!(log.contains("taking no more messages"), "{log}");
    let status = f.status(&job);
    assert_eq!(status["status"]["done"], 1, "{status}");
    assert_eq!(status["status"]["waiting"], 2, "{status}");

    // With no grace, the scene's message is visible again at once (not after 20 s).
    let w = f.worker("t0", &["--grace", "0s"]);
    wait_log(&f, "t0", "started (delivery 1", Duration::from_secs(60));
    let mut w = w;
    assert!(
        Command::new("kill")
            .args(["-TERM", &w.id().to_string()])
            .status()
            .expect("kill")
            .success()
    );
    assert!(wait(&mut w, Duration::from_secs(30)).success());
    let mut next = f.worker("t1", &["--idle-exit", "3s"]);
    assert!(wait(&mut next, Duration::from_secs(60)).success());
    let log = f.log("t0") + &f.log("t1");
    assert!(
        log.contains("message released") && log.contains("done (delivery 2)"),
        "{log}"
    );
    ok(&f.assemble(&job).0);
}

#[test]
fn idle_exit_and_clear_errors_for_bad_queues_and_missing_jobs() {
    let f = Fleet::new(30, "20s", 3);
    // Idle: exits 0 on its own.
    let started = Instant::now();
    let mut w = f.worker("idle", &["--idle-exit", "2s"]);
    assert!(wait(&mut w, Duration::from_secs(30)).success());
    assert!(f.log("idle").contains("exiting (--idle-exit)"));
    assert!(started.elapsed() >= Duration::from_secs(2));

    // Unreachable queue service.
    let closed = TcpListener::bind("127.0.0.1:0")
        .expect("port")
        .local_addr()
        .expect("addr");
    let gone = format!("http://{closed}/000000000000/scenes");
    let out = f.run(&[
        "worker",
        "--queue",
        &gone,
        "--sqs-endpoint-url",
        &format!("http://{closed}"),
    ]);
    let err = failed(&out);
    assert!(err.contains("cannot reach the queue service"), "{err}");

    // A queue that does not exist.
    let wrong = f.queue.replace("/scenes", "/no-such-queue");
    let err = failed(&f.run(&["worker", "--queue", &wrong]));
    assert!(
        err.contains("no-such-queue") && err.to_lowercase().contains("exist"),
        "{err}"
    );
    let clip = f.clip.display().to_string();
    let err = failed(&f.run(&["submit", "bikes.y4m", "--input", &clip, "--queue", &wrong]));
    assert!(err.to_lowercase().contains("exist"), "{err}");

    // A message whose job record is missing: the worker stops with an error and the message
    // stays on the queue.
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let q = rt.block_on(async {
        let client = segment_encode::fleet::sqs::client(&segment_encode::fleet::sqs::SqsConfig {
            endpoint_url: Some(f.moto.endpoint().to_owned()),
            region: Some(REGION.into()),
            static_credentials: Some((ACCESS_KEY.into(), SECRET_KEY.into())),
        })
        .await;
        let q = segment_encode::fleet::sqs::Queue::new(client, &f.queue);
        let body = segment_encode::fleet::message::SceneMessage::new(STORE, "00000000deadbeef", 0);
        q.send_all(&[body.body()]).await.expect("send");
        q
    });
    let err = failed(&f.run(&["worker", "--queue", &f.queue]));
    assert!(
        err.contains("no job record jobs/00000000deadbeef/job.json"),
        "{err}"
    );
    let info = rt.block_on(q.info()).expect("queue info");
    assert_eq!(
        info.waiting + info.in_flight,
        1,
        "the message is still there"
    );
    let err = failed(&f.run(&["status", "00000000deadbeef"]));
    assert!(err.contains("no job 00000000deadbeef"), "{err}");
}

#[test]
fn a_worker_reads_through_a_regional_cache_bucket() {
    let f = Fleet::new(60, "20s", 3);
    let job = f.submit(&FAST);
    let mut w = f.worker(
        "r",
        &["--idle-exit", "3s", "--regional-cache", "s3://near/cache"],
    );
    assert!(wait(&mut w, Duration::from_secs(120)).success());
    f.assemble_equals_encode(&job, &FAST);
    // The parts the worker read were copied to the near bucket for the next worker.
    let mut copied = 0u64;
    let mut stack = vec![f.s3.root().join("near")];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.display().to_string().contains("bikes.y4m.mezz/") {
                copied += e.metadata().map_or(0, |m| m.len());
            }
        }
    }
    assert!(
        copied > 1 << 20,
        "{copied} bytes in the regional cache bucket"
    );
}

#[test]
fn a_kms_wrapped_mezzanine_encodes_on_a_worker_without_a_key_file() {
    let f = Fleet::new(40, "20s", 3);
    f.moto.create_kms_key("alias/fleet");
    let clip = f.clip.display().to_string();
    let no_key = f.path("no-such-key");
    let mut submit = f.cmd(&["submit", "bikes.y4m", "--input", &clip, "--queue", &f.queue]);
    submit
        .args(FAST)
        .args(["--kms-key-id", "alias/fleet"])
        .env("MEZZFS_KEY_FILE", &no_key);
    let out = submit.output().expect("submit runs");
    ok(&out);
    let job = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let manifest = String::from_utf8_lossy(
        &std::fs::read(f.s3.root().join("media/fleet/bikes.y4m.mezz/manifest")).unwrap_or_default(),
    )
    .into_owned();
    assert!(manifest.contains("\"provider\":\"aws-kms\""), "{manifest}");
    let log = File::create(f.path("k.log")).expect("log");
    let mut w = f
        .cmd(&[
            "worker",
            "--queue",
            &f.queue,
            "--name",
            "k",
            "--idle-exit",
            "3s",
        ])
        .env("MEZZFS_KEY_FILE", &no_key)
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("worker starts");
    assert!(
        wait(&mut w, Duration::from_secs(120)).success(),
        "{}",
        f.log("k")
    );
    assert!(f.log("k").contains(": done (delivery 1)"), "{}", f.log("k"));
    f.assemble_equals_encode(&job, &FAST);
}

/// `GET path` over HTTP/1.0: the status code and the body.
fn http_get(addr: &str, path: &str) -> std::io::Result<(u16, String)> {
    use std::io::{Read, Write};
    let addr: std::net::SocketAddr = addr.parse().expect("address");
    let mut s = std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(5))?;
    s.set_read_timeout(Some(Duration::from_secs(10)))?;
    write!(s, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n")?;
    let mut text = String::new();
    s.read_to_string(&mut text)?;
    let code = text
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = text.split_once("\r\n\r\n").map_or("", |(_, b)| b);
    Ok((code, body.to_string()))
}

/// The value of the exposition line starting with `series` (name and labels, exactly).
fn metric(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no {series} in:\n{text}"))
}

/// Scrapes until the series in `until` all reach their values (the worker's counters move
/// as it works); returns that scrape.
fn scrape_until(addr: &str, until: &[(&str, f64)], limit: Duration) -> String {
    let deadline = Instant::now() + limit;
    loop {
        let text = match http_get(addr, "/metrics") {
            Ok((200, body)) => body,
            Ok((code, body)) => panic!("GET /metrics: {code} {body}"),
            Err(e) => format!("# not reachable yet: {e}\n"),
        };
        if text.ends_with("# EOF\n") && until.iter().all(|(s, v)| metric(&text, s) == *v) {
            return text;
        }
        assert!(
            Instant::now() < deadline,
            "{until:?} not reached within {limit:?}:\n{text}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn the_worker_serves_prometheus_metrics_and_refuses_an_unusable_address() {
    let f = Fleet::new(60, "20s", 3);
    let job = f.submit(&FAST);
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let q = rt.block_on(async {
        let client = segment_encode::fleet::sqs::client(&segment_encode::fleet::sqs::SqsConfig {
            endpoint_url: Some(f.moto.endpoint().to_owned()),
            region: Some(REGION.into()),
            static_credentials: Some((ACCESS_KEY.into(), SECRET_KEY.into())),
        })
        .await;
        segment_encode::fleet::sqs::Queue::new(client, &f.queue)
    });

    // An address in use, or not this machine's, stops the worker before it takes anything.
    let taken = TcpListener::bind("127.0.0.1:0").expect("port");
    let in_use = taken.local_addr().expect("addr").to_string();
    for (addr, says) in [
        (in_use.as_str(), "pick another port"),
        ("192.0.2.1:9465", "not an address of this machine"),
    ] {
        let err = failed(&f.run(&["worker", "--queue", &f.queue, "--metrics-listen", addr]));
        assert!(err.contains(&format!("--metrics-listen {addr}")), "{err}");
        assert!(err.contains(says), "{err}");
        let info = rt.block_on(q.info()).expect("queue info");
        assert_eq!((info.waiting, info.in_flight), (2, 0), "nothing was taken");
    }
    drop(taken);

    // Two scenes and a second copy of scene 0's message.
    let body = segment_encode::fleet::message::SceneMessage::new(STORE, &job, 0).body();
    rt.block_on(q.send_all(&[body])).expect("send");
    let addr = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .to_string();
    let mut w = f.worker("m", &["--metrics-listen", &addr]);
    let text = scrape_until(
        &addr,
        &[
            ("segment_encode_scenes_taken_total", 3.0),
            ("segment_encode_busy", 0.0),
        ],
        Duration::from_secs(120),
    );
    for (series, v) in [
        ("segment_encode_scenes_taken_total", 3.0),
        ("segment_encode_scenes_done_total", 2.0),
        ("segment_encode_scenes_duplicate_total", 1.0),
        ("segment_encode_scenes_failed_total", 0.0),
        ("segment_encode_scenes_retried_total", 0.0),
        ("segment_encode_queue_receive_errors_total", 0.0),
        ("segment_encode_encode_seconds_count", 2.0),
        ("segment_encode_busy", 0.0),
    ] {
        assert_eq!(metric(&text, series), v, "{series} in:\n{text}");
    }
    assert!(
        metric(&text, "segment_encode_encode_seconds_sum") > 0.0,
        "{text}"
    );
    // Bytes: what the log's done lines say was read and fetched, and the chunks as stored.
    let log = f.log("m");
    let (mut fetched, mut scene) = (0.0, 0.0);
    for line in log.lines().filter(|l| l.contains(": done (")) {
        let n: Vec<f64> = line
            .split_whitespace()
            .filter_map(|w| w.parse().ok())
            .collect();
        fetched += n[n.len() - 2];
        scene += n[n.len() - 1];
    }
    assert_eq!(
        metric(&text, "segment_encode_read_bytes_total"),
        scene,
        "{log}"
    );
    assert_eq!(
        metric(&text, "segment_encode_fetched_bytes_total"),
        fetched,
        "{log}"
    );
    let stored: u64 = (0..2)
        .map(|n| {
            let key = segment_encode::fleet::job::keys::chunk(&job, n);
            let path = f.path("s3/media/fleet").join(key);
            std::fs::metadata(&path)
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
                .len()
        })
        .sum();
    assert_eq!(
        metric(&text, "segment_encode_written_bytes_total"),
        stored as f64
    );
    assert!(text.ends_with("# EOF\n"), "{text}");

    // The queue service goes away: the worker counts the failed receives and keeps trying.
    let log_path = f.path("m.log");
    drop(f.moto);
    scrape_until(
        &addr,
        &[("segment_encode_queue_receive_errors_total", 1.0)],
        Duration::from_secs(60),
    );
    // The log line follows the count.
    let deadline = Instant::now() + Duration::from_secs(5);
    let log = loop {
        let log = std::fs::read_to_string(&log_path).unwrap_or_default();
        if log.contains("receiving failed (1 in a row)") || Instant::now() > deadline {
            break log;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(log.contains("receiving failed (1 in a row)"), "{log}");
    assert!(
        w.try_wait().expect("wait").is_none(),
        "the worker gave up at once:\n{log}"
    );
    let _ = w.kill();
    let _ = w.wait();
}
