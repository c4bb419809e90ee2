#!/usr/bin/env bash
# Check nightcolor.service with `systemd-analyze verify`, as install.sh would lay it down.
#
#   systemd/verify.sh [VENV]      (default VENV: the repository's .venv)
#
# The unit runs /opt/nightcolor/venv/bin/device, and verify insists that ExecStart exists;
# so install.sh stages the unit into a temporary root pointing at VENV, whose bin/device
# and bin/python are the real entry points, and that file is verified. systemd-analyze
# exits 0 on unknown keys and bad values (it only warns), so any output at all is a failure.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
venv=${1:-$(dirname "$here")/.venv}
venv=$(cd "$venv" && pwd)

if ! command -v systemd-analyze >/dev/null; then
    echo "verify.sh: error: systemd-analyze not found (Debian: apt-get install systemd)." >&2
    exit 2
fi
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
if ! staged=$("$here/install.sh" --root "$stage" --venv "$venv" --skip-model 2>&1); then
    echo "$staged" >&2
    exit 1
fi
unit=$stage/etc/systemd/system/nightcolor.service
if ! out=$(systemd-analyze verify --man=no "$unit" 2>&1) || [ -n "$out" ]; then
    echo "$out" >&2
    echo "verify.sh: nightcolor.service FAILED systemd-analyze verify" >&2
    exit 1
fi
echo "verify.sh: nightcolor.service passes systemd-analyze verify ($(systemd-analyze --version | head -1))"
