//! What a replay says, summed up: totals, latency and size histograms, and the access pattern
//! of each object (classified the way the read-ahead policy sees reads).

use std::collections::HashMap;
use std::ops::Range;

use serde::Serialize;

use crate::codec::{Decoded, End};
use crate::record::Record;

/// How an object was read.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ObjectPattern {
    pub object: u64,
    pub source: String,
    pub reads: u64,
    pub bytes_read: u64,
    /// Share of 64-read windows whose reads chain into runs (density ratio below 0.5).
    pub dense_share: f64,
    /// "dense", "sparse", "mixed" or "none".
    pub class: String,
    /// Distinct clusters of contiguous reads over the whole replay.
    pub clusters: usize,
}

/// A file written through the mount: where it was created and what became of it.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct WrittenFile {
    /// Its path in the mount when it was created.
    pub path: String,
    /// The object it was stored as (its name when renamed while written); empty if the
    /// replay holds no commit for it.
    pub object: String,
    pub writes: u64,
    pub bytes_written: u64,
    /// "stored", "not stored" or "open" (no commit recorded: the mount ended first).
    pub outcome: String,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Summary {
    pub duration_us: u64,
    pub records: u64,
    pub opens: u64,
    pub reads: u64,
    pub failed_reads: u64,
    pub bytes_read: u64,
    pub fetches: u64,
    pub failed_fetches: u64,
    pub bytes_fetched: u64,
    pub amplification: f64,
    pub windows_scheduled: u64,
    pub segments_cached: u64,
    pub segments_evicted: u64,
    pub errors: u64,
    pub read_latency_us_p50: u64,
    pub read_latency_us_p99: u64,
    pub read_latency_us_max: u64,
    /// Files created in the writable directories (new ones and new versions).
    pub files_created: u64,
    pub writes: u64,
    pub failed_writes: u64,
    pub bytes_written: u64,
    pub commits_ok: u64,
    pub commits_failed: u64,
    /// Bytes of the files stored.
    pub bytes_committed: u64,
    pub renames: u64,
    pub failed_renames: u64,
    pub write_latency_us_p50: u64,
    pub write_latency_us_p99: u64,
    pub write_latency_us_max: u64,
    pub commit_latency_us_max: u64,
    pub written_files: Vec<WrittenFile>,
    /// Read sizes: (upper edge in bytes, reads), powers of two.
    pub read_sizes: Vec<(u64, u64)>,
    /// Read latencies: (upper edge in µs, reads), powers of two.
    pub read_latencies: Vec<(u64, u64)>,
    pub objects: Vec<ObjectPattern>,
    /// "complete", "truncated at byte N" or "corrupt at byte N: reason"; and whether the mount
    /// ended cleanly (statistics recorded).
    pub end: String,
    pub clean_end: bool,
}

/// Maps every read of a replay to the object bytes it covered (reads name a handle and
/// file offsets; opens tie handles to files, the meta ties files to object ranges).
pub fn object_reads(d: &Decoded) -> Vec<(u64, Range<u64>)> {
    let Some(meta) = d.meta() else {
        return Vec::new();
    };
    let mut handle_file: HashMap<u64, u64> = HashMap::new();
    let mut out = Vec::new();
    for r in &d.records {
        match r {
            Record::Open { handle, file, .. } => {
                handle_file.insert(*handle, *file);
            }
            Record::Read {
                handle,
                offset,
                len,
                ok: true,
                ..
            } => {
                let Some(f) = handle_file
                    .get(handle)
                    .and_then(|f| meta.files.get(*f as usize))
                else {
                    continue;
                };
                let start = f.offset.saturating_add(*offset);
                out.push((f.object, start..start.saturating_add(*len)));
            }
            _ => {}
        }
    }
    out
}

fn percentile(sorted: &[u64], q: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let i = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[i]
}

/// Classifies reads (in time order) of one object.
pub fn classify(reads: &[Range<u64>]) -> (f64, &'static str, usize) {
    if reads.is_empty() {
        return (0.0, "none", 0);
    }
    let mut dense = 0;
    let mut windows = 0;
    for w in reads.chunks(64) {
        let cl = mezz_clusters::clusters(w, 0);
        let ratio = mezz_clusters::density_ratio(w, &cl).unwrap_or(1.0);
        windows += 1;
        if ratio < 0.5 {
            dense += 1;
        }
    }
    let share = f64::from(dense) / f64::from(windows);
    let class = if share >= 0.8 {
        "dense"
    } else if share <= 0.2 {
        "sparse"
    } else {
        "mixed"
    };
    (share, class, mezz_clusters::clusters(reads, 0).len())
}

