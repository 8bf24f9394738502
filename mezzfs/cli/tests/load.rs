//! Load: 32 readers (24 dense, 8 sparse) on 4 objects through one real mount for a bounded
//! time (MEZZ_LOAD_SECS, 8 s by default; BENCHMARKS.md records a 60 s run). No errors, no
//! wrong byte, and the daemon's peak memory within its budget.

mod common;

use std::os::unix::fs::FileExt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use common::{Kind, Mount, World, put};
use mezz_testkit::{XorShift, random_bytes};

const OBJECT: usize = 32 << 20;
const BUDGET_MIB: u64 = 128;

fn peak_rss_mib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("daemon status");
    let kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM");
    kib / 1024
}

#[test]
fn thirty_two_readers_on_four_objects() {
    let secs: u64 = std::env::var("MEZZ_LOAD_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(8);
    let w = World::new(Kind::S3);
    let data: Vec<Arc<Vec<u8>>> = (0..4)
        .map(|i| Arc::new(random_bytes(OBJECT, 70 + i)))
        .collect();
    let mut args = vec!["--memory".to_string(), format!("{BUDGET_MIB}MiB")];
    for (i, d) in data.iter().enumerate() {
        put(&w, d, &format!("o{i}"), "8MiB");
        args.extend(["--object".to_string(), format!("o{i}")]);
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let m = Mount::start(&w, "load", &args);
    let (bytes, reads, wrong, failed) = (
        Arc::new(AtomicU64::new(0)),
        Arc::new(AtomicU64::new(0)),
        Arc::new(AtomicU64::new(0)),
        Arc::new(AtomicU64::new(0)),
    );
    let until = Instant::now() + Duration::from_secs(secs);
    let started = Instant::now();
    let threads: Vec<_> = (0..32u64)
        .map(|t| {
            let path = m.file(&format!("o{}", t % 4));
            let d = data[(t % 4) as usize].clone();
            let (bytes, reads, wrong, failed) =
                (bytes.clone(), reads.clone(), wrong.clone(), failed.clone());
            std::thread::spawn(move || {
                let f = std::fs::File::open(&path).expect("open");
                let mut rng = XorShift::new(t + 100);
                let dense = t % 4 != 3;
                let mut pos = (t / 4) * (OBJECT as u64 / 8);
                let mut buf = vec![0u8; 256 << 10];
                while Instant::now() < until {
                    let (off, len) = if dense {
                        if pos + (128 << 10) > OBJECT as u64 {
                            pos = 0;
                        }
                        pos += 128 << 10;
                        (pos - (128 << 10), 128 << 10)
                    } else {
                        let len = 4096 + (rng.next_u64() % (60 << 10)) as usize;
                        (rng.next_u64() % (OBJECT - len) as u64, len)
                    };
                    match f.read_exact_at(&mut buf[..len], off) {
                        Ok(()) if buf[..len] == d[off as usize..off as usize + len] => {
                            bytes.fetch_add(len as u64, Ordering::Relaxed);
                            reads.fetch_add(1, Ordering::Relaxed);
                        }
                        Ok(()) => {
                            wrong.fetch_add(1, Ordering::Relaxed);
                        }
                        Err(_) => {
                            failed.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                }
            })
        })
        .collect();
    for t in threads {
        t.join().expect("reader thread");
    }
    let took = started.elapsed().as_secs_f64();
    let peak = peak_rss_mib(m.pid);
    let s = m.stats();
    let b = bytes.load(Ordering::Relaxed);
    eprintln!(
        "32 readers, {took:.1} s: {} reads, {:.0} MB/s, fetched/read {:.2}, p99 {} µs, peak RSS {peak} MiB (budget {BUDGET_MIB} MiB)",
        reads.load(Ordering::Relaxed),
        b as f64 / took / 1e6,
        s["amplification"].as_f64().unwrap_or(0.0),
        s["latency_us_p99"].as_u64().unwrap_or(0),
    );
    assert_eq!(wrong.load(Ordering::Relaxed), 0, "wrong bytes");
    assert_eq!(failed.load(Ordering::Relaxed), 0, "failed reads");
    assert!(reads.load(Ordering::Relaxed) > 1000, "the load ran");
    // The budget covers the cache and read-ahead; the binary, runtime threads and allocator
    // take a fixed part on top.
    assert!(peak <= BUDGET_MIB + 96, "peak RSS {peak} MiB over budget");
}
