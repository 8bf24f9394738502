#!/usr/bin/env python3
"""KMS against a key file (issue 21): mount start-up, first-byte latency, KMS calls per object
opened and per read, and `mezzfs key rewrap` rate, all on loopback.

    python3 bench/kms-bench.py [--objects 20] [--runs 5] [--rewrap-objects 200]

Starts `mezz-s3-server` (data on /dev/shm) and moto's server (KMS; MEZZ_MOTO_SERVER, else
~/.cache/mezz/moto-venv/bin/moto_server from scripts/install-moto.sh) on 127.0.0.1, puts
OBJECTS small objects wrapped by a key file and OBJECTS wrapped by KMS, then, RUNS times
interleaved, for each kind:

- mount start-up: wall time of `mezzfs mount DIR --object ...` (daemon mode: it returns once
  the FUSE mount is ready and every manifest read; data keys are not unwrapped yet);
- first byte: wall time of opening the first file of the fresh mount and reading 1 byte
  (the open unwraps that object's data key: one KMS `Decrypt`);
- first byte, other files: the same for each other file, mean (one unwrap each);
- KMS calls: requests moto logged during the mount (start-up; then the first bytes and reading
  every file whole).

Then the rewrap rate: REWRAP_OBJECTS objects moved from the key file to KMS and back, timed.

Binaries come from BIN_DIR (default target/release; built with cargo unless SKIP_BUILD=1).
Prints a Markdown table. The machine is shared: read the ratios, not the absolute figures.
"""

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import socket

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def log(msg):
    print(f"[kms-bench] {msg}", file=sys.stderr, flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, limit=60):
    deadline = time.time() + limit
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), 0.5).close()
            return
        except OSError:
            time.sleep(0.1)
    sys.exit(f"nothing listens on {port} after {limit} s")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--objects", type=int, default=20)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--rewrap-objects", type=int, default=200)
    ap.add_argument("--object-size", type=int, default=256 * 1024)
    args = ap.parse_args()

    bin_dir = os.environ.get("BIN_DIR", os.path.join(ROOT, "target/release"))
    if os.environ.get("SKIP_BUILD") != "1":
        log("building")
        profile = [] if bin_dir.endswith("debug") else ["--release"]
        subprocess.run(["cargo", "build", *profile, "-p", "mezzfs", "-p", "mezz-s3-server"],
                       cwd=ROOT, check=True)
    moto_bin = os.environ.get("MEZZ_MOTO_SERVER",
                              os.path.expanduser("~/.cache/mezz/moto-venv/bin/moto_server"))
    shm = "/dev/shm" if os.path.isdir("/dev/shm") else None
    work = tempfile.mkdtemp(prefix="kms-bench.", dir=shm)
    procs = []
    try:
        # Snapshot the binaries: a concurrent build must not swap them mid-run.
        for b in ("mezzfs", "mezz-s3-server"):
            shutil.copy(os.path.join(bin_dir, b), work)
        mezzfs = os.path.join(work, "mezzfs")
        srv_out = open(os.path.join(work, "s3.out"), "w+")
        s3 = subprocess.Popen([os.path.join(work, "mezz-s3-server"), "--root",
                               os.path.join(work, "s3"), "--bucket", "bench"],
                              stdout=srv_out, stderr=subprocess.DEVNULL)
        procs.append(s3)
        endpoint = None
        for _ in range(300):
            srv_out.seek(0)
            m = re.search(r"listening on (http://\S+)", srv_out.read())
            if m:
                endpoint = m.group(1)
                break
            time.sleep(0.1)
        if not endpoint:
            sys.exit("mezz-s3-server did not start")
        port = free_port()
        moto_log = os.path.join(work, "moto.log")
        moto = subprocess.Popen([moto_bin, "-H", "127.0.0.1", "-p", str(port)],
                                stdout=open(moto_log, "w"), stderr=subprocess.STDOUT)
        procs.append(moto)
        wait_port(port)
        kms = f"http://127.0.0.1:{port}"
        env = dict(os.environ,
                   AWS_ACCESS_KEY_ID="mezz-test-access-key",
                   AWS_SECRET_ACCESS_KEY="mezz-test-secret-key",
                   AWS_REGION="us-east-1", AWS_EC2_METADATA_DISABLED="true",
                   AWS_ENDPOINT_URL_KMS=kms,
                   MEZZFS_STORE="s3://bench/store",
                   MEZZFS_KEY_FILE=os.path.join(work, "key"))
        for k in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "MEZZFS_KMS_KEY_ID"):
            env.pop(k, None)

        def mz(*a, check=True, **kw):
            r = subprocess.run([mezzfs, "--endpoint-url", endpoint, "-q", *a], env=env,
                               capture_output=True, text=True, **kw)
            if check and r.returncode != 0:
                sys.exit(f"mezzfs {' '.join(a)} failed: {r.stderr}")
            return r

        mz("key", "generate", env["MEZZFS_KEY_FILE"])
        # A KMS key with an alias, through moto's API (the AWS CLI is not needed: one POST).
        import json
        import urllib.request

        def kms_call(target, body):
            req = urllib.request.Request(
                kms, data=json.dumps(body).encode(), method="POST",
                headers={"X-Amz-Target": f"TrentService.{target}",
                         "Content-Type": "application/x-amz-json-1.1",
                         "Authorization": "AWS4-HMAC-SHA256 Credential=x/20260101/us-east-1/kms/aws4_request, SignedHeaders=host, Signature=0"})
            return json.load(urllib.request.urlopen(req))
        key_id = kms_call("CreateKey", {})["KeyMetadata"]["KeyId"]
        kms_call("CreateAlias", {"AliasName": "alias/bench", "TargetKeyId": key_id})

        src = os.path.join(work, "src")
        with open(src, "wb") as f:
            f.write(os.urandom(args.object_size))
        log(f"putting {args.objects} objects of each kind")
        for i in range(args.objects):
            mz("put", src, f"file/o{i:03}")
            mz("put", src, f"kms/o{i:03}", "--kms-key-id", "alias/bench")

        def moto_requests():
            with open(moto_log) as f:
                return sum(1 for line in f if '"POST / ' in line)

        rows = {"key file": [], "KMS": []}
        mnt = os.path.join(work, "mnt")
        os.makedirs(mnt)
        for run in range(args.runs):
            for kind, prefix in (("key file", "file"), ("KMS", "kms")):
                objs = []
                for i in range(args.objects):
                    objs += ["--object", f"f{i:03}={prefix}/o{i:03}"]
                before = moto_requests()
                t0 = time.perf_counter()
                mz("mount", mnt, *objs, "--log-file", os.path.join(work, "mount.log"))
                t1 = time.perf_counter()
                moto_requests_at_mount = moto_requests()
                with open(os.path.join(mnt, "f000"), "rb") as f:
                    f.read(1)
                t2 = time.perf_counter()
                others = []
                for i in range(1, args.objects):
                    t = time.perf_counter()
                    with open(os.path.join(mnt, f"f{i:03}"), "rb") as f:
                        f.read(1)
                    others.append(time.perf_counter() - t)
                at_start = moto_requests_at_mount - before
                for i in range(args.objects):
                    with open(os.path.join(mnt, f"f{i:03}"), "rb") as f:
                        while f.read(65536):
                            pass
                after_reads = moto_requests() - before - at_start
                mz("unmount", mnt)
                for _ in range(100):
                    if not os.path.ismount(mnt):
                        break
                    time.sleep(0.05)
                rows[kind].append((t1 - t0, t2 - t1, at_start, after_reads,
                                   statistics.mean(others) if others else 0.0))

        print(f"\n{args.objects} objects of {args.object_size // 1024} KiB per mount, "
              f"{args.runs} interleaved runs, medians (machine shared with other builds)\n")
        print("| wrapped by | mount start-up | first byte | first byte, other files (mean) | KMS calls at start-up | KMS calls opening and reading every file |")
        print("|---|--:|--:|--:|--:|--:|")
        med = {}
        for kind, r in rows.items():
            start = statistics.median(x[0] for x in r)
            first = statistics.median(x[1] for x in r)
            other = statistics.median(x[4] for x in r)
            med[kind] = (start, first, other)
            print(f"| {kind} | {start * 1000:.0f} ms | {first * 1000:.2f} ms | "
                  f"{other * 1000:.2f} ms | {max(x[2] for x in r)} | {max(x[3] for x in r)} |")
        k, f = med["KMS"], med["key file"]
        print(f"\nKMS / key file: start-up {k[0] / f[0]:.2f}x, first byte {k[1] / f[1]:.2f}x, "
              f"first byte of other files {k[2] / f[2]:.2f}x")

        log(f"rewrap: putting {args.rewrap_objects} objects")
        tiny = os.path.join(work, "tiny")
        with open(tiny, "wb") as f:
            f.write(os.urandom(4096))
        for i in range(args.rewrap_objects):
            mz("put", tiny, f"rw/o{i:04}")
        print("\n| rewrap | objects | seconds | objects/s |")
        print("|---|--:|--:|--:|")
        new_key = os.path.join(work, "key2")
        mz("key", "generate", new_key)
        for label, to in (("key file -> KMS", ["--to-kms-key-id", "alias/bench"]),
                          ("KMS -> new key file", ["--to-key-file", new_key])):
            t0 = time.perf_counter()
            r = mz("key", "rewrap", *to, "rw/")
            dt = time.perf_counter() - t0
            n = int(re.search(r"rewrapped (\d+) objects", r.stdout).group(1))
            print(f"| {label} | {n} | {dt:.2f} | {n / dt:.0f} |")
    finally:
        subprocess.run(["fusermount3", "-u", "-z", os.path.join(work, "mnt")],
                       stderr=subprocess.DEVNULL)
        for p in procs:
            p.terminate()
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
