//! `segment-encode submit`: the mezzanine into the store (if given as a file), its scenes, the
//! job record, one message per scene longest first; prints the job id.

use std::collections::BTreeSet;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context, bail};
use segment_encode::encode::EncodeSettings;
use segment_encode::fleet::job::{JobRecord, keys};
use segment_encode::fleet::message::SceneMessage;
use segment_encode::fleet::store::FleetStore;
use segment_encode::{SceneList, Y4mFile, plan};

use super::SubmitArgs;

pub fn run(a: SubmitArgs) -> anyhow::Result<()> {
    if !a.settings.tiles.is_power_of_two() {
        bail!("--tiles must be a power of two, got {}", a.settings.tiles);
    }
    let settings = EncodeSettings {
        speed: a.settings.speed,
        quantizer: a.settings.quantizer,
        bitrate_kbps: a.settings.bitrate,
        tiles: Some(a.settings.tiles),
        keyint: a.settings.keyint,
        psnr: false,
    };
    super::runtime()?.block_on(submit(&a, settings))
}

async fn submit(a: &SubmitArgs, settings: EncodeSettings) -> anyhow::Result<()> {
    let say = |s: String| {
        if !a.quiet {
            eprintln!("{s}");
        }
    };
    let queue = a.sqs.queue(&a.queue).await;
    // Before any upload: a wrong queue URL is found in a second, not after a long put.
    queue.info().await?;
    let store = a.store.open().await?;
    let object = match (store.object_info(&a.object).await?, &a.input) {
        (Some(info), Some(_)) if !a.replace => {
            say(format!(
                "{} exists (version {}): using it (--replace puts the file again)",
                a.object, info.id
            ));
            info
        }
        (_, Some(path)) => {
            say(format!("putting {} as {} ...", path.display(), a.object));
            store.put_file(&a.object, path).await?
        }
        (Some(info), None) => info,
        (None, None) => bail!(
            "object '{}' is not in {}; give --input FILE to put it there",
            a.object,
            store.url()
        ),
    };

    let mut list = match &a.scenes {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading {}", path.display()))?;
            SceneList::parse(&text)
                .with_context(|| path.display().to_string())?
                .0
        }
        None => detect(a, &store, &object.id, object.size).await?,
    };
    // The list's `source` is how it was made; the job names the object itself.
    list.source = a.object.clone();
    let record = JobRecord::new(&a.object, &object.id, object.size, list, settings)
        .with_context(|| format!("the scenes do not fit object '{}'", a.object))?;
    let job = record.job.clone();

    match store.get(&keys::job(&job)).await? {
        Some(existing) if JobRecord::parse(&existing).is_ok_and(|(r, _)| r == record) => {}
        Some(_) => bail!(
            "{} holds another record under the same id; remove it",
            keys::job(&job)
        ),
        None => store.put(&keys::job(&job), record.to_json()).await?,
    }
    if store.get(&keys::submitted(&job)).await?.is_some() {
        say(format!(
            "job {job} was already submitted: nothing sent (see `segment-encode status {job}`)"
        ));
        println!("{job}");
        return Ok(());
    }
    // Scenes with a chunk (an earlier, interrupted submit's workers) need no message.
    let done: BTreeSet<usize> = store
        .list(&keys::chunks(&job))
        .await?
        .iter()
        .filter_map(|(k, _)| keys::scene_of(k))
        .collect();
    let scenes = record.scenes.scenes();
    let bodies: Vec<String> = plan::longest_first(&scenes)
        .into_iter()
        .filter(|i| !done.contains(i))
        .map(|i| SceneMessage::new(store.url(), &job, i).body())
        .collect();
    queue.send_all(&bodies).await?;
    let at = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64());
    let marker = serde_json::json!({"queue": a.queue, "scenes": scenes.len(), "at_unix": at});
    store
        .put(&keys::submitted(&job), marker.to_string().into_bytes())
        .await?;
    say(format!(
        "job {job}: {} scenes ({} frames) of {} sent to {}",
        bodies.len(),
        record.scenes.frames,
        a.object,
        a.queue
    ));
    println!("{job}");
    Ok(())
}

/// Scenes detected in --input, or in the object read whole through mezzfs into a temporary
/// file (detection reads every frame's luma anyway).
async fn detect(
    a: &SubmitArgs,
    store: &FleetStore,
    id: &str,
    size: u64,
) -> anyhow::Result<SceneList> {
    if let Some(path) = &a.input {
        let file = Y4mFile::open(path)?;
        return crate::cli::scenes::detect(&file, path, &a.limits);
    }
    let tmp =
        std::env::temp_dir().join(format!("segment-encode-submit-{}.y4m", std::process::id()));
    let guard = RemoveOnDrop(tmp.clone());
    store
        .read_range_to_file(&a.object, id, 0..size, &tmp)
        .await?;
    let file = Y4mFile::open(&tmp)?;
    let list = crate::cli::scenes::detect(&file, &tmp, &a.limits)?;
    drop(guard);
    Ok(list)
}

struct RemoveOnDrop(std::path::PathBuf);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}
