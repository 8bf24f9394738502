//! `mezz-replay-retarget IN OUT OBJECTS_TXT`: moves a replay recorded on real media onto the
//! corpus's deterministic objects. Each object of the replay is looked up by name in
//! OBJECTS_TXT (lines `name size seed`, as in replays/corpus/objects.txt), its size must match,
//! and the replay's digests are recomputed for `random_bytes(size, seed)`, so the replay
//! reruns (and checks every byte) against objects the tests make from that file.

use std::collections::HashMap;
use std::process::ExitCode;

use anyhow::{Context, bail};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [input, output, objects] = args.as_slice() else {
        eprintln!("usage: mezz-replay-retarget IN.mezzreplay OUT.mezzreplay OBJECTS_TXT");
        return ExitCode::from(2);
    };
    match run(input, output, objects) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("mezz-replay-retarget: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(input: &str, output: &str, objects: &str) -> anyhow::Result<()> {
    let list = std::fs::read_to_string(objects).with_context(|| format!("reading {objects}"))?;
    let mut seeds: HashMap<&str, (u64, u64)> = HashMap::new();
    for (n, line) in list.lines().enumerate() {
        let f: Vec<&str> = line.split_whitespace().collect();
        let [name, size, seed] = f.as_slice() else {
            bail!("{objects}:{}: expected 'name size seed'", n + 1);
        };
        let parse = |s: &str| {
            s.parse::<u64>()
                .with_context(|| format!("{objects}:{}: '{s}' is not a number", n + 1))
        };
        seeds.insert(name, (parse(size)?, parse(seed)?));
    }
    let bytes = std::fs::read(input).with_context(|| format!("reading {input}"))?;
    let d = mezz_replays::decode(&bytes).with_context(|| format!("decoding {input}"))?;
    let meta = d.meta().context("the replay has no mount description")?;
    let mut data = Vec::new();
    for o in &meta.objects {
        let &(size, seed) = seeds
            .get(o.source.as_str())
            .with_context(|| format!("object '{}' is not in {objects}", o.source))?;
        if size != o.size {
            bail!(
                "object '{}' has {} bytes in the replay, {size} in {objects}",
                o.source,
                o.size
            );
        }
        let n = usize::try_from(size).context("object too large for memory")?;
        data.push((seed, mezz_testkit::random_bytes(n, seed)));
    }
    let out = mezz_replays::retarget::retarget(
        &d,
        &|i| format!("random_bytes seed {}", data[i].0),
        &mut |i, r| data[i].1[r.start as usize..r.end as usize].to_vec(),
    )?;
    std::fs::write(output, out).with_context(|| format!("writing {output}"))?;
    Ok(())
}
