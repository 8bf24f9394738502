//! Joining scenes' packets into one output file, IVF, MP4 or WebM by the output's extension.
//!
//! Packets are streamed scene by scene (one scene in memory at a time); timestamps are the
//! packets' global frame numbers, so a joined stream has the timestamps a single pass would.

use std::fs::File;
use std::io::{BufWriter, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use crate::ivf::{self, IvfHeader};
use crate::mp4::{self, Mp4Track};
use crate::obu::strip_temporal_delimiters;
use crate::webm::{self, Block, SeekPositions, WebmTrack};
use crate::workdir::Packet;
use crate::y4m::Y4mHeader;

/// Output container.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Container {
    Ivf,
    Mp4,
    /// WebM (Matroska); `.mkv` gets the same file.
    Webm,
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MuxError {
    #[error("{path}: unknown output type (use .ivf, .mp4 or .webm)")]
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
            Some("webm" | "mkv") => Ok(Container::Webm),
            _ => Err(MuxError::Extension { path: path.into() }),
        }
    }
}

/// Writes `frames` frames of packets, given as batches in stream order, to `path`.
/// `av1c` is the codec configuration record (needed by MP4 and WebM).
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
    let batches = batches.into_iter().map(|b| b.map_err(MuxError::Packets));
    let written = match container {
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
            write_ivf(&mut out, &h, batches, io)?
        }
        Container::Mp4 => {
            let track = Mp4Track {
                width,
                height,
                timescale: num,
                sample_delta: den,
                sample_sizes: Vec::with_capacity(frames as usize),
                sync_samples: Vec::new(),
                data_offset: 0,
                av1c: av1c.to_vec(),
            };
            write_mp4(&mut out, track, batches, io)?
        }
        Container::Webm => {
            let track = WebmTrack {
                width,
                height,
                fps_num: num,
                fps_den: den,
                av1c: av1c.to_vec(),
            };
            write_webm(&mut out, &track, frames, batches, io)?
        }
    };
    if written != frames {
        return Err(MuxError::FrameCount {
            expected: frames,
            got: written,
        });
    }
    out.flush().map_err(io)?;
    Ok(())
}

type Out = BufWriter<File>;

fn write_ivf(
    out: &mut Out,
    header: &IvfHeader,
    batches: impl Iterator<Item = Result<Vec<Packet>, MuxError>>,
    io: impl Fn(std::io::Error) -> MuxError,
) -> Result<u64, MuxError> {
    out.write_all(&ivf::file_header(header)).map_err(&io)?;
    let mut written = 0;
    for batch in batches {
        for p in batch? {
            let size = u32::try_from(p.data.len()).map_err(|_| MuxError::TooLarge("a packet"))?;
            out.write_all(&ivf::frame_header(size, p.pts))
                .map_err(&io)?;
            out.write_all(&p.data).map_err(&io)?;
            written += 1;
        }
    }
    Ok(written)
}

fn write_mp4(
    out: &mut Out,
    mut track: Mp4Track,
    batches: impl Iterator<Item = Result<Vec<Packet>, MuxError>>,
    io: impl Fn(std::io::Error) -> MuxError,
) -> Result<u64, MuxError> {
    let ftyp = mp4::ftyp();
    out.write_all(&ftyp).map_err(&io)?;
    let mdat_at = ftyp.len() as u64;
    out.write_all(&mp4::mdat_header(0)).map_err(&io)?;
    track.data_offset = mdat_at + mp4::MDAT_HEADER_LEN;
    let mut written = 0u64;
    let mut data_len = 0u64;
    for batch in batches {
        for p in batch? {
            let data = strip_temporal_delimiters(&p.data);
            let size = u32::try_from(data.len()).map_err(|_| MuxError::TooLarge("a packet"))?;
            out.write_all(data).map_err(&io)?;
            track.sample_sizes.push(size);
            written += 1;
            if p.keyframe {
                let n =
                    u32::try_from(written).map_err(|_| MuxError::TooLarge("the frame count"))?;
                track.sync_samples.push(n);
            }
            data_len += u64::from(size);
        }
    }
    out.write_all(&mp4::moov(&track)).map_err(&io)?;
    out.seek(SeekFrom::Start(mdat_at)).map_err(&io)?;
    out.write_all(&mp4::mdat_header(data_len)).map_err(&io)?;
    Ok(written)
}

/// WebM: one cluster per scene (a scene starts with a keyframe), split where a block would lie
/// too far from its cluster's timestamp; the Segment size and SeekHead patched at the end.
fn write_webm(
    out: &mut Out,
    track: &WebmTrack,
    frames: u64,
    batches: impl Iterator<Item = Result<Vec<Packet>, MuxError>>,
    io: impl Fn(std::io::Error) -> MuxError,
) -> Result<u64, MuxError> {
    let ebml = webm::ebml_header();
    out.write_all(&ebml).map_err(&io)?;
    let segment_at = ebml.len() as u64;
    let data_at = segment_at + webm::SEGMENT_HEADER_LEN;
    out.write_all(&webm::segment_header(0)).map_err(&io)?;
    let mut at = data_at;
    let mut put = |out: &mut Out, bytes: &[u8]| -> Result<u64, MuxError> {
        out.write_all(bytes).map_err(&io)?;
        let start = at - data_at;
        at += bytes.len() as u64;
        Ok(start)
    };
    put(out, &webm::seek_head(SeekPositions::default()))?;
    let mut seek = SeekPositions {
        info: put(out, &webm::info(track, frames))?,
        tracks: put(out, &webm::tracks(track))?,
        cues: 0,
    };
    let mut cue_points = Vec::new();
    let mut written = 0u64;
    for batch in batches {
        let packets = batch?;
        let mut start = 0;
        while start < packets.len() {
            let first = track.timestamp(packets[start].pts);
            let end = packets[start..]
                .iter()
                .position(|p| track.timestamp(p.pts).saturating_sub(first) > webm::MAX_BLOCK_OFFSET)
                .map_or(packets.len(), |n| start + n);
            let blocks: Vec<Block<'_>> = packets[start..end]
                .iter()
                .map(|p| Block {
                    timestamp: track.timestamp(p.pts),
                    keyframe: p.keyframe,
                    data: strip_temporal_delimiters(&p.data),
                })
                .collect();
            let cluster = webm::cluster(&blocks)
                .ok_or(MuxError::Packets("packets out of timestamp order".into()))?;
            let position = put(out, &cluster)?;
            if packets[start].keyframe {
                cue_points.push((first, position));
            }
            written += (end - start) as u64;
            start = end;
        }
    }
    seek.cues = put(out, &webm::cues(&cue_points))?;
    out.seek(SeekFrom::Start(segment_at)).map_err(&io)?;
    out.write_all(&webm::segment_header(at - data_at))
        .map_err(&io)?;
    out.write_all(&webm::seek_head(seek)).map_err(&io)?;
    out.seek(SeekFrom::End(0)).map_err(&io)?;
    Ok(written)
}
