//! What the workspace's binaries share to run as system services, so that each concern has
//! one owner:
//!
//! - [`metrics_http`]: the Prometheus endpoint behind `--metrics-listen ADDR` (`mezzfs mount`,
//!   `segment-encode worker`). The socket is bound first, so an address in use or not allowed
//!   fails the command before it starts its work; each scrape then asks the binary for a fresh
//!   exposition text. What is counted, and its names, stay with each binary.
//! - [`assets`]: man pages (`clap_mangen`) and bash, zsh and fish completions
//!   (`clap_complete`) made from a binary's clap definition, which each binary writes when run
//!   as `NAME --generate-assets DIR` and scripts/build-deb.sh packages.
//! - [`broken_pipe`]: a closed stdout (`... | head`) ends a command quietly with status 141
//!   instead of a panic.

pub mod assets;
pub mod broken_pipe;
pub mod metrics_http;
