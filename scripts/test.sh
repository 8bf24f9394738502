#!/usr/bin/env bash
# Runs every check and test of the workspace on a fresh Debian machine with Rust.
#
# The tests start what they need themselves: the S3-compatible server (tests/s3-server) runs
# in-process on 127.0.0.1 with a free port; the mount tests mount with FUSE (root and
# /dev/fuse needed). System packages the tests need are installed here.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v cc >/dev/null || need_apt+=(build-essential)
# The encoder's optional FDK AAC decoder (feature fdk-aac) is C++ built from source.
command -v c++ >/dev/null || need_apt+=(g++)
# The mount tests make real FUSE mounts (fuser mounts and unmounts through fusermount3).
command -v fusermount3 >/dev/null || need_apt+=(fuse3)
# The replay visualizer's end-to-end test drives the real binary in a tmux pane.
command -v tmux >/dev/null || need_apt+=(tmux)
# The encoder's tests make Y4M clips and check encodes with independent decoders; rav1e's
# assembly needs nasm.
command -v ffmpeg >/dev/null || need_apt+=(ffmpeg)
command -v dav1d >/dev/null || need_apt+=(dav1d)
command -v nasm >/dev/null || need_apt+=(nasm)
# The encoder links the system libopus (the Opus audio ladder), found with pkg-config.
command -v pkg-config >/dev/null || need_apt+=(pkg-config)
pkg-config --exists opus 2>/dev/null || need_apt+=(libopus-dev)
# The package test (mezzfs/cli/tests/package.rs) builds the .deb from the binaries `cargo test`
# built and reads each binary's man page with `man NAME`.
command -v man >/dev/null || need_apt+=(man-db)
# abr-sim's plot tests render every chart to PNG with rsvg-convert.
command -v rsvg-convert >/dev/null || need_apt+=(librsvg2-bin)
if ((${#need_apt[@]})); then
    echo "installing: ${need_apt[*]}"
    if [ "$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq "${need_apt[@]}"
    else sudo apt-get update -qq && sudo apt-get install -y -qq "${need_apt[@]}"; fi
fi

# The encoder's fleet tests run an SQS queue in moto's server (pip 'moto[server]'), installed
# into a venv outside the source tree and named to the tests by MEZZ_MOTO_SERVER.
MEZZ_MOTO_SERVER=$(bash scripts/install-moto.sh)
export MEZZ_MOTO_SERVER
# `segment-encode bdrate` is checked against PyPI's `bjontegaard` (a venv, ~20 s the first time).
MEZZ_BJONTEGAARD_PYTHON=$(bash scripts/install-bjontegaard.sh)
export MEZZ_BJONTEGAARD_PYTHON
# The metrics test has Debian's Prometheus scrape a mount (started by the test on 127.0.0.1).
MEZZ_PROMETHEUS=$(bash scripts/install-prometheus.sh)
export MEZZ_PROMETHEUS
# The player test (encoder/tests/dash_player.rs) has dash.js play a packaged ladder in Debian's
# headless Chromium, driven by playwright-core (both npm packages pinned, `npm ci` into a cache).
MEZZ_DASH_PLAYER=$(bash scripts/install-dash-player.sh)
export MEZZ_DASH_PLAYER

# Credentials or CA bundles from the caller's environment must not leak into the tests.
unset AWS_CA_BUNDLE AWS_PROFILE AWS_ENDPOINT_URL AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN
export AWS_EC2_METADATA_DISABLED=true

# A full debug build of the workspace takes ~6 GB; say how much room there is, so that a machine
# that runs out of disk is told apart from a failing test.
df -h . | tail -1 | awk '{print "== disk: " $4 " free of " $2}'

echo "== rustfmt"
cargo fmt --all -- --check
echo "== clippy"
cargo clippy --workspace --all-targets --quiet -- -D warnings
# The optional features are checked with the whole workspace selected, so that shared
# dependencies (the AWS SDK the encoder's fleet uses) keep the workspace's features and are not
# built a second time.
cargo clippy --workspace --features segment-encode/fdk-aac --all-targets --quiet -- -D warnings
echo "== tests"
cargo test --workspace
echo "== tests: segment-encode's audio with the optional FDK AAC decoder (multichannel AAC)"
cargo test --workspace --features segment-encode/fdk-aac --test audio
df -h . | tail -1 | awk '{print "== disk after the tests: " $4 " free of " $2}'