impl Summary {
    pub fn of(d: &Decoded) -> Summary {
        let mut s = Summary::default();
        let mut first = None;
        let mut last = 0u64;
        let mut latencies = Vec::new();
        let mut sizes: HashMap<u64, u64> = HashMap::new();
        let mut write_latencies = Vec::new();
        // Handle → index in `written_files` of the file it writes.
        let mut writing: HashMap<u64, usize> = HashMap::new();
        for r in &d.records {
            s.records += 1;
            if let Some(t) = r.time() {
                first.get_or_insert(t);
                last = last.max(t);
            }
            match r {
                Record::Open { .. } => s.opens += 1,
                Record::Read {
                    len, dur, ok, t, ..
                } => {
                    s.reads += 1;
                    last = last.max(t.saturating_add(*dur));
                    if *ok {
                        s.bytes_read += len;
                        latencies.push(*dur);
                        *sizes.entry(len.next_power_of_two()).or_default() += 1;
                    } else {
                        s.failed_reads += 1;
                    }
                }
                Record::FetchStart { .. } => s.fetches += 1,
                Record::FetchDone { bytes, ok, .. } => {
                    s.bytes_fetched += bytes;
                    if !ok {
                        s.failed_fetches += 1;
                    }
                }
                Record::Schedule { .. } => s.windows_scheduled += 1,
                Record::CacheInsert { count, .. } => s.segments_cached += count,
                Record::CacheEvict { count, .. } => s.segments_evicted += count,
                Record::Error { .. } => s.errors += 1,
                Record::Stats(_) => s.clean_end = true,
                Record::Create { handle, path, .. } => {
                    s.files_created += 1;
                    writing.insert(*handle, s.written_files.len());
                    s.written_files.push(WrittenFile {
                        path: path.clone(),
                        outcome: "open".into(),
                        ..WrittenFile::default()
                    });
                }
                Record::Write {
                    t,
                    handle,
                    len,
                    dur,
                    ok,
                    ..
                } => {
                    s.writes += 1;
                    last = last.max(t.saturating_add(*dur));
                    if *ok {
                        s.bytes_written = s.bytes_written.saturating_add(*len);
                        write_latencies.push(*dur);
                        if let Some(f) = writing.get(handle).map(|i| &mut s.written_files[*i]) {
                            f.writes += 1;
                            f.bytes_written = f.bytes_written.saturating_add(*len);
                        }
                    } else {
                        s.failed_writes += 1;
                    }
                }
                Record::Commit {
                    t,
                    handle,
                    object,
                    bytes,
                    dur,
                    ok,
                } => {
                    last = last.max(t.saturating_add(*dur));
                    s.commit_latency_us_max = s.commit_latency_us_max.max(*dur);
                    if *ok {
                        s.commits_ok += 1;
                        s.bytes_committed = s.bytes_committed.saturating_add(*bytes);
                    } else {
                        s.commits_failed += 1;
                    }
                    if let Some(f) = writing.remove(handle).map(|i| &mut s.written_files[i]) {
                        f.object = object.clone();
                        f.outcome = if *ok { "stored" } else { "not stored" }.into();
                    }
                }
                Record::Rename { ok, .. } => {
                    s.renames += 1;
                    s.failed_renames += u64::from(!ok);
                }
                _ => {}
            }
        }
        write_latencies.sort_unstable();
        s.write_latency_us_p50 = percentile(&write_latencies, 0.5);
        s.write_latency_us_p99 = percentile(&write_latencies, 0.99);
        s.write_latency_us_max = write_latencies.last().copied().unwrap_or(0);
        s.duration_us = last.saturating_sub(first.unwrap_or(0));
        s.amplification = if s.bytes_read == 0 {
            0.0
        } else {
            s.bytes_fetched as f64 / s.bytes_read as f64
        };
        latencies.sort_unstable();
        let mut buckets: Vec<(u64, u64)> = Vec::new();
        for l in &latencies {
            let edge = (l + 1).next_power_of_two();
            match buckets.last_mut() {
                Some((e, n)) if *e == edge => *n += 1,
                _ => buckets.push((edge, 1)),
            }
        }
        s.read_latencies = buckets;
        s.read_latency_us_p50 = percentile(&latencies, 0.5);
        s.read_latency_us_p99 = percentile(&latencies, 0.99);
        s.read_latency_us_max = latencies.last().copied().unwrap_or(0);
        let mut sizes: Vec<(u64, u64)> = sizes.into_iter().collect();
        sizes.sort_unstable();
        s.read_sizes = sizes;
        let mut per_object: HashMap<u64, Vec<Range<u64>>> = HashMap::new();
        for (o, r) in object_reads(d) {
            per_object.entry(o).or_default().push(r);
        }
        if let Some(meta) = d.meta() {
            for (i, o) in meta.objects.iter().enumerate() {
                let reads = per_object.remove(&(i as u64)).unwrap_or_default();
                let (share, class, clusters) = classify(&reads);
                s.objects.push(ObjectPattern {
                    object: i as u64,
                    source: o.source.clone(),
                    reads: reads.len() as u64,
                    bytes_read: reads.iter().map(|r| r.end - r.start).sum(),
                    dense_share: share,
                    class: class.into(),
                    clusters,
                });
            }
        }
        s.end = match &d.end {
            End::Complete => "complete".into(),
            End::Truncated { at } => {
                format!("truncated at byte {at} (the mount was killed while writing)")
            }
            End::Corrupt { at, reason } => format!("corrupt at byte {at}: {reason}"),
        };
        s
    }
}

