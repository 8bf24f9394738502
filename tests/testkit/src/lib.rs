//! What the workspace's tests share: deterministic test data (a xorshift64 generator and the
//! pseudo-random bytes it makes, so a failing test reproduces from its seed) and
//! [`FaultyStore`], a store wrapper that injects seeded errors, delays, short reads and
//! corrupt bytes for tests of the layers above a store, and [`Moto`], moto's SQS/KMS server.

mod faulty_store;
mod moto;

pub use faulty_store::{FaultConfig, FaultCounts, FaultyStore};
pub use moto::Moto;

/// Marsaglia's xorshift64: fast, seedable, plenty for picking offsets and filling buffers.
#[derive(Clone, Debug)]
pub struct XorShift(u64);

impl XorShift {
    /// Any seed works; it is made odd because an all-zero state never leaves zero.
    pub fn new(seed: u64) -> XorShift {
        XorShift(seed | 1)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// `n` pseudo-random bytes from `seed`.
pub fn random_bytes(n: usize, seed: u64) -> Vec<u8> {
    let mut rng = XorShift::new(seed);
    let mut v = Vec::with_capacity(n + 8);
    while v.len() < n {
        v.extend_from_slice(&rng.next_u64().to_le_bytes());
    }
    v.truncate(n);
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_bytes_other_seed_other_bytes() {
        assert_eq!(random_bytes(1001, 5), random_bytes(1001, 5));
        assert_ne!(random_bytes(64, 5), random_bytes(64, 6));
        assert_eq!(random_bytes(13, 5).len(), 13);
    }
}
