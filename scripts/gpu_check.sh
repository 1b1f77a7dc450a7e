#!/usr/bin/env bash
# One prepared measurement of the GPU paths (see scripts/gpu_check.py and
# docs/performance.md). On a machine with torch but no internet: installs the wheels
# carried in the prepared folder (scripts/gpu_check_prepare.py) into a private
# --target folder, puts it and this checkout on PYTHONPATH, and runs the check.
#
#   scripts/gpu_check.sh --device cuda --out DIR [more gpu_check.py options]
#
# Environment: GPUCHECK_CARRY (prepared folder, default .gpucheck beside this
# checkout's root), GPUCHECK_SITE (install target, default /tmp/gpucheck-site),
# PYTHON (default python3).
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
carry="${GPUCHECK_CARRY:-$repo/.gpucheck}"
site="${GPUCHECK_SITE:-/tmp/gpucheck-site}"
py="${PYTHON:-python3}"
shopt -s nullglob
wheels=("$carry"/wheels/*.whl)
if (( ${#wheels[@]} )); then
  "$py" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
    --target "$site" "${wheels[@]}"
  export PYTHONPATH="$site${PYTHONPATH:+:$PYTHONPATH}"
fi
export PYTHONPATH="$repo${PYTHONPATH:+:$PYTHONPATH}"
export PYTHONUNBUFFERED=1
exec "$py" "$repo/scripts/gpu_check.py" --carry "$carry" "$@"
