//! The replay file: a header, then self-contained chunks of delta-encoded records.
//!
//! ```text
//! file   = "MEZZRPLY" | version u16 LE | flags u16 LE | reserved u32 LE | chunk*
//! chunk  = payload length u32 LE | record count u32 LE | CRC-32 of payload u32 LE | payload
//! record = head byte (kind in the low 4 bits, flags in the high 4) | body
//! ```
//!
//! Every chunk starts from a fresh delta state, so a chunk decodes on its own and a file cut
//! anywhere decodes to the records of its whole chunks. Kinds 0-11 have fixed bodies (below);
//! kind 15 is `varint kind | varint length | body`, the form every later kind uses, so older
//! readers skip what they do not know. Times are zigzag deltas from the previous record's
//! time (the end of the previous read, if that was a read); a sequential read of the same
//! length on the same handle as the previous read is the head byte, the time delta and a
//! one-byte duration.
//!
//! Extended kinds 16-19 are the writes: create, write, commit, rename. Their times are deltas
//! from the fixed kinds' running time but never move it, and the only other state they keep
//! is their own (each handle's previous write, against which a write's offset, length and
//! time are deltas), so a reader that skips them decodes everything else the same. Fields added to them later go at the end of the body, where this version
//! ignores them.

use std::collections::HashMap;

use crate::record::{Meta, Record};
use crate::varint::{Cursor, Short, put_duration, put_i64, put_u64};

pub const MAGIC: &[u8; 8] = b"MEZZRPLY";
pub const VERSION: u16 = 1;
pub const HEADER_LEN: usize = 16;
const CHUNK_HEADER: usize = 12;
/// Larger chunks are refused (a garbage length must not make the reader allocate gigabytes).
pub const MAX_CHUNK: usize = 16 << 20;

const META: u8 = 0;
const OPEN: u8 = 1;
const READ: u8 = 2;
const RELEASE: u8 = 3;
const SCHEDULE: u8 = 4;
const FETCH_START: u8 = 5;
const FETCH_DONE: u8 = 6;
const CACHE_INSERT: u8 = 7;
const CACHE_EVICT: u8 = 8;
const ERROR: u8 = 9;
const DIGEST: u8 = 10;
const STATS: u8 = 11;
const EXTENDED: u8 = 15;
// Extended kinds.
const CREATE: u64 = 16;
const WRITE: u64 = 17;
const COMMIT: u64 = 18;
const RENAME: u64 = 19;

// Read flags.
const SAME_HANDLE: u8 = 1;
const SEQUENTIAL: u8 = 2;
const SAME_LEN: u8 = 4;
const FAILED: u8 = 8;
// FetchStart flag.
const NEXT_FETCH: u8 = 1;

/// Delta state of one chunk.
#[derive(Debug, Default)]
struct State {
    t: u64,
    read_handle: u64,
    /// Per handle: end and length of its previous read.
    handles: HashMap<u64, (u64, u64)>,
    fetch: u64,
    /// End of the previous schedule / fetch / cache record's range.
    range_end: u64,
    block_end: u64,
    /// Per handle: its previous write (write records only).
    writes: HashMap<u64, PrevWrite>,
}

#[derive(Clone, Copy, Debug)]
struct PrevWrite {
    end: u64,
    len: u64,
    /// When it was answered.
    done: u64,
}

impl State {
    fn time(&mut self, out: &mut Vec<u8>, t: u64) {
        put_i64(out, t.wrapping_sub(self.t) as i64);
        self.t = t;
    }

    fn read_time(&mut self, c: &mut Cursor<'_>) -> Result<u64, Short> {
        self.t = self.t.wrapping_add(c.i64()? as u64);
        Ok(self.t)
    }

    /// The previous write through `handle`; a handle's first write is a delta from offset
    /// 0, length 0 and the running time.
    fn prev_write(&self, handle: u64) -> PrevWrite {
        self.writes.get(&handle).copied().unwrap_or(PrevWrite {
            end: 0,
            len: 0,
            done: self.t,
        })
    }

