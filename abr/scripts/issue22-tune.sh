#!/usr/bin/env bash
# Tuning split of issue 22: the joint rule's constants are chosen here and nowhere else.
# Tuning data: Pensieve val_FCC and synthetic high-bandwidth traces seed 22, indices 0-29.
# (Evaluation, abr/scripts/issue22-table.sh, uses every other set and indices 100-129.)
#
#   abr/scripts/issue22-tune.sh BINARY OUTDIR 'joint:dwell=30' 'joint:band=1.2' ...
#
# Prints each variant's mean joint_score, audio switches, video below audio and start-up
# delay per set, and the score with start-up delay charged like a stall (JOINT_REBUFFER_PENALTY,
# 20 utility-s per s, over the content): joint_score does not charge start-up delay, so a
# start-up constant (the probe's refetch_s) is chosen on this charged score, not on the raw one.
set -euo pipefail
B=${1:?binary}; OUT=${2:?output dir}; shift 2
HERE=$(cd "$(dirname "$0")" && pwd)
SHARED=${SHARED:-$(cd "$HERE/../../.." && pwd)/shared/abr}
[ -d "$SHARED" ] || SHARED=/work/shared/abr
mkdir -p "$OUT"
"$B" synth --kind high-bandwidth --seed 22 --first 0 -n 30 -o "$OUT/high-bandwidth-tune"
ALGOS=$(IFS=,; echo "bola+indep,joint${*:+,$*}")
"$B" compare -t "$SHARED/pensieve-format/val_FCC" -t "$OUT/high-bandwidth-tune" \
  --algos "$ALGOS" --baseline bola+indep --quiet --csv "$OUT/tune.csv" > /dev/null
python3 - "$OUT/tune.csv" <<'PY'
import csv, sys
from collections import defaultdict
acc = defaultdict(lambda: [0.0, 0.0, 0.0, 0.0, 0.0, 0])
for r in csv.DictReader(open(sys.argv[1])):
    a = acc[(r["set"], r["algorithm"])]
    a[0] += float(r["joint_score"]); a[1] += float(r["audio_switches"])
    a[2] += float(r["video_below_audio_s"]); a[3] += float(r["startup_delay_s"])
    a[4] += float(r["joint_score"]) - 20.0 * float(r["startup_delay_s"]) / float(r["played_s"])
    a[5] += 1
for (s, al), (sc, sw, vb, st, ch, n) in acc.items():
    print(f"{s:22} {al:40} score {sc/n:.4f} audio switches {sw/n:.2f} video<audio {vb/n:.2f}"
          f" startup {st/n:.3f} s charged {ch/n:.4f}")
PY
