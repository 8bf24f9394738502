//! `segment-encode quality`: PSNR-Y and SSIM-Y of a distorted Y4M against a reference Y4M,
//! the distorted frames upscaled to the reference size first if smaller (as the ladder does).

use anyhow::{Context, bail};
use segment_encode::Y4mFile;
use segment_encode::quality::{Luma, Metric, PsnrY, SsimY, pooled_psnr_db, sse, ssim_db, widen};
use segment_encode::scale::Scaler;

use super::QualityArgs;

pub fn run(a: QualityArgs) -> anyhow::Result<()> {
    let reference = Y4mFile::open(&a.reference)?;
    let distorted = Y4mFile::open(&a.distorted)?;
    let (rh, dh) = (reference.header(), distorted.header());
    let frames = reference.frames().end;
    if distorted.frames().end != frames {
        bail!(
            "{} holds {} frames, {} holds {frames}: the clips must have the same frames",
            a.distorted.display(),
            distorted.frames().end,
            a.reference.display()
        );
    }
    if rh.depth != dh.depth {
        bail!(
            "{} is {}-bit, {} is {}-bit",
            a.distorted.display(),
            dh.depth.0,
            a.reference.display(),
            rh.depth.0
        );
    }
    if (dh.width, dh.height) != (rh.width, rh.height) && !a.upscale {
        bail!(
            "{} is {}x{}, the reference {}x{}; pass --upscale to measure it upscaled to the \
             reference size (Lanczos-3)",
            a.distorted.display(),
            dh.width,
            dh.height,
            rh.width,
            rh.height
        );
    }
    let depth = rh.depth.0;
    let bps = rh.depth.bytes_per_sample();
    let max = ((1u32 << depth) - 1) as u16;
    let scaler = Scaler::new((dh.width, dh.height), (rh.width, rh.height));
    let resize = (dh.width, dh.height) != (rh.width, rh.height);
    let (psnr, ssim) = (PsnrY { depth }, SsimY { depth });
    let (mut rb, mut db, mut r, mut d, mut up) = (vec![], vec![], vec![], vec![], vec![]);
    let (mut psnrs, mut ssims, mut mses) = (vec![], vec![], vec![]);
    for i in 0..frames {
        widen(reference.read_luma(i, &mut rb)?, bps, &mut r);
        widen(distorted.read_luma(i, &mut db)?, bps, &mut d);
        let dist = if resize {
            scaler.scale(&d, &mut up, max);
            &up
        } else {
            &d
        };
        let rl = Luma {
            samples: &r,
            width: rh.width,
            height: rh.height,
        };
        let dl = Luma {
            samples: dist,
            width: rh.width,
            height: rh.height,
        };
        psnrs.push(psnr.frame(rl, dl));
        ssims.push(ssim.frame(rl, dl));
        mses.push(sse(rl, dl) as f64 / r.len() as f64);
    }
    let n = frames.max(1) as f64;
    let ssim_mean = ssims.iter().sum::<f64>() / n;
    let report = serde_json::json!({
        "frames": frames,
        "width": rh.width,
        "height": rh.height,
        "distorted_size": [dh.width, dh.height],
        "psnr_y": psnrs.iter().sum::<f64>() / n,
        "psnr_y_pooled": pooled_psnr_db(&mses, depth),
        "ssim_y": ssim_mean,
        "ssim_y_db": ssim_db(ssim_mean),
        "frame_psnr_y": psnrs,
        "frame_ssim_y": ssims,
    });
    println!(
        "{}",
        serde_json::to_string_pretty(&report).context("writing the report")?
    );
    Ok(())
}