    /// An extended record's time: a delta that leaves the running time alone.
    fn side_time(&self, out: &mut Vec<u8>, t: u64) {
        put_i64(out, t.wrapping_sub(self.t) as i64);
    }

    fn read_side_time(&self, c: &mut Cursor<'_>) -> Result<u64, Short> {
        Ok(self.t.wrapping_add(c.i64()? as u64))
    }
}

/// Builds one chunk's payload.
#[derive(Debug, Default)]
pub struct ChunkEncoder {
    payload: Vec<u8>,
    count: u32,
    state: State,
}

impl ChunkEncoder {
    pub fn len(&self) -> usize {
        self.payload.len()
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    pub fn push(&mut self, r: &Record) {
        let out = &mut self.payload;
        let st = &mut self.state;
        self.count += 1;
        match r {
            Record::Meta(m) => {
                out.push(META);
                json(out, &serde_json::to_value(m).unwrap_or_default());
            }
            Record::Open { t, handle, file } => {
                out.push(OPEN);
                st.time(out, *t);
                put_u64(out, *handle);
                put_u64(out, *file);
            }
            Record::Read {
                t,
                handle,
                offset,
                len,
                dur,
                ok,
            } => {
                let (prev_end, prev_len) = st.handles.get(handle).copied().unwrap_or((0, 0));
                let mut flags = 0;
                if *handle == st.read_handle {
                    flags |= SAME_HANDLE;
                }
                if *offset == prev_end {
                    flags |= SEQUENTIAL;
                }
                if *len == prev_len {
                    flags |= SAME_LEN;
                }
                if !ok {
                    flags |= FAILED;
                }
                out.push(READ | flags << 4);
                if flags & SAME_HANDLE == 0 {
                    put_u64(out, *handle);
                }
                if flags & SEQUENTIAL == 0 {
                    put_i64(out, offset.wrapping_sub(prev_end) as i64);
                }
                if flags & SAME_LEN == 0 {
                    put_u64(out, *len);
                }
                st.time(out, *t);
                put_duration(out, *dur);
                // The next record is timed from this read's end: a reader issuing its next
                // read as soon as one returns costs a one-byte delta.
                st.t = t.wrapping_add(stored_duration(*dur));
                st.read_handle = *handle;
                st.handles
                    .insert(*handle, (offset.wrapping_add(*len), *len));
            }
            Record::Release { t, handle } => {
                out.push(RELEASE);
                st.time(out, *t);
                put_u64(out, *handle);
            }
            Record::Schedule {
                t,
                object,
                offset,
                len,
            } => {
                out.push(SCHEDULE);
                st.time(out, *t);
                put_u64(out, *object);
                range(out, &mut st.range_end, *offset, *len);
            }
            Record::FetchStart {
                t,
                fetch,
                object,
                offset,
                len,
            } => {
                let next = *fetch == st.fetch.wrapping_add(1);
                out.push(FETCH_START | if next { NEXT_FETCH << 4 } else { 0 });
                st.time(out, *t);
                if !next {
                    put_i64(out, fetch.wrapping_sub(st.fetch) as i64);
                }
                st.fetch = *fetch;
                put_u64(out, *object);
                range(out, &mut st.range_end, *offset, *len);
            }
            Record::FetchDone {
                t,
                fetch,
                bytes,
                ok,
            } => {
                out.push(FETCH_DONE | if *ok { 0 } else { FAILED << 4 });
                st.time(out, *t);
                put_i64(out, fetch.wrapping_sub(st.fetch) as i64);
                put_u64(out, *bytes);
            }
            Record::CacheInsert {
                t,
                object,
                first,
                count,
            }
            | Record::CacheEvict {
                t,
                object,
                first,
                count,
            } => {
                let kind = if matches!(r, Record::CacheInsert { .. }) {
                    CACHE_INSERT
                } else {
                    CACHE_EVICT
                };
                out.push(kind);
                st.time(out, *t);
                put_u64(out, *object);
                range(out, &mut st.block_end, *first, *count);
            }
            Record::Error { t, message } => {
                out.push(ERROR);
                st.time(out, *t);
                string(out, message);
            }
            Record::Digest { reads, digest } => {
                out.push(DIGEST);
                put_u64(out, *reads);
                out.extend_from_slice(&digest.to_le_bytes());
            }
            Record::Stats(v) => {
                out.push(STATS);
                json(out, v);
            }
            Record::Unknown { kind, body } => extended(out, *kind, body),
            Record::Create { t, handle, path } => {
                let mut b = Vec::new();
                st.side_time(&mut b, *t);
                put_u64(&mut b, *handle);
                string(&mut b, path);
                extended(out, CREATE, &b);
            }
            Record::Write {
                t,
                handle,
                offset,
                len,
                dur,
                ok,
            } => {
                // Against the handle's previous write: the next offset, the same length, and
                // arriving soon after it ended cost a byte each.
                let prev = st.prev_write(*handle);
                let dur = stored_write_duration(*dur);
                let mut b = Vec::new();
                put_u64(&mut b, *handle);
                put_i64(&mut b, offset.wrapping_sub(prev.end) as i64);
                put_i64(&mut b, len.wrapping_sub(prev.len) as i64);
                put_i64(&mut b, t.wrapping_sub(prev.done) as i64);
                put_u64(&mut b, dur << 1 | u64::from(!ok));
                st.writes.insert(
                    *handle,
                    PrevWrite {
                        end: offset.wrapping_add(*len),
                        len: *len,
                        done: t.wrapping_add(dur),
                    },
                );
                extended(out, WRITE, &b);
            }
            Record::Commit {
                t,
                handle,
                object,
                bytes,
                dur,
                ok,
            } => {
                let mut b = Vec::new();
                st.side_time(&mut b, *t);
                put_u64(&mut b, *handle);
                string(&mut b, object);
                put_u64(&mut b, *bytes);
                put_u64(&mut b, *dur);
                b.push(u8::from(*ok));
                extended(out, COMMIT, &b);
            }
            Record::Rename { t, from, to, ok } => {
                let mut b = Vec::new();
                st.side_time(&mut b, *t);
                string(&mut b, from);
                string(&mut b, to);
                b.push(u8::from(*ok));
                extended(out, RENAME, &b);
            }
        }
    }

    /// The finished chunk (header and payload); the encoder starts a fresh chunk.
    pub fn finish(&mut self) -> Vec<u8> {
        let payload = std::mem::take(&mut self.payload);
        let mut out = Vec::with_capacity(CHUNK_HEADER + payload.len());
        out.extend_from_slice(&(payload.len() as u32).to_le_bytes());
        out.extend_from_slice(&self.count.to_le_bytes());
        out.extend_from_slice(&crc32fast::hash(&payload).to_le_bytes());
        out.extend_from_slice(&payload);
        self.count = 0;
        self.state = State::default();
        out
    }
}

fn extended(out: &mut Vec<u8>, kind: u64, body: &[u8]) {
    out.push(EXTENDED);
    put_u64(out, kind);
    put_u64(out, body.len() as u64);
    out.extend_from_slice(body);
}

fn string(out: &mut Vec<u8>, s: &str) {
    put_u64(out, s.len() as u64);
    out.extend_from_slice(s.as_bytes());
}

fn read_string(c: &mut Cursor<'_>) -> Result<String, Short> {
    let n = c.u64()?;
    Ok(String::from_utf8_lossy(c.bytes(n)?).into_owned())
}

fn json(out: &mut Vec<u8>, v: &serde_json::Value) {
    string(out, &v.to_string());
}

fn range(out: &mut Vec<u8>, end: &mut u64, offset: u64, len: u64) {
    put_i64(out, offset.wrapping_sub(*end) as i64);
    put_u64(out, len);
    *end = offset.wrapping_add(len);
}

fn read_range(c: &mut Cursor<'_>, end: &mut u64) -> Result<(u64, u64), Short> {
    let offset = end.wrapping_add(c.i64()? as u64);
    let len = c.u64()?;
    *end = offset.wrapping_add(len);
    Ok((offset, len))
}

/// The duration a read's `dur` comes back as after encoding (within 6%, never more).
pub fn stored_duration(micros: u64) -> u64 {
    let mut b = Vec::new();
    put_duration(&mut b, micros);
    Cursor::new(&b).duration().unwrap_or(micros)
}

/// A write's duration shares its varint with the failed flag: anything from 2^63 µs
/// (292 millennia) on is kept as 2^63 - 1.
fn stored_write_duration(micros: u64) -> u64 {
    micros.min(u64::MAX >> 1)
}

/// The record decoding gives back for `r`: equal, except a read's duration at its stored
/// precision (and a write's beyond 2^63 µs).
pub fn stored(r: &Record) -> Record {
    let mut back = r.clone();
    match &mut back {
        Record::Read { dur, .. } => *dur = stored_duration(*dur),
        Record::Write { dur, .. } => *dur = stored_write_duration(*dur),
        _ => {}
    }
    back
}

/// The file header.
pub fn header() -> [u8; HEADER_LEN] {
    let mut h = [0u8; HEADER_LEN];
    h[..8].copy_from_slice(MAGIC);
    h[8..10].copy_from_slice(&VERSION.to_le_bytes());
    h
}

/// How a decoded replay ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum End {
    /// The file ends after a whole chunk.
    Complete,
    /// The last chunk is cut short at byte `at` (a mount killed while writing).
    Truncated { at: u64 },
    /// A chunk at byte `at` is damaged; the records before it are good.
    Corrupt { at: u64, reason: String },
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("not a mezzfs replay (no MEZZRPLY header)")]
    NotAReplay,
    #[error("replay format version {0} is newer than this mezzfs reads (up to {VERSION})")]
    NewerVersion(u16),
}

