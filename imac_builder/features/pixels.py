"""Image pixels for L3-Net: every usable image decoded and resized to 224 × 224 × 3 uint8.

L3-Net (paper Table 4) is trained from scratch on raw images, so it needs pixels rather
than Inception features. Decoding a JPEG and resizing it costs milliseconds on a CPU core
(see ``benchmarks/bench_baselines.py``), and every image is read twice per epoch for 50
epochs: decoding once into ``features/pixels.h5`` (``data`` N × 224 × 224 × 3, uint8;
13.5 GB for 90,000 images, loaded once into GPU memory) turns that into a gather. The
images are decoded and resized exactly as for the Inception features
(:func:`.images.decode_cpu`, then :func:`.images.resize`: bilinear, antialiased, the whole
image squeezed to 224 × 224 as in the paper) and rounded to uint8.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from .. import tables as T

SIZE = 224


def image_pixels(path: Path, size: int = SIZE) -> np.ndarray:
    """``size × size × 3`` uint8 RGB of one image file; FeatureError if it cannot be read."""
    import torch
    import torch.nn.functional as F

    from .images import decode_cpu

    rgb = decode_cpu(path)
    x = torch.from_numpy(np.ascontiguousarray(rgb)).permute(2, 0, 1)[None].float() / 255.0
    if x.shape[-2:] != (size, size):
        x = F.interpolate(x, size=(size, size), mode="bilinear", antialias=True,
                          align_corners=False)
    return (x[0].clamp(0, 1) * 255.0).round().to(torch.uint8).permute(1, 2, 0).numpy()


def run_pixels(workdir: Any, image_root: Path | None = None, jobs: int = 1,
               force: bool = False, progress: bool = True, size: int = SIZE) -> Any:
    """``features/pixels.h5`` from the ``ok`` rows of ``images/images.csv``; returns the
    features stage's ``ModalitySummary``."""
    from functools import partial

    from ..errors import UserError
    from ..workdir import Workdir
    from .arrays import build_array_store
    from .images import library_versions
    from .inputs import image_items

    wd = workdir if isinstance(workdir, Workdir) else Workdir(Path(workdir))
    if image_root is None and T.IMAGE_FILES.at(wd.root).is_dir():
        image_root = T.IMAGE_FILES.at(wd.root)
    if image_root is None or not Path(image_root).is_dir():
        raise UserError("--image-root DIR is needed for image pixels (the folder that "
                        "images/images.csv paths are relative to)")
    config = {"modality": "pixels", "extractor": "decode + resize, uint8",
              "size": size, "resize": "torch bilinear antialias", "versions":
              library_versions()}
    return build_array_store(wd, "pixels", image_items(wd), Path(image_root),
                             partial(image_pixels, size=size), (size, size, 3), np.uint8,
                             config, force=force, jobs=jobs, progress=progress)


def build(wd: Any, opts: Any) -> Any:
    """The registry's builder (``features --modality pixels``)."""
    return run_pixels(wd, image_root=opts.image_root, jobs=opts.jobs, force=opts.force,
                      progress=opts.progress)
