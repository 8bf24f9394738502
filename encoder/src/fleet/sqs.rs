//! The queue: a thin adapter over `aws-sdk-sqs`, configured the standard AWS way (credential
//! chain, region, `AWS_ENDPOINT_URL_SQS`), or with an explicit endpoint (moto locally).

use std::collections::HashMap;
use std::time::Duration;

use aws_config::BehaviorVersion;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_sdk_sqs::Client;
use aws_sdk_sqs::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_sqs::types::{
    MessageSystemAttributeName, QueueAttributeName, SendMessageBatchRequestEntry,
};

use super::FleetError;

/// Where SQS is: an endpoint (else the AWS configuration's) and a region (else the
/// configuration's, else us-east-1).
#[derive(Clone, Debug, Default)]
pub struct SqsConfig {
    pub endpoint_url: Option<String>,
    pub region: Option<String>,
    /// A fixed access key and secret instead of the credential chain (tests, scripts).
    pub static_credentials: Option<(String, String)>,
}

/// An SQS client, for any queue.
pub async fn client(config: &SqsConfig) -> Client {
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .retry_config(RetryConfig::standard().with_max_attempts(3))
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(3))
                // A long poll holds the request for up to 20 s.
                .operation_attempt_timeout(Duration::from_secs(30))
                .build(),
        );
    if let Some(e) = &config.endpoint_url {
        loader = loader.endpoint_url(e);
    }
    if let Some((id, secret)) = &config.static_credentials {
        loader = loader.credentials_provider(aws_sdk_sqs::config::Credentials::new(
            id,
            secret,
            None,
            None,
            "segment-encode-static",
        ));
    }
    if let Some(r) = &config.region {
        loader = loader.region(aws_config::Region::new(r.clone()));
    }
    let shared = loader.load().await;
    let mut conf = aws_sdk_sqs::config::Builder::from(&shared);
    if shared.region().is_none() {
        conf = conf.region(aws_config::Region::new("us-east-1"));
    }
    Client::from_conf(conf.build())
}

/// One queue.
#[derive(Clone, Debug)]
pub struct Queue {
    client: Client,
    url: String,
}

/// What the queue says about itself.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueueInfo {
    pub visibility_timeout: Duration,
    /// The redrive policy's maximum receive count, when there is a dead-letter queue.
    pub max_receive_count: Option<u32>,
    pub dead_letter_arn: Option<String>,
    /// Messages visible (waiting), and received but not deleted (in flight).
    pub waiting: u64,
    pub in_flight: u64,
}

/// A received message.
#[derive(Clone, Debug)]
pub struct Received {
    pub body: String,
    pub receipt: String,
    /// Deliveries so far, this one included.
    pub receive_count: u32,
}

fn describe<E, R>(e: &SdkError<E, R>) -> String
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    match e {
        SdkError::DispatchFailure(_) | SdkError::TimeoutError(_) => {
            format!(
                "cannot reach the queue service: {}",
                aws_sdk_sqs::error::DisplayErrorContext(e)
            )
        }
        _ => match (e.code(), e.message()) {
            (Some(code), Some(msg)) => format!("{code}: {msg}"),
            (Some(code), None) => code.to_string(),
            _ => aws_sdk_sqs::error::DisplayErrorContext(e).to_string(),
        },
    }
}

