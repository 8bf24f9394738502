//! moto's server (SQS and KMS APIs, from PyPI) on 127.0.0.1 for tests, killed on drop.
//!
//! The binary comes from `MEZZ_MOTO_SERVER` (scripts/test.sh sets it to the venv that
//! scripts/install-moto.sh makes) or `moto_server` on PATH.

use std::fs::File;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

/// How long moto gets to start listening (it imports a lot of Python on first start).
const START_LIMIT: Duration = Duration::from_secs(60);

/// A running `moto_server`; its log is `moto.log` in the directory given to [`Moto::start`].
#[derive(Debug)]
pub struct Moto {
    child: Child,
    endpoint: String,
    /// moto's request recording (`MOTO_ENABLE_RECORDING`), when started with it.
    recording: Option<PathBuf>,
}

impl Moto {
    /// Starts moto on a free port of 127.0.0.1 and waits until it accepts connections.
    /// Panics with what to do when it cannot: this is test set-up.
    pub fn start(dir: &Path) -> Moto {
        Moto::launch(dir, None)
    }

    /// Like [`Moto::start`], with moto recording every request it serves into
    /// `moto-recording.jsonl` in `dir`, so a test can count the calls made to it
    /// ([`Moto::calls`]).
    pub fn start_recording(dir: &Path) -> Moto {
        Moto::launch(dir, Some(dir.join("moto-recording.jsonl")))
    }

    fn launch(dir: &Path, recording: Option<PathBuf>) -> Moto {
        let bin = std::env::var_os("MEZZ_MOTO_SERVER")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("moto_server"));
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let log_path = dir.join("moto.log");
        let log = File::create(&log_path).expect("moto log");
        let mut command = Command::new(&bin);
        if let Some(file) = &recording {
            command
                .env("MOTO_ENABLE_RECORDING", "1")
                .env("MOTO_RECORDER_FILEPATH", file);
        }
        let child = command
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot start moto's server ({}: {e}): run scripts/test.sh, which installs \
                     it into a venv, or set MEZZ_MOTO_SERVER to a moto_server binary",
                    bin.display()
                )
            });
        let mut moto = Moto {
            child,
            endpoint: format!("http://127.0.0.1:{port}"),
            recording,
        };
        let deadline = Instant::now() + START_LIMIT;
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Ok(Some(status)) = moto.child.try_wait() {
                panic!("moto_server exited ({status}); see {}", log_path.display());
            }
            assert!(
                Instant::now() < deadline,
                "moto_server did not listen within {START_LIMIT:?}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        moto
    }

    /// `http://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// Creates a symmetric KMS key with `alias` (`alias/NAME`) and returns its key id.
    pub fn create_kms_key(&self, alias: &str) -> String {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async {
            let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
                .endpoint_url(&self.endpoint)
                .region(aws_config::Region::new("us-east-1"))
                .credentials_provider(aws_sdk_kms::config::Credentials::new(
                    "test", "test", None, None, "test",
                ))
                .load()
                .await;
            let kms = aws_sdk_kms::Client::new(&config);
            let key = kms.create_key().send().await.expect("CreateKey");
            let id = key.key_metadata.expect("key metadata").key_id;
            kms.create_alias()
                .alias_name(alias)
                .target_key_id(&id)
                .send()
                .await
                .expect("CreateAlias");
            id
        })
    }
}

impl Moto {
    /// Requests of the JSON-protocol action `target` (e.g. `TrentService.Decrypt`) moto has
    /// served so far. moto records a request before answering it, so every call that got an
    /// answer is counted. Panics unless started with [`Moto::start_recording`].
    pub fn calls(&self, target: &str) -> usize {
        let file = self
            .recording
            .as_ref()
            .expect("moto was started without recording (Moto::start_recording)");
        std::fs::read_to_string(file)
            .unwrap_or_default()
            .lines()
            .filter(|l| {
                l.contains(&format!("\"X-Amz-Target\": \"{target}\""))
                    || l.contains(&format!("\"x-amz-target\": \"{target}\""))
            })
            .count()
    }

    /// Kills the server (KMS and SQS out of reach from now on).
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
