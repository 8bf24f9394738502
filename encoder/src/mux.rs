//! Joining scenes' packets into one output file, IVF or MP4 by the output's extension.
//!
//! Packets are streamed scene by scene (one scene in memory at a time); timestamps are the
//! packets' global frame numbers, so a joined stream has the timestamps a single pass would.

use std::fs::File;
use std::io::{BufWriter, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use crate::ivf::{self, IvfHeader};
use crate::mp4::{self, Mp4Track};
use crate::workdir::Packet;
use crate::y4m::Y4mHeader;

/// Output container.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Container {
    Ivf,
    Mp4,
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MuxError {
    #[error("{path}: unknown output type (use .ivf or .mp4)")]
    Extension { path: PathBuf },
    #[error("{path}: {error}")]
    Io {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("{0}")]
    Packets(String),
    #[error("the output was to hold {expected} frames, the scenes gave {got}")]
    FrameCount { expected: u64, got: u64 },
    #[error("{0} does not fit the container")]
    TooLarge(&'static str),
}

impl Container {
    pub fn from_path(path: &Path) -> Result<Self, MuxError> {
        match path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            Some("ivf") => Ok(Container::Ivf),
            Some("mp4") => Ok(Container::Mp4),
            _ => Err(MuxError::Extension { path: path.into() }),
        }
    }
}

/// Writes `frames` frames of packets, given as batches in stream order, to `path`.
/// `av1c` is the codec configuration record (needed by MP4).
pub fn write_output<I>(
    path: &Path,
    header: &Y4mHeader,
    av1c: &[u8],
    frames: u64,
    batches: I,
) -> Result<(), MuxError>
where
    I: IntoIterator<Item = Result<Vec<Packet>, String>>,
{
    let container = Container::from_path(path)?;
    let io = |error| MuxError::Io {
        path: path.into(),
        error,
    };
    let width = u16::try_from(header.width).map_err(|_| MuxError::TooLarge("the width"))?;
    let height = u16::try_from(header.height).map_err(|_| MuxError::TooLarge("the height"))?;
    let num = u32::try_from(header.fps.num).map_err(|_| MuxError::TooLarge("the frame rate"))?;
    let den = u32::try_from(header.fps.den).map_err(|_| MuxError::TooLarge("the frame rate"))?;
    let mut out = BufWriter::new(File::create(path).map_err(io)?);
    let mut written = 0u64;
    match container {
        Container::Ivf => {
            let frames32 =
                u32::try_from(frames).map_err(|_| MuxError::TooLarge("the frame count"))?;
            let h = IvfHeader {
                width,
                height,
                timebase_den: num,
                timebase_num: den,
                frames: frames32,
            };
            out.write_all(&ivf::file_header(&h)).map_err(io)?;
            for batch in batches {
                for p in batch.map_err(MuxError::Packets)? {
                    let size =
                        u32::try_from(p.data.len()).map_err(|_| MuxError::TooLarge("a packet"))?;
                    out.write_all(&ivf::frame_header(size, p.pts)).map_err(io)?;
                    out.write_all(&p.data).map_err(io)?;
                    written += 1;
                }
            }
        }
        Container::Mp4 => {
            let ftyp = mp4::ftyp();
            out.write_all(&ftyp).map_err(io)?;
            let mdat_at = ftyp.len() as u64;
            out.write_all(&mp4::mdat_header(0)).map_err(io)?;
            let mut track = Mp4Track {
                width,
                height,
                timescale: num,
                sample_delta: den,
                sample_sizes: Vec::with_capacity(frames as usize),
                sync_samples: Vec::new(),
                data_offset: mdat_at + mp4::MDAT_HEADER_LEN,
                av1c: av1c.to_vec(),
            };
            let mut data_len = 0u64;
            for batch in batches {
                for p in batch.map_err(MuxError::Packets)? {
                    let size =
                        u32::try_from(p.data.len()).map_err(|_| MuxError::TooLarge("a packet"))?;
                    out.write_all(&p.data).map_err(io)?;
                    track.sample_sizes.push(size);
                    written += 1;
                    if p.keyframe {
                        track.sync_samples.push(written as u32);
                    }
                    data_len += u64::from(size);
                }
            }
            out.write_all(&mp4::moov(&track)).map_err(io)?;
            out.seek(SeekFrom::Start(mdat_at)).map_err(io)?;
            out.write_all(&mp4::mdat_header(data_len)).map_err(io)?;
        }
    }
    if written != frames {
        return Err(MuxError::FrameCount {
            expected: frames,
            got: written,
        });
    }
    out.flush().map_err(io)?;
    Ok(())
}