impl Queue {
    pub fn new(client: Client, url: &str) -> Queue {
        Queue {
            client,
            url: url.into(),
        }
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    fn err(&self, detail: String) -> FleetError {
        FleetError::Queue {
            queue: self.url.clone(),
            detail,
        }
    }

    pub async fn info(&self) -> Result<QueueInfo, FleetError> {
        let out = self
            .client
            .get_queue_attributes()
            .queue_url(&self.url)
            .attribute_names(QueueAttributeName::All)
            .send()
            .await
            .map_err(|e| self.err(describe(&e)))?;
        let attrs = out.attributes().cloned().unwrap_or_default();
        let num = |name: QueueAttributeName| -> u64 {
            attrs.get(&name).and_then(|v| v.parse().ok()).unwrap_or(0)
        };
        let redrive: Option<serde_json::Value> = attrs
            .get(&QueueAttributeName::RedrivePolicy)
            .and_then(|v| serde_json::from_str(v).ok());
        let max_receive_count = redrive.as_ref().and_then(|r| {
            let m = &r["maxReceiveCount"];
            m.as_u64()
                .or_else(|| m.as_str().and_then(|s| s.parse().ok()))
                .map(|n| n as u32)
        });
        Ok(QueueInfo {
            visibility_timeout: Duration::from_secs(num(QueueAttributeName::VisibilityTimeout)),
            max_receive_count,
            dead_letter_arn: redrive
                .as_ref()
                .and_then(|r| r["deadLetterTargetArn"].as_str().map(str::to_string)),
            waiting: num(QueueAttributeName::ApproximateNumberOfMessages),
            in_flight: num(QueueAttributeName::ApproximateNumberOfMessagesNotVisible),
        })
    }

    /// Sends `bodies` in order, ten to a request.
    pub async fn send_all(&self, bodies: &[String]) -> Result<(), FleetError> {
        for batch in bodies.chunks(10) {
            let entries = batch
                .iter()
                .enumerate()
                .map(|(i, b)| {
                    SendMessageBatchRequestEntry::builder()
                        .id(i.to_string())
                        .message_body(b)
                        .build()
                        .map_err(|e| self.err(e.to_string()))
                })
                .collect::<Result<Vec<_>, _>>()?;
            let out = self
                .client
                .send_message_batch()
                .queue_url(&self.url)
                .set_entries(Some(entries))
                .send()
                .await
                .map_err(|e| self.err(describe(&e)))?;
            if let Some(f) = out.failed().first() {
                return Err(self.err(format!(
                    "sending a message failed: {} {}",
                    f.code(),
                    f.message().unwrap_or_default()
                )));
            }
        }
        Ok(())
    }

    /// One message, waiting up to `wait_seconds` for it (long poll).
    pub async fn receive(&self, wait_seconds: i32) -> Result<Option<Received>, FleetError> {
        let out = self
            .client
            .receive_message()
            .queue_url(&self.url)
            .max_number_of_messages(1)
            .wait_time_seconds(wait_seconds)
            .message_system_attribute_names(MessageSystemAttributeName::ApproximateReceiveCount)
            .send()
            .await
            .map_err(|e| self.err(describe(&e)))?;
        let Some(m) = out.messages().first() else {
            return Ok(None);
        };
        let empty = HashMap::new();
        let attrs = m.attributes().unwrap_or(&empty);
        Ok(Some(Received {
            body: m.body().unwrap_or_default().to_string(),
            receipt: m.receipt_handle().unwrap_or_default().to_string(),
            receive_count: attrs
                .get(&MessageSystemAttributeName::ApproximateReceiveCount)
                .and_then(|v| v.parse().ok())
                .unwrap_or(1),
        }))
    }

    /// Hides a received message for `timeout` from now (0: visible again at once).
    pub async fn set_visibility(&self, receipt: &str, timeout: Duration) -> Result<(), FleetError> {
        self.client
            .change_message_visibility()
            .queue_url(&self.url)
            .receipt_handle(receipt)
            .visibility_timeout(i32::try_from(timeout.as_secs()).unwrap_or(43_200))
            .send()
            .await
            .map_err(|e| self.err(describe(&e)))?;
        Ok(())
    }

    pub async fn delete(&self, receipt: &str) -> Result<(), FleetError> {
        self.client
            .delete_message()
            .queue_url(&self.url)
            .receipt_handle(receipt)
            .send()
            .await
            .map_err(|e| self.err(describe(&e)))?;
        Ok(())
    }

    /// The queue whose ARN is `arn` (a dead-letter queue named in a redrive policy).
    pub async fn by_arn(client: &Client, arn: &str) -> Result<Queue, FleetError> {
        let name = arn.rsplit(':').next().unwrap_or(arn);
        let out = client
            .get_queue_url()
            .queue_name(name)
            .send()
            .await
            .map_err(|e| FleetError::Queue {
                queue: arn.into(),
                detail: describe(&e),
            })?;
        Ok(Queue::new(
            client.clone(),
            out.queue_url().unwrap_or_default(),
        ))
    }
}

/// Creates (or finds, if it exists with the same attributes) the queue `name` and its
/// dead-letter queue `name-dlq`, with a redrive policy after `max_receives` deliveries.
/// Returns the queue and the dead-letter queue.
pub async fn create_queues(
    client: &Client,
    name: &str,
    visibility: Duration,
    max_receives: u32,
) -> Result<(Queue, Queue), FleetError> {
    let fail = |queue: &str, detail: String| FleetError::Queue {
        queue: queue.into(),
        detail,
    };
    let dlq_name = format!("{name}-dlq");
    let dlq = client
        .create_queue()
        .queue_name(&dlq_name)
        // Failed scenes wait 14 days (SQS's longest) for a fix and a requeue.
        .attributes(QueueAttributeName::MessageRetentionPeriod, "1209600")
        .send()
        .await
        .map_err(|e| fail(&dlq_name, describe(&e)))?;
    let dlq = Queue::new(client.clone(), dlq.queue_url().unwrap_or_default());
    let arn = client
        .get_queue_attributes()
        .queue_url(dlq.url())
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .map_err(|e| fail(&dlq_name, describe(&e)))?
        .attributes()
        .and_then(|a| a.get(&QueueAttributeName::QueueArn).cloned())
        .ok_or_else(|| fail(&dlq_name, "no QueueArn attribute".into()))?;
    let redrive = serde_json::json!({
        "deadLetterTargetArn": arn,
        "maxReceiveCount": max_receives.to_string(),
    });
    let q = client
        .create_queue()
        .queue_name(name)
        .attributes(
            QueueAttributeName::VisibilityTimeout,
            visibility.as_secs().to_string(),
        )
        .attributes(QueueAttributeName::MessageRetentionPeriod, "1209600")
        .attributes(QueueAttributeName::ReceiveMessageWaitTimeSeconds, "20")
        .attributes(QueueAttributeName::RedrivePolicy, redrive.to_string())
        .send()
        .await
        .map_err(|e| fail(name, describe(&e)))?;
    Ok((
        Queue::new(client.clone(), q.queue_url().unwrap_or_default()),
        dlq,
    ))
}
