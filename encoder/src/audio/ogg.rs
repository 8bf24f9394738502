//! Ogg pages (RFC 3533) for one logical stream, and the two Ogg Opus header packets
//! (RFC 7845): pure, in memory.
//!
//! Each packet lies on one page (packets are never split across pages); audio packets are
//! gathered until a page holds about [`PAGE_PACKETS`] of them, so that the 27-byte page header
//! costs a fraction of a kbit/s rather than the 11 kbit/s one page per 20 ms packet would. A
//! page's granule position is the end of the last packet on it, in 48 kHz samples counted
//! from the start of the stream including the pre-skip; the last page's granule is where the
//! audio really ends, which tells the decoder how many samples of the last packet to drop.

/// Audio packets gathered on one page (50 packets of 20 ms: one second).
pub const PAGE_PACKETS: usize = 50;

/// The Ogg CRC: polynomial 0x04c11db7, not reflected, initial value 0, no final xor
/// (unlike zlib's CRC-32, hence a table of our own).
fn crc_table() -> [u32; 256] {
    let mut table = [0u32; 256];
    for (i, t) in table.iter_mut().enumerate() {
        let mut r = (i as u32) << 24;
        for _ in 0..8 {
            r = if r & 0x8000_0000 != 0 {
                (r << 1) ^ 0x04c1_1db7
            } else {
                r << 1
            };
        }
        *t = r;
    }
    table
}

pub fn crc(bytes: &[u8]) -> u32 {
    let table = crc_table();
    bytes.iter().fold(0u32, |c, &b| {
        (c << 8) ^ table[usize::from(((c >> 24) as u8) ^ b)]
    })
}

const BOS: u8 = 0x02;
const EOS: u8 = 0x04;

/// One logical Ogg stream being written into a byte vector.
#[derive(Debug)]
pub struct OggStream {
    serial: u32,
    sequence: u32,
    out: Vec<u8>,
    /// Packets waiting for the current page, and the granule after the last of them.
    waiting: Vec<Vec<u8>>,
    granule: u64,
}

impl OggStream {
    pub fn new(serial: u32) -> OggStream {
        OggStream {
            serial,
            sequence: 0,
            out: Vec::new(),
            waiting: Vec::new(),
            granule: 0,
        }
    }

    /// A packet on a page of its own, written now (the header packets).
    pub fn header_page(&mut self, packet: &[u8]) {
        let flags = if self.sequence == 0 { BOS } else { 0 };
        self.page(flags, 0, &[packet]);
    }

    /// An audio packet that ends at `granule`; pages are written as they fill.
    pub fn packet(&mut self, packet: Vec<u8>, granule: u64) {
        let lacing: usize = self.waiting.iter().map(|p| p.len() / 255 + 1).sum();
        if !self.waiting.is_empty()
            && (self.waiting.len() >= PAGE_PACKETS || lacing + packet.len() / 255 + 1 > 255)
        {
            self.flush(0);
        }
        self.waiting.push(packet);
        self.granule = granule;
    }

    /// Writes the last page (end of stream) with granule `end` and returns the stream's bytes.
    pub fn finish(mut self, end: u64) -> Vec<u8> {
        self.granule = end;
        self.flush(EOS);
        self.out
    }

    fn flush(&mut self, flags: u8) {
        let packets = std::mem::take(&mut self.waiting);
        let refs: Vec<&[u8]> = packets.iter().map(Vec::as_slice).collect();
        self.page(flags, self.granule, &refs);
    }

    fn page(&mut self, flags: u8, granule: u64, packets: &[&[u8]]) {
        let start = self.out.len();
        self.out.extend_from_slice(b"OggS");
        self.out.push(0); // version
        self.out.push(flags);
        self.out.extend_from_slice(&granule.to_le_bytes());
        self.out.extend_from_slice(&self.serial.to_le_bytes());
        self.out.extend_from_slice(&self.sequence.to_le_bytes());
        self.out.extend_from_slice(&[0; 4]); // CRC, filled in below
        let mut lacing = Vec::new();
        for p in packets {
            lacing.extend(std::iter::repeat_n(255u8, p.len() / 255));
            lacing.push((p.len() % 255) as u8);
        }
        // `packet` keeps a page at 255 lacing values; a header packet is far smaller.
        self.out.push(lacing.len() as u8);
        self.out.extend_from_slice(&lacing);
        for p in packets {
            self.out.extend_from_slice(p);
        }
        let c = crc(&self.out[start..]);
        self.out[start + 22..start + 26].copy_from_slice(&c.to_le_bytes());
        self.sequence += 1;
    }
}

/// The channel mapping an `OpusHead` describes.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Mapping {
    /// 0: mono or stereo, one stream; 1: Vorbis channel order, 1-8 channels.
    pub family: u8,
    pub streams: u8,
    pub coupled: u8,
    /// Output channel -> decoded stream channel (family 1 only).
    pub table: Vec<u8>,
}

