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
from ..config import TrainConfig
from ..errors import UserError
from ..guard import finite_or_null
from ..workdir import Workdir
from .paper import PAPER_TABLE4
from .recipes import RECIPES, row_name
from .registry import get as get_entry

if TYPE_CHECKING:
    import torch
    from torch import nn

    from .data import PairSet, TrainData
    from .model import ClassHeads

log = logging.getLogger(__name__)
#: The resumable checkpoint (model, optimiser, RNG states) is written at most this often,
#: and after the last epoch: a kill loses at most this much training.
CHECKPOINT_EVERY_S = 30.0
RUN_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
#: TrainConfig fields every run uses, whatever its model.
COMMON_FIELDS = ("model", "recipe", "epochs", "patience", "seed")

__all__ = ["RECIPES", "TrainConfig", "TrainSummary", "run_train"]


def used_config(cfg: TrainConfig) -> dict[str, Any]:
    """The configuration fields the run's model uses (what its metrics record)."""
    entry = get_entry(cfg.model)
    keep = (*COMMON_FIELDS, *entry.recipe_fields, *entry.arch_fields)
    return {k: v for k, v in cfg.to_dict().items() if k in keep}


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

    recipe: str = "default"
    class_labels: bool = False

    def lines(self) -> list[str]:
        entry = get_entry(self.model)
        name = row_name(entry.paper_name, {"class_head_weight": float(self.class_labels)})
        paper = PAPER_TABLE4.get(entry.paper_name)
        paper_txt = f"paper {entry.paper_name}: {paper}%" if paper else "not in the paper"
        out = [f"run {self.run} ({name}, recipe {self.recipe}) on {self.device}: {self.epochs} "
               f"epochs in {self.seconds:.1f} s"
               + (f" (resumed after epoch {self.resumed_from})" if self.resumed_from else ""),
               f"best epoch {self.best_epoch}: validation accuracy {self.val_accuracy:.2%}, "
               f"test accuracy {self.test_accuracy:.2%} ({paper_txt}, not comparable: "
               f"{self.protocol} pairs; see 'evaluate' for the shortcut baselines)"]
        return out + [f"wrote {p}" for p in self.outputs]


#: What training and evaluating write in a run's folder.
RUN_FILES = ("last.pt", "model.pt", "metrics.json", "curves.png", "report.md",
             "evaluation.json", "cells.png")


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
    return get_entry(config.model).build(
        model_config(config, data.image_x.shape[1:], data.music_x.shape[1:]))


