//! What the visualizer shows and how keys change it. Pure: keys come in as [`Key`] values
//! (the terminal adapter translates crossterm's), so every binding is tested without a
//! terminal.

use std::ops::Range;

use crate::player::Player;
use crate::series::Series;
use crate::timeline::{Span, Timeline};
use crate::timespec::TimeSpec;

/// Reads the access-pattern panel classifies: the read-ahead policy's window.
pub const PATTERN_WINDOW: usize = 64;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Key {
    Char(char),
    Ctrl(char),
    Enter,
    Esc,
    Backspace,
    Left,
    Right,
    Up,
    Down,
    Home,
    End,
    PageUp,
    PageDown,
    Tab,
    BackTab,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flow {
    Continue,
    Quit,
}

#[derive(Debug)]
pub struct App {
    pub player: Player,
    pub series: Series,
    /// What the status bar calls the replay (its file name).
    pub name: String,
    /// The object on screen, an index into the replay's objects.
    pub object: usize,
    /// A file of that object whose bytes are highlighted (index into the replay's files).
    pub focus: Option<usize>,
    /// Draw states as characters instead of colours.
    pub glyphs: bool,
    pub help: bool,
    /// The "go to" line being typed.
    pub prompt: Option<String>,
    pub message: Option<String>,
    /// How long the last frame took to draw, µs (shown in the status bar).
    pub frame_us: u64,
}

impl App {
    pub fn new(timeline: Timeline, name: String) -> App {
        let series = Series::of(&timeline);
        App {
            player: Player::new(timeline),
            series,
            name,
            object: 0,
            focus: None,
            glyphs: false,
            help: false,
            prompt: None,
            message: None,
            frame_us: 0,
        }
    }

    pub fn timeline(&self) -> &Timeline {
        self.player.timeline()
    }

    /// The files that show bytes of the selected object, as indexes into the replay's files.
    pub fn files_of_object(&self) -> Vec<usize> {
        let files = &self.timeline().meta.files;
        (0..files.len())
            .filter(|i| files[*i].object as usize == self.object)
            .collect()
    }

    /// The object bytes of the focused file.
    pub fn focus_span(&self) -> Option<Span> {
        let f = self.timeline().meta.files.get(self.focus?)?;
        Some(Span::new(f.offset, f.len))
    }

    /// The selected object's latest reads up to now, for the access-pattern panel.
    pub fn recent_reads(&self) -> Vec<Range<u64>> {
        let Some(reads) = self.timeline().reads.get(self.object) else {
            return Vec::new();
        };
        let now = self.player.now();
        let n = reads.partition_point(|(t, _)| *t <= now);
        reads[n.saturating_sub(PATTERN_WINDOW)..n]
            .iter()
            .map(|(_, r)| r.clone())
            .collect()
    }

    pub fn seek_to(&mut self, spec: TimeSpec) {
        let t = self.timeline();
        let at = spec.resolve(t.start, t.end_time);
        self.player.seek(at);
    }

    /// Moves by a share of the replay (negative: back).
    fn seek_by(&mut self, share: f64) {
        let d = self.timeline().duration() as f64 * share;
        let now = self.player.now() as f64;
        self.player.seek((now + d).max(0.0) as u64);
    }

    fn select_object(&mut self, delta: isize) {
        let n = self.timeline().meta.objects.len() as isize;
        self.object = (self.object as isize + delta).rem_euclid(n.max(1)) as usize;
        self.focus = None;
    }

    /// Cycles the highlighted file through the object's files and back to none.
    fn cycle_focus(&mut self) {
        let files = self.files_of_object();
        self.focus = match self.focus.and_then(|f| files.iter().position(|x| *x == f)) {
            None => files.first().copied(),
            Some(i) => files.get(i + 1).copied(),
        };
    }

    pub fn on_key(&mut self, key: Key) -> Flow {
        if let Key::Ctrl('c') = key {
            return Flow::Quit;
        }
        if let Some(line) = self.prompt.as_mut() {
            match key {
                Key::Char(c) => line.push(c),
                Key::Backspace => {
                    line.pop();
                }
                Key::Esc => self.prompt = None,
                Key::Enter => {
                    let line = self.prompt.take().unwrap_or_default();
                    match line.parse::<TimeSpec>() {
                        Ok(spec) => self.seek_to(spec),
                        Err(e) => self.message = Some(e.to_string()),
                    }
                }
                _ => {}
            }
            return Flow::Continue;
        }
        if self.help {
            // Any key closes the help; q still quits.
            self.help = false;
            return if key == Key::Char('q') {
                Flow::Quit
            } else {
                Flow::Continue
            };
        }
        self.message = None;
        let speed = self.player.speed();
        match key {
            Key::Char('q') => return Flow::Quit,
            Key::Char(' ') | Key::Char('p') => self.player.toggle_play(),
            Key::Char(']') | Key::Char('+') | Key::Char('=') | Key::Up => {
                self.player.set_speed(speed * 2.0)
            }
            Key::Char('[') | Key::Char('-') | Key::Down => self.player.set_speed(speed / 2.0),
            Key::Char('0') => self.player.set_speed(1.0),
            Key::Char('.') | Key::Char('l') => self.player.step_forward(),
            Key::Char(',') | Key::Char('h') => self.player.step_back(),
            Key::Right => self.seek_by(0.01),
            Key::Left => self.seek_by(-0.01),
            Key::PageDown => self.seek_by(0.1),
            Key::PageUp => self.seek_by(-0.1),
            Key::Home => self.seek_to(TimeSpec::Fraction(0.0)),
            Key::End => self.seek_to(TimeSpec::Fraction(1.0)),
            Key::Char('g') | Key::Char(':') => self.prompt = Some(String::new()),
            Key::Tab | Key::Char('o') => self.select_object(1),
            Key::BackTab | Key::Char('O') => self.select_object(-1),
            Key::Char('f') => self.cycle_focus(),
            Key::Char('m') => self.glyphs = !self.glyphs,
            Key::Char('?') => self.help = true,
            _ => {}
        }
        Flow::Continue
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mezz_replays::{Decoded, End, FileMeta, Meta, ObjectMeta, Record};

    fn app() -> App {
        let obj = |s: &str| ObjectMeta {
            source: s.into(),
            size: 1 << 20,
            version: "v".into(),
            segment_size: 4096,
        };
        let file = |p: &str, object, offset, len| FileMeta {
            path: p.into(),
            object,
            offset,
            len,
        };
        let meta = Meta {
            objects: vec![obj("movie"), obj("other")],
            files: vec![
                file("movie", 0, 0, 1 << 20),
                file("other", 1, 0, 1 << 20),
                file("scene-1", 0, 0, 1 << 19),
                file("scene-2", 0, 1 << 19, 1 << 19),
            ],
            ..Meta::default()
        };
        let mut r = vec![
            Record::Meta(meta),
            Record::Open {
                t: 0,
                handle: 1,
                file: 0,
            },
        ];
        for i in 0..100u64 {
            r.push(Record::Read {
                t: 1000 * i,
                handle: 1,
                offset: i * 4096,
                len: 4096,
                dur: 5,
                ok: true,
            });
        }
        let t = Timeline::from_decoded(&Decoded {
            records: r,
            end: End::Complete,
            chunks: 1,
        })
        .expect("timeline");
        App::new(t, "test".into())
    }

    #[test]
    fn keys_drive_playback_speed_and_seeking() {
        let mut a = app();
        a.on_key(Key::Char(' '));
        assert!(a.player.playing);
        a.on_key(Key::Char(' '));
        assert!(!a.player.playing);
        for _ in 0..20 {
            a.on_key(Key::Char(']'));
        }
        assert_eq!(a.player.speed(), 1000.0);
        for _ in 0..20 {
            a.on_key(Key::Char('['));
        }
        assert_eq!(a.player.speed(), 0.1);
        a.on_key(Key::Char('0'));
        assert_eq!(a.player.speed(), 1.0);
        a.on_key(Key::End);
        assert!(a.player.at_end());
        a.on_key(Key::Home);
        assert_eq!(a.player.now(), 0);
        let at_start = a.player.state().applied;
        a.on_key(Key::Char('.'));
        assert_eq!(a.player.state().applied, at_start + 1);
        a.on_key(Key::Char(','));
        a.on_key(Key::Char(','));
        assert_eq!(a.player.state().applied, at_start - 1);
        a.on_key(Key::PageDown);
        assert_eq!(a.player.now(), a.timeline().duration() / 10);
    }

    #[test]
    fn the_go_to_prompt_seeks_or_explains() {
        let mut a = app();
        a.on_key(Key::Char('g'));
        for c in "50ms".chars() {
            a.on_key(Key::Char(c));
        }
        a.on_key(Key::Enter);
        assert_eq!(a.player.now(), 50_000);
        assert!(a.prompt.is_none());
        a.on_key(Key::Char('g'));
        for c in "soon".chars() {
            a.on_key(Key::Char(c));
        }
        a.on_key(Key::Enter);
        assert!(
            a.message
                .as_deref()
                .is_some_and(|m| m.contains("not a moment"))
        );
        assert_eq!(
            a.player.now(),
            50_000,
            "a bad time leaves the position alone"
        );
        a.on_key(Key::Char('g'));
        a.on_key(Key::Char('q'));
        a.on_key(Key::Esc);
        assert!(a.prompt.is_none(), "q typed into the prompt does not quit");
    }

    #[test]
    fn objects_and_files_cycle_and_help_closes_on_any_key() {
        let mut a = app();
        assert_eq!(a.files_of_object(), [0, 2, 3]);
        a.on_key(Key::Char('f'));
        assert_eq!(a.focus, Some(0));
        a.on_key(Key::Char('f'));
        a.on_key(Key::Char('f'));
        assert_eq!(a.focus_span(), Some(Span::new(1 << 19, 1 << 19)));
        a.on_key(Key::Char('f'));
        assert_eq!(a.focus, None);
        a.on_key(Key::Tab);
        assert_eq!((a.object, a.files_of_object()), (1, vec![1]));
        a.on_key(Key::BackTab);
        a.on_key(Key::BackTab);
        assert_eq!(a.object, 1, "wraps around");
        a.on_key(Key::Char('?'));
        assert!(a.help);
        assert_eq!(a.on_key(Key::Char('x')), Flow::Continue);
        assert!(!a.help);
        assert_eq!(a.on_key(Key::Ctrl('c')), Flow::Quit);
        assert_eq!(a.on_key(Key::Char('q')), Flow::Quit);
    }

    #[test]
    fn recent_reads_stop_at_now() {
        let mut a = app();
        a.player.seek(10_500);
        assert_eq!(
            a.recent_reads().len(),
            11,
            "reads 0..=10 returned by 10.5 ms"
        );
        a.player.seek(u64::MAX);
        assert_eq!(a.recent_reads().len(), PATTERN_WINDOW);
    }
}
