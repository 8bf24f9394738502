//! The driver: streams decoded chunks into per-segment files (WAV, or FLAC for integer
//! sources) and loudness meters.
//!
//! The chunks are cut into segments by [`super::cutter`]. Audio shorter than the segments is
//! padded with silence (counted in the report), audio past their end is dropped (counted too).
//!
//! Segment files are written under temporary names and renamed into place only when every
//! segment is complete: a run that fails (a truncated input, a full disk) leaves no segment
//! file behind, not even a whole one that would pass for a complete set.

use std::fs::File;
use std::io::{BufWriter, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use super::cut::{Boundaries, SegmentSpan};
use super::cutter::{Cutter, SegmentSink};
use super::decode::{Decoder, SampleKind, Samples, int_to_f32};
use super::flac::{self, FlacError};
use super::loudness::{Meter, MeterError};
use super::wav::{self, WavError, WavFormat, WavSpec};
use super::{AudioError, AudioInfo};

/// One written (or measured) segment.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct SegmentStats {
    pub index: usize,
    pub start_sample: u64,
    pub samples: u64,
    pub seconds: f64,
    /// Video frames `[start, end)` when the segment comes from a scene.
    pub video_frames: Option<(u64, u64)>,
    /// Integrated loudness; `null` when undefined (shorter than 400 ms, or silence).
    pub lufs: Option<f64>,
    /// Sample peak; `null` for digital silence.
    pub peak_dbfs: Option<f64>,
    /// Silence appended because the audio ended early.
    pub padded_samples: u64,
    /// File name in the output directory.
    pub file: Option<String>,
}

/// The whole run.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct SplitReport {
    pub input: AudioInfo,
    /// Presented samples decoded from the input.
    pub decoded_samples: u64,
    /// Silence added at the end because the audio is shorter than the video.
    pub padded_samples: u64,
    /// Samples after the last segment's end, not written.
    pub dropped_samples: u64,
    pub segments: Vec<SegmentStats>,
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SplitError {
    #[error(transparent)]
    Audio(#[from] AudioError),
    #[error("writing {path}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Wav(#[from] WavError),
    #[error(transparent)]
    Meter(#[from] MeterError),
    #[error(transparent)]
    Flac(#[from] FlacError),
}

/// What the segment files are.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum OutputFormat {
    #[default]
    Wav,
    /// Integer sources of up to 24 bits only.
    Flac,
}

impl OutputFormat {
    pub fn extension(self) -> &'static str {
        match self {
            OutputFormat::Wav => "wav",
            OutputFormat::Flac => "flac",
        }
    }
}

/// Name of segment `index`'s file.
pub fn segment_file_name(index: usize, format: OutputFormat) -> String {
    format!("segment-{index:04}.{}", format.extension())
}

/// Where an open segment's samples go: the final path (for messages) and the file written.
enum Sink {
    Wav(PathBuf, BufWriter<File>),
    /// Samples in `bits`-bit range, encoded into the temporary path when the segment is
    /// complete.
    Flac(PathBuf, PathBuf, Vec<i32>),
}

/// Segment files written under temporary names: renamed into place by [`Pending::commit`],
/// removed if dropped before.
#[derive(Default)]
struct Pending {
    files: std::cell::RefCell<Vec<(PathBuf, PathBuf)>>,
}

impl Pending {
    /// A temporary name beside `path`, removed unless committed.
    fn add(&self, path: &Path) -> PathBuf {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let tmp = path.with_file_name(format!(".{name}.partial-{}", std::process::id()));
        self.files.borrow_mut().push((tmp.clone(), path.into()));
        tmp
    }

    fn commit(&self) -> Result<(), SplitError> {
        let files = std::mem::take(&mut *self.files.borrow_mut());
        for (i, (tmp, path)) in files.iter().enumerate() {
            if let Err(source) = std::fs::rename(tmp, path) {
                // Put the rest back, so that dropping removes them.
                self.files.borrow_mut().extend(files[i..].iter().cloned());
                return Err(SplitError::Write {
                    path: path.clone(),
                    source,
                });
            }
        }
        Ok(())
    }
}

impl Drop for Pending {
    fn drop(&mut self) {
        for (tmp, _) in self.files.borrow().iter() {
            let _ = std::fs::remove_file(tmp);
        }
    }
}

/// An open segment: its file (if writing) and meter.
struct Open {
    span: SegmentSpan,
    written: u64,
    meter: Meter,
    file: Option<Sink>,
}

struct Splitter<'a> {
    info: AudioInfo,
    spec: WavSpec,
    out_dir: Option<&'a Path>,
    format: OutputFormat,
    bytes: Vec<u8>,
    pending: Pending,
}

