#!/usr/bin/env python3
"""Mount benchmark: mezzfs mount against s3fs, rclone mount and mountpoint-s3 on a shaped network.

Usually started through bench/mount-bench.sh (installs tools, builds binaries). For each
profile (bench/netns.sh) it serves one random object twice, encrypted by mezzfs and as a
plain S3 object, measures the link ceiling with bench/s3probe.py, then for each run x
client x workload mounts the object in the client namespace, drops the page cache, runs
the workload, samples the FUSE daemon and unmounts. Results: bench/results/mount-*.md/.json.
Python 3.11 standard library only.
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import json
import os
import platform
import re
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
MIB = 1 << 20
OBJECT = "bench.bin"
MEZZ_BUCKET = "mezz"
PLAIN_BUCKET = "plain"
ACCESS_KEY = "mezz-test-access-key"
SECRET_KEY = "mezz-test-secret-key"
REGION = "us-east-1"

PROFILES = ["lan", "s3-like", "far-region"]
CLIENTS = ["mezzfs-adaptive", "mezzfs-fixed8m", "mezzfs-baseline", "s3fs", "rclone-off", "rclone-full", "mountpoint"]
WORKLOADS = ["dense", "sparse", "sparse4", "parallel4", "sha256", "manyfiles"]
# manyfiles: 16 threads reading 64 range files of the object and 8 whole objects (each 1/8 of
# --size) at random offsets in 128 KiB to 1 MiB reads; mezzfs only (range files).
MANY_RANGES = 64
MANY_OBJECTS = 8
MANY_THREADS = 16
# Sampling interval of the throughput curve, seconds.
CURVE_STEP = 0.25
SPARSE_BYTES = 32 * MIB
SPARSE_BS = 64 << 10


def log(msg: str) -> None:
    print(f"[mount-bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def parse_size(text: str) -> int:
    m = re.fullmatch(r"\s*(\d+)\s*([KMGT]i?B?|B)?\s*", text, re.IGNORECASE)
    if not m:
        raise argparse.ArgumentTypeError(f"bad size {text!r} (e.g. 64MiB, 1GiB)")
    unit = (m.group(2) or "B").upper().rstrip("B").rstrip("I")
    return int(m.group(1)) << {"": 0, "K": 10, "M": 20, "G": 30, "T": 40}[unit]


def csv_list(choices: list[str]):
    def parse(text: str) -> list[str]:
        items = [x for x in text.split(",") if x]
        bad = [x for x in items if x not in choices]
        if bad or not items:
            raise argparse.ArgumentTypeError(f"choose from {','.join(choices)}; got {text!r}")
        return items

    return parse


def client_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "MEZZFS_", "RCLONE_"))}
    env.update(
        AWS_ACCESS_KEY_ID=ACCESS_KEY,
        AWS_SECRET_ACCESS_KEY=SECRET_KEY,
        AWS_REGION=REGION,
        AWS_DEFAULT_REGION=REGION,
    )
    return env


def kill_group(proc: subprocess.Popen, grace: float = 5.0) -> None:
    """TERM then KILL the process group led by proc (started with start_new_session)."""
    if proc.poll() is not None:
        return
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            pass


def drop_caches() -> None:
    os.sync()
    Path("/proc/sys/vm/drop_caches").write_text("3\n")


class Bench:
    def __init__(self, args: argparse.Namespace):
        self.args = args
        self.scratch = Path(args.scratch)
        self.netns_dir = self.scratch / "netns"
        self.bin = self.scratch / "bin"
        self.src = self.scratch / "src" / OBJECT
        self.key = self.scratch / "kek"
        self.data = self.scratch / "s3data"
        self.logs = self.scratch / "logs"
        self.jobs = self.scratch / "jobs"
        self.env: dict[str, str] = {}
        self.digest = ""
        self.mezz_help = ""
        self.stamp = datetime.datetime.now().strftime("%Y-%m-%d-%H%M%S")
        self.versions: dict[str, str] = {}

    # ------------------------------------------------------------------ setup ---
    def netns(self, *argv: str) -> None:
        env = dict(
            os.environ,
            MEZZB_DIR=str(self.netns_dir),
            MEZZB_DATA=str(self.data),
            S3_SERVER_BIN=str(self.bin / "mezz-s3-server"),
            DELAY_LINE_BIN=str(self.bin / "mezz-delay-line"),
        )
        subprocess.run(["bash", str(HERE / "netns.sh"), *argv], env=env, check=True)

    def ns(self, which: str) -> list[str]:
        return ["nsenter", f"--net=/run/netns/{self.env[which]}"]

    def setup(self) -> None:
        for d in (self.scratch, self.bin, self.src.parent, self.logs, self.jobs):
            d.mkdir(parents=True, exist_ok=True)
        bin_dir = Path(self.args.bin_dir)
        for name in ("mezzfs", "mezz-s3-server", "mezz-delay-line"):
            if not (bin_dir / name).exists():
                raise SystemExit(f"missing {bin_dir / name}; build it (bench/mount-bench.sh does)")
            # Snapshot: a concurrent cargo build must not swap binaries mid-run.
            shutil.copy2(bin_dir / name, self.bin / name)
        if self.args.baseline_bin:
            shutil.copy2(self.args.baseline_bin, self.bin / "mezzfs-baseline")
        help_run = subprocess.run([self.bin / "mezzfs", "mount", "--help"], capture_output=True, text=True)
        self.mezz_help = help_run.stdout if help_run.returncode == 0 else ""
        self.versions = {
            "binaries from": str(bin_dir),
            "git HEAD": subprocess.run(
                ["git", "-C", str(ROOT), "log", "-1", "--format=%h (%cd)", "--date=short"], capture_output=True, text=True
            ).stdout.strip(),
            "s3fs": first_line(["s3fs", "--version"]),
            "rclone": first_line(["rclone", "version"]),
            "mountpoint-s3": first_line([self.args.mount_s3, "--version"]) if self.mount_s3() else "?",
            "fio": first_line(["fio", "--version"]),
            "kernel": platform.release(),
            "cpus": str(os.cpu_count()),
        }
        size = self.args.size
        if not (self.src.exists() and self.src.stat().st_size == size):
            log(f"writing {size} random bytes to {self.src}")
            shutil.rmtree(self.data, ignore_errors=True)
            with open(self.src, "wb") as f:
                left = size
                while left:
                    n = min(left, 16 * MIB)
                    f.write(os.urandom(n))
                    left -= n
        h = hashlib.sha256()
        with open(self.src, "rb") as f:
            while chunk := f.read(16 * MIB):
                h.update(chunk)
        self.digest = h.hexdigest()
        if not self.key.exists():
            subprocess.run([self.bin / "mezzfs", "key", "generate", self.key], check=True, capture_output=True)

    def mezz_global(self, endpoint: str, binary: str = "mezzfs") -> list[str]:
        return [
            str(self.bin / binary),
            "--store", f"s3://{MEZZ_BUCKET}",
            "--endpoint-url", endpoint,
            "--region", REGION,
            "--key-file", str(self.key),
        ]  # fmt: skip

    def upload(self) -> None:
        """Both copies of the object, once per server data root, straight to the server."""
        marker = self.data / ".mount-bench-uploaded"
        if marker.exists() and marker.read_text() == self.digest:
            return
        direct = self.env["DIRECT_ENDPOINT"]
        log("uploading the object (encrypted with mezzfs put, and plain)")
        srv = self.ns("SRV_NS")
        subprocess.run([*srv, *self.mezz_global(direct), "-q", "put", str(self.src), OBJECT], env=client_env(), check=True)
        subprocess.run(
            [*srv, sys.executable, str(HERE / "s3probe.py"), "put", "--endpoint", direct,
             "--bucket", PLAIN_BUCKET, "--key", OBJECT, str(self.src)],
            env=client_env(), check=True,
        )  # fmt: skip
        eighth = self.args.size // MANY_OBJECTS
        with open(self.src, "rb") as src:
            for i in range(MANY_OBJECTS):
                part = self.scratch / "src" / f"many-{i}.bin"
                src.seek(i * eighth)
                part.write_bytes(src.read(eighth))
                subprocess.run([*srv, *self.mezz_global(direct), "-q", "put", str(part), f"many-{i}.bin"], env=client_env(), check=True)
                part.unlink()
        marker.write_text(self.digest)

    def rx_bytes(self) -> int:
        """Bytes received on the client end of the veth (counted in the client namespace)."""
        out = subprocess.run(
            [*self.ns("CLI_NS"), "cat", "/proc/net/dev"], capture_output=True, text=True, check=True
        ).stdout
        for line in out.splitlines():
            name, _, rest = line.partition(":")
            if name.strip() == self.env["CLI_IF"]:
                return int(rest.split()[0])
        raise RuntimeError(f"{self.env['CLI_IF']} not in the client namespace's /proc/net/dev")

    def probe(self) -> dict:
        rx_cmd = f"awk '$1 == \"{self.env['CLI_IF']}:\" {{print $2}}' /proc/net/dev"
        out = subprocess.run(
            [*self.ns("CLI_NS"), sys.executable, str(HERE / "s3probe.py"), "probe",
             "--endpoint", self.env["ENDPOINT"], "--bucket", PLAIN_BUCKET, "--key", OBJECT,
             "--rx-cmd", rx_cmd, "--repeats", str(self.args.probe_repeats)],
            env=client_env(), capture_output=True, text=True, timeout=900,
        )  # fmt: skip
        if out.returncode != 0:
            raise RuntimeError(f"s3probe failed: {out.stderr[-2000:]}")
        return json.loads(out.stdout)

    # ---------------------------------------------------------------- clients ---
    def mount_s3(self) -> str | None:
        """The mountpoint-s3 binary (`--mount-s3`, a path or a name on PATH), if present."""
        return shutil.which(self.args.mount_s3)

    def mezz_available(self, client: str) -> str | None:
        """None if the client can run, else why not."""
        if client == "mountpoint":
            return None if self.mount_s3() else f"no `{self.args.mount_s3}` binary (bench/README.md: mountpoint-s3)"
        if not client.startswith("mezzfs"):
            return None
        if client == "mezzfs-baseline":
            return None if self.args.baseline_bin else "no --baseline-bin given"
        if not self.mezz_help:
            return "`mezzfs mount` does not exist in this build"
        needed = ["--object", "--foreground"] + (["--readahead"] if client == "mezzfs-fixed8m" else [])
        missing = [flag for flag in needed if flag not in self.mezz_help]
        return f"`mezzfs mount --help` has no {', '.join(missing)}" if missing else None

    def many_spec(self, run_dir: Path) -> Path:
        """The manyfiles mount: the object, 64 range files of it, 8 more whole objects."""
        size = self.args.size
        step = size // MANY_RANGES
        spec = {
            "objects": [{"file": OBJECT, "source": OBJECT}]
            + [{"file": f"many/o{i}.bin", "source": f"many-{i}.bin"} for i in range(MANY_OBJECTS)],
            "ranges": [
                {"file": f"many/r{i:02}.bin", "source": OBJECT, "offset": i * step, "len": step}
                for i in range(MANY_RANGES)
            ],
        }
        path = run_dir / "many-spec.json"
        path.write_text(json.dumps(spec))
        return path

    def many_files(self, mnt: Path) -> list[Path]:
        return [mnt / f"many/r{i:02}.bin" for i in range(MANY_RANGES)] + [
            mnt / f"many/o{i}.bin" for i in range(MANY_OBJECTS)
        ]

    def client_cmd(
        self, client: str, mnt: Path, run_dir: Path, workload: str = ""
    ) -> tuple[list[str], dict[str, str]]:
        endpoint = self.env["ENDPOINT"]
        env = client_env()
        if client.startswith("mezzfs"):
            binary = "mezzfs-baseline" if client == "mezzfs-baseline" else "mezzfs"
            cmd = [*self.mezz_global(endpoint, binary), "mount", str(mnt), "--foreground"]
            if workload == "manyfiles":
                cmd += ["--spec", str(self.many_spec(run_dir))]
            else:
                cmd += ["--object", OBJECT]
            if client == "mezzfs-fixed8m":
                cmd += ["--readahead", "fixed"]
            # Extra mount flags for trying settings (e.g. "--memory 128MiB").
            cmd += os.environ.get("MEZZ_BENCH_MOUNT_ARGS", "").split()
            return cmd, env
        if client == "s3fs":
            passwd = run_dir / "passwd-s3fs"
            passwd.write_text(f"{ACCESS_KEY}:{SECRET_KEY}\n")
            passwd.chmod(0o600)
            return [
                "s3fs", PLAIN_BUCKET, str(mnt), "-f",
                "-o", f"url={endpoint}", "-o", "use_path_request_style", "-o", f"endpoint={REGION}",
                "-o", f"passwd_file={passwd}", "-o", "ro",
            ], env  # fmt: skip
        if client == "mountpoint":
            # AWS's FUSE client (mountpoint-s3), defaults otherwise; credentials from the env.
            return [
                str(self.mount_s3()), PLAIN_BUCKET, str(mnt), "--foreground", "--read-only",
                "--endpoint-url", endpoint, "--force-path-style", "--region", REGION,
            ], env  # fmt: skip
        if client.startswith("rclone"):
            conf = run_dir / "rclone.conf"
            conf.write_text("")
            env.update(
                RCLONE_CONFIG_MZB_TYPE="s3",
                RCLONE_CONFIG_MZB_PROVIDER="Other",
                RCLONE_CONFIG_MZB_ENDPOINT=endpoint,
                RCLONE_CONFIG_MZB_ACCESS_KEY_ID=ACCESS_KEY,
                RCLONE_CONFIG_MZB_SECRET_ACCESS_KEY=SECRET_KEY,
                RCLONE_CONFIG_MZB_REGION=REGION,
                RCLONE_CONFIG_MZB_FORCE_PATH_STYLE="true",
            )
            cmd = ["rclone", "--config", str(conf), "mount", f"mzb:{PLAIN_BUCKET}", str(mnt), "--read-only"]
            if client == "rclone-off":
                cmd += ["--vfs-cache-mode", "off"]
            else:
                cmd += ["--vfs-cache-mode", "full", "--vfs-read-ahead", "256M", "--cache-dir", str(run_dir / "cache")]
            return cmd, env
        raise ValueError(client)

    # -------------------------------------------------------------- workloads ---
    def fio_job(self, workload: str, path: Path) -> Path:
        size = self.args.size
        sparse = min(SPARSE_BYTES, size // 4)
        timeout = self.args.timeout
        lines = [
            "[global]", f"filename={path}", "direct=0", "ioengine=psync", "thread=1",
            "group_reporting=1", f"runtime={timeout}", "percentile_list=50:99",
        ]  # fmt: skip
        if workload == "dense":
            lines += ["[dense]", "rw=read", "bs=1M", f"size={size}"]
        elif workload in ("sparse", "sparse4"):
            jobs = 1 if workload == "sparse" else 4
            for i in range(jobs):
                lines += [
                    f"[{workload}-{i}]", "rw=randread", f"bs={SPARSE_BS}", f"size={size}",
                    f"io_size={sparse // jobs}", "randrepeat=0", f"randseed={20261122 + i}",
                ]  # fmt: skip
        elif workload == "parallel4":
            quarter = size // 4
            for i in range(4):
                lines += [f"[parallel4-{i}]", "rw=read", "bs=1M", f"offset={i * quarter}", f"size={quarter}"]
        elif workload == "manyfiles":
            # Relative names under directory=: fio refuses a filename list as long as 72 full paths.
            mnt = path.parent
            files = ":".join(str(f.relative_to(mnt)) for f in self.many_files(mnt))
            lines[1:2] = [f"directory={mnt}", f"filename={files}"]
            lines += [
                "[manyfiles]", "rw=randread", "bsrange=128k-1m", "file_service_type=random",
                f"numjobs={MANY_THREADS}", f"io_size={self.expected_bytes(workload) // MANY_THREADS}",
                "randrepeat=0", "randseed=20261204",
            ]  # fmt: skip
        else:
            raise ValueError(workload)
        job = self.jobs / f"{workload}.fio"
        job.write_text("\n".join(lines) + "\n")
        return job

    def expected_bytes(self, workload: str) -> int:
        size = self.args.size
        if workload in ("sparse", "sparse4"):
            jobs = 1 if workload == "sparse" else 4
            return min(SPARSE_BYTES, size // 4) // jobs * jobs
        if workload == "parallel4":
            return size // 4 * 4
        if workload == "manyfiles":
            # A quarter of everything mounted (the object twice over, as ranges and whole).
            return size // 2 // MANY_THREADS // MIB * MANY_THREADS * MIB
        return size

    def run_workload(self, workload: str, path: Path, run_dir: Path) -> dict:
        """Runs the workload in the client namespace with a hard time limit."""
        timeout = self.args.timeout
        if workload == "sha256":
            cmd = [*self.ns("CLI_NS"), "sha256sum", str(path)]
        else:
            job = self.fio_job(workload, path)
            cmd = [*self.ns("CLI_NS"), "fio", "--readonly", "--output-format=json", f"--output={run_dir / 'fio.json'}", str(job)]
        out_path, err_path = run_dir / "workload.out", run_dir / "workload.err"
        t0 = time.perf_counter()
        curve: list[int] = []
        with open(out_path, "w") as out, open(err_path, "w") as err:
            proc = subprocess.Popen(cmd, stdout=out, stderr=err, start_new_session=True)
            # Bytes received on the client link every CURVE_STEP seconds: the run's curve.
            last, rc = self.rx_bytes(), None
            while rc is None:
                try:
                    rc = proc.wait(timeout=CURVE_STEP)
                except subprocess.TimeoutExpired:
                    if time.perf_counter() - t0 > timeout + 30:
                        kill_group(proc)
                        return {"status": "timeout", "wall_s": time.perf_counter() - t0}
                now = self.rx_bytes()
                curve.append(now - last)
                last = now
        wall = time.perf_counter() - t0
        result: dict = {"wall_s": wall, "rx_per_step": curve, "curve_step_s": CURVE_STEP}
        if rc != 0:
            return {**result, "status": "error", "error": f"exit {rc}: {tail(err_path)}"}
        expected = self.expected_bytes(workload)
        if workload == "sha256":
            digest = out_path.read_text().split()[0] if out_path.read_text().strip() else ""
            if digest != self.digest:
                return {**result, "status": "error", "error": f"wrong sha256 {digest}"}
            return {**result, "status": "ok", "bytes": expected, "mb_s": expected / wall / 1e6}
        text = (run_dir / "fio.json").read_text()
        data = json.loads(text[text.index("{") :])
        job = data["jobs"][0]
        read = job["read"]
        io_bytes, runtime_ms = read["io_bytes"], read["runtime"]
        pct = read.get("clat_ns", {}).get("percentile", {})
        result.update(
            bytes=io_bytes,
            mb_s=io_bytes / (runtime_ms / 1e3) / 1e6 if runtime_ms else None,
            p50_ms=pct.get("50.000000", 0) / 1e6 if pct else None,
            p99_ms=pct.get("99.000000", 0) / 1e6 if pct else None,
            fio_errors=job.get("error", 0),
        )
        if job.get("error"):
            return {**result, "status": "error", "error": f"fio error {job['error']}: {tail(err_path)}"}
        if io_bytes < expected:
            return {**result, "status": "timeout"}
        return {**result, "status": "ok"}

    # ------------------------------------------------------------------ a run ---
    def one_run(self, profile: str, client: str, workload: str, run: int) -> dict:
        record: dict = {"profile": profile, "client": client, "workload": workload, "run": run}
        run_dir = self.logs / profile / client / f"{workload}-{run}"
        run_dir.mkdir(parents=True, exist_ok=True)
        mnt = Path(self.env["MNT"]) / client
        mnt.mkdir(parents=True, exist_ok=True)
        if workload == "manyfiles" and not client.startswith("mezzfs"):
            return {**record, "status": "skipped", "error": "range files are mezzfs-only"}
        cmd, env = self.client_cmd(client, mnt, run_dir, workload)
        record["mount_command"] = shlex.join(cmd)
        daemon_err = run_dir / "daemon.err"
        with open(run_dir / "daemon.out", "w") as out, open(daemon_err, "w") as err:
            # nsenter execs the client, so proc.pid is the FUSE daemon itself.
            daemon = subprocess.Popen(
                [*self.ns("CLI_NS"), *cmd], env=env, stdout=out, stderr=err, start_new_session=True,
                cwd=run_dir,
            )  # fmt: skip
        rx0 = None
        try:
            target = mnt / OBJECT
            deadline = time.monotonic() + 60
            while not exists(target):
                if daemon.poll() is not None:
                    return {**record, "status": "error", "error": f"mount exited {daemon.returncode}: {tail(daemon_err)}"}
                if time.monotonic() > deadline:
                    return {**record, "status": "error", "error": f"{target} did not appear in 60 s"}
                time.sleep(0.1)
            drop_caches()
            rx0 = self.rx_bytes()
            if workload == "manyfiles":
                deadline = time.monotonic() + 60
                while not all(exists(f) for f in self.many_files(mnt)) and time.monotonic() < deadline:
                    time.sleep(0.1)
            record.update(self.run_workload(workload, target, run_dir))
            record.update(daemon_usage(daemon.pid))
            if record.get("bytes") and record.get("cpu_s") is not None:
                record["cpu_s_per_gb"] = record["cpu_s"] / (record["bytes"] / 1e9)
            stats = mnt / ".mezzfs-stats"
            if client.startswith("mezzfs"):
                try:
                    record["mezzfs_stats"] = json.loads(stats.read_text())
                except (OSError, ValueError) as err:
                    record["mezzfs_stats_error"] = str(err)
        finally:
            unmount(mnt, daemon)
            shutil.rmtree(run_dir / "cache", ignore_errors=True)
        if rx0 is None:
            return record
        # After the unmount: bytes still in flight when the workload ended count too.
        record["rx_bytes"] = self.rx_bytes() - rx0
        if record.get("bytes"):
            record["amplification"] = record["rx_bytes"] / record["bytes"]
        return record

    # ----------------------------------------------------------------- driver ---
    def run(self) -> None:
        self.setup()
        results_dir = Path(self.args.results_dir)
        results_dir.mkdir(parents=True, exist_ok=True)
        for profile in self.args.profiles:
            log(f"profile {profile}: bringing up the network")
            self.netns("up", profile)
            try:
                self.env = read_env(self.netns_dir / "env")
                self.upload()
                log("probing the link ceiling")
                ceiling = self.probe()
                log(
                    f"ceiling: ttfb {ceiling['ttfb_ms_median']:.1f} ms, 1 conn {ceiling['conn1']['mb_s_median']:.0f} MB/s, "
                    f"8 conns {ceiling['conn8']['mb_s_median']:.0f} MB/s"
                )
                report = {
                    "command": self.args.command,
                    "date": self.stamp,
                    "profile": profile,
                    "network": {k: self.env[k] for k in ("LINK_RATE", "DELAY_MS", "CONN_RATE_MBIT", "ENDPOINT")},
                    "object": {"bytes": self.args.size, "sha256": self.digest},
                    "versions": self.versions,
                    "ceiling": ceiling,
                    "skipped": {},
                    "runs": [],
                }
                clients = []
                for client in self.args.clients:
                    why = self.mezz_available(client)
                    if why:
                        log(f"skipping {client}: {why}")
                        report["skipped"][client] = why
                    else:
                        clients.append(client)
                base = results_dir / f"mount-{self.stamp}-{profile}"
                for run in range(1, self.args.runs + 1):
                    for client in clients:
                        for workload in self.args.workloads:
                            rec = self.one_run(profile, client, workload, run)
                            report["runs"].append(rec)
                            log(summary_line(rec))
                            # Written after every run, so an interrupted benchmark keeps its data.
                            base.with_suffix(".json").write_text(json.dumps(report, indent=1) + "\n")
                            base.with_suffix(".md").write_text(markdown(report, self.args))
                log(f"wrote {base}.md and .json")
            finally:
                self.netns("down")


def first_line(cmd: list[str]) -> str:
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=20)
        return (out.stdout or out.stderr).strip().splitlines()[0]
    except (OSError, IndexError, subprocess.TimeoutExpired):
        return "?"


def tail(path: Path, n: int = 600) -> str:
    try:
        return path.read_text(errors="replace")[-n:].strip()
    except OSError:
        return ""


def read_env(path: Path) -> dict[str, str]:
    return dict(line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)


def daemon_usage(pid: int) -> dict:
    """Peak RSS (VmHWM) and CPU seconds (utime + stime) of the FUSE daemon so far."""
    out: dict = {}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                out["peak_rss_mib"] = int(line.split()[1]) / 1024
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
        # After the command name: state is field 3, utime 14 and stime 15 (1-based).
        ticks = os.sysconf("SC_CLK_TCK")
        out["cpu_s"] = (int(fields[11]) + int(fields[12])) / ticks
    except (OSError, ValueError, IndexError):
        pass
    return out


def exists(path: Path) -> bool:
    """Like Path.exists, but a mount that is not ready yet (or broken) counts as absent."""
    try:
        return path.exists()
    except OSError:
        return False


def is_mounted(mnt: Path) -> bool:
    target = str(mnt)
    with open("/proc/self/mountinfo") as f:
        return any(line.split()[4] == target for line in f)


def unmount(mnt: Path, daemon: subprocess.Popen) -> None:
    if is_mounted(mnt):
        subprocess.run(["fusermount3", "-u", str(mnt)], capture_output=True)
    try:
        daemon.wait(timeout=20)
    except subprocess.TimeoutExpired:
        kill_group(daemon)
    if is_mounted(mnt):
        subprocess.run(["fusermount3", "-u", "-z", str(mnt)], capture_output=True)


def summary_line(rec: dict) -> str:
    bits = [f"{rec['client']:16} {rec['workload']:9} run {rec['run']}: {rec.get('status')}"]
    if rec.get("mb_s"):
        bits.append(f"{rec['mb_s']:.1f} MB/s")
    if rec.get("amplification") is not None:
        bits.append(f"amp {rec['amplification']:.2f}")
    if rec.get("peak_rss_mib"):
        bits.append(f"rss {rec['peak_rss_mib']:.0f} MiB")
    if rec.get("cpu_s") is not None:
        bits.append(f"cpu {rec['cpu_s']:.1f} s")
    if rec.get("error"):
        bits.append(rec["error"][:200])
    return ", ".join(bits)


def fmt(x, spec: str = ".1f") -> str:
    return "" if x is None else format(x, spec)


def median_of(recs: list[dict], key: str):
    vals = [r[key] for r in recs if r.get(key) is not None]
    return statistics.median(vals) if vals else None


def markdown(report: dict, args: argparse.Namespace) -> str:
    c = report["ceiling"]
    net = report["network"]
    sparse_ceiling = SPARSE_BS / (c["get_64k_ms_median"] / 1e3) / 1e6
    link = "none (veth)" if net["LINK_RATE"] == "none" else f"tbf {net['LINK_RATE']} on both veth ends"
    cap = "none" if net["CONN_RATE_MBIT"] in ("0", "") else f"{net['CONN_RATE_MBIT']} Mbit/s"
    out = [
        f"# Mount benchmark, profile `{report['profile']}` ({report['date']})",
        "",
        f"Command: `{report['command']}`",
        "",
        f"Network: link {link}; mezz-delay-line adds {net['DELAY_MS']} ms each way; per-connection cap {cap}. "
        f"Object: {report['object']['bytes'] / MIB:.0f} MiB of random bytes, sha256 `{report['object']['sha256'][:16]}...`.",
        "",
        "Versions: " + "; ".join(f"{k} {v}" for k, v in report["versions"].items()),
        "",
        "## Link ceiling (perfect client: bench/s3probe.py in the client namespace, plain object)",
        "",
        "| time to first byte | 64 KiB GET | 64 KiB GETs one at a time | 1 connection | 8 connections | wire bytes / payload byte |",
        "|--:|--:|--:|--:|--:|--:|",
        f"| {c['ttfb_ms_median']:.1f} ms | {c['get_64k_ms_median']:.1f} ms | {sparse_ceiling:.1f} MB/s "
        f"| {c['conn1']['mb_s_median']:.0f} MB/s | {c['conn8']['mb_s_median']:.0f} MB/s "
        f"| {fmt(c['conn8'].get('wire_bytes_per_byte'), '.3f')} |",
        "",
        f"## Results ({args.runs} run(s) each; MB/s min / median over successful runs, other columns median)",
        "",
        "| client | workload | ok | MB/s min | MB/s median | read amp | p50 ms | p99 ms | peak RSS MiB | CPU s | CPU s/GB | mezzfs fetched/read | notes |",
        "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|",
    ]
    seen = []
    for r in report["runs"]:
        if (r["client"], r["workload"]) not in seen:
            seen.append((r["client"], r["workload"]))
    for client, workload in seen:
        recs = [r for r in report["runs"] if r["client"] == client and r["workload"] == workload]
        ok = [r for r in recs if r.get("status") == "ok"]
        speeds = [r["mb_s"] for r in ok if r.get("mb_s")]
        notes = sorted({r["status"] if r.get("status") != "error" else f"error: {r.get('error', '')[:80]}" for r in recs if r.get("status") != "ok"})
        mezz = [
            r["mezzfs_stats"]["bytes_fetched"] / r["mezzfs_stats"]["bytes_read"]
            for r in ok
            if isinstance(r.get("mezzfs_stats"), dict) and r["mezzfs_stats"].get("bytes_read")
        ]
        out.append(
            f"| {client} | {workload} | {len(ok)}/{len(recs)} | {fmt(min(speeds) if speeds else None)} "
            f"| {fmt(statistics.median(speeds) if speeds else None)} | {fmt(median_of(ok, 'amplification'), '.2f')} "
            f"| {fmt(median_of(ok, 'p50_ms'), '.2f')} | {fmt(median_of(ok, 'p99_ms'), '.1f')} "
            f"| {fmt(median_of(recs, 'peak_rss_mib'), '.0f')} | {fmt(median_of(recs, 'cpu_s'), '.1f')} "
            f"| {fmt(median_of(ok, 'cpu_s_per_gb'), '.2f')} "
            f"| {fmt(statistics.median(mezz) if mezz else None, '.2f')} | {'; '.join(notes)} |"
        )
    dense = [r for r in report["runs"] if r["workload"] == "dense" and r.get("status") == "ok" and r.get("rx_per_step")]
    if dense:
        step = CURVE_STEP
        out += ["", f"## Throughput curve, first dense run of each client (MB/s on the client link, every {step} s)", ""]
        for r in {r["client"]: r for r in reversed(dense)}.values():
            curve = [b / 1e6 / step for b in r["rx_per_step"]]
            # The last sample is the tail (a partial interval), not the steady state.
            body = curve[:-1] if len(curve) > 2 else curve
            steady = statistics.median(body)
            full = next((i for i, v in enumerate(body) if v >= 0.9 * steady), len(body))
            before = sum(r["rx_per_step"][:full]) / MIB
            out.append(
                f"- {r['client']}: " + " ".join(f"{v:.0f}" for v in curve)
                + f" (median {steady:.0f} MB/s; full speed, 90% of the median, after {full * step:.2f} s and {before:.0f} MiB)"
            )
    if report["skipped"]:
        out += ["", "Skipped: " + "; ".join(f"{k}: {v}" for k, v in report["skipped"].items())]
    out += [
        "",
        "Columns: see bench/README.md. Read amp = bytes received on the client veth from just before the "
        "workload until after the unmount / bytes the workload read. Raw samples: the .json file next to this one.",
        "",
    ]
    return "\n".join(out)


def interrupt(signum, _frame) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--profiles", type=csv_list(PROFILES), default=PROFILES, help=",".join(PROFILES))
    parser.add_argument("--clients", type=csv_list(CLIENTS), default=CLIENTS, help=",".join(CLIENTS))
    parser.add_argument("--workloads", type=csv_list(WORKLOADS), default=WORKLOADS, help=",".join(WORKLOADS))
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--size", type=parse_size, default=1 << 30, help="object size, e.g. 64MiB (default 1GiB)")
    parser.add_argument("--timeout", type=int, default=240, help="seconds per workload run before it counts as timed out")
    parser.add_argument("--probe-repeats", type=int, default=3, help="repeats of each ceiling transfer")
    parser.add_argument("--bin-dir", default=str(ROOT / "target" / "release"))
    parser.add_argument(
        "--baseline-bin",
        help="another mezzfs binary (e.g. a build of an earlier commit): client mezzfs-baseline mounts with it, adaptive read-ahead",
    )
    parser.add_argument(
        "--mount-s3",
        default="mount-s3",
        help="the mountpoint-s3 binary for client mountpoint (a path, or a name on PATH)",
    )
    parser.add_argument("--results-dir", default=str(HERE / "results"))
    parser.add_argument("--scratch", default="/dev/shm/mezz-mount-bench", help="tmpfs work dir (deleted at the end)")
    parser.add_argument("--keep-scratch", action="store_true", help="keep source, server data and logs")
    args = parser.parse_args()
    args.command = os.environ.get("MOUNT_BENCH_COMMAND") or shlex.join([sys.executable, *sys.argv])
    if os.geteuid() != 0:
        raise SystemExit("run as root (namespaces, tc, drop_caches, FUSE)")
    if args.runs < 1 or args.size < 4 * MIB:
        raise SystemExit("--runs must be >= 1 and --size >= 4MiB")
    bench = Bench(args)
    # SIGTERM/SIGHUP unwind like Ctrl-C, so the finally blocks unmount and tear down.
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, interrupt)
    try:
        bench.run()
    finally:
        try:
            bench.netns("down")
        except (subprocess.CalledProcessError, OSError) as err:
            log(f"teardown failed: {err}")
        if not args.keep_scratch:
            shutil.rmtree(args.scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
