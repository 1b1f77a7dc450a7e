"""Training ACP-Net and the baselines: fresh pairs each epoch under the split's protocol,
early stopping on validation accuracy (not before the recipe's minimum epoch), the best
checkpoint kept, and a resumable last checkpoint after every epoch."""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import __version__, atomic
from .. import tables as T
from ..errors import UserError
from ..workdir import Workdir
from .model import FUSION_WIDTHS, IMAGE_WIDTHS, L3_CHANNELS, L3_FUSION, MUSIC_WIDTHS
from .paper import MODELS, PAPER_NAMES, PAPER_TABLE4

if TYPE_CHECKING:
    import torch
    from torch import nn

    from .data import PairSet, TrainData
    from .model import AuxHeads

log = logging.getLogger(__name__)
#: The resumable checkpoint (model, optimiser, RNG states) is written at most this often,
#: and after the last epoch: a kill loses at most this much training.
CHECKPOINT_EVERY_S = 30.0
RUN_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


#: Named training recipes for ACP-Net and Spectrogram-ACP (docs/train.md, "Recipes"):
#: learning rate, dropout, where dropout goes, weight initialisation, and the epochs before
#: early stopping may end a run. ``paper`` is paper §4 read literally; ``default`` is the
#: one that leaves the initial plateau at the paper's widths.
RECIPES: dict[str, dict[str, Any]] = {
    "default": {"lr": 1e-3, "dropout": 0.4, "subnet_dropout": True, "init": "kaiming",
                "min_epochs": 20, "batch_size": 32, "aux_weight": 1.0},
    "paper": {"lr": 1e-4, "dropout": 0.4, "subnet_dropout": True, "init": "torch",
              "min_epochs": 0, "batch_size": 256, "aux_weight": 0.0},
}


@dataclass(frozen=True)
class TrainConfig:
    """Everything that decides a training run (the ``default`` recipe; L3-Net's settings
    from its paper). ``TrainConfig.recipe_config(name, ...)`` fills lr, dropout and
    min_epochs from a named recipe."""

    model: str = "acp"  # acp | spectrogram-acp | l3
    epochs: int = 50
    patience: int = 10
    seed: int = 0
    recipe: str = "default"  # see RECIPES
    batch_size: int = RECIPES["default"]["batch_size"]
    lr: float = RECIPES["default"]["lr"]
    dropout: float = RECIPES["default"]["dropout"]
    min_epochs: int = RECIPES["default"]["min_epochs"]  # no early stop before this epoch
    #: weight of the auxiliary emotion-class losses on each subnet's embedding (training
    #: only; 0 turns them off): what lets the paper's widths leave the initial plateau
    aux_weight: float = RECIPES["default"]["aux_weight"]
    image_widths: tuple[int, ...] = IMAGE_WIDTHS
    music_widths: tuple[int, ...] = MUSIC_WIDTHS
    fusion_widths: tuple[int, ...] = FUSION_WIDTHS
    spec_blocks: int = 60  # Spectrogram-ACP: 1 s blocks of a 60 s segment
    l3_channels: tuple[int, ...] = L3_CHANNELS
    l3_fusion: int = L3_FUSION
    crop_frames: int = 40  # L3-Net: 1 s of 25 ms hops
    test_crops: int = 12  # L3-Net: crops averaged per segment at evaluation (every ~5 s)

    @classmethod
    def recipe_config(cls, recipe: str = "default", **fields: Any) -> TrainConfig:
        """A configuration with the recipe's lr, dropout, min_epochs and batch size unless
        given."""
        if recipe not in RECIPES:
            raise UserError(f"unknown recipe {recipe!r}: choose {', '.join(RECIPES)}")
        r = RECIPES[recipe]
        base = {k: r[k] for k in ("lr", "dropout", "min_epochs", "batch_size", "aux_weight")}
        return cls(recipe=recipe, **{**base, **{k: v for k, v in fields.items()
                                                 if v is not None}})