/// A decoded replay: its records in order and how the file ended.
#[derive(Clone, Debug, PartialEq)]
pub struct Decoded {
    pub records: Vec<Record>,
    pub end: End,
    /// Chunks read whole.
    pub chunks: u64,
}

impl Decoded {
    pub fn meta(&self) -> Option<&Meta> {
        match self.records.first() {
            Some(Record::Meta(m)) => Some(m),
            _ => None,
        }
    }
}

/// Decodes a whole replay file. Never panics and never allocates more than a bounded multiple
/// of the input, whatever the bytes.
pub fn decode(bytes: &[u8]) -> Result<Decoded, DecodeError> {
    if bytes.len() < HEADER_LEN || &bytes[..8] != MAGIC {
        return Err(DecodeError::NotAReplay);
    }
    let version = u16::from_le_bytes([bytes[8], bytes[9]]);
    if version > VERSION || version == 0 {
        return Err(DecodeError::NewerVersion(version));
    }
    let mut records = Vec::new();
    let mut pos = HEADER_LEN;
    let mut chunks = 0;
    let end = loop {
        if pos == bytes.len() {
            break End::Complete;
        }
        let at = pos as u64;
        let Some(head) = bytes.get(pos..pos + CHUNK_HEADER) else {
            break End::Truncated { at };
        };
        let word = |i: usize| u32::from_le_bytes([head[i], head[i + 1], head[i + 2], head[i + 3]]);
        let (len, count, crc) = (word(0) as usize, word(4), word(8));
        if len > MAX_CHUNK {
            break End::Corrupt {
                at,
                reason: format!("chunk length {len} is over the {MAX_CHUNK}-byte limit"),
            };
        }
        let Some(payload) = bytes.get(pos + CHUNK_HEADER..pos + CHUNK_HEADER + len) else {
            break End::Truncated { at };
        };
        if crc32fast::hash(payload) != crc {
            break End::Corrupt {
                at,
                reason: "checksum mismatch".into(),
            };
        }
        match decode_chunk(payload, count) {
            Ok(mut rs) => records.append(&mut rs),
            Err(reason) => break End::Corrupt { at, reason },
        }
        chunks += 1;
        pos += CHUNK_HEADER + len;
    };
    Ok(Decoded {
        records,
        end,
        chunks,
    })
}

