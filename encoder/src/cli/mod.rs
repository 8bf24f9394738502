//! Command-line arguments and the commands, `scenes`, `encode` and `audio`.

mod abr_manifest;
mod audio;
mod audio_ladder;
mod bdrate;
mod encode;
mod fleet;
mod ladder;
mod output;
mod package;
mod progress;
mod quality;
mod scenes;

use std::path::PathBuf;

use clap::{Args as ClapArgs, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "segment-encode",
    version,
    about = "Parallel scene-based AV1 encoding with rav1e",
    long_about = "Cuts a Y4M mezzanine into scenes, encodes the scenes in parallel with rav1e \
                  (longest first, a keyframe at each scene start) and joins them into one AV1 \
                  stream (IVF, MP4 or WebM). A work directory keeps each finished scene, so a killed \
                  run resumes where it stopped. Scenes can be read through a mezzfs mount of \
                  the scene list's byte ranges."
)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Detects scenes and prints (or writes) the scene list JSON: frames and byte ranges of
    /// each scene; optionally a mezzfs range spec that mounts each scene as its own file.
    Scenes(ScenesArgs),
    /// Encodes a Y4M file (or a directory of scene range files) to AV1; the container
    /// follows OUT's extension (.ivf, .mp4, or .webm/.mkv).
    Encode(EncodeArgs),
    /// Probes a file's audio; with --scenes or --segment-seconds, cuts it sample-accurately into
    /// segments aligned with the video, measures each (loudness, peak) and writes them as WAV.
    #[command(long_about = AUDIO_ABOUT)]
    Audio(AudioArgs),
    /// Audio ladder: cuts the audio at the video's scenes (or every S seconds) and encodes each
    /// segment with Opus at every rung (stereo 64-192 kbit/s, 5.1 192-640 kbit/s), one Ogg
    /// Opus file per segment and rung, with each segment's loudness; a new directory, written
    /// completely or not at all.
    #[command(long_about = AUDIO_LADDER_ABOUT)]
    AudioLadder(AudioLadderArgs),
    /// Fleet: puts the mezzanine in a mezzfs store (if given as a file), writes the job record
    /// next to it and sends one SQS message per scene, longest first; prints the job id.
    /// Submitting the same job again sends nothing.
    Submit(fleet::SubmitArgs),
    /// Fleet: a stateless worker. Long-polls the queue; for each scene reads exactly its bytes
    /// through mezzfs, encodes, stores the chunk (packets, checksum, job identity) and deletes
    /// the message. Extends the message's visibility while encoding; on SIGTERM takes no new
    /// message and finishes the scene within --grace.
    Worker(fleet::WorkerArgs),
    /// Fleet: a job's scenes done, in flight, waiting and failed; rate, ETA, and the number of
    /// workers needed to finish within --target (the autoscaling signal).
    Status(fleet::StatusArgs),
    /// Fleet: checks every chunk of a job and joins them into one output (.ivf, .mp4, .webm);
    /// names missing or damaged scenes and writes nothing if any.
    Assemble(fleet::AssembleArgs),
    /// Fleet: puts a job's failed scenes back on the queue from the dead-letter queue (after a
    /// fix); --missing also resends scenes without a good chunk.
    Requeue(fleet::RequeueArgs),
    /// Fleet: creates the SQS queue, its dead-letter queue NAME-dlq and the redrive policy;
    /// prints the queue URL.
    SetupQueue(fleet::SetupArgs),
    /// Ladder: encodes every scene on a grid of resolutions x quantizers, keeps each scene's
    /// rate-quality convex hull and picks one hull point per scene for each rung at a common
    /// slope so that the rung meets its average bitrate; writes the rungs (one IVF per scene,
    /// keyframes at the same frames in every rung), ladder.json and the CSVs `bdrate` reads.
    #[command(long_about = LADDER_ABOUT)]
    Ladder(LadderArgs),
    /// abr-sim's manifest from a ladder directory (and an audio ladder directory): the real
    /// size and the quality (PSNR-Y or SSIM-Y) of every segment at every rung, for `abr-sim run
    /// -m` and `abr-sim compare`. The ladder must have equal segments (`ladder
    /// --segment-seconds`).
    AbrManifest(AbrManifestArgs),
    /// A segmented ladder as a servable DASH directory: per rung init.mp4 and one CMAF (AV1 in
    /// fragmented MP4) segment per streaming segment, manifest.mpd (SegmentTemplate) and
    /// abr-manifest.json; with --audio, Opus rungs in CMAF aligned with the video's segments;
    /// a new directory, written completely or not at all.
    Package(PackageArgs),
    /// Bjøntegaard delta rate of TEST.csv against ANCHOR.csv: the average bitrate change at
    /// equal quality (negative: TEST needs fewer bits).
    Bdrate(BdrateArgs),
    /// PSNR-Y and SSIM-Y of DISTORTED.y4m against REFERENCE.y4m (as ffmpeg's psnr and ssim
    /// filters compute them), per frame and averaged, as JSON.
    Quality(QualityArgs),
}