/// The replay as Chrome Trace Event JSON (opens in Perfetto and chrome://tracing): reads,
/// writes and commits as async slices per handle, fetches as async slices on a "fetches"
/// track, windows, creates, renames and errors as instant events.
pub fn chrome_trace(d: &Decoded) -> serde_json::Value {
    use serde_json::json;
    let mut events = Vec::new();
    let mut fetches: HashMap<u64, (u64, u64, u64, u64)> = HashMap::new();
    let name = |o: u64| {
        d.meta()
            .and_then(|m| m.objects.get(o as usize))
            .map_or_else(|| format!("object {o}"), |x| x.source.clone())
    };
    events.push(
        json!({"ph": "M", "pid": 1, "name": "process_name", "args": {"name": "mezzfs mount"}}),
    );
    for r in &d.records {
        match r {
            Record::Read {
                t,
                handle,
                offset,
                len,
                dur,
                ok,
            } => {
                events.extend(slice(
                    "read",
                    format!("r{t}-{handle}-{offset}"),
                    *handle,
                    *t..t + dur,
                    format!("read {len} @ {offset}"),
                    json!({"offset": offset, "len": len, "ok": ok}),
                ));
            }
            Record::Open { t, handle, file } => {
                let path = d
                    .meta()
                    .and_then(|m| m.files.get(*file as usize))
                    .map_or("?", |f| f.path.as_str());
                events.push(json!({"ph": "i", "s": "t", "pid": 1, "tid": handle, "ts": t, "name": format!("open {path}")}));
            }
            Record::Release { t, handle } => {
                events.push(json!({"ph": "i", "s": "t", "pid": 1, "tid": handle, "ts": t, "name": "release"}));
            }
            Record::FetchStart {
                t,
                fetch,
                object,
                offset,
                len,
            } => {
                fetches.insert(*fetch, (*t, *object, *offset, *len));
            }
            Record::FetchDone {
                t,
                fetch,
                bytes,
                ok,
            } => {
                if let Some((t0, object, offset, len)) = fetches.remove(fetch) {
                    events.extend(slice(
                        "fetch",
                        format!("f{fetch}"),
                        0,
                        t0..*t,
                        format!("fetch {} {len} @ {offset}", name(object)),
                        json!({"object": object, "offset": offset, "len": len, "bytes": bytes, "ok": ok}),
                    ));
                }
            }
            Record::Schedule {
                t,
                object,
                offset,
                len,
            } => {
                events.push(json!({"ph": "i", "s": "p", "pid": 1, "tid": 0, "ts": t, "name": format!("window {} {len} @ {offset}", name(*object))}));
            }
            Record::Error { t, message } => {
                events.push(json!({"ph": "i", "s": "g", "pid": 1, "tid": 0, "ts": t, "name": "error", "args": {"message": message}}));
            }
            Record::Create { t, handle, path } => {
                events.push(json!({"ph": "i", "s": "t", "pid": 1, "tid": handle, "ts": t, "name": format!("create {path}")}));
            }
            Record::Write {
                t,
                handle,
                offset,
                len,
                dur,
                ok,
            } => {
                events.extend(slice(
                    "write",
                    format!("w{t}-{handle}-{offset}"),
                    *handle,
                    *t..t.saturating_add(*dur),
                    format!("write {len} @ {offset}"),
                    json!({"offset": offset, "len": len, "ok": ok}),
                ));
            }
            Record::Commit {
                t,
                handle,
                object,
                bytes,
                dur,
                ok,
            } => {
                events.extend(slice(
                    "commit",
                    format!("c{t}-{handle}"),
                    *handle,
                    *t..t.saturating_add(*dur),
                    format!("commit {object}"),
                    json!({"object": object, "bytes": bytes, "ok": ok}),
                ));
            }
            Record::Rename { t, from, to, ok } => {
                events.push(json!({"ph": "i", "s": "p", "pid": 1, "tid": 0, "ts": t, "name": format!("rename {from} -> {to}"), "args": {"ok": ok}}));
            }
            _ => {}
        }
    }
    json!({"traceEvents": events, "displayTimeUnit": "ms"})
}

