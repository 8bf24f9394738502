//! Progress bars (frames, fps, ETA) on stderr; hidden when stderr is not a terminal.

use indicatif::{ProgressBar, ProgressStyle};

pub fn frames_bar(total: u64, what: &str) -> ProgressBar {
    let bar = ProgressBar::new(total);
    let style = ProgressStyle::with_template(&format!(
        "{what} {{elapsed_precise}} [{{bar:36}}] {{pos}}/{{len}} frames, {{per_sec}}, ETA {{eta}} {{msg}}"
    ))
    .unwrap_or_else(|_| ProgressStyle::default_bar())
    .progress_chars("=> ");
    bar.set_style(style);
    bar
}