def amp(model: str, device: torch.device):
    """bf16 autocast on a GPU for the models whose registry entry asks for it (L3-Net's
    convolutions); plain fp32 otherwise."""
    import contextlib

    import torch

    if get_entry(model).autocast and device.type == "cuda":
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
               device: torch.device, aux: ClassHeads | None = None,
               labels: tuple[torch.Tensor, torch.Tensor] | None = None,
               ) -> tuple[torch.Tensor, torch.Tensor]:
    """One optimiser step on one batch of pairs; the loss and logits, detached.

    With ``aux`` (the ``class-heads`` recipe, and the pair members' class ``labels``), each
    subnet's embedding also predicts its item's emotion class, and those losses are added
    with the heads' weight.
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


def run_train(workdir: Workdir | Path, *, config: TrainConfig | None = None,
              run: str = "acp", device: str = "auto", fresh: bool = False,
              progress: bool = True) -> TrainSummary:
    """Train ``config.model`` on the split of ``workdir``; resume an interrupted run of the same
    configuration from its last checkpoint unless ``fresh``."""
    import torch
    from tqdm import tqdm

    from .binding import fingerprint
    from .data import draw_pairs, load_data, resolve_device
    from .split import split_fingerprint

    wd = workdir if isinstance(workdir, Workdir) else Workdir(Path(workdir))
    cfg = config or TrainConfig()
    entry = get_entry(cfg.model)
    if cfg.recipe not in RECIPES:
        raise UserError(f"unknown recipe {cfg.recipe!r}: choose {', '.join(RECIPES)}")
    if cfg.class_head_weight > 0 and not entry.class_heads:
        raise UserError(f"{entry.paper_name} has no class heads: use another recipe than "
                        f"{cfg.recipe} (or class_head_weight 0)")
    out = run_dir(wd, run)
    if (n := atomic.remove_stale_temporaries(out)):  # a checkpoint half-written by a kill
        log.info("removed %d temporary file(s) left in %s by an earlier kill", n, out)
    dev = resolve_device(device)
    data = load_data(wd, dev, cfg.model, cfg)
    bound = fingerprint(wd, {name: (store.ids, store.labels) for name, store in
                             zip(data.store_names, (data.images, data.music), strict=True)})
    torch.manual_seed(cfg.seed)
    model = build_model(data, cfg)  # initialised on the CPU: same weights on every device
    model.fit_inputs(data.image_x, data.image_split["train"], data.music_x,
                     data.music_split["train"])
    model.to(dev)
    if entry.autocast and dev.type == "cuda":
        model.to(memory_format=torch.channels_last)
    from .model import ClassHeads

    aux = ClassHeads.for_model(model, cfg.class_head_weight) if cfg.class_head_weight > 0 \
        else None
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
    if fresh:
        # the old run's files go now: an interrupted fresh run is a new run to resume (its
        # own checkpoint), never the old run's metrics beside a half-trained model
        for name in RUN_FILES:
            (out / name).unlink(missing_ok=True)
    if last_path.exists() and not fresh:
        ck = load_checkpoint(last_path)
        if ck.get("config") != json.loads(json.dumps(cfg.to_dict())):
            raise UserError(f"run {run} exists with another configuration: use --fresh to "
                            "start it again, or another --run name")
        if ck.get("split") != split_hash:
            raise UserError(f"run {run} was trained on another split (splits/ changed since): "
                            "use --fresh to start it again, or another --run name")
        if ck.get("data") != bound:
            raise UserError(f"run {run} was trained on other stores (features/ changed "
                            "since): use --fresh to start it again, or another --run name")
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
    shapes = (data.image_x.shape[1:], data.music_x.shape[1:])
    for epoch in bar:
        te = time.perf_counter()
        pairs = draw_pairs(data, "train", gen, cfg.pairs_per_image)
        order = torch.randperm(len(pairs), generator=gen).to(dev)
        model.train()
        total = len(pairs)
        loss_sum = torch.zeros((), dtype=torch.float64, device=dev)  # no sync per batch
        correct = torch.zeros((), dtype=torch.long, device=dev)
        for b in range(0, len(pairs), cfg.batch_size):
            idx = order[b:b + cfg.batch_size]
            if len(idx) < 2 and cfg.norm == "batch":
                continue  # batch norm needs two rows
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
        log.info("run %s epoch %d: loss %.4f, validation accuracy %.4f", run, epoch + 1,
                 history[-1]["loss"], val)
        if val > best["val_accuracy"]:
            best = {"val_accuracy": val, "epoch": epoch + 1}
            save({"state_dict": model.state_dict(), "config": model_config(cfg, *shapes),
                  "epoch": epoch + 1, "split": split_hash, "data": bound}, out / "model.pt")
        stop = epoch + 1 - best["epoch"] >= cfg.patience and epoch + 1 >= cfg.min_epochs
        if stop or epoch + 1 == cfg.epochs or time.perf_counter() - saved > CHECKPOINT_EVERY_S:
            save({"model": model.state_dict(), "optimizer": opt.state_dict(),
                  "aux": aux.state_dict() if aux is not None else {},
                  "generator": gen.get_state(), "torch_rng": torch.get_rng_state(),
                  "history": history, "best": best, "epoch": epoch + 1,
                  "config": json.loads(json.dumps(cfg.to_dict())), "split": split_hash,
                  "data": bound}, last_path)
            saved = time.perf_counter()
        if stop:
            log.info("early stop after epoch %d (best %d)", epoch + 1, best["epoch"])
            break
    bar.close()
    seconds = time.perf_counter() - t0
    ck = load_checkpoint(out / "model.pt")
    model.load_state_dict(ck["state_dict"])
    scored = score_pairs(model, data, data.pairs["test"])
    test = scored.accuracy
    test_correct = "".join("1" if v else "0" for v in
                           (scored.pred == scored.target).cpu().tolist())
    used = used_config(cfg)
    metrics = {
        "run": run, "model": cfg.model, "seed": cfg.seed, "device": str(dev),
        "recipe": cfg.recipe, "class_labels_used": cfg.class_head_weight > 0,
        "test_accuracy": test, "val_accuracy": best["val_accuracy"],
        "best_epoch": best["epoch"], "epochs": len(history), "history": history,
        "config": used, "train_seconds": seconds, "imac_builder": __version__,
        "torch": torch.__version__,
        "pairs": {"val": len(data.pairs["val"]), "test": len(data.pairs["test"])},
        "split_sha256": split_hash, "data": bound, "protocol": data.protocol,
        "test_correct": test_correct,  # per test pair, for Table 4's seed-mean interval
    }
    # a diverged run's NaN loss is written as null: the file stays JSON every reader takes
    atomic.write_text(out / "metrics.json",
                      json.dumps(finite_or_null(metrics), indent=2, sort_keys=True,
                                 allow_nan=False) + "\n")
    from .plots import plot_curves

    plot_curves(history, out / "curves.png",
                title=f"{row_name(entry.paper_name, used)} run {run}")
    return TrainSummary(run=run, model=cfg.model, device=str(dev), best_epoch=best["epoch"],
                        epochs=len(history), val_accuracy=best["val_accuracy"],
                        test_accuracy=test, seconds=seconds, resumed_from=resumed,
                        protocol=data.protocol, recipe=cfg.recipe,
                        class_labels=cfg.class_head_weight > 0,
                        outputs=[str(out / n) for n in ("model.pt", "metrics.json",
                                                        "curves.png")])


def model_config(cfg: TrainConfig, image_shape: Sequence[int], music_shape: Sequence[int]
                 ) -> dict:
    """What a checkpoint needs to be rebuilt and checked against the stores (the shapes
    are one item's image and music input, after the model's pipeline)."""
    entry = get_entry(cfg.model)
    values = cfg.to_dict()
    return {"model": cfg.model, "recipe": cfg.recipe, "seed": cfg.seed,
            "image_shape": [int(v) for v in image_shape],
            "music_shape": [int(v) for v in music_shape],
            "labels": ["positive", "neutral", "negative"],
            "class_head_weight": cfg.class_head_weight,
            **{k: values[k] for k in entry.arch_fields}}
