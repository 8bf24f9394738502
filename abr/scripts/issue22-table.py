#!/usr/bin/env python3
"""Issue 22's table from `abr-sim compare --optimum --csv` output.

Usage: issue22-table.py OUT.csv [CANDIDATE]

CHARGE=2.0 subtracts 2 utility-seconds per audio switch from every session's joint_score
(for CSVs written before joint_score charged audio switches, so "before" and "after" are
scored alike); the optimum column is left as is (it never charges them).
STARTUP_CHARGE=20 subtracts that many utility-seconds per second of start-up delay from every
rule's joint_score (joint_score does not charge start-up delay; this shows that a rule's
lead does not come from waiting longer before playback, as joint's start-up probe does).

Per trace set: candidate minus bola+fixed@192 and candidate minus the best baseline (the
non-joint rule with the highest mean joint_score on that set), mean paired difference of
joint_score with a 95% percentile bootstrap CI (2000 resamples, Python's Mersenne Twister
seeded with 1, so the table is reproducible); candidate / bola+fixed@192 / bola+indep as %
of the offline optimum's mean joint_score; audio switches per session and per minute
(bola+indep in brackets); video below audio, s per session.
"""
import csv
import os
import random
import sys
from collections import defaultdict

FIXED, INDEP = "bola+fixed@192", "bola+indep"


def boot(diffs, n=2000, seed=1):
    rng = random.Random(seed)
    k = len(diffs)
    means = sorted(sum(diffs[rng.randrange(k)] for _ in range(k)) / k for _ in range(n))
    return sum(diffs) / k, means[int(0.025 * n)], means[int(0.975 * n) - 1]


def main():
    path = sys.argv[1]
    cand = sys.argv[2] if len(sys.argv) > 2 else "joint"
    rows = defaultdict(lambda: defaultdict(dict))
    opt = defaultdict(dict)
    order = []
    charge = float(os.environ.get("CHARGE", "0"))
    startup_charge = float(os.environ.get("STARTUP_CHARGE", "0"))
    with open(path) as f:
        for r in csv.DictReader(f):
            played = float(r.get("played_s") or 180.0)
            startup = float(r.get("startup_delay_s") or 0.0)
            r["joint_score"] = str(
                float(r["joint_score"])
                - (charge * float(r["audio_switches"]) + startup_charge * startup) / played
            )
            s = r["set"]
            if s not in order:
                order.append(s)
            rows[s][r["algorithm"]][r["trace"]] = r
            if r["optimum_joint_score"]:
                opt[s][r["trace"]] = float(r["optimum_joint_score"])
    print(
        f"| trace set | {cand} − bola+fixed@192, joint_score | {cand} − best baseline (which) "
        f"| {cand} / bola+fixed / bola+indep, % of the optimum | {cand} audio switches per "
        f"session (per minute; bola+indep) | {cand} video below audio, s per session | {cand} / best baseline start-up delay, s |"
    )
    print("|---|--:|--:|--:|--:|--:|--:|")
    for s in order:
        algos = rows[s]
        traces = sorted(algos[cand])
        mean = lambda a, k: sum(float(algos[a][t][k]) for t in traces) / len(traces)
        score = lambda a: mean(a, "joint_score")
        baselines = [a for a in algos if not a.startswith("joint")]
        best = max(baselines, key=score)

        def diff(b):
            d = [float(algos[cand][t]["joint_score"]) - float(algos[b][t]["joint_score"]) for t in traces]
            m, lo, hi = boot(d)
            return f"{m:+.3f} [{lo:+.3f}, {hi:+.3f}]"

        o = sum(opt[s][t] for t in traces) / len(traces) if opt[s] else None
        pct = lambda a: f"{100 * score(a) / o:.1f}" if o and o > 0 else "n/a"
        minutes = mean(cand, "played_s") / 60 if "played_s" in algos[cand][traces[0]] else 3.0
        sw = mean(cand, "audio_switches")
        print(
            f"| {s}, {len(traces)} traces | {diff(FIXED)} | {diff(best)} ({best}) "
            f"| {pct(cand)} / {pct(FIXED)} / {pct(INDEP)} "
            f"| {sw:.1f} ({sw / minutes:.2f}/min; {mean(INDEP, 'audio_switches'):.1f}) "
            f"| {mean(cand, 'video_below_audio_s'):.2f} "
            f"| {mean(cand, 'startup_delay_s'):.2f} / {mean(best, 'startup_delay_s'):.2f} |"
        )


if __name__ == "__main__":
    main()