impl SegmentSink for Splitter<'_> {
    type Open = Open;
    type Error = SplitError;

    fn span<'a>(&self, seg: &'a Open) -> &'a SegmentSpan {
        &seg.span
    }

    fn open(&mut self, span: SegmentSpan) -> Result<Open, SplitError> {
        let meter = Meter::new(
            self.info.channels,
            self.info.sample_rate,
            self.info.channel_mask,
        )?;
        let file = match self.out_dir {
            Some(dir) => {
                let path = dir.join(segment_file_name(span.index, self.format));
                let tmp = self.pending.add(&path);
                let werr = |source| SplitError::Write {
                    path: path.clone(),
                    source,
                };
                if self.format == OutputFormat::Flac {
                    let cap = usize::try_from(span.len).unwrap_or(0).min(1 << 24);
                    Some(Sink::Flac(
                        path,
                        tmp,
                        Vec::with_capacity(cap * self.info.channels),
                    ))
                } else {
                    let mut w = BufWriter::new(File::create(&tmp).map_err(werr)?);
                    w.write_all(&self.spec.header(span.len)?).map_err(werr)?;
                    Some(Sink::Wav(path, w))
                }
            }
            None => None,
        };
        Ok(Open {
            span,
            written: 0,
            meter,
            file,
        })
    }

    /// Frames `from..to` of interleaved `samples` into segment `seg`.
    fn write(
        &mut self,
        seg: &mut Open,
        samples: &Samples,
        from: usize,
        to: usize,
    ) -> Result<(), SplitError> {
        let ch = self.info.channels;
        let (a, b) = (from * ch, to * ch);
        self.bytes.clear();
        match (samples, self.spec.format) {
            (Samples::Int(v), WavFormat::Int { container, .. }) => {
                seg.meter.add_int(&v[a..b])?;
                wav::encode_int(&v[a..b], container, &mut self.bytes);
            }
            (Samples::Float(v), _) => {
                seg.meter.add_f32(&v[a..b])?;
                wav::encode_f32(&v[a..b], &mut self.bytes);
            }
            (Samples::Int(v), WavFormat::Float32) => {
                let f: Vec<f32> = v[a..b].iter().map(|&s| int_to_f32(s)).collect();
                seg.meter.add_f32(&f)?;
                wav::encode_f32(&f, &mut self.bytes);
            }
        }
        seg.written += (to - from) as u64;
        match &mut seg.file {
            Some(Sink::Wav(path, w)) => {
                w.write_all(&self.bytes)
                    .map_err(|source| SplitError::Write {
                        path: path.clone(),
                        source,
                    })?;
            }
            Some(Sink::Flac(_, _, kept)) => {
                // `split` checked that the source is integer: the samples are `Int`.
                if let (Samples::Int(v), WavFormat::Int { valid, .. }) = (samples, self.spec.format)
                {
                    let shift = 32 - u32::from(valid);
                    kept.extend(v[a..b].iter().map(|&s| s >> shift));
                }
            }
            None => {}
        }
        Ok(())
    }

    fn finish(&mut self, seg: Open, padded: u64) -> Result<SegmentStats, SplitError> {
        let file = match seg.file {
            Some(Sink::Flac(path, tmp, kept)) => {
                let WavFormat::Int { valid, .. } = self.spec.format else {
                    return Err(FlacError::Format("float samples".into()).into());
                };
                let bytes = flac::encode(
                    &kept,
                    self.info.channels,
                    u32::from(valid),
                    self.info.sample_rate,
                )?;
                std::fs::write(&tmp, bytes).map_err(|source| SplitError::Write {
                    path: path.clone(),
                    source,
                })?;
                Some(segment_file_name(seg.span.index, self.format))
            }
            Some(Sink::Wav(path, mut w)) => {
                let werr = |source| SplitError::Write {
                    path: path.clone(),
                    source,
                };
                if seg.written % 2 == 1 && self.spec.block_align() % 2 == 1 {
                    w.write_all(&[0]).map_err(werr)?;
                }
                // An open-ended last segment is shorter than planned: rewrite its header.
                if seg.written != seg.span.len {
                    w.seek(SeekFrom::Start(0)).map_err(werr)?;
                    w.write_all(&self.spec.header(seg.written)?).map_err(werr)?;
                }
                w.into_inner()
                    .map_err(|e| werr(e.into_error()))?
                    .sync_all()
                    .map_err(werr)?;
                Some(segment_file_name(seg.span.index, self.format))
            }
            None => None,
        };
        let loud = seg.meter.finish();
        Ok(SegmentStats {
            index: seg.span.index,
            start_sample: seg.span.start,
            samples: seg.written,
            seconds: seg.written as f64 / f64::from(self.info.sample_rate),
            video_frames: seg.span.frames,
            lufs: loud.lufs,
            peak_dbfs: loud.peak_dbfs,
            padded_samples: padded,
            file,
        })
    }
}

