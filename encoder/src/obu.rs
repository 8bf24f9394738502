//! The one piece of AV1 bitstream syntax the containers need: the OBU header, to drop the
//! temporal delimiter that opens every rav1e packet.
//!
//! IVF carries the temporal unit as rav1e made it. MP4 and Matroska frame each temporal unit
//! themselves, and their AV1 bindings say a sample or block should not hold temporal delimiter
//! OBUs, so those muxers store the packet without them.

/// OBU type of a temporal delimiter.
const OBU_TEMPORAL_DELIMITER: u8 = 2;

/// `data` without the temporal delimiter OBUs at its start. Anything that does not parse as a
/// sized OBU header is left as it is: the decoder, not the muxer, judges the bitstream.
pub fn strip_temporal_delimiters(mut data: &[u8]) -> &[u8] {
    while let Some(len) = leading_temporal_delimiter(data) {
        data = &data[len..];
    }
    data
}

/// Length of the temporal delimiter OBU opening `data`, if one does.
fn leading_temporal_delimiter(data: &[u8]) -> Option<usize> {
    let &header = data.first()?;
    let obu_type = (header >> 3) & 0x0f;
    let has_extension = header & 0x04 != 0;
    let has_size = header & 0x02 != 0;
    if header & 0x80 != 0 || obu_type != OBU_TEMPORAL_DELIMITER || !has_size {
        return None;
    }
    let header_len = 1 + usize::from(has_extension);
    let (size, leb_len) = leb128(data.get(header_len..)?)?;
    let total = header_len
        .checked_add(leb_len)?
        .checked_add(usize::try_from(size).ok()?)?;
    (total <= data.len()).then_some(total)
}

/// An unsigned LEB128 number (at most 8 bytes, as AV1 allows) and its length.
fn leb128(bytes: &[u8]) -> Option<(u64, usize)> {
    let mut value = 0u64;
    for (i, &b) in bytes.iter().take(8).enumerate() {
        value |= u64::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            return Some((value, i + 1));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_rav1e_packet_loses_its_temporal_delimiter() {
        // What rav1e emits: a temporal delimiter (0x12 0x00), then a sequence header OBU.
        let packet = [0x12, 0x00, 0x0a, 0x0b, 0x00, 0x00, 0x00];
        assert_eq!(strip_temporal_delimiters(&packet), &packet[2..]);
    }

    #[test]
    fn other_obus_and_unsized_headers_are_kept() {
        let frame = [0x32, 0x01, 0xff];
        assert_eq!(strip_temporal_delimiters(&frame), &frame);
        let unsized_td = [0x10, 0x0a];
        assert_eq!(strip_temporal_delimiters(&unsized_td), &unsized_td);
        let truncated = [0x12, 0x05, 0x00];
        assert_eq!(strip_temporal_delimiters(&truncated), &truncated);
        assert_eq!(strip_temporal_delimiters(&[]), &[] as &[u8]);
    }

    proptest! {
        #[test]
        fn stripping_never_panics_and_only_removes_a_prefix(data in proptest::collection::vec(any::<u8>(), 0..64)) {
            let out = strip_temporal_delimiters(&data);
            prop_assert!(data.ends_with(out));
        }
    }
}
