#!/usr/bin/env python3
"""Times Sabre ($SABRE_PY, unmodified) in one process over every trace in a directory, so the
figure is Sabre's simulation time without Python start-up. Prints what Sabre prints, each
run headed by `== <trace file name>` (the format of `abr-sim sabre --network DIR`), and the
time per session to stderr.

Usage: time_sabre.py TRACE_DIR MOVIE.json REPEAT -- <more sabre arguments>
"""
import contextlib
import io
import os
import runpy
import sys
import time


def main():
    trace_dir, movie, repeat = sys.argv[1], sys.argv[2], int(sys.argv[3])
    extra = sys.argv[5:] if len(sys.argv) > 4 and sys.argv[4] == "--" else []
    sabre = os.environ["SABRE_PY"]
    traces = sorted(f for f in os.listdir(trace_dir) if f.endswith(".json"))
    out = []
    sessions = 0
    start = time.perf_counter()
    for name in traces:
        for _ in range(repeat):
            sys.argv = ["sabre.py", "-n", os.path.join(trace_dir, name), "-m", movie] + extra
            buf = io.StringIO()
            with contextlib.redirect_stdout(buf):
                runpy.run_path(sabre, run_name="__main__")
            sessions += 1
        out.append("== " + name)
        # BOLA-E prints its buffer size first; abr-sim does not.
        out.extend(l for l in buf.getvalue().splitlines() if ": " in l)
    elapsed = time.perf_counter() - start
    print("\n".join(out))
    print(f"{sessions} sessions in {elapsed:.4f} s: {elapsed * 1e6 / sessions:.1f} us/session", file=sys.stderr)


if __name__ == "__main__":
    main()