/// An async slice of the Chrome trace on track `tid`: its begin event (with `args`) and its
/// end event, paired by `cat` and `id`.
fn slice(
    cat: &str,
    id: String,
    tid: u64,
    span: std::ops::Range<u64>,
    label: String,
    args: serde_json::Value,
) -> [serde_json::Value; 2] {
    use serde_json::json;
    [
        json!({"ph": "b", "cat": cat, "id": id, "pid": 1, "tid": tid, "ts": span.start, "name": label, "args": args}),
        json!({"ph": "e", "cat": cat, "id": id, "pid": 1, "tid": tid, "ts": span.end, "name": label}),
    ]
}

/// One record as a JSON object (for `dump --json`).
pub fn record_json(r: &Record) -> serde_json::Value {
    use serde_json::json;
    match r {
        Record::Meta(m) => json!({"kind": "meta", "meta": m}),
        Record::Open { t, handle, file } => {
            json!({"kind": "open", "t": t, "handle": handle, "file": file})
        }
        Record::Read {
            t,
            handle,
            offset,
            len,
            dur,
            ok,
        } => {
            json!({"kind": "read", "t": t, "handle": handle, "offset": offset, "len": len, "dur": dur, "ok": ok})
        }
        Record::Release { t, handle } => json!({"kind": "release", "t": t, "handle": handle}),
        Record::Schedule {
            t,
            object,
            offset,
            len,
        } => json!({"kind": "schedule", "t": t, "object": object, "offset": offset, "len": len}),
        Record::FetchStart {
            t,
            fetch,
            object,
            offset,
            len,
        } => {
            json!({"kind": "fetch_start", "t": t, "fetch": fetch, "object": object, "offset": offset, "len": len})
        }
        Record::FetchDone {
            t,
            fetch,
            bytes,
            ok,
        } => json!({"kind": "fetch_done", "t": t, "fetch": fetch, "bytes": bytes, "ok": ok}),
        Record::CacheInsert {
            t,
            object,
            first,
            count,
        } => {
            json!({"kind": "cache_insert", "t": t, "object": object, "first": first, "count": count})
        }
        Record::CacheEvict {
            t,
            object,
            first,
            count,
        } => {
            json!({"kind": "cache_evict", "t": t, "object": object, "first": first, "count": count})
        }
        Record::Error { t, message } => json!({"kind": "error", "t": t, "message": message}),
        Record::Digest { reads, digest } => {
            json!({"kind": "digest", "reads": reads, "digest": format!("{digest:016x}")})
        }
        Record::Stats(v) => json!({"kind": "stats", "stats": v}),
        Record::Unknown { kind, body } => {
            json!({"kind": "unknown", "code": kind, "bytes": body.len()})
        }
        Record::Create { t, handle, path } => {
            json!({"kind": "create", "t": t, "handle": handle, "path": path})
        }
        Record::Write {
            t,
            handle,
            offset,
            len,
            dur,
            ok,
        } => {
            json!({"kind": "write", "t": t, "handle": handle, "offset": offset, "len": len, "dur": dur, "ok": ok})
        }
        Record::Commit {
            t,
            handle,
            object,
            bytes,
            dur,
            ok,
        } => {
            json!({"kind": "commit", "t": t, "handle": handle, "object": object, "bytes": bytes, "dur": dur, "ok": ok})
        }
        Record::Rename { t, from, to, ok } => {
            json!({"kind": "rename", "t": t, "from": from, "to": to, "ok": ok})
        }
    }
}
