//! The visualizer opens replays of any provenance: whatever decodes must become a timeline,
//! seek anywhere and draw without panicking.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;

fuzz_target!(|data: &[u8]| {
    let mut file = mezz_replays::codec::header().to_vec();
    file.extend_from_slice(data);
    for bytes in [data, &file[..]] {
        let Ok(mut app) = mezz_tools::open(bytes, "fuzz".into()) else {
            continue;
        };
        let area = Rect::new(0, 0, 90, 24);
        let mut buf = Buffer::empty(area);
        for f in [0.0, 0.5, 1.0] {
            app.seek_to(mezz_tools::timespec::TimeSpec::Fraction(f));
            mezz_tools::ui::render(&app, area, &mut buf);
        }
        app.on_key(mezz_tools::Key::Tab);
        mezz_tools::ui::render(&app, area, &mut buf);
    }
});
