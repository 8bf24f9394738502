use futures::StreamExt;
use mezz_object::ObjectReader;

use super::{Global, human, progress_bar};

#[derive(Debug, clap::Args)]
pub struct VerifyArgs {
    /// Object name.
    name: String,
    /// Ranged GETs in flight.
    #[arg(long, default_value_t = 8)]
    concurrency: usize,
}

pub async fn run(g: &Global, a: &VerifyArgs) -> anyhow::Result<()> {
    let store = g.store().await?;
    let keys = g.keys()?;
    let reader = ObjectReader::open(store, &*keys, &a.name).await?;
    let size = reader.size();
    let bar = progress_bar(g.quiet, Some(size), &format!("verify {}", a.name));
    let mut stream = std::pin::pin!(reader.stream_range(0..size, 8 << 20, a.concurrency));
    while let Some(chunk) = stream.next().await {
        bar.inc(chunk?.len() as u64);
    }
    bar.finish_and_clear();
    println!(
        "{}: OK, {} in {} part(s), every segment authentic",
        a.name,
        human(size),
        reader.manifest().part_count
    );
    Ok(())
}
