//! An in-memory sealed object: manifest bytes plus part bytes, and the pure read path over it.

#![allow(dead_code)]

use std::future::Future;
use std::task::{Context, Poll, Waker};

use mezz_format::{FormatError, KeyProvider, Layout, Manifest, SealedManifest, new_object_version};

/// The local key provider never waits, so polling once is enough.
pub fn block_on<F: Future>(f: F) -> F::Output {
    let mut f = std::pin::pin!(f);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(v) = f.as_mut().poll(&mut cx) {
            return v;
        }
    }
}

#[derive(Clone, Debug)]
pub struct SealedObject {
    pub manifest: Vec<u8>,
    pub parts: Vec<Vec<u8>>,
}

pub fn seal_object(
    keys: &dyn KeyProvider,
    name: &str,
    plain: &[u8],
    part_size: u64,
    segment_size: u32,
) -> SealedObject {
    let (id, wrapped, cipher) =
        block_on(new_object_version(keys, name, segment_size, part_size)).expect("new version");
    let layout = Layout::new(plain.len() as u64, part_size, segment_size).expect("layout");
    let mut parts = Vec::new();
    for p in 0..layout.part_count() {
        let r = layout.part_plaintext(p);
        let mut out = Vec::new();
        let ends = p + 1 == layout.part_count();
        cipher.seal(
            layout.part_segments(p).start,
            &plain[r.start as usize..r.end as usize],
            ends,
            &mut out,
        );
        assert_eq!(out.len() as u64, layout.part_sealed_size(p));
        parts.push(out);
    }
    let manifest = Manifest {
        name: name.into(),
        object_id: id.to_string(),
        plaintext_size: plain.len() as u64,
        part_size,
        segment_size,
        part_count: layout.part_count(),
        created_unix: 0,
        key: wrapped,
    };
    SealedObject {
        manifest: manifest.seal(&cipher),
        parts,
    }
}

pub fn read_range(
    obj: &SealedObject,
    keys: &dyn KeyProvider,
    name: &str,
    range: std::ops::Range<u64>,
) -> Result<Vec<u8>, FormatError> {
    let opened = block_on(SealedManifest::parse(obj.manifest.clone())?.open(keys, name))?;
    let mut out = Vec::new();
    for span in opened.layout.locate(range.clone()) {
        let part = obj
            .parts
            .get(span.part as usize)
            .ok_or(FormatError::SegmentLength {
                segment: span.first_segment,
                part: span.part,
                expected: span.ciphertext.end - span.ciphertext.start,
                got: 0,
            })?;
        let end = (span.ciphertext.end as usize).min(part.len());
        let start = (span.ciphertext.start as usize).min(end);
        let mut buf = part[start..end].to_vec();
        let n = opened.open_span(&span, &mut buf)?;
        let lo = range.start.max(span.plaintext.start) - span.plaintext.start;
        let hi = range.end.min(span.plaintext.end) - span.plaintext.start;
        out.extend_from_slice(&buf[..n][lo as usize..hi as usize]);
    }
    Ok(out)
}
