use mezz_object::naming;

use super::{Global, human};

#[derive(Debug, clap::Args)]
pub struct LsArgs {
    /// Only objects whose names start with this.
    #[arg(default_value = "")]
    prefix: String,
    /// Also show stored (sealed) bytes per object.
    #[arg(long, short)]
    long: bool,
}

pub async fn run(g: &Global, a: &LsArgs) -> anyhow::Result<()> {
    let store = g.store().await?;
    let keys = store.list(&a.prefix).await?;
    for m in &keys {
        let Some(name) = naming::name_of_manifest(&m.key) else {
            continue;
        };
        if a.long {
            let folder = naming::object_folder(name);
            let stored: u64 = keys
                .iter()
                .filter(|k| k.key.starts_with(&folder))
                .map(|k| k.size)
                .sum();
            println!("{:>12}  {name}", human(stored));
        } else {
            println!("{name}");
        }
    }
    Ok(())
}