/// Decodes one chunk's payload holding `count` records.
pub fn decode_chunk(payload: &[u8], count: u32) -> Result<Vec<Record>, String> {
    let mut c = Cursor::new(payload);
    let mut st = State::default();
    // Every record takes at least two bytes, which bounds what a lying count can reserve.
    let mut out = Vec::with_capacity((count as usize).min(payload.len() / 2));
    while !c.is_empty() {
        let r = decode_record(&mut c, &mut st).map_err(|e| match e {
            RecordError::Short => format!("record {} runs past the chunk", out.len()),
            RecordError::Bad(m) => format!("record {}: {m}", out.len()),
        })?;
        out.push(r);
    }
    if out.len() != count as usize {
        return Err(format!("{} records, the header says {count}", out.len()));
    }
    Ok(out)
}

enum RecordError {
    Short,
    Bad(String),
}

impl From<Short> for RecordError {
    fn from(_: Short) -> Self {
        RecordError::Short
    }
}

fn decode_record(c: &mut Cursor<'_>, st: &mut State) -> Result<Record, RecordError> {
    let head = c.u8()?;
    let (kind, flags) = (head & 15, head >> 4);
    Ok(match kind {
        META => {
            let v = read_json(c)?;
            Record::Meta(serde_json::from_value(v).map_err(|e| RecordError::Bad(e.to_string()))?)
        }
        OPEN => {
            let t = st.read_time(c)?;
            Record::Open {
                t,
                handle: c.u64()?,
                file: c.u64()?,
            }
        }
        READ => {
            let handle = if flags & SAME_HANDLE != 0 {
                st.read_handle
            } else {
                c.u64()?
            };
            let (prev_end, prev_len) = st.handles.get(&handle).copied().unwrap_or((0, 0));
            let offset = if flags & SEQUENTIAL != 0 {
                prev_end
            } else {
                prev_end.wrapping_add(c.i64()? as u64)
            };
            let len = if flags & SAME_LEN != 0 {
                prev_len
            } else {
                c.u64()?
            };
            let t = st.read_time(c)?;
            let dur = c.duration()?;
            st.t = t.wrapping_add(dur);
            st.read_handle = handle;
            if st.handles.len() > 1 << 20 && !st.handles.contains_key(&handle) {
                return Err(RecordError::Bad(
                    "more than a million handles in a chunk".into(),
                ));
            }
            st.handles.insert(handle, (offset.wrapping_add(len), len));
            Record::Read {
                t,
                handle,
                offset,
                len,
                dur,
                ok: flags & FAILED == 0,
            }
        }
        RELEASE => {
            let t = st.read_time(c)?;
            Record::Release {
                t,
                handle: c.u64()?,
            }
        }
        SCHEDULE => {
            let t = st.read_time(c)?;
            let object = c.u64()?;
            let (offset, len) = read_range(c, &mut st.range_end)?;
            Record::Schedule {
                t,
                object,
                offset,
                len,
            }
        }
        FETCH_START => {
            let t = st.read_time(c)?;
            let fetch = if flags & NEXT_FETCH != 0 {
                st.fetch.wrapping_add(1)
            } else {
                st.fetch.wrapping_add(c.i64()? as u64)
            };
            st.fetch = fetch;
            let object = c.u64()?;
            let (offset, len) = read_range(c, &mut st.range_end)?;
            Record::FetchStart {
                t,
                fetch,
                object,
                offset,
                len,
            }
        }
        FETCH_DONE => {
            let t = st.read_time(c)?;
            let fetch = st.fetch.wrapping_add(c.i64()? as u64);
            Record::FetchDone {
                t,
                fetch,
                bytes: c.u64()?,
                ok: flags & FAILED == 0,
            }
        }
        CACHE_INSERT | CACHE_EVICT => {
            let t = st.read_time(c)?;
            let object = c.u64()?;
            let (first, count) = read_range(c, &mut st.block_end)?;
            if kind == CACHE_INSERT {
                Record::CacheInsert {
                    t,
                    object,
                    first,
                    count,
                }
            } else {
                Record::CacheEvict {
                    t,
                    object,
                    first,
                    count,
                }
            }
        }
        ERROR => {
            let t = st.read_time(c)?;
            let message = read_string(c)?;
            Record::Error { t, message }
        }
        DIGEST => Record::Digest {
            reads: c.u64()?,
            digest: c.fixed_u64()?,
        },
        STATS => Record::Stats(read_json(c)?),
        EXTENDED => {
            let kind = c.u64()?;
            let n = c.u64()?;
            let body = c.bytes(n)?;
            match kind {
                CREATE..=RENAME => decode_write_record(kind, body, st).map_err(|e| match e {
                    RecordError::Short => RecordError::Bad(format!(
                        "extended record {kind} is shorter than its fields"
                    )),
                    bad => bad,
                })?,
                _ => Record::Unknown {
                    kind,
                    body: body.to_vec(),
                },
            }
        }
        other => {
            return Err(RecordError::Bad(format!(
                "unknown fixed record kind {other}"
            )));
        }
    })
}