const LADDER_ABOUT: &str = "Makes a streaming ladder from a Y4M mezzanine with per-scene \
convex-hull encoding.

Each scene (detected, or from --scenes) is encoded at every resolution of --heights and every \
quantizer of --quantizers (a Lanczos-3 downscale of the source, rav1e at --speed). Each \
encode's quality is measured on its reconstructed frames upscaled back to the source size: \
PSNR-Y and SSIM-Y, means of per-frame values (VMAF is not available: Debian ships no libvmaf). \
Per scene only the convex hull of (bits, quality) is kept. For each rung of --rungs (average \
kbit/s over the title), every scene takes the hull point that maximises quality - slope * bits \
at one common slope, the slope searched so that the rung spends the most bits within its target. \
Scenes are the same in every rung and each starts with a keyframe, so segments align across \
rungs.

OUT (a new directory, written completely or not at all) holds rung-N/scene-NNNN.ivf (one \
segment per scene; its resolution can change from scene to scene), ladder.json (grid, hulls, \
per-rung per-scene choices, and the fixed ladder: the one resolution and quantizer per rung \
with the best quality within the same target), hull.csv and fixed.csv (one row per rung; \
`segment-encode bdrate OUT/fixed.csv OUT/hull.csv` gives the hull ladder's BD-rate).

With --segment-seconds S, scenes are also cut at every S-second boundary (keyframes at every \
segment start in every rung), which `abr-manifest` (abr-sim's manifest) and `package` (CMAF \
segments and a DASH MPD) need.

A target below what the hulls reach (every scene at the bottom of its hull) or above it (every \
scene at the top) is an error naming the rung and the reachable range; widen --quantizers or \
--heights.";

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum OptimiseMetric {
    PsnrY,
    SsimY,
}

#[derive(Debug, ClapArgs)]
struct LadderArgs {
    /// The Y4M mezzanine (8- or 10-bit 4:2:0).
    input: PathBuf,
    /// The ladder directory to create (must not exist).
    #[arg(short, long)]
    output: PathBuf,
    /// Rungs' average bitrates in kbit/s, e.g. `150,300,600`.
    #[arg(
        long,
        value_delimiter = ',',
        value_name = "KBPS,...",
        required_unless_present = "auto_rungs",
        allow_negative_numbers = true
    )]
    rungs: Vec<f64>,
    /// Instead of --rungs: N rungs spread evenly in log-rate over what the grid reaches (for
    /// comparisons such as BD-rate, where the rates matter less than their spread).
    #[arg(long, value_name = "N", conflicts_with = "rungs", value_parser = clap::value_parser!(u64).range(1..=64))]
    auto_rungs: Option<u64>,
    /// Grid heights (even); widths keep the source's shape. Default: the source's height,
    /// three quarters and half of it.
    #[arg(long, value_delimiter = ',', value_name = "H,...")]
    heights: Vec<usize>,
    /// Grid quantizers (0-255, lower is better).
    #[arg(
        long,
        value_delimiter = ',',
        value_name = "Q,...",
        default_value = "60,90,120,150,180,210"
    )]
    quantizers: Vec<u8>,
    /// rav1e speed preset of the grid encodes: 0 (slowest, best) to 10 (fastest).
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u8).range(0..=10))]
    speed: u8,
    /// Keyframe at most every N frames within a scene (counted from the scene start, so the
    /// same in every rung); 0: only at scene starts.
    #[arg(long, default_value_t = 0)]
    keyint: u64,
    /// Allow grid resolutions above the source's.
    #[arg(long)]
    allow_upscale: bool,
    /// The quality the hull maximises.
    #[arg(long, value_enum, default_value_t = OptimiseMetric::PsnrY)]
    optimise: OptimiseMetric,
    /// Use this scene list (from `segment-encode scenes` on the same clip) instead of
    /// detecting scenes.
    #[arg(long, value_name = "FILE")]
    scenes: Option<PathBuf>,
    /// Streaming segments of this many seconds (a whole number of frames): scenes are also cut
    /// at every segment boundary, so every rung has a keyframe at every segment start and
    /// `abr-manifest` and `package` can cut equal segments. Default: one segment per scene.
    #[arg(long, value_name = "S")]
    segment_seconds: Option<f64>,
    /// Parallel grid encodes; default: one per CPU.
    #[arg(long)]
    workers: Option<usize>,
    /// No progress or summary on stderr.
    #[arg(short, long)]
    quiet: bool,
    #[command(flatten)]
    limits: LimitArgs,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum BdMethod {
    /// Piecewise cubic Hermite interpolation (PCHIP), as the AOM/JVET common test conditions.
    Pchip,
    /// The classic VCEG-M33 least-squares cubic (4 points or more).
    Cubic,
    Both,
}

