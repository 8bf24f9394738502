#!/usr/bin/env bash
# Installs what the dash.js player test (encoder/tests/dash_player.rs) and the watch script
# (scripts/dash-player.sh) need, if it is not there yet, and prints the node_modules directory:
# - Debian's Chromium (/usr/bin/chromium), which playwright-core drives (playwright's own
#   browser download does not work on a machine without the internet);
# - Node.js and npm (Debian's) if missing;
# - the pinned npm packages of encoder/tests/player/package-lock.json (dashjs, playwright-core),
#   installed with `npm ci` into a cache directory outside the source tree, reinstalled when
#   the lock file changes.
# scripts/test.sh exports the printed path as MEZZ_DASH_PLAYER.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
player="$root/encoder/tests/player"
dir="${MEZZ_DASH_PLAYER_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/mezz/dash-player}"
sudo=; [ "$(id -u)" = 0 ] || sudo=sudo

need_apt=()
command -v chromium >/dev/null || need_apt+=(chromium)
command -v node >/dev/null || need_apt+=(nodejs)
command -v npm >/dev/null || need_apt+=(npm)
if ((${#need_apt[@]})); then
    echo "installing (Debian packages): ${need_apt[*]}" >&2
    $sudo apt-get update -qq >&2
    # With recommends (fonts, Mesa), as on the machines where the test was made to pass.
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need_apt[@]}" >&2
fi

if ! cmp -s "$player/package-lock.json" "$dir/package-lock.json" \
    || [ ! -f "$dir/node_modules/dashjs/package.json" ] \
    || [ ! -f "$dir/node_modules/playwright-core/package.json" ]; then
    echo "installing dashjs and playwright-core (npm ci) into $dir" >&2
    mkdir -p "$dir"
    rm -rf "$dir/node_modules"
    cp "$player/package.json" "$player/package-lock.json" "$dir/"
    # --ignore-scripts: nothing runs at install; playwright-core's browser download is not used.
    (cd "$dir" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error >&2)
fi
echo "$dir/node_modules"
