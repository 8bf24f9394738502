# Sourced by the write benchmarks: a work directory removed on exit, the S3 test server on
# loopback with a `media` bucket, a fresh key, SIZE MiB of random source bytes in
# $work/src.bin, `$m` (mezzfs against that server, quiet) and `clear_objects` (deletes what the
# runs stored). Needs $size and $bin.
work=$(mktemp -d); trap 'fusermount3 -uz "$work/mnt" 2>/dev/null || true; kill $srv 2>/dev/null || true; rm -rf "$work"' EXIT
mkdir -p "$work/s3" "$work/mnt"
"$bin/mezz-s3-server" --root "$work/s3" --bucket media > "$work/srv.log" 2>&1 & srv=$!
for _ in $(seq 50); do grep -q listening "$work/srv.log" && break; sleep 0.1; done
endpoint=$(grep -o 'http://[0-9.:]*' "$work/srv.log" | head -1)
export AWS_ACCESS_KEY_ID=mezz-test-access-key AWS_SECRET_ACCESS_KEY=mezz-test-secret-key AWS_REGION=us-east-1
export MEZZFS_STORE=s3://media/bench MEZZFS_KEY_FILE=$work/key
m="$bin/mezzfs --endpoint-url $endpoint -q"
$m key generate "$work/key" >/dev/null
head -c $((size << 20)) /dev/urandom > "$work/src.bin"
clear_objects() { python3 "$(dirname "${BASH_SOURCE[0]}")/../s3probe.py" delete --endpoint "$endpoint" --bucket media --key bench/; }