/// The body of a create, write, commit or rename (bytes after its fields are a later
/// version's and are ignored).
fn decode_write_record(kind: u64, body: &[u8], st: &mut State) -> Result<Record, RecordError> {
    let mut c = Cursor::new(body);
    let ok = |c: &mut Cursor<'_>| c.u8().map(|b| b != 0);
    Ok(match kind {
        CREATE => Record::Create {
            t: st.read_side_time(&mut c)?,
            handle: c.u64()?,
            path: read_string(&mut c)?,
        },
        WRITE => {
            let handle = c.u64()?;
            let prev = st.prev_write(handle);
            let offset = prev.end.wrapping_add(c.i64()? as u64);
            let len = prev.len.wrapping_add(c.i64()? as u64);
            let t = prev.done.wrapping_add(c.i64()? as u64);
            let dur_ok = c.u64()?;
            let dur = dur_ok >> 1;
            if st.writes.len() > 1 << 20 && !st.writes.contains_key(&handle) {
                return Err(RecordError::Bad(
                    "more than a million written handles in a chunk".into(),
                ));
            }
            st.writes.insert(
                handle,
                PrevWrite {
                    end: offset.wrapping_add(len),
                    len,
                    done: t.wrapping_add(dur),
                },
            );
            Record::Write {
                t,
                handle,
                offset,
                len,
                dur,
                ok: dur_ok & 1 == 0,
            }
        }
        COMMIT => Record::Commit {
            t: st.read_side_time(&mut c)?,
            handle: c.u64()?,
            object: read_string(&mut c)?,
            bytes: c.u64()?,
            dur: c.u64()?,
            ok: ok(&mut c)?,
        },
        _ => Record::Rename {
            t: st.read_side_time(&mut c)?,
            from: read_string(&mut c)?,
            to: read_string(&mut c)?,
            ok: ok(&mut c)?,
        },
    })
}

fn read_json(c: &mut Cursor<'_>) -> Result<serde_json::Value, RecordError> {
    let n = c.u64()?;
    let b = c.bytes(n)?;
    serde_json::from_slice(b).map_err(|e| RecordError::Bad(format!("JSON: {e}")))
}
