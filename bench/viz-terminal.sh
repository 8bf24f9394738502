#!/usr/bin/env bash
# Frame time of replay-viz in a real terminal (a 200x50 tmux pane) while it plays the
# 1-million-event replay written by `cargo bench -p mezz-tools --bench viz` at 1000x.
# The status bar shows how long the last frame took to draw and write out; this samples it.
set -euo pipefail
cd "$(dirname "$0")/.."
replay="${1:-${TMPDIR:-/tmp}/mezz-viz-1M.mezzreplay}"
[ -f "$replay" ] || { echo "no $replay: run cargo bench -p mezz-tools --bench viz first" >&2; exit 1; }
command -v tmux >/dev/null || apt-get install -y -qq tmux
cargo build --release -q -p mezz-tools --bin replay-viz
bin="$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')/release/replay-viz"
sock="mezz-viz-bench-$$"
t() { tmux -L "$sock" -f /dev/null "$@"; }
trap 't kill-server 2>/dev/null || true' EXIT
for mode in colour glyphs; do
    flag=(); [ "$mode" = glyphs ] && flag=(--glyphs)
    TERM=xterm-256color t new-session -d -x 200 -y 50 -s viz "$bin" "${flag[@]}" --play 1000 --fps 240 "$replay"
    sleep 3  # opening: decode, timeline, keyframes
    samples=()
    for _ in $(seq 40); do
        ms=$(t capture-pane -p -t viz | head -1 | grep -o 'frame [0-9.]* ms' | grep -o '[0-9.]*' || true)
        [ -n "$ms" ] && samples+=("$ms")
        sleep 0.1
    done
    t kill-session -t viz
    printf '%s\n' "${samples[@]}" | sort -n | awk -v mode="$mode" '
        { v[NR] = $1 } END { if (NR == 0) { print mode ": no samples"; exit 1 }
          printf "%s: frame draw+write p50 %.2f ms, max %.2f ms over %d samples (%.0f fps possible at p50)\n",
                 mode, v[int((NR + 1) / 2)], v[NR], NR, 1000 / v[int((NR + 1) / 2)] }'
done
