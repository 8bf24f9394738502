//! Scene detection over a Y4M file: reads each frame's luma plane only and feeds the pure
//! detector in [`crate::detect`].

use crate::detect::{self, DetectConfig, ThumbnailCuts};
use crate::source::{SourceError, Y4mFile};

/// Frames where a new scene starts (never 0), in order. `on_frame` is called per frame read.
pub fn detect_cuts(
    file: &Y4mFile,
    config: DetectConfig,
    on_frame: &dyn Fn(),
) -> Result<Vec<u64>, SourceError> {
    let mut cuts = Vec::new();
    scan_cuts(file, config, on_frame, &mut |cut| cuts.push(cut))?;
    Ok(cuts)
}

/// Like [`detect_cuts`], but hands each cut to `on_cut` as soon as it is seen, so that scenes
/// can be encoded while the rest of the clip is still being read.
pub fn scan_cuts(
    file: &Y4mFile,
    config: DetectConfig,
    on_frame: &dyn Fn(),
    on_cut: &mut dyn FnMut(u64),
) -> Result<(), SourceError> {
    let header = file.header();
    let mut cuts = ThumbnailCuts::new(config);
    let mut buf = Vec::new();
    // The detector numbers frames from 0 at the first one read.
    let first = file.frames().start;
    for index in file.frames() {
        let luma = file.read_luma(index, &mut buf)?;
        let thumb = detect::thumbnail(luma, header.width, header.height, header.depth.0);
        if let Some(cut) = cuts.push(thumb) {
            on_cut(first + cut);
        }
        on_frame();
    }
    if let Some(cut) = cuts.finish() {
        on_cut(first + cut);
    }
    Ok(())
}
