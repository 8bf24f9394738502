//! Which handles of a replay ran one after another: the order a rerun must keep.
//!
//! A tool that works through files one at a time (a thumbnailer opening its input once per
//! frame, an encoder reading one scene file after another) has finished reading one handle
//! before it opens the next; parallel readers open their handles and read them together.
//! The rule: handle A comes before handle B when every read of A had arrived before B was
//! opened. Arrival, not completion, because a buffered reader's last reads are the kernel's
//! asynchronous read-ahead, which may complete after the reader closed the file and opened the
//! next. The release is no help either: the kernel sends it after `close` returns, and it is
//! often recorded after the next open.

use crate::Record;

/// One opened handle: which file, when it was opened and when its last read arrived (µs of
/// the replay), and its reads.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HandleSpan {
    pub handle: u64,
    pub file: u64,
    /// Index of its open record.
    pub index: usize,
    pub opened: u64,
    /// When its last read arrived, or when it was opened if it read nothing.
    pub last_read: u64,
    /// Indices of its read records, in the order they were recorded.
    pub reads: Vec<usize>,
}

impl HandleSpan {
    /// Whether all of this handle's reads had arrived before `later` was opened, so a rerun
    /// starts `later` only once this one is done.
    pub fn done_before(&self, later: &HandleSpan) -> bool {
        self.last_read < later.opened
    }
}

/// The handles of `records` in the order they were opened. A handle number used again after a
/// release starts a new span.
pub fn handle_spans(records: &[Record]) -> Vec<HandleSpan> {
    let mut spans: Vec<HandleSpan> = Vec::new();
    let mut current: std::collections::HashMap<u64, usize> = std::collections::HashMap::new();
    for (index, r) in records.iter().enumerate() {
        match r {
            Record::Open { t, handle, file } => {
                current.insert(*handle, spans.len());
                spans.push(HandleSpan {
                    handle: *handle,
                    file: *file,
                    index,
                    opened: *t,
                    last_read: *t,
                    reads: Vec::new(),
                });
            }
            Record::Read { t, handle, .. } => {
                if let Some(&s) = current.get(handle) {
                    spans[s].last_read = spans[s].last_read.max(*t);
                    spans[s].reads.push(index);
                }
            }
            _ => {}
        }
    }
    spans
}

#[cfg(test)]
mod tests {
    use super::*;

    fn open(t: u64, handle: u64) -> Record {
        Record::Open { t, handle, file: 0 }
    }

    /// A read that arrived at `t` and is recorded when it completes.
    fn read(t: u64, handle: u64) -> Record {
        Record::Read {
            t,
            handle,
            offset: 0,
            len: 1,
            dur: 1,
            ok: true,
        }
    }

    fn release(t: u64, handle: u64) -> Record {
        Record::Release { t, handle }
    }

    #[test]
    fn a_handle_whose_reads_arrived_before_the_next_open_comes_first() {
        // h1's last read (the kernel's read-ahead) arrived at 20 and completed after h2 was
        // opened at 30; the release came later still.
        let r = [
            open(0, 1),
            read(10, 1),
            open(30, 2),
            read(20, 1),
            release(40, 1),
            read(50, 2),
            release(60, 2),
        ];
        let s = handle_spans(&r);
        assert_eq!(s.len(), 2);
        assert_eq!((s[0].index, s[0].opened, s[0].last_read), (0, 0, 20));
        assert_eq!(
            (s[0].reads.as_slice(), s[1].reads.as_slice()),
            (&[1, 3][..], &[5][..])
        );
        assert!(s[0].done_before(&s[1]));
        assert!(!s[1].done_before(&s[0]));
    }

    #[test]
    fn handles_reading_together_do_not_wait_for_each_other() {
        let r = [
            open(0, 1),
            open(1, 2),
            read(5, 1),
            read(6, 2),
            read(7, 1),
            read(8, 2),
        ];
        let s = handle_spans(&r);
        assert!(!s[0].done_before(&s[1]));
        assert!(!s[1].done_before(&s[0]));
    }

    #[test]
    fn a_reused_handle_number_is_a_new_span_and_a_handle_without_reads_is_done_at_open() {
        let r = [
            open(0, 1),
            read(1, 1),
            release(2, 1),
            open(3, 1),
            open(4, 3),
            read(5, 1),
        ];
        let s = handle_spans(&r);
        assert_eq!(s.len(), 3);
        assert_eq!((s[0].opened, s[0].last_read), (0, 1));
        assert_eq!((s[1].opened, s[1].last_read), (3, 5));
        assert_eq!((s[2].opened, s[2].last_read), (4, 4));
        assert!(s[0].done_before(&s[1]) && s[0].done_before(&s[2]));
        assert!(!s[1].done_before(&s[2]));
        assert!(!s[2].done_before(&s[1]));
    }
}
