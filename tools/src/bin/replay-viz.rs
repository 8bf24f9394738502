//! `replay-viz`: animates a mezzfs replay in the terminal. The terminal adapter: reads the
//! file, turns crossterm events into [`Key`]s and wall time into playback, draws with ratatui.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::{CommandFactory, Parser};
use ratatui::DefaultTerminal;
use ratatui::buffer::Buffer;
use ratatui::crossterm::event::{self, Event, KeyCode, KeyEventKind, KeyModifiers};
use ratatui::layout::Rect;

use mezz_tools::timespec::TimeSpec;
use mezz_tools::{App, Flow, Key, ui};

/// Animates a mezzfs replay: the object's bytes drawn as pixels coloured by state
/// (scheduled, downloading, cached, returned to the reader, evicted, failed).
///
/// Top-left is the object's first byte, bottom-right its last; every character cell is two
/// pixels. Press ? for the keys. Replays come from `mezzfs mount --replay FILE`; a replay cut
/// short by a killed mount opens too, and the status bar says so.
#[derive(Parser, Debug)]
#[command(version, about, long_about)]
struct Args {
    /// The replay file (*.mezzreplay).
    file: PathBuf,

    /// Print one frame as text and exit instead of opening the viewer: a time on the mount's
    /// clock (1.5s, 250ms, 40us, 2m), a share of the replay (75%), or start / end.
    #[arg(long, value_name = "T")]
    snapshot_at: Option<TimeSpec>,

    /// Width of the snapshot in columns.
    #[arg(long, default_value_t = 120, value_parser = clap::value_parser!(u16).range(20..=1000))]
    width: u16,

    /// Height of the snapshot in rows.
    #[arg(long, default_value_t = 40, value_parser = clap::value_parser!(u16).range(8..=1000))]
    height: u16,

    /// The object to show first, counting from 1 (Tab switches in the viewer).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..))]
    object: u64,

    /// Draw states as characters instead of colours (m toggles in the viewer; snapshots always
    /// use characters).
    #[arg(long)]
    glyphs: bool,

    /// Start playing at once, at this speed (0.1 to 1000).
    #[arg(long, value_name = "SPEED")]
    play: Option<f64>,

    /// Most frames per second while playing.
    #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u32).range(1..=240))]
    fps: u32,
}

fn main() -> ExitCode {
    mezz_ops::broken_pipe::exit_quietly_when_output_closes();
    if let Some(code) = mezz_ops::assets::main_hook("replay-viz", Args::command) {
        return code;
    }
    match run(Args::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("replay-viz: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: Args) -> anyhow::Result<()> {
    let bytes =
        std::fs::read(&args.file).with_context(|| format!("reading {}", args.file.display()))?;
    let name = args.file.file_name().map_or_else(
        || args.file.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    let mut app = mezz_tools::open(&bytes, name)
        .with_context(|| format!("opening {}", args.file.display()))?;
    drop(bytes);
    let objects = app.timeline().meta.objects.len() as u64;
    if args.object > objects.max(1) {
        bail!(
            "--object {}: the replay has {objects} object(s)",
            args.object
        );
    }
    app.object = (args.object - 1) as usize;
    app.glyphs = args.glyphs;
    if let Some(speed) = args.play {
        app.player.set_speed(speed);
        app.player.playing = true;
    }
    if let Some(at) = args.snapshot_at {
        app.glyphs = true;
        app.player.playing = false;
        app.seek_to(at);
        let mut buf = Buffer::empty(Rect::new(0, 0, args.width, args.height));
        ui::render(&app, buf.area, &mut buf);
        print!("{}", ui::to_text(&buf));
        return Ok(());
    }
    if !std::io::stdout().is_terminal() {
        bail!("the viewer needs a terminal; use --snapshot-at T for a text frame");
    }
    // ratatui::init also installs a panic hook that restores the terminal first.
    let mut terminal = ratatui::init();
    let result = event_loop(&mut terminal, &mut app, args.fps);
    ratatui::restore();
    result
}

fn event_loop(terminal: &mut DefaultTerminal, app: &mut App, fps: u32) -> anyhow::Result<()> {
    let frame = Duration::from_secs(1) / fps;
    let mut last = Instant::now();
    loop {
        let now = Instant::now();
        app.player
            .advance(now.duration_since(last).as_micros() as u64);
        last = now;
        let started = Instant::now();
        terminal.draw(|f| ui::render(app, f.area(), f.buffer_mut()))?;
        app.frame_us = started.elapsed().as_micros() as u64;
        let wait = if app.player.playing {
            frame.saturating_sub(started.elapsed())
        } else {
            Duration::from_millis(500)
        };
        if !event::poll(wait)? {
            continue;
        }
        // Take everything pending before drawing again, so held keys do not queue up frames.
        loop {
            if let Event::Key(k) = event::read()?
                && k.kind != KeyEventKind::Release
                && let Some(key) = translate(k.code, k.modifiers)
                && app.on_key(key) == Flow::Quit
            {
                return Ok(());
            }
            if !event::poll(Duration::ZERO)? {
                break;
            }
        }
    }
}

fn translate(code: KeyCode, mods: KeyModifiers) -> Option<Key> {
    Some(match code {
        KeyCode::Char(c) if mods.contains(KeyModifiers::CONTROL) => Key::Ctrl(c),
        KeyCode::Char(c) => Key::Char(c),
        KeyCode::Enter => Key::Enter,
        KeyCode::Esc => Key::Esc,
        KeyCode::Backspace => Key::Backspace,
        KeyCode::Left => Key::Left,
        KeyCode::Right => Key::Right,
        KeyCode::Up => Key::Up,
        KeyCode::Down => Key::Down,
        KeyCode::Home => Key::Home,
        KeyCode::End => Key::End,
        KeyCode::PageUp => Key::PageUp,
        KeyCode::PageDown => Key::PageDown,
        KeyCode::Tab => Key::Tab,
        KeyCode::BackTab => Key::BackTab,
        _ => return None,
    })
}
