//! `segment-encode requeue` (failed scenes back from the dead-letter queue) and
//! `segment-encode setup-queue` (the queue, its dead-letter queue and the redrive policy).

use std::time::Duration;

use anyhow::{Context, bail};
use segment_encode::fleet::chunk;
use segment_encode::fleet::job::keys;
use segment_encode::fleet::message::SceneMessage;
use segment_encode::fleet::sqs::{self, Queue};

use super::{RequeueArgs, SetupArgs};

pub fn setup(a: SetupArgs) -> anyhow::Result<()> {
    super::runtime()?.block_on(async {
        let client = a.sqs.client().await;
        let (queue, dlq) =
            sqs::create_queues(&client, &a.name, a.visibility_timeout, a.max_receives).await?;
        eprintln!(
            "queue {} (visibility timeout {} s, long polling 20 s); after {} receives a scene \
             goes to {}",
            queue.url(),
            a.visibility_timeout.as_secs(),
            a.max_receives,
            dlq.url()
        );
        println!("{}", queue.url());
        Ok(())
    })
}

pub fn requeue(a: RequeueArgs) -> anyhow::Result<()> {
    super::runtime()?.block_on(async {
        let store = a.store.open().await?;
        let (record, _) = super::read_job(&store, &a.job).await?;
        let job = &record.job;
        let url = match &a.queue {
            Some(q) => q.clone(),
            None => super::submitted_queue(&store, job)
                .await?
                .with_context(|| format!("job {job} was not submitted; give --queue"))?,
        };
        let client = a.sqs.client().await;
        let queue = Queue::new(client.clone(), &url);
        let info = queue.info().await?;
        let mut moved = 0usize;
        if let Some(arn) = &info.dead_letter_arn {
            let dlq = Queue::by_arn(&client, arn).await?;
            let mut others = Vec::new();
            // Bounded: every message is either moved or held hidden until the end.
            while let Some(m) = dlq.receive(1).await? {
                match SceneMessage::parse(&m.body) {
                    Ok(s) if s.job == *job => {
                        queue.send_all(std::slice::from_ref(&m.body)).await?;
                        dlq.delete(&m.receipt).await?;
                        store.delete(&keys::error(job, s.scene)).await?;
                        eprintln!("scene {}: back on the queue", s.scene);
                        moved += 1;
                    }
                    _ => others.push(m.receipt),
                }
            }
            for r in others {
                dlq.set_visibility(&r, Duration::ZERO).await?;
            }
        } else if !a.missing {
            bail!(
                "queue {url} has no dead-letter queue (no redrive policy); use --missing to \
                 send the scenes without a chunk again"
            );
        }
        let mut sent = 0usize;
        if a.missing {
            let mut bodies = Vec::new();
            for scene in record.scenes.scenes() {
                let key = keys::chunk(job, scene.index);
                let good = match store.get(&key).await? {
                    Some(b) => chunk::decode(&b, job, &scene).is_ok(),
                    None => false,
                };
                if !good {
                    // A damaged chunk would be taken for done by the worker's duplicate check.
                    store.delete(&key).await?;
                    store.delete(&keys::error(job, scene.index)).await?;
                    bodies.push(SceneMessage::new(store.url(), job, scene.index).body());
                }
            }
            queue.send_all(&bodies).await?;
            sent = bodies.len();
        }
        eprintln!(
            "job {job}: {moved} scene(s) moved back from the dead-letter queue, {sent} sent for \
             missing or damaged chunks"
        );
        Ok(())
    })
}
