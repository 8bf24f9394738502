#!/usr/bin/env python3
"""A tiny S3 client (stdlib only, SigV4 with UNSIGNED-PAYLOAD, path-style) for the mount
benchmark: upload the plain copy of the test object, check it is there, and measure what
the shaped link gives a perfect client (time to first byte, 1- and 8-connection GET
throughput).

    s3probe.py put   --endpoint URL --bucket B --key K FILE
    s3probe.py head  --endpoint URL --bucket B --key K          # prints the size, exit 1 if absent
    s3probe.py probe --endpoint URL --bucket B --key K [--rx-cmd CMD]   # prints JSON
    s3probe.py upload --endpoint URL --bucket B --key K FILE [--connections 8]   # PUT ceiling, JSON
    s3probe.py delete --endpoint URL --bucket B --key PREFIX    # deletes every key under PREFIX

Credentials: AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (default: the test server's), region
AWS_REGION (default us-east-1).
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import hmac
import html
import http.client
import json
import os
import re
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse

ACCESS_KEY = os.environ.get("AWS_ACCESS_KEY_ID", "mezz-test-access-key")
SECRET_KEY = os.environ.get("AWS_SECRET_ACCESS_KEY", "mezz-test-secret-key")
REGION = os.environ.get("AWS_REGION", "us-east-1")
MIB = 1 << 20


def _hmac(key: bytes, msg: str) -> bytes:
    return hmac.new(key, msg.encode(), hashlib.sha256).digest()


def signed_headers(
    method: str, host: str, path: str, extra: dict[str, str] | None = None, query: str = ""
) -> dict[str, str]:
    """SigV4 headers; `query` is the canonical query string (sorted, encoded); the payload is
    not signed."""
    now = datetime.datetime.now(datetime.timezone.utc)
    amz_date = now.strftime("%Y%m%dT%H%M%SZ")
    day = amz_date[:8]
    headers = {
        "host": host,
        "x-amz-content-sha256": "UNSIGNED-PAYLOAD",
        "x-amz-date": amz_date,
    }
    names = sorted(headers)
    canonical = "\n".join(
        [
            method,
            urllib.parse.quote(path, safe="/-_.~"),
            query,
            "".join(f"{name}:{headers[name]}\n" for name in names),
            ";".join(names),
            "UNSIGNED-PAYLOAD",
        ]
    )
    scope = f"{day}/{REGION}/s3/aws4_request"
    to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()])
    key = _hmac(("AWS4" + SECRET_KEY).encode(), day)
    for part in (REGION, "s3", "aws4_request"):
        key = _hmac(key, part)
    signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    headers["authorization"] = (
        f"AWS4-HMAC-SHA256 Credential={ACCESS_KEY}/{scope}, "
        f"SignedHeaders={';'.join(names)}, Signature={signature}"
    )
    headers.update(extra or {})
    return headers


class Client:
    """One keep-alive HTTP connection to an S3 endpoint."""

    def __init__(self, endpoint: str, timeout: float = 120.0):
        url = urllib.parse.urlsplit(endpoint)
        if url.scheme != "http":
            raise SystemExit(f"only http:// endpoints are supported, got {endpoint}")
        self.host = url.netloc
        self.conn = http.client.HTTPConnection(url.hostname, url.port or 80, timeout=timeout)

    def request(self, method: str, path: str, body=None, headers: dict[str, str] | None = None, params=None):
        query = urllib.parse.urlencode(sorted((params or {}).items()), quote_via=urllib.parse.quote, safe="-_.~")
        target = f"{path}?{query}" if query else path
        self.conn.request(method, target, body=body, headers=signed_headers(method, self.host, path, headers, query))
        return self.conn.getresponse()

    def get_range(self, path: str, start: int, length: int, buf: bytearray) -> tuple[float, int]:
        """Reads [start, start+length) and discards it; returns (seconds to first byte, bytes)."""
        t0 = time.perf_counter()
        resp = self.request("GET", path, headers={"range": f"bytes={start}-{start + length - 1}"})
        if resp.status not in (200, 206):
            raise RuntimeError(f"GET {path}: HTTP {resp.status} {resp.read()[:200]!r}")
        view = memoryview(buf)
        n = resp.readinto(view[:1])
        ttfb = time.perf_counter() - t0
        total = n
        while True:
            n = resp.readinto(view)
            if not n:
                break
            total += n
        if total != length:
            raise RuntimeError(f"GET {path}: got {total} bytes, wanted {length}")
        return ttfb, total

    def close(self) -> None:
        self.conn.close()


def in_parallel(connections: int, work) -> float:
    """Runs `work(i)` for i in 0..connections, each on its own thread, and returns the
    seconds until all are done; the first error any of them raised is raised here."""
    errors: list[BaseException] = []

    def worker(i: int) -> None:
        try:
            work(i)
        except BaseException as err:  # reported below
            errors.append(err)

    t0 = time.perf_counter()
    threads = [threading.Thread(target=worker, args=(i,)) for i in range(connections)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - t0
    if errors:
        raise errors[0]
    return elapsed


def cmd_put(args) -> None:
    path = f"/{args.bucket}/{args.key}"
    size = os.path.getsize(args.file)
    client = Client(args.endpoint, timeout=600)
    with open(args.file, "rb") as f:
        resp = client.request("PUT", path, body=f, headers={"content-length": str(size)})
        body = resp.read()
    if resp.status != 200:
        raise SystemExit(f"PUT {path}: HTTP {resp.status} {body[:300]!r}")


def head_size(endpoint: str, bucket: str, key: str) -> int | None:
    client = Client(endpoint, timeout=30)
    resp = client.request("HEAD", f"/{bucket}/{key}")
    resp.read()
    client.close()
    return int(resp.getheader("content-length", "0")) if resp.status == 200 else None


def cmd_head(args) -> None:
    size = head_size(args.endpoint, args.bucket, args.key)
    if size is None:
        sys.exit(1)
    print(size)


def rx_bytes(cmd: str | None) -> int | None:
    if not cmd:
        return None
    return int(subprocess.run(cmd, shell=True, check=True, capture_output=True, text=True).stdout.strip())


def cmd_probe(args) -> None:
    path = f"/{args.bucket}/{args.key}"
    size = head_size(args.endpoint, args.bucket, args.key)
    if size is None:
        raise SystemExit(f"{path} not found at {args.endpoint}")
    buf = bytearray(MIB)
    result: dict = {"object_bytes": size}

    # Time to first byte: 1-byte ranged GETs on one warm keep-alive connection.
    client = Client(args.endpoint)
    client.get_range(path, 0, 1, buf)
    ttfbs = [client.get_range(path, (i * 7919 * 4096) % max(size - 1, 1), 1, buf)[0] for i in range(args.ttfb_requests)]
    result["ttfb_ms_median"] = statistics.median(ttfbs) * 1e3
    result["ttfb_ms_min"] = min(ttfbs) * 1e3
    # A 64 KiB random read, the sparse workload's unit, one at a time.
    small = []
    for i in range(args.ttfb_requests):
        t0 = time.perf_counter()
        client.get_range(path, (i * 104729 * 4096) % max(size - 65536, 1), 65536, buf)
        small.append(time.perf_counter() - t0)
    client.close()
    result["get_64k_ms_median"] = statistics.median(small) * 1e3

    def transfer(connections: int, total: int) -> dict:
        per = total // connections

        def get(i: int) -> None:
            c = Client(args.endpoint)
            c.get_range(path, i * per, per, bytearray(MIB))
            c.close()

        rx0 = rx_bytes(args.rx_cmd)
        elapsed = in_parallel(connections, get)
        rx1 = rx_bytes(args.rx_cmd)
        out = {"bytes": per * connections, "seconds": elapsed, "mb_s": per * connections / elapsed / 1e6}
        if rx0 is not None and rx1 is not None:
            out["wire_bytes_per_byte"] = (rx1 - rx0) / (per * connections)
        return out

    for connections, total in ((1, min(size, args.one_conn_bytes)), (8, size)):
        runs = [transfer(connections, total) for _ in range(args.repeats)]
        speeds = [r["mb_s"] for r in runs]
        result[f"conn{connections}"] = {
            "bytes": runs[0]["bytes"],
            "mb_s_median": statistics.median(speeds),
            "mb_s_max": max(speeds),
            "runs": runs,
        }
        wires = [r["wire_bytes_per_byte"] for r in runs if "wire_bytes_per_byte" in r]
        if wires:
            result[f"conn{connections}"]["wire_bytes_per_byte"] = statistics.median(wires)
    json.dump(result, sys.stdout, indent=2)
    print()


def cmd_upload(args) -> None:
    """What the shaped link gives a perfect uploader: FILE cut into --connections pieces, each
    PUT at once on its own connection to KEY.N; the best of --repeats."""
    with open(args.file, "rb") as f:
        data = memoryview(f.read())
    per = len(data) // args.connections
    runs = []

    def put(i: int) -> None:
        c = Client(args.endpoint, timeout=600)
        piece = data[i * per : (i + 1) * per]
        resp = c.request("PUT", f"/{args.bucket}/{args.key}.{i}", body=piece, headers={"content-length": str(per)})
        body = resp.read()
        if resp.status != 200:
            raise RuntimeError(f"PUT: HTTP {resp.status} {body[:200]!r}")
        c.close()

    for _ in range(args.repeats):
        runs.append(per * args.connections / in_parallel(args.connections, put) / 1e6)
    json.dump({"connections": args.connections, "bytes": per * args.connections, "mb_s_max": max(runs), "mb_s_runs": runs}, sys.stdout)
    print()


def cmd_delete(args) -> None:
    """Deletes every key under the prefix --key (ListObjectsV2 pages, then DELETE each)."""
    client = Client(args.endpoint, timeout=120)
    params = {"list-type": "2", "prefix": args.key}
    while True:
        resp = client.request("GET", f"/{args.bucket}", params=params)
        body = resp.read().decode()
        if resp.status != 200:
            raise SystemExit(f"list {args.key}: HTTP {resp.status} {body[:300]!r}")
        for key in re.findall(r"<Key>(.*?)</Key>", body):
            key = html.unescape(key)
            gone = client.request("DELETE", f"/{args.bucket}/{key}")
            gone.read()
            if gone.status not in (200, 204):
                raise SystemExit(f"DELETE {key}: HTTP {gone.status}")
        token = re.search(r"<NextContinuationToken>(.*?)</NextContinuationToken>", body)
        if not token:
            break
        params["continuation-token"] = html.unescape(token.group(1))
    client.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="cmd", required=True)
    for name in ("put", "head", "probe", "upload", "delete"):
        p = sub.add_parser(name)
        p.add_argument("--endpoint", required=True)
        p.add_argument("--bucket", required=True)
        p.add_argument("--key", required=True)
        if name in ("put", "upload"):
            p.add_argument("file")
        if name == "upload":
            p.add_argument("--connections", type=int, default=8)
            p.add_argument("--repeats", type=int, default=2)
        if name == "probe":
            p.add_argument("--rx-cmd", help="shell command printing the client's received byte counter")
            p.add_argument("--ttfb-requests", type=int, default=20)
            p.add_argument("--one-conn-bytes", type=int, default=256 * MIB)
            p.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    commands = {"put": cmd_put, "head": cmd_head, "probe": cmd_probe, "upload": cmd_upload, "delete": cmd_delete}
    commands[args.cmd](args)


if __name__ == "__main__":
    main()
