//! Reading frames from Y4M files with positioned reads (`pread`), one frame at a time.
//!
//! Two shapes of input share one type: a whole Y4M file (header, then every frame), and a
//! *range file* holding only the frames `first..first + n` of a scene, byte for byte as they
//! are in the mezzanine (what a mezzfs range mount shows), whose geometry comes from the
//! mezzanine's header carried in the scene list. Either way a worker reads only the frames
//! it encodes, and memory holds one frame per reader.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use crate::y4m::{self, MAX_HEADER_LEN, Y4mError, Y4mHeader};

/// Errors reading Y4M input: the file, and what was wrong with it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SourceError {
    #[error("{path}: {error}")]
    Io {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("{path}: {error}")]
    Format { path: PathBuf, error: Y4mError },
    #[error("{path}: frame {frame} is outside the frames {first}..{end} it holds")]
    OutOfRange {
        path: PathBuf,
        frame: u64,
        first: u64,
        end: u64,
    },
}

/// A Y4M file, or a range file of whole frames, opened for positioned reads.
#[derive(Debug)]
pub struct Y4mFile {
    file: File,
    path: PathBuf,
    header: Y4mHeader,
    /// Byte offset of the first frame's marker in this file.
    base: u64,
    /// Global index of the first frame this file holds.
    first: u64,
    frames: u64,
}

impl Y4mFile {
    /// Opens a whole Y4M file: reads its header and checks that its length is whole frames.
    pub fn open(path: &Path) -> Result<Self, SourceError> {
        let file = File::open(path).map_err(|e| io_err(path, e))?;
        let len = file.metadata().map_err(|e| io_err(path, e))?.len();
        let mut head = vec![0u8; MAX_HEADER_LEN.min(len as usize)];
        read_fully_at(&file, &mut head, 0).map_err(|e| io_err(path, e))?;
        let header = y4m::parse_header(&head).map_err(|e| fmt_err(path, e))?;
        let frames = header.frame_count(len).map_err(|e| fmt_err(path, e))?;
        Ok(Y4mFile {
            file,
            path: path.to_path_buf(),
            base: header.header_len(),
            header,
            first: 0,
            frames,
        })
    }

    /// Opens a range file holding whole frames from global frame `first` on, with the
    /// geometry of the mezzanine's `header`.
    pub fn open_range(path: &Path, header: Y4mHeader, first: u64) -> Result<Self, SourceError> {
        let file = File::open(path).map_err(|e| io_err(path, e))?;
        let len = file.metadata().map_err(|e| io_err(path, e))?.len();
        let frames = y4m::frames_in(len, header.frame_stride()).map_err(|e| fmt_err(path, e))?;
        Ok(Y4mFile {
            file,
            path: path.to_path_buf(),
            header,
            base: 0,
            first,
            frames,
        })
    }

    pub fn header(&self) -> &Y4mHeader {
        &self.header
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Global frame numbers held by this file.
    pub fn frames(&self) -> std::ops::Range<u64> {
        self.first..self.first + self.frames
    }

    /// Reads frame `index` (global numbering) with its marker into `buf`, which is resized
    /// to the frame stride; returns the planes (`buf` without the marker).
    pub fn read_frame<'a>(
        &self,
        index: u64,
        buf: &'a mut Vec<u8>,
    ) -> Result<&'a [u8], SourceError> {
        let offset = self.local_offset(index)?;
        buf.resize(self.header.frame_stride() as usize, 0);
        read_fully_at(&self.file, buf, offset).map_err(|e| io_err(&self.path, e))?;
        y4m::check_frame_marker(buf, index, offset).map_err(|e| fmt_err(&self.path, e))?;
        Ok(&buf[y4m::FRAME_MARKER.len()..])
    }

    /// Reads only the luma plane of frame `index` (for scene detection).
    pub fn read_luma<'a>(&self, index: u64, buf: &'a mut Vec<u8>) -> Result<&'a [u8], SourceError> {
        let offset = self.local_offset(index)?;
        let marker = y4m::FRAME_MARKER.len();
        buf.resize(marker + self.header.luma_len() as usize, 0);
        read_fully_at(&self.file, buf, offset).map_err(|e| io_err(&self.path, e))?;
        y4m::check_frame_marker(buf, index, offset).map_err(|e| fmt_err(&self.path, e))?;
        Ok(&buf[marker..])
    }

    fn local_offset(&self, index: u64) -> Result<u64, SourceError> {
        if !self.frames().contains(&index) {
            return Err(SourceError::OutOfRange {
                path: self.path.clone(),
                frame: index,
                first: self.first,
                end: self.first + self.frames,
            });
        }
        Ok(self.base + (index - self.first) * self.header.frame_stride())
    }
}