#[derive(Debug, ClapArgs)]
struct BdrateArgs {
    /// The anchor curve: CSV with a header row (e.g. a ladder's fixed.csv).
    anchor: PathBuf,
    /// The test curve (e.g. a ladder's hull.csv).
    test: PathBuf,
    /// Column holding the quality.
    #[arg(long, default_value = "psnr_y")]
    metric: String,
    /// Column holding the rate.
    #[arg(long, default_value = "kbps")]
    rate: String,
    /// Interpolation of log-rate over quality.
    #[arg(long, value_enum, default_value_t = BdMethod::Both)]
    method: BdMethod,
}

#[derive(Debug, ClapArgs)]
struct QualityArgs {
    /// The reference (source) Y4M.
    reference: PathBuf,
    /// The Y4M to measure (e.g. a decoded rung), same frames.
    distorted: PathBuf,
    /// Upscale DISTORTED to the reference's size first (Lanczos-3) if they differ.
    #[arg(long)]
    upscale: bool,
}

const AUDIO_ABOUT: &str = "Probes a file's audio track (WAV, FLAC, AAC in MP4 or ADTS) and, with \
--scenes or --segment-seconds, cuts it into segments aligned with the video.

Without --scenes or --segment-seconds: prints codec, sample rate, channels, samples and duration.

With --scenes: segment i holds the audio of scene i. Video frame f starts at sample \
round(f * rate * den / num) for fps num:den, so segments tile the audio with no gap or overlap \
and each is within one sample of its scene's duration (44.1 kHz at 25 fps: 1764 samples a \
frame; 48 kHz at 30000:1001: 1601.6, so 1601 or 1602). Audio shorter than the video is padded \
with silence, audio longer is dropped; both are reported. MP4 edit lists are applied (the AAC \
encoder's priming samples are skipped, as ffmpeg does).

With --segment-seconds S: segments of S seconds (the last one shorter), over the audio; with \
--scenes too, over the video's duration.

Each segment's integrated loudness (BS.1770-4 / EBU R128, LUFS; '-' when the segment is shorter \
than 400 ms or silent) and sample peak (dBFS) are printed. With -o DIR, segments are written as \
DIR/segment-0000.wav, ...: PCM and FLAC keep their sample size (bit-exact), lossy codecs are \
written as 32-bit float. --format flac writes FLAC segments instead (integer sources only).";

const AUDIO_LADDER_ABOUT: &str = "Encodes a source's audio into an Opus ladder whose segments \
line up with the video's.

The audio (WAV, FLAC, AAC in MP4 or ADTS; 48 kHz, as Opus requires: resample other rates \
first) is cut where the video's scenes start (--scenes: the scene list of `segment-encode \
scenes`, the one the video ladder was made with), sample-accurately as `segment-encode audio` does, or every S seconds \
(--segment-seconds). Each segment is encoded at every rung of --bitrates (kbit/s; default \
64,96,128,192 for mono and stereo, 192,256,384,512,640 for 5.1 and 7.1, coded as Opus \
multistream with mapping family 1) by libopus, each segment with a fresh encoder so that it \
decodes on its own. Each file's pre-skip drops the encoder's delay and its last granule \
position trims the padding of the last frame, so a decoder gives back exactly the segment's \
samples.

