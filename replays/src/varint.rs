//! LEB128 varints, zigzag for signed deltas, and a one-byte log-scale duration.

/// Appends `v` as an unsigned LEB128 varint (1 byte below 128, at most 10).
pub fn put_u64(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

pub fn put_i64(out: &mut Vec<u8>, v: i64) {
    put_u64(out, zigzag(v));
}

pub fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

pub fn unzigzag(v: u64) -> i64 {
    ((v >> 1) as i64) ^ -((v & 1) as i64)
}

/// Durations in µs as one byte: exact below 16, then 4 exponent and 4 mantissa bits (within
/// 6%), and code 255 followed by an exact varint for anything from about half a second up.
pub fn put_duration(out: &mut Vec<u8>, micros: u64) {
    let code = duration_code(micros);
    out.push(code);
    if code == ESCAPE {
        put_u64(out, micros);
    }
}

const ESCAPE: u8 = 255;

fn duration_code(v: u64) -> u8 {
    if v < 16 {
        return v as u8;
    }
    // v = (16 + m) << (e - 1) for e in 1..=15, m in 0..16.
    let bits = 64 - v.leading_zeros(); // v in [2^(bits-1), 2^bits), bits >= 5
    let e = bits - 4;
    if e > 15 {
        return ESCAPE;
    }
    let m = (v >> (e - 1)) - 16;
    let code = ((e as u8) << 4) | (m as u8);
    if code == ESCAPE { ESCAPE } else { code }
}

pub fn duration_of(code: u8) -> u64 {
    if code < 16 {
        return u64::from(code);
    }
    let e = u32::from(code >> 4);
    let m = u64::from(code & 15);
    (16 + m) << (e - 1)
}

/// A cursor over untrusted bytes: every read is bounds-checked and fails instead of panicking.
#[derive(Debug)]
pub struct Cursor<'a> {
    bytes: &'a [u8],
    pos: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Short;

impl<'a> Cursor<'a> {
    pub fn new(bytes: &'a [u8]) -> Cursor<'a> {
        Cursor { bytes, pos: 0 }
    }

    pub fn is_empty(&self) -> bool {
        self.pos >= self.bytes.len()
    }

    pub fn u8(&mut self) -> Result<u8, Short> {
        let b = *self.bytes.get(self.pos).ok_or(Short)?;
        self.pos += 1;
        Ok(b)
    }

    pub fn u64(&mut self) -> Result<u64, Short> {
        let mut v = 0u64;
        for shift in (0..70).step_by(7) {
            let b = self.u8()?;
            if shift == 63 && b > 1 {
                return Err(Short); // more than 64 bits
            }
            v |= u64::from(b & 0x7f) << shift;
            if b < 0x80 {
                return Ok(v);
            }
        }
        Err(Short)
    }

    pub fn i64(&mut self) -> Result<i64, Short> {
        self.u64().map(unzigzag)
    }

    pub fn duration(&mut self) -> Result<u64, Short> {
        let code = self.u8()?;
        if code == ESCAPE {
            self.u64()
        } else {
            Ok(duration_of(code))
        }
    }

    pub fn bytes(&mut self, n: u64) -> Result<&'a [u8], Short> {
        let n = usize::try_from(n).map_err(|_| Short)?;
        let end = self.pos.checked_add(n).ok_or(Short)?;
        let b = self.bytes.get(self.pos..end).ok_or(Short)?;
        self.pos = end;
        Ok(b)
    }

    pub fn fixed_u64(&mut self) -> Result<u64, Short> {
        let b = self.bytes(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(u64::from_le_bytes(a))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_round_trip_at_the_edges() {
        for v in [0, 1, 127, 128, 16383, 16384, u64::MAX / 2, u64::MAX] {
            let mut b = Vec::new();
            put_u64(&mut b, v);
            assert_eq!(Cursor::new(&b).u64(), Ok(v));
        }
        for v in [0, -1, 1, i64::MIN, i64::MAX] {
            let mut b = Vec::new();
            put_i64(&mut b, v);
            assert_eq!(Cursor::new(&b).i64(), Ok(v));
        }
        assert_eq!(Cursor::new(&[0xff; 11]).u64(), Err(Short));
        assert_eq!(Cursor::new(&[0x80]).u64(), Err(Short));
    }

    #[test]
    fn durations_are_within_six_percent() {
        for v in (0..2_000_000u64)
            .step_by(997)
            .chain([15, 16, 17, 31, 32, 1 << 40])
        {
            let mut b = Vec::new();
            put_duration(&mut b, v);
            let back = Cursor::new(&b).duration().expect("decode");
            assert!(
                back <= v && (v - back) as f64 <= v as f64 * 0.0625,
                "{v} -> {back}"
            );
            if v < 480_000 {
                assert_eq!(b.len(), 1, "{v}");
            }
        }
    }
}
