#!/usr/bin/env bash
# Regenerates abr/tests/golden/*.json: Sabre's printed metrics, its final counters at full
# precision and one record per download, for every case in abr/tests/golden/cases.txt.
#
# Sabre (UMass-LIDS/sabre, BSD) is an external reference and is not part of this repository.
# Give its src/sabre.py in SABRE_PY, or let the script download the pinned revision.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
rev=09b03bb0f4f90660a2504a6b2fb48d2f06333706
sha=53b2a0607d441af09e5b6a505c524eebc361da8f9c556baefafa699892117234
if [[ -z "${SABRE_PY:-}" ]]; then
    SABRE_PY="$(mktemp -d)/sabre.py"
    curl -fsSL "https://raw.githubusercontent.com/UMass-LIDS/sabre/$rev/src/sabre.py" -o "$SABRE_PY"
fi
echo "$sha  $SABRE_PY" | sha256sum -c --quiet || echo "warning: $SABRE_PY is not revision $rev" >&2
export SABRE_PY
cd "$here/tests/data"
rm -f "$here"/tests/golden/*.json
# cases.txt: one case a line, "name: sabre arguments" (paths relative to tests/data).
while IFS=: read -r name args; do
    [[ -z "$name" || "$name" == \#* ]] && continue
    # shellcheck disable=SC2086
    python3 "$here/scripts/sabre_golden.py" "$here/tests/golden/$name.json" -- $args
done < "$here/tests/golden/cases.txt"
ls "$here/tests/golden" | wc -l
