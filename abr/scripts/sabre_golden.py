#!/usr/bin/env python3
"""Runs an unmodified Sabre (path in $SABRE_PY) with the given arguments and writes what it
printed plus, at full float precision, its final counters and one record per download.

Usage: sabre_golden.py OUT.json -- <sabre arguments>

Sabre keeps its state in module globals and prints with %f (6 decimals); to compare at 1e-6
relative we also read the globals after the run (runpy returns them) and record every
completed download through a profile hook on the ABR's report_download, without touching
Sabre's source.
"""
import contextlib
import io
import json
import os
import runpy
import sys


def main():
    out = sys.argv[1]
    assert sys.argv[2] == "--"
    sabre = os.environ["SABRE_PY"]
    downloads = []

    def hook(frame, event, arg):
        # Only the outermost report_download (Dynamic forwards to two inner rules).
        if event != "call" or frame.f_code.co_name != "report_download":
            return
        if frame.f_back is None or frame.f_back.f_code.co_name != "<module>":
            return
        m = frame.f_locals["metrics"]
        g = frame.f_globals
        level = g["manifest"].segment_time * len(g["buffer_contents"]) - g["buffer_fcc"]
        downloads.append([m.index, m.quality, m.downloaded, m.time, m.time_to_first_bit,
                          m.abandon_to_quality, level, g["rebuffer_time"]])

    sys.argv = ["sabre.py"] + sys.argv[3:]
    printed = io.StringIO()
    sys.setprofile(hook)
    try:
        with contextlib.redirect_stdout(printed):
            g = runpy.run_path(sabre, run_name="__main__")
    finally:
        sys.setprofile(None)
    keys = ["rebuffer_event_count", "rebuffer_time", "played_utility", "played_bitrate",
            "total_play_time", "total_bitrate_change", "total_log_bitrate_change",
            "total_reaction_time", "overestimate_count", "overestimate_average",
            "goodestimate_count", "goodestimate_average", "estimate_average", "rampup_time",
            "startup_time"]
    result = {
        "args": sys.argv[1:],
        "printed": printed.getvalue().splitlines(),
        "final": {k: g[k] for k in keys},
        "download_fields": ["index", "quality", "downloaded_bits", "time_ms",
                            "time_to_first_bit_ms", "abandon_to", "buffer_after_ms",
                            "rebuffer_after_ms"],
        "downloads": downloads,
    }
    with open(out, "w") as f:
        json.dump(result, f, indent=None, separators=(",", ":"))
        f.write("\n")


if __name__ == "__main__":
    main()