/// Decodes everything `decoder` has left into the segments of `bounds`, writing
/// `segment-NNNN.wav` (or `.flac`) files into `out_dir` (or only measuring, without it).
/// `progress` gets the number of samples done after each chunk.
pub fn split(
    decoder: &mut Decoder,
    bounds: &Boundaries,
    out_dir: Option<&Path>,
    format: OutputFormat,
    progress: &dyn Fn(u64),
) -> Result<SplitReport, SplitError> {
    let info = decoder.info().clone();
    let channels = u16::try_from(info.channels).map_err(|_| WavError::Channels(info.channels))?;
    let spec = match info.kind {
        SampleKind::Int { bits } => {
            WavSpec::int(channels, info.sample_rate, bits, info.channel_mask)
        }
        SampleKind::Float => WavSpec::float(channels, info.sample_rate, info.channel_mask),
    };
    if format == OutputFormat::Flac && out_dir.is_some() {
        match info.kind {
            SampleKind::Int { bits } if bits <= flac::MAX_BITS => {}
            SampleKind::Int { bits } => {
                return Err(FlacError::Format(format!("{bits}-bit samples")).into());
            }
            SampleKind::Float => {
                return Err(FlacError::Format(format!("{} (decoded to float)", info.codec)).into());
            }
        }
    }
    let mut sp = Splitter {
        info: info.clone(),
        spec,
        out_dir,
        format,
        bytes: Vec::new(),
        pending: Pending::default(),
    };
    let mut cut = Cutter::new(bounds);
    cut.feed(decoder, &mut sp, progress)?;
    let decoded = cut.pos + cut.dropped;
    // The audio ended before the video: silence up to the last segment's end.
    let kind = info.kind;
    let channels = info.channels;
    let cut = cut.pad(&mut sp, |n| match kind {
        SampleKind::Int { .. } => Samples::Int(vec![0; n * channels]),
        SampleKind::Float => Samples::Float(vec![0.0; n * channels]),
    })?;
    sp.pending.commit()?;
    Ok(SplitReport {
        input: info,
        decoded_samples: decoded,
        padded_samples: cut.padded,
        dropped_samples: cut.dropped,
        segments: cut.segments,
    })
}
