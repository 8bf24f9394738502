//! Scene detection over a Y4M file: reads each frame's luma plane only and feeds the pure
//! detector in [`crate::detect`].

use crate::detect::{self, CutDetector, DetectConfig};
use crate::source::{SourceError, Y4mFile};

/// Frames where a new scene starts (never 0), in order. `on_frame` is called per frame read.
pub fn detect_cuts(
    file: &Y4mFile,
    config: DetectConfig,
    on_frame: &dyn Fn(),
) -> Result<Vec<u64>, SourceError> {
    let header = file.header();
    let mut detector = CutDetector::new(config);
    let mut buf = Vec::new();
    let mut previous = None;
    let mut cuts = Vec::new();
    for index in file.frames() {
        let luma = file.read_luma(index, &mut buf)?;
        let thumb = detect::thumbnail(luma, header.width, header.height, header.depth.0);
        if let Some(prev) = &previous
            && detector.push(detect::score(prev, &thumb))
        {
            cuts.push(index);
        }
        previous = Some(thumb);
        on_frame();
    }
    Ok(cuts)
}
