//! Seal and open throughput per core, by segment size.
//!
//! `cargo bench -p mezz-format --bench seal`; the figures and the segment-size decision are in
//! BENCHMARKS.md.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use mezz_format::{DataKey, ObjectCipher, ObjectId};

const CHUNK: usize = 8 * 1024 * 1024;

fn bench(c: &mut Criterion) {
    let plain: Vec<u8> = (0..CHUNK).map(|i| (i * 31 % 251) as u8).collect();
    let mut group = c.benchmark_group("segments");
    group.throughput(Throughput::Bytes(CHUNK as u64));
    group.sample_size(20);
    for seg in [4096u32, 16 * 1024, 32 * 1024, 64 * 1024, 256 * 1024] {
        let cipher = ObjectCipher::new(
            &DataKey::from_bytes([3; 32]),
            ObjectId::from_bytes([4; 16]),
            seg,
            CHUNK as u64,
        );
        let mut sealed = Vec::new();
        cipher.seal(0, &plain, true, &mut sealed);
        let last = (CHUNK / seg as usize) as u64 - 1;
        group.bench_with_input(BenchmarkId::new("seal", seg), &seg, |b, _| {
            let mut out = Vec::with_capacity(sealed.len());
            b.iter(|| {
                out.clear();
                cipher.seal(0, &plain, true, &mut out);
            })
        });
        group.bench_with_input(BenchmarkId::new("open", seg), &seg, |b, _| {
            let mut buf = sealed.clone();
            b.iter(|| {
                buf.copy_from_slice(&sealed);
                cipher.open_in_place(0, last, &mut buf).expect("authentic")
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
