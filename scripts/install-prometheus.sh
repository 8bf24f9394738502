#!/usr/bin/env bash
# Installs Debian's Prometheus server if it is not there yet and prints the path of its binary.
# The metrics test (mezzfs/cli/tests/metrics.rs) starts its own instance on 127.0.0.1 with
# a scrape config for a mount; scripts/test.sh exports the path as MEZZ_PROMETHEUS. Installed
# without recommends (no node exporter); the package's own service is not used.
set -euo pipefail
if ! command -v prometheus >/dev/null; then
    echo "installing prometheus (Debian package)" >&2
    sudo=; [ "$(id -u)" = 0 ] || sudo=sudo
    # policy-rc.d 101: the package's service is not started (the tests start their own).
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\nexit 101\n' | $sudo tee /usr/sbin/policy-rc.d >/dev/null
        $sudo chmod +x /usr/sbin/policy-rc.d
        trap '$sudo rm -f /usr/sbin/policy-rc.d' EXIT
    fi
    $sudo apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends prometheus >&2
fi
command -v prometheus
