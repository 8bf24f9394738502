#!/usr/bin/env bash
# Watch dash.js play a DASH directory made by `segment-encode package`, with a served rate you
# change while it plays: serves DIR and the player page on 127.0.0.1 and prints the page's URL.
# The page shows the rung playing, the player's measured throughput, its buffer and the frames
# decoded, and has buttons that throttle the server; the terminal takes a rate too.
#
#   bash scripts/dash-player.sh DIR [--port 8000] [--kbps 0]
#
# Installs what it needs first (scripts/install-dash-player.sh: Chromium, Node.js, dashjs).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
if [ $# -lt 1 ] || [ "$1" = -h ] || [ "$1" = --help ]; then
    sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//'
    exit 0
fi
dir="$1"; shift
[ -f "$dir/manifest.mpd" ] || { echo "$dir has no manifest.mpd: make it with 'segment-encode package LADDER -o $dir'" >&2; exit 2; }
modules=$(bash "$root/scripts/install-dash-player.sh")
exec node "$root/encoder/tests/player/watch.mjs" --dash "$dir" --node-modules "$modules" "$@"
