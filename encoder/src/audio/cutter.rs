//! Streaming decoded chunks into the segments of [`Boundaries`], for any writer of segments
//! (WAV/FLAC files in [`super::segment`], Opus rungs in [`super::opus_ladder`]).
//!
//! Chunks are split where segments end, so a chunk's samples go to the segment they belong
//! to and nothing is buffered beyond one chunk. Audio past the last segment is dropped and
//! counted; audio that ends early leaves the rest to [`Cutter::pad`].

use super::AudioError;
use super::cut::{Boundaries, SegmentSpan};
use super::decode::{Decoder, Samples};
use super::segment::SegmentStats;

/// Samples of silence written per call while padding.
const PAD: usize = 4096;

/// What the cutter hands segments to: open one, append samples, finish it.
pub(crate) trait SegmentSink {
    type Open;
    type Error: From<AudioError>;
    fn open(&mut self, span: SegmentSpan) -> Result<Self::Open, Self::Error>;
    fn span<'a>(&self, seg: &'a Self::Open) -> &'a SegmentSpan;
    /// Appends frames `from..to` of interleaved `samples`.
    fn write(
        &mut self,
        seg: &mut Self::Open,
        samples: &Samples,
        from: usize,
        to: usize,
    ) -> Result<(), Self::Error>;
    /// Closes `seg`, of which the last `padded` samples are silence the cutter added.
    fn finish(&mut self, seg: Self::Open, padded: u64) -> Result<SegmentStats, Self::Error>;
}

/// Where the cut stands: segments done, the one being filled, samples placed and dropped.
pub(crate) struct Cutter<'b, S: SegmentSink> {
    bounds: &'b Boundaries,
    current: Option<S::Open>,
    next_index: usize,
    pub segments: Vec<SegmentStats>,
    /// Samples placed into segments so far (decoded, then padding).
    pub pos: u64,
    pub dropped: u64,
    pub padded: u64,
}

impl<'b, S: SegmentSink> Cutter<'b, S> {
    pub fn new(bounds: &'b Boundaries) -> Self {
        Self {
            bounds,
            current: None,
            next_index: 0,
            segments: Vec::new(),
            pos: 0,
            dropped: 0,
            padded: 0,
        }
    }

    /// The segment being filled, or else the next one opened; `None` past the last.
    fn current_or_next(&mut self, sink: &mut S) -> Result<Option<S::Open>, S::Error> {
        if let Some(seg) = self.current.take() {
            return Ok(Some(seg));
        }
        let Some(span) = self.bounds.span(self.next_index) else {
            return Ok(None);
        };
        self.next_index += 1;
        Ok(Some(sink.open(span)?))
    }

    /// Decodes everything `decoder` has left into the segments; `progress` gets the samples
    /// done after each chunk.
    pub fn feed(
        &mut self,
        decoder: &mut Decoder,
        sink: &mut S,
        progress: &dyn Fn(u64),
    ) -> Result<(), S::Error> {
        while let Some(chunk) = decoder.next_chunk()? {
            let n = chunk.frames();
            let mut off = 0;
            while off < n {
                let Some(mut seg) = self.current_or_next(sink)? else {
                    self.dropped += (n - off) as u64;
                    break;
                };
                let end = sink.span(&seg).end();
                let take = (n - off).min(usize::try_from(end - self.pos).unwrap_or(usize::MAX));
                sink.write(&mut seg, &chunk.samples, off, off + take)?;
                off += take;
                self.pos += take as u64;
                if self.pos == end {
                    self.segments.push(sink.finish(seg, 0)?);
                } else {
                    self.current = Some(seg);
                }
            }
            progress(self.pos + self.dropped);
        }
        Ok(())
    }

    /// Ends the cut: with a known end (the video's), pads with `silence` (zeros of the
    /// source's sample kind) up to it; without one, finishes the segment being filled.
    pub fn pad(
        mut self,
        sink: &mut S,
        silence: impl Fn(usize) -> Samples,
    ) -> Result<Self, S::Error> {
        if let Some(total) = self.bounds.total() {
            let silence = silence(PAD);
            while self.pos < total {
                let Some(mut seg) = self.current_or_next(sink)? else {
                    break;
                };
                let end = sink.span(&seg).end();
                let mut padded = 0;
                while self.pos < end {
                    let take = (end - self.pos).min(PAD as u64) as usize;
                    sink.write(&mut seg, &silence, 0, take)?;
                    padded += take as u64;
                    self.pos += take as u64;
                }
                self.padded += padded;
                self.segments.push(sink.finish(seg, padded)?);
            }
        } else if let Some(seg) = self.current.take() {
            self.segments.push(sink.finish(seg, 0)?);
        }
        Ok(self)
    }
}
