use mezz_object::{ObjectReader, naming};

use super::{Global, human};

#[derive(Debug, clap::Args)]
pub struct LsArgs {
    /// Only objects whose names start with this.
    #[arg(default_value = "")]
    prefix: String,
    /// Also show each object's size (plaintext, what `get` and a mount give; needs the key)
    /// and its stored size (sealed parts and manifest, what the store bills), under a header.
    #[arg(long, short)]
    long: bool,
}

pub async fn run(g: &Global, a: &LsArgs) -> anyhow::Result<()> {
    let store = g.store().await?;
    let listed = store.list(&a.prefix).await?;
    let keys = if a.long { Some(g.keys()?) } else { None };
    if a.long {
        println!("{:>12}  {:>12}  NAME", "SIZE", "STORED");
    }
    for m in &listed {
        let Some(name) = naming::name_of_manifest(&m.key) else {
            continue;
        };
        let Some(keys) = &keys else {
            println!("{name}");
            continue;
        };
        let folder = naming::object_folder(name);
        let stored: u64 = listed
            .iter()
            .filter(|k| k.key.starts_with(&folder))
            .map(|k| k.size)
            .sum();
        // An object this key cannot open is still listed, its size unknown.
        let size = match ObjectReader::open(store.clone(), &**keys, name).await {
            Ok(r) => human(r.size()),
            Err(_) => "?".to_string(),
        };
        println!("{size:>12}  {:>12}  {name}", human(stored));
    }
    Ok(())
}
