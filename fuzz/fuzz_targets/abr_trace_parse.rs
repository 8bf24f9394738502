//! Throughput traces come from anywhere: any bytes, in every format, must parse to a trace or
//! a clear error naming the file, and a parsed trace must have a positive duration.
#![no_main]

use abr_sim::trace::{TraceFormat, TraceOptions, detect, parse};
use abr_sim::units::Ms;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let opts = TraceOptions { default_latency: Ms(80.0), mahimahi_bin: Ms(100.0) };
    let _ = detect("fuzz", text);
    for f in [TraceFormat::SabreJson, TraceFormat::Cooked, TraceFormat::Mahimahi, TraceFormat::Csv] {
        match parse("fuzz", text, f, &opts) {
            Ok(t) => {
                assert!(t.duration().0 > 0.0);
                assert!(t.periods.iter().all(|p| p.bandwidth.0 >= 0.0 && p.latency.0 >= 0.0));
                let _ = t.mean_bandwidth();
            }
            Err(e) => assert_eq!(e.at.file, "fuzz"),
        }
    }
});
