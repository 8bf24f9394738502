# Sourced by the write benchmarks instead of s3-loopback.sh when PROFILE is set (lan, s3-like,
# far-region): the S3 test server behind bench/netns.sh's shaped link, the mount and `put`
# run in the client namespace, and the link's upload ceiling measured by a perfect client
# (bench/s3probe.py upload, 8 connections). Needs root, $size and $bin; release builds of
# mezz-s3-server and mezz-delay-line in NETNS_BIN_DIR (default target/release).
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
work=$(mktemp -d)
export MEZZB_DIR=/dev/shm/mezzb-write
BIN_DIR=${NETNS_BIN_DIR:-$here/../target/release} bash "$here/netns.sh" up "$PROFILE" >/dev/null
trap 'fusermount3 -uz "$work/mnt" 2>/dev/null || true; bash "$here/netns.sh" down >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
mkdir -p "$work/mnt"
ENDPOINT=$(sed -n 's/^ENDPOINT=//p' "$MEZZB_DIR/env")
CLI_NS=$(sed -n 's/^CLI_NS=//p' "$MEZZB_DIR/env")
export AWS_ACCESS_KEY_ID=mezz-test-access-key AWS_SECRET_ACCESS_KEY=mezz-test-secret-key AWS_REGION=us-east-1
export MEZZFS_STORE=s3://mezz/bench MEZZFS_KEY_FILE=$work/key
m="nsenter --net=/run/netns/$CLI_NS $bin/mezzfs --endpoint-url $ENDPOINT -q"
$m key generate "$work/key" >/dev/null
head -c $((size << 20)) /dev/urandom > "$work/src.bin"
ceiling=$(nsenter --net="/run/netns/$CLI_NS" python3 "$here/s3probe.py" upload --endpoint "$ENDPOINT" \
    --bucket mezz --key ceiling/src "$work/src.bin" | python3 -c 'import json,sys; print(round(json.load(sys.stdin)["mb_s_max"]))')
clear_objects() { nsenter --net="/run/netns/$CLI_NS" python3 "$here/s3probe.py" delete --endpoint "$ENDPOINT" --bucket mezz --key bench/; }
echo "profile $PROFILE: upload ceiling (8 connections, a perfect client) $ceiling MB/s"