OUT (a new directory, written completely or not at all) holds opus-<kbps>k/segment-NNNN.opus \
and audio-ladder.json: the input, each segment's samples, video frames, loudness (BS.1770, \
LUFS) and peak, and per rung its streams, pre-skip, and per-segment bytes and kbit/s.

Audio shorter than the video's segments is an error naming the file, unless the shortfall is \
at most --max-pad-ms (default: one video frame), which is padded with silence and reported.";

/// Scene length limits shared by both commands.
#[derive(Debug, Clone, ClapArgs)]
struct LimitArgs {
    /// Shortest scene in frames: cuts closer than this are ignored.
    #[arg(long, default_value_t = 12)]
    min_scene_len: u64,
    /// Longest scene in frames (longer scenes are split evenly); default 10 seconds.
    #[arg(long)]
    max_scene_len: Option<u64>,
}

#[derive(Debug, ClapArgs)]
struct ScenesArgs {
    /// The Y4M mezzanine (8- or 10-bit 4:2:0).
    input: PathBuf,
    /// Write the scene list here instead of printing it.
    #[arg(short, long)]
    output: Option<PathBuf>,
    #[command(flatten)]
    limits: LimitArgs,
    /// Also write a mezzfs mount spec (`mezzfs mount --spec FILE`) with one range file per
    /// scene (scene-0000.y4m, ...) and header.y4m.
    #[arg(long, value_name = "FILE")]
    mezzfs_spec: Option<PathBuf>,
    /// The mezzfs source (object name or s3:// URL) of the mezzanine, for the spec; default
    /// the input's file name.
    #[arg(long, value_name = "SOURCE")]
    mezzfs_source: Option<String>,
    /// No progress bar and no per-item lines on stderr (errors, warnings and the summary
    /// still print).
    #[arg(short, long)]
    quiet: bool,
}

#[derive(Debug, ClapArgs)]
struct EncodeArgs {
    /// The Y4M mezzanine; omit it with --scene-dir (which reads the scenes from their range
    /// files instead).
    input: Option<PathBuf>,
    /// Output file: .ivf, .mp4, or .webm (also .mkv).
    #[arg(short, long)]
    output: PathBuf,
    /// rav1e speed preset: 0 (slowest, best) to 10 (fastest).
    #[arg(long, default_value_t = 6, value_parser = clap::value_parser!(u8).range(0..=10))]
    speed: u8,
    /// Fixed quantizer 0-255 (lower is better quality); the default rate control.
    #[arg(long, default_value_t = 100, conflicts_with = "bitrate")]
    quantizer: u8,
    /// Target bitrate in kbit/s instead of a fixed quantizer (rate control per scene).
    #[arg(long, value_name = "KBPS")]
    bitrate: Option<u32>,
    /// Parallel workers (scenes encoded at once), at least 1; default: one per CPU.
    #[arg(long)]
    workers: Option<usize>,
    /// Tiles per frame: a power of two, or 'auto'. The bitstream depends on tiles, so a
    /// fixed number (default 1) gives the same bytes from the same input and settings whatever
    /// the worker count and scheduling. 'auto' gives the last scenes more tiles so that idle
    /// workers help through them (faster on many cores), but which scene gets how many
    /// depends on timing: the output can differ from run to run.
    #[arg(long, default_value = "1", value_name = "N|auto")]
    tiles: String,
    /// Keyframe at most every N frames within a scene; 0: only at scene starts.
    #[arg(long, default_value_t = 0)]
    keyint: u64,
    /// Use this scene list (from `segment-encode scenes`) instead of detecting scenes.
    #[arg(long, value_name = "FILE")]
    scenes: Option<PathBuf>,
    /// Read each scene from its range file in DIR (a mezzfs mount of the scene list's spec);
    /// needs --scenes.
    #[arg(long, value_name = "DIR", requires = "scenes")]
    scene_dir: Option<PathBuf>,
    /// Work directory holding finished scenes; a rerun with the same settings resumes from it.
    /// Default: OUT.work, removed after success.
    #[arg(long, value_name = "DIR")]
    work_dir: Option<PathBuf>,
    /// Encode only these scenes (by index, e.g. `1,3`) into the work directory and stop
    /// without writing OUT: one machine's share of the work. A later run without --only
    /// (same work directory) encodes what is missing and writes OUT.
    #[arg(
        long,
        value_delimiter = ',',
        value_name = "INDEX,...",
        requires = "work_dir"
    )]
    only: Vec<usize>,
    /// Keep the default work directory after success.
    #[arg(long)]
    keep_work: bool,
    /// Encode the whole clip in one rav1e context (keyframes forced at the scene starts), for
    /// comparison with the parallel encode.
    #[arg(long)]
    single_pass: bool,
    /// Measure PSNR of each scene against the source.
    #[arg(long)]
    psnr: bool,
    /// Write per-scene stats (frames, bytes, seconds, tiles, PSNR) as JSON here.
    #[arg(long, value_name = "FILE")]
    stats: Option<PathBuf>,
    /// No progress bar and no per-item lines on stderr (errors, warnings and the summary
    /// still print).
    #[arg(short, long)]
    quiet: bool,
    #[command(flatten)]
    limits: LimitArgs,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum AudioFormat {
    Wav,
    Flac,
}