@dataclass
class TrainSummary:
    run: str = ""
    model: str = "acp"
    device: str = ""
    best_epoch: int = 0
    epochs: int = 0
    val_accuracy: float = 0.0
    test_accuracy: float = 0.0
    seconds: float = 0.0
    resumed_from: int | None = None
    protocol: str = "balanced"
    outputs: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)

    def lines(self) -> list[str]:
        paper = PAPER_TABLE4[PAPER_NAMES[self.model]]
        out = [f"run {self.run} ({PAPER_NAMES[self.model]}) on {self.device}: {self.epochs} "
               f"epochs in {self.seconds:.1f} s"
               + (f" (resumed after epoch {self.resumed_from})" if self.resumed_from else ""),
               f"best epoch {self.best_epoch}: validation accuracy {self.val_accuracy:.2%}, "
               f"test accuracy {self.test_accuracy:.2%} (paper: {paper}%; {self.protocol} "
               "pairs: see 'evaluate' for the shortcut baselines)"]
        return out + [f"wrote {p}" for p in self.outputs]


def run_dir(workdir: Workdir, run: str) -> Path:
    if not RUN_NAME_RE.fullmatch(run):
        raise UserError(f"run name {run!r}: use letters, digits, '.', '_' or '-' (max 64)")
    return T.run_file(workdir.root, run)


def save(obj: Any, path: Path) -> None:
    """torch.save atomically."""
    import torch

    with atomic.atomic_open(path, "wb") as fh:
        torch.save(obj, fh)


def load_checkpoint(path: Path) -> dict:
    """Load a checkpoint safely: tensors and plain values only (weights_only=True)."""
    import torch

    if not path.is_file():
        raise UserError(f"{path} does not exist: run `imac-build train` first")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001 - any unpickling refusal is a bad file
        raise UserError(f"{path} is not a loadable checkpoint ({type(e).__name__})") from None


def build_model(data: TrainData, config: TrainConfig) -> nn.Module:
    from .model import build_model as build

    return build(model_config(config, data.image_x.shape[1:], data.music_x.shape[1:]))


def amp(model: str, device: torch.device):
    """bf16 autocast for L3-Net's convolutions on a GPU; plain fp32 otherwise."""
    import contextlib

    import torch

    if model == "l3" and device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


@dataclass
class PairScores:
    prob: torch.Tensor  # P(true correspondence) per pair
    pred: torch.Tensor
    target: torch.Tensor

    @property
    def accuracy(self) -> float:
        return float((self.pred == self.target).float().mean())


def train_step(model: nn.Module, opt: torch.optim.Optimizer, image: torch.Tensor,
               music: torch.Tensor, target: torch.Tensor, kind: str,
               device: torch.device, aux: AuxHeads | None = None,
               labels: tuple[torch.Tensor, torch.Tensor] | None = None,
               ) -> tuple[torch.Tensor, torch.Tensor]:
    """One optimiser step on one batch of pairs; the loss and logits, detached.

    With ``aux`` (and the pair members' class ``labels``), each subnet's embedding also
    predicts its item's emotion class, and those losses are added with the heads' weight.
    """
    import torch.nn.functional as F

    with amp(kind, device):
        if aux is None:
            logits = model(image, music)
            loss = F.cross_entropy(logits.float(), target)
        else:
            ei, em = model.embed_image(image), model.embed_music(music)
            logits = model.fuse(ei, em)
            loss = F.cross_entropy(logits.float(), target) + aux.loss(ei, em, *labels)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()
    return loss.detach(), logits.detach()


def embed_rows(fn, x: torch.Tensor, rows: torch.Tensor, batch: int) -> torch.Tensor:
    import torch

    return torch.cat([fn(x[rows[b:b + batch]]).float() for b in range(0, len(rows), batch)])


def score_pairs(model: nn.Module, data: TrainData, pairs: PairSet,
                batch: int = 8192) -> PairScores:
    """P(true) per pair: each distinct image and segment is embedded once, then fused."""
    import torch

    model.eval()
    if len(pairs) == 0:
        z = torch.zeros(0, device=data.device)
        return PairScores(z, z.long(), pairs.target)
    with torch.no_grad(), amp(data.model, data.device):
        img, inv_i = torch.unique(pairs.image, return_inverse=True)
        mus, inv_m = torch.unique(pairs.music, return_inverse=True)
        ei = embed_rows(model.embed_image, data.image_x, img, model.eval_batch)
        em = embed_rows(model.embed_music, data.music_x, mus, model.eval_batch)
        prob = torch.cat([torch.softmax(model.fuse(ei[inv_i[b:b + batch]],
                                                   em[inv_m[b:b + batch]]).float(), dim=1)[:, 1]
                          for b in range(0, len(pairs), batch)])
    return PairScores(prob, (prob > 0.5).long(), pairs.target)