/// The identification header (RFC 7845 section 5.1).
pub fn opus_head(channels: u8, pre_skip: u16, input_rate: u32, mapping: &Mapping) -> Vec<u8> {
    let mut h = b"OpusHead".to_vec();
    h.push(1);
    h.push(channels);
    h.extend_from_slice(&pre_skip.to_le_bytes());
    h.extend_from_slice(&input_rate.to_le_bytes());
    h.extend_from_slice(&0i16.to_le_bytes()); // output gain
    h.push(mapping.family);
    if mapping.family != 0 {
        h.push(mapping.streams);
        h.push(mapping.coupled);
        h.extend_from_slice(&mapping.table);
    }
    h
}

/// The comment header (RFC 7845 section 5.2): the vendor string, no comments.
pub fn opus_tags(vendor: &str) -> Vec<u8> {
    let mut t = b"OpusTags".to_vec();
    t.extend_from_slice(&(vendor.len() as u32).to_le_bytes());
    t.extend_from_slice(vendor.as_bytes());
    t.extend_from_slice(&0u32.to_le_bytes());
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Splits an Ogg byte stream into (flags, granule, sequence, packets), checking each CRC.
    fn pages(bytes: &[u8]) -> Vec<(u8, u64, u32, Vec<Vec<u8>>)> {
        let mut out = Vec::new();
        let mut at = 0;
        while at < bytes.len() {
            let p = &bytes[at..];
            assert_eq!(&p[..4], b"OggS");
            let n = usize::from(p[26]);
            let lacing = &p[27..27 + n];
            let body: usize = lacing.iter().map(|&l| usize::from(l)).sum();
            let len = 27 + n + body;
            let mut copy = p[..len].to_vec();
            copy[22..26].fill(0);
            let stored = u32::from_le_bytes(p[22..26].try_into().expect("4"));
            assert_eq!(crc(&copy), stored, "page CRC");
            let mut packets = Vec::new();
            let mut cur = Vec::new();
            let mut off = 27 + n;
            for &l in lacing {
                cur.extend_from_slice(&p[off..off + usize::from(l)]);
                off += usize::from(l);
                if l < 255 {
                    packets.push(std::mem::take(&mut cur));
                }
            }
            assert!(cur.is_empty(), "packets never continue onto the next page");
            let granule = u64::from_le_bytes(p[6..14].try_into().expect("8"));
            let seq = u32::from_le_bytes(p[18..22].try_into().expect("4"));
            out.push((p[5], granule, seq, packets));
            at += len;
        }
        out
    }

    #[test]
    fn crc_of_known_input() {
        // The Ogg CRC (CRC-32/MPEG-2 without its initial all-ones and final xor) of "123456789".
        assert_eq!(crc(b"123456789"), 0x89a1_897f);
    }

    #[test]
    fn packets_come_back_with_their_pages_granules_and_flags() {
        let mut s = OggStream::new(7);
        s.header_page(b"OpusHead-ish");
        s.header_page(b"OpusTags-ish");
        let packets: Vec<Vec<u8>> = (0..120).map(|i| vec![i as u8; 3 + i * 7]).collect();
        for (i, p) in packets.iter().enumerate() {
            s.packet(p.clone(), 312 + 960 * (i as u64 + 1));
        }
        let bytes = s.finish(312 + 960 * 119 + 5);
        let pages = pages(&bytes);
        assert_eq!(pages[0].0, BOS);
        assert_eq!(pages[0].3, vec![b"OpusHead-ish".to_vec()]);
        assert_eq!(pages[1].1, 0);
        let last = pages.last().expect("pages");
        assert_eq!(last.0, EOS);
        assert_eq!(last.1, 312 + 960 * 119 + 5);
        let seqs: Vec<u32> = pages.iter().map(|p| p.2).collect();
        assert_eq!(seqs, (0..pages.len() as u32).collect::<Vec<_>>());
        let got: Vec<Vec<u8>> = pages[2..].iter().flat_map(|p| p.3.clone()).collect();
        assert_eq!(got, packets);
        // Every middle page's granule is the end of its last packet.
        let mut count = 0u64;
        for p in &pages[2..pages.len() - 1] {
            count += p.3.len() as u64;
            assert_eq!(p.1, 312 + 960 * count);
            assert!(p.3.len() <= PAGE_PACKETS);
        }
    }

    #[test]
    fn a_page_never_exceeds_255_lacing_values() {
        let mut s = OggStream::new(1);
        for i in 0..40 {
            s.packet(vec![0xAB; 2000], 960 * (i + 1));
        }
        let bytes = s.finish(960 * 40);
        let pages = pages(&bytes);
        assert!(pages.len() > 1);
        assert_eq!(pages.iter().map(|p| p.3.len()).sum::<usize>(), 40);
    }

    #[test]
    fn head_layout() {
        let stereo = Mapping {
            family: 0,
            streams: 1,
            coupled: 1,
            table: vec![],
        };
        let h = opus_head(2, 312, 48000, &stereo);
        assert_eq!(h.len(), 19);
        assert_eq!(&h[10..12], &312u16.to_le_bytes());
        let surround = Mapping {
            family: 1,
            streams: 4,
            coupled: 2,
            table: vec![0, 4, 1, 2, 3, 5],
        };
        let h = opus_head(6, 312, 48000, &surround);
        assert_eq!(h.len(), 21 + 6);
        assert_eq!(&h[18..21], &[1, 4, 2]);
    }
}
