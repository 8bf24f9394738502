#!/usr/bin/env bash
# Reproduces issue 22's table (abr/BENCHMARKS.md section 5) with the built-in Netflix-like
# ladder (video 235-4300 kbps in 4 s segments, audio 64-640 kbps in 2 s segments, 180 s).
#
#   abr/scripts/issue22-table.sh BINARY OUTDIR [extra compare args...]
#
# Sets: the shipped Pensieve val_FCC and val_Norway, Sabre 3G and 4G logs (and FCC sd_fs /
# hd_fs with FULL=1), and two seeded synthetic sets written by `abr-sim synth`:
# high-bandwidth (20-100 Mbit/s with fades; evaluation indices 100-129, tuning uses 0-29)
# and LTE-like cellular in mahimahi format (10 traces).
set -euo pipefail
B=${1:?binary}; OUT=${2:?output dir}; shift 2
HERE=$(cd "$(dirname "$0")" && pwd)
SHARED=${SHARED:-$(cd "$HERE/../../.." && pwd)/shared/abr}
[ -d "$SHARED" ] || SHARED=/work/shared/abr
ALGOS=${ALGOS:-throughput,bba,bola,bolae,dynamic,mpc,bola+fixed@192,bola+indep,joint}
mkdir -p "$OUT"
"$B" synth --kind high-bandwidth --seed 22 --first 100 -n 30 -o "$OUT/high-bandwidth"
"$B" synth --kind cellular --seed 22 -n 10 -o "$OUT/cellular-mahimahi"
SETS=(-t "$SHARED/pensieve-format/val_FCC" -t "$SHARED/pensieve-format/val_Norway"
      -t "$SHARED/sabre-mmsys18/3Glogs" -t "$SHARED/sabre-mmsys18/4Glogs"
      -t "$OUT/high-bandwidth" -t "$OUT/cellular-mahimahi")
if [ "${FULL:-0}" = 1 ]; then
  SETS+=(-t "$SHARED/sabre-mmsys18/sd_fs" -t "$SHARED/sabre-mmsys18/hd_fs")
fi
"$B" compare "${SETS[@]}" --algos "$ALGOS" --baseline bola+fixed@192 --optimum --quiet \
  --csv "$OUT/sessions.csv" --markdown "$OUT/sets.md" "$@" > "$OUT/compare.txt"
python3 "$HERE/issue22-table.py" "$OUT/sessions.csv" joint | tee "$OUT/table.md"