def run_train(workdir: Workdir | Path, run: str = "acp", device: str = "auto",
          config: TrainConfig | None = None, fresh: bool = False,
          progress: bool = True) -> TrainSummary:
    """Train ``config.model`` on the split of ``workdir``; resume an interrupted run of the same
    configuration from its last checkpoint unless ``fresh``."""
    import torch
    from tqdm import tqdm

    from .data import draw_pairs, load_data, resolve_device
    from .split import split_fingerprint

    wd = workdir if isinstance(workdir, Workdir) else Workdir(Path(workdir))
    cfg = config or TrainConfig()
    if cfg.model not in MODELS:
        raise UserError(f"--model {cfg.model}: choose {', '.join(MODELS)}")
    if cfg.recipe not in RECIPES:
        raise UserError(f"unknown recipe {cfg.recipe!r}: choose {', '.join(RECIPES)}")
    out = run_dir(wd, run)
    if (n := atomic.remove_stale_temporaries(out)):  # a checkpoint half-written by a kill
        log.info("removed %d temporary file(s) left in %s by an earlier kill", n, out)
    dev = resolve_device(device)
    data = load_data(wd, dev, cfg.model, cfg.spec_blocks)
    torch.manual_seed(cfg.seed)
    model = build_model(data, cfg)  # initialised on the CPU: same weights on every device
    model.fit_inputs(data.image_x, data.image_split["train"], data.music_x,
                     data.music_split["train"])
    model.to(dev)
    if cfg.model == "l3" and dev.type == "cuda":
        model.to(memory_format=torch.channels_last)
    from .model import AuxHeads

    aux = AuxHeads.for_model(model, cfg.aux_weight) if cfg.aux_weight > 0 and \
        cfg.model != "l3" else None
    params = [*model.parameters(), *(aux.parameters() if aux is not None else ())]
    if aux is not None:
        aux.to(dev)
    opt = torch.optim.Adam(params, lr=cfg.lr)
    gen = torch.Generator().manual_seed(cfg.seed)
    history: list[dict[str, float]] = []
    best = {"val_accuracy": -1.0, "epoch": 0}
    start = 0
    resumed = None
    last_path = out / "last.pt"
    split_hash = split_fingerprint(wd)
    if last_path.exists() and not fresh:
        ck = load_checkpoint(last_path)
        if ck.get("config") != json.loads(json.dumps(asdict(cfg))):
            raise UserError(f"run {run} exists with another configuration: use --fresh to "
                            "start it again, or another --run name")
        if ck.get("split") != split_hash:
            raise UserError(f"run {run} was trained on another split (splits/ changed since): "
                            "use --fresh to start it again, or another --run name")
        model.load_state_dict(ck["model"])
        if aux is not None:
            aux.load_state_dict(ck["aux"])
        opt.load_state_dict(ck["optimizer"])
        gen.set_state(ck["generator"])
        torch.set_rng_state(ck["torch_rng"])
        history, best, start = ck["history"], ck["best"], ck["epoch"]
        resumed = start
        log.info("resuming run %s after epoch %d", run, start)
    t0 = saved = time.perf_counter()
    bar = tqdm(range(start, cfg.epochs), desc=f"train {run}", unit="epoch",
               disable=not progress, initial=start, total=cfg.epochs)
    for epoch in bar:
        te = time.perf_counter()
        pairs = draw_pairs(data, "train", gen)
        order = torch.randperm(len(pairs), generator=gen).to(dev)
        model.train()
        total = len(pairs)
        loss_sum = torch.zeros((), dtype=torch.float64, device=dev)  # no sync per batch
        correct = torch.zeros((), dtype=torch.long, device=dev)
        for b in range(0, len(pairs), cfg.batch_size):
            idx = order[b:b + cfg.batch_size]
            y = pairs.target[idx]
            ii, mm = pairs.image[idx], pairs.music[idx]
            loss, logits = train_step(model, opt, data.image_x[ii], data.music_x[mm], y,
                                      cfg.model, dev, aux,
                                      (data.image_label[ii], data.music_label[mm]))
            loss_sum += loss.double() * len(idx)
            correct += (logits.argmax(1) == y).sum()
        loss_sum, correct = float(loss_sum), int(correct)
        val = score_pairs(model, data, data.pairs["val"]).accuracy
        history.append({"epoch": epoch + 1, "loss": loss_sum / max(total, 1),
                        "train_accuracy": correct / max(total, 1), "val_accuracy": val,
                        "seconds": time.perf_counter() - te})
        bar.set_postfix(loss=f"{history[-1]['loss']:.3f}", val=f"{val:.3f}")
        if val > best["val_accuracy"]:
            best = {"val_accuracy": val, "epoch": epoch + 1}
            shapes = (data.image_x.shape[1:], data.music_x.shape[1:])
            save({"state_dict": model.state_dict(), "config": model_config(cfg, *shapes),
                  "epoch": epoch + 1, "split": split_hash}, out / "model.pt")
        stop = epoch + 1 - best["epoch"] >= cfg.patience and epoch + 1 >= cfg.min_epochs
        if stop or epoch + 1 == cfg.epochs or time.perf_counter() - saved > CHECKPOINT_EVERY_S:
            save({"model": model.state_dict(), "optimizer": opt.state_dict(),
                  "aux": aux.state_dict() if aux is not None else {},
                  "generator": gen.get_state(), "torch_rng": torch.get_rng_state(),
                  "history": history, "best": best, "epoch": epoch + 1,
                  "config": json.loads(json.dumps(asdict(cfg))), "split": split_hash},
                 last_path)
            saved = time.perf_counter()
        if stop:
            log.info("early stop after epoch %d (best %d)", epoch + 1, best["epoch"])
            break
    bar.close()
    seconds = time.perf_counter() - t0
    ck = load_checkpoint(out / "model.pt")
    model.load_state_dict(ck["state_dict"])
    test = score_pairs(model, data, data.pairs["test"]).accuracy
    metrics = {
        "run": run, "model": cfg.model, "seed": cfg.seed, "device": str(dev),
        "test_accuracy": test, "val_accuracy": best["val_accuracy"],
        "best_epoch": best["epoch"], "epochs": len(history), "history": history,
        "config": asdict(cfg), "train_seconds": seconds, "imac_builder": __version__,
        "torch": torch.__version__,
        "pairs": {"val": len(data.pairs["val"]), "test": len(data.pairs["test"])},
        "split_sha256": split_hash, "protocol": data.protocol,
    }
    atomic.write_text(out / "metrics.json", json.dumps(metrics, indent=2, sort_keys=True) + "\n")
    from .plots import plot_curves

    plot_curves(history, out / "curves.png", title=f"{PAPER_NAMES[cfg.model]} run {run}")
    return TrainSummary(run=run, model=cfg.model, device=str(dev), best_epoch=best["epoch"],
                        epochs=len(history), val_accuracy=best["val_accuracy"],
                        test_accuracy=test, seconds=seconds, resumed_from=resumed,
                        protocol=data.protocol,
                        outputs=[str(out / n) for n in ("model.pt", "metrics.json",
                                                        "curves.png")])


def model_config(cfg: TrainConfig, image_shape: Sequence[int], music_shape: Sequence[int]
                 ) -> dict:
    """What a checkpoint needs to be rebuilt and checked against the stores (the shapes
    are one item's image and music input)."""
    out = {"model": cfg.model, "image_shape": [int(v) for v in image_shape],
           "music_shape": [int(v) for v in music_shape], "seed": cfg.seed,
           "labels": ["positive", "neutral", "negative"]}
    if cfg.model == "l3":
        return {**out, "l3_channels": list(cfg.l3_channels), "l3_fusion": cfg.l3_fusion,
                "crop_frames": cfg.crop_frames, "test_crops": cfg.test_crops}
    return {**out, "image_dim": int(image_shape[0]), "music_dim": int(music_shape[0]),
            "dropout": cfg.dropout, "recipe": cfg.recipe,
            "subnet_dropout": RECIPES[cfg.recipe]["subnet_dropout"],
            "init": RECIPES[cfg.recipe]["init"],
            "image_widths": list(cfg.image_widths), "music_widths": list(cfg.music_widths),
            "fusion_widths": list(cfg.fusion_widths), "spec_blocks": cfg.spec_blocks}