#[derive(Debug, ClapArgs)]
struct AudioArgs {
    /// The media file (WAV, FLAC, MP4/M4A with AAC, ADTS AAC); a video track is ignored.
    input: PathBuf,
    /// Which audio track, counting audio tracks only from 0 (default the first).
    #[arg(long, value_name = "N")]
    track: Option<usize>,
    /// Cut at the scenes of this scene list (from `segment-encode scenes`).
    #[arg(long, value_name = "FILE")]
    scenes: Option<PathBuf>,
    /// Cut every S seconds (`4`, `4s`, `2.002`, `1001/500`) instead of at scenes; with
    /// --scenes, over the video's duration.
    #[arg(long, value_name = "S")]
    segment_seconds: Option<String>,
    /// Write the segments here as segment-0000.wav, ... (without it, only measure).
    #[arg(short, long, value_name = "DIR")]
    output: Option<PathBuf>,
    /// Segment files: wav (any source; lossy sources as 32-bit float) or flac (integer
    /// sources of up to 24 bits, bit-exact).
    #[arg(long, value_enum, default_value_t = AudioFormat::Wav)]
    format: AudioFormat,
    /// Write the per-segment table (and the input's description) as JSON here.
    #[arg(long, value_name = "FILE")]
    report: Option<PathBuf>,
    /// No progress bar and no per-item lines on stderr (errors, warnings and the summary
    /// still print).
    #[arg(short, long)]
    quiet: bool,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum LadderKind {
    /// The per-scene convex-hull rungs (the ladder's files).
    Hull,
    /// The peer: one resolution and quantizer per rung for the whole title.
    Fixed,
}

#[derive(Debug, ClapArgs)]
struct AbrManifestArgs {
    /// A directory `segment-encode ladder --segment-seconds` wrote.
    ladder: PathBuf,
    /// The manifest to write (JSON; its directory must exist).
    #[arg(short, long, value_name = "FILE")]
    output: PathBuf,
    /// Which rungs: the hull ladder's, or the fixed ladder's (from the same grid encodes).
    #[arg(long, value_enum, default_value_t = LadderKind::Hull)]
    rungs: LadderKind,
    /// The per-segment quality written (abr-sim's `quality`): the ladder's metric name.
    #[arg(long, default_value = "psnr_y", value_parser = ["psnr_y", "ssim_y"])]
    quality: String,
    /// An `audio-ladder --segment-seconds` directory: its rungs become the manifest's audio
    /// track (without it abr-sim adds its default audio ladder, or none with --no-audio).
    #[arg(long, value_name = "DIR")]
    audio: Option<PathBuf>,
    /// The title N times in a row (video and audio segments repeated), for sessions longer
    /// than a short clip.
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=1000))]
    repeat: u32,
    /// Multiply the video's sizes and bitrates by F (e.g. 10): a small test clip's ladder made
    /// to span the rates of real throughput traces (as if the network were F times slower).
    #[arg(long, value_name = "F", default_value_t = 1.0)]
    video_bits_scale: f64,
}

