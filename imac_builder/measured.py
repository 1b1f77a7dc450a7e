"""Measured speeds and sizes, in one machine-readable place (``plan`` computes with them).

Each :class:`Figure` is a number from ``docs/performance.md`` (which cites this table) with
the command that measured it, the date and the machine. Change a figure here and in that
page together, when a benchmark is run again. GPU figures: none has been measured yet
(no GPU was available to the sessions that built the project); :data:`GPU_TARGETS` holds
the targets the GPU check (``scripts/gpu_check.sh``) tests, which ``plan`` shows as
targets, never as measurements.
"""

from __future__ import annotations

from dataclasses import dataclass

#: The machine of every CPU figure below unless a figure names another.
CPU_MACHINE = ("a 2-core Intel Xeon VM (x86_64), 24 GiB, Python 3.11.7, Debian 12, no GPU; "
               "shared with other jobs (load average 3-8)")


@dataclass(frozen=True)
class Figure:
    """One measured number."""

    value: float
    unit: str
    what: str
    command: str
    date: str
    machine: str = CPU_MACHINE


FIGURES: dict[str, Figure] = {
    "music_fast_wall_s": Figure(
        1.38, "s/segment", "music features, fast engine, one core (wall)",
        "python benchmarks/bench_features.py --segments 4", "2026-11-25"),
    "music_fast_cpu_s": Figure(
        1.22, "s/segment", "music features, fast engine, one core (CPU)",
        "python benchmarks/bench_features.py --segments 4", "2026-11-25"),
    "images_cpu_per_s": Figure(
        9.7, "images/s", "image features on the CPU, Inception-v3 (the slow end of "
        "9.7-20.3, by load)", "python benchmarks/bench_features.py", "2026-11-25"),
    "train_cpu_s_per_epoch": Figure(
        8.14, "s/epoch", "ACP-Net training at 2 % of IMAC scale (1,800 images, 320 "
        "segments; batch 256)", "python benchmarks/bench_train.py --scale 0.02 --epochs 2",
        "2026-11-25"),
    "train_bench_images": Figure(
        1800, "images", "images in the train benchmark at --scale 0.02",
        "python benchmarks/bench_train.py --scale 0.02 --epochs 2", "2026-11-25"),
    "download_s_per_song": Figure(
        0.672, "s/song", "download stage on loopback (fetch, decode, cut, FLAC, hash)",
        "python benchmarks/bench_download.py", "2026-11-25"),
    "checkpoint_model_mb": Figure(
        34.3, "MB", "ACP-Net model.pt (the best checkpoint)",
        "imac-build --workdir W demo --small; ls -l W/runs/demo", "2026-12-04"),
    "checkpoint_last_mb": Figure(
        102.9, "MB", "ACP-Net last.pt (model, optimiser and generator states)",
        "imac-build --workdir W demo --small; ls -l W/runs/demo", "2026-12-04"),
}

#: What the GPU check tests on an H100/H200-class card (targets, not measurements).
GPU_TARGETS: dict[str, Figure] = {
    "music_segments_per_s": Figure(100, "segments/s", "music features, torch engine",
                                   "scripts/gpu_check.sh --device cuda", "not measured",
                                   "an H100/H200-class GPU"),
    "images_per_s": Figure(5000, "images/s", "image features with nvJPEG",
                           "scripts/gpu_check.sh --device cuda", "not measured",
                           "an H100/H200-class GPU"),
    "train_50_epochs_s": Figure(60, "s", "ACP-Net, 50 epochs at IMAC scale (90,000 "
                                "images)", "scripts/gpu_check.sh --device cuda",
                                "not measured", "an H100/H200-class GPU"),
}

#: Bytes a row takes in each store (float32 features; float16 spectrograms; uint8 pixels).
STORE_BYTES = {"music": 193 * 4, "images": 2048 * 4, "spectrograms": 128 * 2402 * 2,
               "pixels": 224 * 224 * 3}


def value(name: str) -> float:
    """A CPU figure's value."""
    return FIGURES[name].value
