use mezz_object::ObjectReader;

use super::{Global, human};

#[derive(Debug, clap::Args)]
pub struct StatArgs {
    /// Object name.
    name: String,
    /// Print the manifest as JSON.
    #[arg(long)]
    json: bool,
}

pub async fn run(g: &Global, a: &StatArgs) -> anyhow::Result<()> {
    let store = g.store().await?;
    let keys = g.keys()?;
    let reader = ObjectReader::open(store, &*keys, &a.name).await?;
    let m = reader.manifest();
    if a.json {
        println!("{}", serde_json::to_string_pretty(m)?);
        return Ok(());
    }
    println!("name:          {}", m.name);
    println!(
        "size:          {} ({})",
        m.plaintext_size,
        human(m.plaintext_size)
    );
    println!("object id:     {}", m.object_id);
    println!("parts:         {} of {}", m.part_count, human(m.part_size));
    println!(
        "segments:      {} of {}",
        reader.opened().layout.segment_count(),
        human(u64::from(m.segment_size))
    );
    println!("key:           {} ({})", m.key.key_id, m.key.provider);
    println!("created (unix): {}", m.created_unix);
    Ok(())
}