#[derive(Debug, ClapArgs)]
struct PackageArgs {
    /// A directory `segment-encode ladder --segment-seconds` wrote.
    ladder: PathBuf,
    /// The DASH directory to create (must not exist); serve it over HTTP and open
    /// OUT/manifest.mpd.
    #[arg(short, long, value_name = "DIR")]
    output: PathBuf,
    /// The title's audio (WAV, FLAC, MP4/M4A with AAC, ADTS AAC; 48 kHz; mono, stereo, 5.1 or
    /// 7.1): one continuous Opus encode per rung, cut at the video's segment starts, as
    /// OUT/audio-<KBPS>k/ (Opus in CMAF) and an audio adaptation set in the MPD.
    #[arg(long, value_name = "FILE")]
    audio: Option<PathBuf>,
    /// Audio rungs in kbit/s (default 64,96,128,192 for stereo, 192,256,384,512,640 for 5.1
    /// and 7.1).
    #[arg(
        long,
        value_delimiter = ',',
        value_name = "KBPS,...",
        requires = "audio"
    )]
    audio_bitrates: Vec<u32>,
    /// Which audio track of --audio, counting audio tracks only from 0.
    #[arg(long, value_name = "N", requires = "audio")]
    audio_track: Option<usize>,
    /// Audio ending at most this many milliseconds before the video is padded with silence;
    /// shorter audio is an error. Default: one video frame.
    #[arg(long, value_name = "MS", requires = "audio")]
    max_pad_ms: Option<f64>,
    /// No progress bar or summary on stderr.
    #[arg(short, long)]
    quiet: bool,
}

#[derive(Debug, ClapArgs)]
struct AudioLadderArgs {
    /// The media file (WAV, FLAC, MP4/M4A with AAC, ADTS AAC), 48 kHz; a video track is
    /// ignored.
    input: PathBuf,
    /// The ladder directory to create (must not exist; its parent must).
    #[arg(short, long, value_name = "DIR")]
    output: PathBuf,
    /// Cut at the scenes of this scene list (the video's segments).
    #[arg(long, value_name = "FILE")]
    scenes: Option<PathBuf>,
    /// Cut every S seconds (`4`, `2.002`, `1001/500`); with --scenes, over the video's
    /// duration.
    #[arg(long, value_name = "S")]
    segment_seconds: Option<String>,
    /// Rungs in kbit/s, e.g. `64,96,128,192` (default: by channel count).
    #[arg(long, value_delimiter = ',', value_name = "KBPS,...")]
    bitrates: Vec<u32>,
    /// Which audio track, counting audio tracks only from 0 (default the first).
    #[arg(long, value_name = "N")]
    track: Option<usize>,
    /// Audio ending at most this many milliseconds before the video is padded with silence;
    /// shorter audio is an error. Default: one video frame.
    #[arg(long, value_name = "MS")]
    max_pad_ms: Option<f64>,
    /// No progress bar (errors, notes and the summary still print).
    #[arg(short, long)]
    quiet: bool,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    match args.command {
        Command::Scenes(a) => {
            progress::set_quiet(a.quiet);
            scenes::run(a)
        }
        Command::Encode(a) => {
            progress::set_quiet(a.quiet);
            encode::run(a)
        }
        Command::Audio(a) => {
            progress::set_quiet(a.quiet);
            audio::run(a)
        }
        Command::AudioLadder(a) => {
            progress::set_quiet(a.quiet);
            audio_ladder::run(a)
        }
        Command::Submit(a) => fleet::submit(a),
        Command::Worker(a) => fleet::worker(a),
        Command::Status(a) => fleet::status(a),
        Command::Assemble(a) => fleet::assemble(a),
        Command::Requeue(a) => fleet::requeue(a),
        Command::SetupQueue(a) => fleet::setup(a),
        Command::Ladder(a) => ladder::run(a),
        Command::AbrManifest(a) => abr_manifest::run(a),
        Command::Package(a) => {
            progress::set_quiet(a.quiet);
            package::run(a)
        }
        Command::Bdrate(a) => bdrate::run(a),
        Command::Quality(a) => quality::run(a),
    }
}