/// `read_exact_at`, except that a short file is an `UnexpectedEof` naming the offset.
fn read_fully_at(file: &File, buf: &mut [u8], offset: u64) -> std::io::Result<()> {
    file.read_exact_at(buf, offset).map_err(|e| {
        if e.kind() == std::io::ErrorKind::UnexpectedEof {
            std::io::Error::new(
                e.kind(),
                format!(
                    "file ends before byte {} (reading at {offset})",
                    offset + buf.len() as u64
                ),
            )
        } else {
            e
        }
    })
}

fn io_err(path: &Path, error: std::io::Error) -> SourceError {
    SourceError::Io {
        path: path.to_path_buf(),
        error,
    }
}

fn fmt_err(path: &Path, error: Y4mError) -> SourceError {
    SourceError::Format {
        path: path.to_path_buf(),
        error,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn write_y4m(dir: &Path, frames: u8, tail: &[u8]) -> PathBuf {
        let path = dir.join("in.y4m");
        let mut f = File::create(&path).expect("create");
        f.write_all(b"YUV4MPEG2 W4 H2 F25:1 C420\n").expect("write");
        for i in 0..frames {
            f.write_all(b"FRAME\n").expect("write");
            f.write_all(&[i; 12]).expect("write");
        }
        f.write_all(tail).expect("write");
        path
    }

    #[test]
    fn reads_frames_by_offset() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = Y4mFile::open(&write_y4m(dir.path(), 5, b"")).expect("open");
        assert_eq!(file.frames(), 0..5);
        let mut buf = Vec::new();
        assert_eq!(file.read_frame(3, &mut buf).expect("read"), &[3u8; 12]);
        assert_eq!(file.read_luma(4, &mut buf).expect("read"), &[4u8; 8]);
        assert!(matches!(
            file.read_frame(5, &mut buf),
            Err(SourceError::OutOfRange { .. })
        ));
    }

    #[test]
    fn truncated_file_is_rejected_at_open() {
        let dir = tempfile::tempdir().expect("tempdir");
        let err = Y4mFile::open(&write_y4m(dir.path(), 3, b"FRAME\n12")).expect_err("truncated");
        assert!(
            err.to_string().contains("truncated Y4M: 3 whole frames"),
            "{err}"
        );
    }

    #[test]
    fn range_file_uses_global_numbers() {
        let dir = tempfile::tempdir().expect("tempdir");
        let whole = Y4mFile::open(&write_y4m(dir.path(), 6, b"")).expect("open");
        let bytes = std::fs::read(whole.path()).expect("read");
        let h = whole.header().clone();
        let start = h.frame_offset(2) as usize;
        let end = h.frame_offset(5) as usize;
        let range = dir.path().join("scene.y4m");
        std::fs::write(&range, &bytes[start..end]).expect("write");
        let file = Y4mFile::open_range(&range, h, 2).expect("open range");
        assert_eq!(file.frames(), 2..5);
        let mut buf = Vec::new();
        assert_eq!(file.read_frame(4, &mut buf).expect("read"), &[4u8; 12]);
        assert!(file.read_frame(1, &mut buf).is_err());
    }

    #[test]
    fn garbage_where_a_marker_should_be() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = write_y4m(dir.path(), 2, b"");
        let mut bytes = std::fs::read(&path).expect("read");
        let at = bytes.len() - 18;
        bytes[at..at + 6].copy_from_slice(b"FRAMEX");
        std::fs::write(&path, bytes).expect("write");
        let file = Y4mFile::open(&path).expect("open");
        let mut buf = Vec::new();
        let err = file.read_frame(1, &mut buf).expect_err("bad marker");
        assert!(err.to_string().contains("frame 1"), "{err}");
    }
}
