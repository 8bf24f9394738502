//! `mezz-testdata SIZE SEED`: writes `random_bytes(SIZE, SEED)` to stdout, so scripts make the
//! same bytes the tests make (the replay corpus's objects).

use std::io::Write;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let parsed = match args.as_slice() {
        [size, seed] => size.parse::<usize>().ok().zip(seed.parse::<u64>().ok()),
        _ => None,
    };
    let Some((size, seed)) = parsed else {
        eprintln!("usage: mezz-testdata SIZE_BYTES SEED");
        return ExitCode::from(2);
    };
    let bytes = mezz_testkit::random_bytes(size, seed);
    match std::io::stdout().lock().write_all(&bytes) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("mezz-testdata: {e}");
            ExitCode::FAILURE
        }
    }
}
