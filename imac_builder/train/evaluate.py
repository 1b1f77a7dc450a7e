"""``evaluate``: test accuracy with its interval, per-class cells, ROC-AUC, the paper's
Tables 4 and 5 side by side, and cross-modal retrieval (image → songs)."""

from __future__ import annotations

import json
import logging
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import atomic
from .. import tables as T
from ..config import EvaluateConfig
from ..errors import UserError
from ..workdir import Workdir
from .paper import PAPER_TABLE5
from .recipes import row_name, uses_class_labels
from .registry import REGISTRY
from .registry import get as get_entry
from .split import LABELS

log = logging.getLogger(__name__)

if TYPE_CHECKING:
    import torch
    from torch import nn

    from .data import TrainData

PROBE_HIDDEN = {"image emotion, 8 classes": (512,), "music emotion, 3 classes": (512, 32)}


@dataclass
class EvalSummary:
    run: str = ""
    model: str = "acp"
    protocol: str = "balanced"
    recipe: str = "default"
    class_labels_used: bool = False
    test_accuracy: float = 0.0
    ci95: tuple[float, float] = (0.0, 0.0)  # Wilson: pairs as if independent
    #: two-way cluster bootstrap (songs, images) stratified by (image class, music class)
    ci95_bootstrap: tuple[float, float] = (0.0, 0.0)
    baselines: dict[str, float] = field(default_factory=dict)
    #: per-modality classifiers combined by agreement (pair, image, music accuracy)
    reference: dict[str, float] = field(default_factory=dict)
    #: the same model on the other protocol's pairs drawn from the test split
    other_protocol: dict[str, Any] = field(default_factory=dict)
    roc_auc: float = 0.0
    cells: list[list[float]] = field(default_factory=list)
    probes: dict[str, float] = field(default_factory=dict)
    retrieval: dict[str, float] = field(default_factory=dict)
    outputs: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)

    def lines(self) -> list[str]:
        b = self.baselines
        entry = get_entry(self.model)
        name = row_name(entry.paper_name, {"class_head_weight": float(self.class_labels_used)})
        paper = f"paper {entry.paper_accuracy}%, " if entry.paper_accuracy else ""
        out = [f"run {self.run} ({name}, recipe {self.recipe}; {self.protocol} pairs): test "
               f"accuracy {self.test_accuracy:.2%} (95% stratified cluster bootstrap "
               f"{self.ci95_bootstrap[0]:.2%}–{self.ci95_bootstrap[1]:.2%}; Wilson "
               f"{self.ci95[0]:.2%}–{self.ci95[1]:.2%}), ROC-AUC {self.roc_auc:.3f} ({paper}"
               "not comparable: other data and pairs)",
               f"shortcut baselines: music class only {b['music_class_only']:.2%}, image class "
               f"only {b['image_class_only']:.2%}, class prior {b['class_prior']:.2%}"]
        if self.reference:
            r = self.reference
            out.append(f"reference, per-modality classifiers combined by agreement (uses class "
                       f"labels): {r['pair_accuracy']:.2%} (image {r['image_accuracy']:.2%}, "
                       f"music {r['music_accuracy']:.2%})")
        if self.other_protocol:
            o = self.other_protocol
            out.append(f"under the {o['protocol']} protocol (pairs drawn from the test split): "
                       f"{o['test_accuracy']:.2%}; music class only "
                       f"{o['baselines']['music_class_only']:.2%}")
        out += [f"probe {k}: {v:.2%}" for k, v in self.probes.items()]
        if self.retrieval:
            r = self.retrieval
            out.append(f"retrieval ({int(r['queries'])} test images → {int(r['songs'])} test "
                       "songs): " + ", ".join(f"{k} {v:.3f}" for k, v in r.items()
                                              if k not in ("queries", "songs")))
        return out + [f"wrote {p}" for p in self.outputs]


def load_model(path: Path, data: TrainData) -> nn.Module:
    """The checkpoint's network, checked against the stores ``data`` was loaded from."""
    from .model import build_model
    from .trainer import load_checkpoint

    ck = load_checkpoint(path)
    cfg = ck.get("config", {})
    if not isinstance(cfg, dict) or cfg.get("model", "acp") not in REGISTRY or \
            "music_shape" not in cfg or "image_shape" not in cfg:
        raise UserError(f"{path} has no model configuration (an older version?): train the "
                        "run again with --fresh")
    if cfg.get("model", "acp") != data.model:
        raise UserError(f"{path} is a {cfg.get('model', 'acp')} model; the data were loaded "
                        f"for {data.model}")
    entry = get_entry(data.model)
    for name, x in (("image", data.image_x), ("music", data.music_x)):
        shape, then = list(x.shape[1:]), list(cfg[f"{name}_shape"])
        if name == "music" and entry.variable_music_length:
            shape, then = shape[:-1], then[:-1]
        if shape != then:
            what = (f"{then[0]}-d {name} features; the store has {shape[0]}"
                    if len(then) == 1 == len(shape) else
                    f"{name} inputs of shape {then}; the store has {shape}")
            raise UserError(f"{path} was trained on {what}: the store does not match the "
                            "model")
    model = build_model(cfg)
    try:
        model.load_state_dict(ck["state_dict"])
    except (RuntimeError, KeyError) as e:
        raise UserError(f"{path}: weights do not fit {entry.paper_name} "
                        f"({str(e).splitlines()[0]})") from None
    return model.to(data.device).eval()


def embed(model: nn.Module, data: TrainData) -> tuple[torch.Tensor, torch.Tensor]:
    """Embeddings of every image and segment (L3-Net: segments × crops × 512)."""
    import torch

    from .trainer import amp, embed_rows

    model.eval()
    with torch.no_grad(), amp(data.model, data.device):
        every_i = torch.arange(len(data.image_x), device=data.device)
        every_m = torch.arange(len(data.music_x), device=data.device)
        return (embed_rows(model.embed_image, data.image_x, every_i, model.eval_batch),
                embed_rows(model.embed_music, data.music_x, every_m, model.eval_batch))


def train_probe(x: torch.Tensor, y: torch.Tensor, rows: dict[str, torch.Tensor],
                hidden: tuple[int, ...], n_classes: int, seed: int, epochs: int = 100,
                patience: int = 10) -> float:
    """Fit an MLP on frozen embeddings (train rows), early-stopped on val; test accuracy."""
    import torch

    from .model import Probe

    torch.manual_seed(seed)
    probe = Probe(x.shape[1], hidden, n_classes).to(x.device)
    opt = torch.optim.Adam(probe.parameters(), lr=1e-3)
    gen = torch.Generator().manual_seed(seed)
    tr = rows["train"]
    best, best_state, since = -1.0, None, 0
    for _ in range(epochs):
        probe.train()
        order = tr[torch.randperm(len(tr), generator=gen).to(x.device)]
        for b in range(0, len(order), 256):
            idx = order[b:b + 256]
            loss = torch.nn.functional.cross_entropy(probe(x[idx]), y[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        probe.eval()
        with torch.no_grad():
            acc = float((probe(x[rows["val"]]).argmax(1) == y[rows["val"]]).float().mean())
        if acc > best:
            best, since = acc, 0
            best_state = {k: v.clone() for k, v in probe.state_dict().items()}
        else:
            since += 1
            if since >= patience:
                break
    probe.load_state_dict(best_state)
    probe.eval()
    with torch.no_grad():
        return float((probe(x[rows["test"]]).argmax(1) == y[rows["test"]]).float().mean())


def retrieval(model: nn.Module, data: TrainData, img_emb: torch.Tensor, mus_emb: torch.Tensor,
              max_images: int, seed: int) -> dict[str, float]:
    """Rank the test songs for each test image by mean P(true) over the song's segments."""
    import torch

    from .metrics import retrieval_scores

    img_rows = data.image_split["test"]
    if len(img_rows) > max_images:
        gen = torch.Generator().manual_seed(seed)
        img_rows = img_rows[torch.randperm(len(img_rows), generator=gen)[:max_images]
                            .to(img_rows.device)].sort().values
    seg_rows = data.music_split["test"]
    tracks = [data.music.extra["track_id"][i] for i in seg_rows.tolist()]
    song_ids = sorted(set(tracks))
    song_index = {t: i for i, t in enumerate(song_ids)}
    song_of = torch.tensor([song_index[t] for t in tracks], device=data.device)
    n_songs = len(song_ids)
    seg_count = torch.bincount(song_of, minlength=n_songs).double()
    song_label = torch.zeros(n_songs, dtype=torch.long, device=data.device)
    song_label[song_of] = data.music_label[seg_rows]
    seg_emb = mus_emb[seg_rows]
    if seg_emb.dim() == 3:  # L3-Net crops: a song's score is the mean over all its crops
        k = seg_emb.shape[1]
        seg_emb = seg_emb.reshape(-1, seg_emb.shape[2])
        song_of = song_of.repeat_interleave(k)
        seg_count = seg_count * k
    first = model.fusion[0]
    d = img_emb.shape[1]
    a = img_emb[img_rows] @ first.weight[:, :d].T + first.bias  # the first fusion layer,
    b = seg_emb @ first.weight[:, d:].T  # split so pairs cost one addition
    rest = model.fusion[1:]
    chunk = max(1, (1 << 24) // max(1, len(b) * a.shape[1]))
    scores = []
    with torch.no_grad():
        for s in range(0, len(img_rows), chunk):
            h = a[s:s + chunk, None, :] + b[None, :, :]
            flat = rest(h.reshape(-1, h.shape[-1]))  # batch norm wants rows × features
            p = torch.softmax(flat.float(), dim=-1)[:, 1].view(h.shape[0], h.shape[1])
            song = torch.zeros(p.shape[0], n_songs, dtype=torch.double, device=p.device)
            song.index_add_(1, song_of, p.double())
            scores.append(song / seg_count)
    score = torch.cat(scores)
    order = torch.argsort(score, dim=1, descending=True)
    rel = (song_label[order] == data.image_label[img_rows][:, None]).long()
    out = retrieval_scores(rel)
    out["queries"] = float(len(img_rows))
    out["songs"] = float(n_songs)
    return out


def run_evaluate(workdir: Workdir | Path, *, config: EvaluateConfig | None = None,
                 run: str = "acp", probes: bool = True,
                 progress: bool = True) -> EvalSummary:
    """Evaluate a trained run; write ``runs/<run>/report.md``, ``evaluation.json`` and plots.

    Refuses (one line) a run whose stores, labels or split changed since it was trained
    (:mod:`.binding`), and pair files whose targets disagree with the stores' labels."""
    import torch

    from .binding import check as check_binding
    from .binding import fingerprint
    from .data import check_targets, load_data, resolve_device
    from .metrics import roc_auc, shortcut_baselines, wilson_interval
    from .plots import plot_heatmap
    from .split import split_fingerprint
    from .trainer import load_checkpoint, run_dir, score_pairs

    config = config or EvaluateConfig()
    wd = workdir if isinstance(workdir, Workdir) else Workdir(Path(workdir))
    out = run_dir(wd, run)
    dev, retrieval_images = resolve_device(config.device), config.retrieval_images
    if not os.path.lexists(out / "metrics.json") and os.path.lexists(out / "model.pt"):
        raise UserError(f"run {run} has not finished training (no metrics.json): run the same "
                        "train command again to resume it")
    ck = load_checkpoint(out / "model.pt")
    cfg = ck.get("config", {}) if isinstance(ck.get("config"), dict) else {}
    kind = cfg.get("model", "acp")
    if kind not in REGISTRY:
        raise UserError(f"run {run} is a {kind!r} model, which is not registered")
    data = load_data(wd, dev, kind, _Spec(cfg), check=False)
    model = load_model(out / "model.pt", data)
    check_binding(ck.get("data"), fingerprint(
        wd, {name: (st.ids, st.labels) for name, st in
             zip(data.store_names, (data.images, data.music), strict=True)}), run)
    check_targets(data)
    metrics_path = out / "metrics.json"
    from .. import guard

    metrics = guard.json_object(metrics_path, "a run's metrics")
    seed = guard.finite(metrics.get("seed", 0), f"{metrics_path}: seed", integer=True)
    test = data.pairs["test"]
    sc = score_pairs(model, data, test)
    n = len(test)
    correct = int((sc.pred == sc.target).sum())
    acc = correct / max(n, 1)
    ci = wilson_interval(correct, n)
    auc = roc_auc(sc.prob, sc.target)
    il = data.image_label[test.image]
    ml = data.music_label[test.music]
    ok = (sc.pred == sc.target).double()
    cells, counts = [], []
    for i in range(3):
        row, crow = [], []
        for j in range(3):
            m = (il == i) & (ml == j)
            k = int(m.sum())
            row.append(float(ok[m].mean()) if k else float("nan"))
            crow.append(k)
        cells.append(row)
        counts.append(crow)
    baselines = shortcut_baselines(il.cpu().numpy(), ml.cpu().numpy(), sc.target.cpu().numpy())
    boot = test_interval(data, (sc.pred == sc.target).cpu().numpy(), seed)
    summary = EvalSummary(run=run, model=data.model, protocol=data.protocol,
                          recipe=str(cfg.get("recipe", "default")),
                          class_labels_used=uses_class_labels(cfg), test_accuracy=acc,
                          ci95=ci, ci95_bootstrap=boot, baselines=baselines, roc_auc=auc,
                          cells=cells)
    import importlib.util

    have_sklearn = importlib.util.find_spec("sklearn") is not None
    ref_data = None if not have_sklearn else data if data.store_names == ("images", "music") \
        else _feature_data(wd, dev)
    if ref_data is not None:
        from .classifiers import agreement_reference

        ref = agreement_reference(ref_data, seed=seed)
        summary.reference = {k: v for k, v in ref.items() if k != "correct"}
        summary.reference["ci95_bootstrap"] = test_interval(ref_data, ref["correct"], seed)
    summary.other_protocol = other_protocol(model, data, seed)
    img_emb, mus_emb = embed(model, data)
    if probes:
        probe_mus = mus_emb.mean(1) if mus_emb.dim() == 3 else mus_emb  # L3: crop mean
        emotions = sorted(set(data.image_emotion))
        y8 = torch.tensor([emotions.index(e) for e in data.image_emotion], device=dev)
        key = "image emotion, 8 classes"
        summary.probes[key] = train_probe(img_emb, y8, data.image_split, PROBE_HIDDEN[key],
                                          len(emotions), seed)
        key = "music emotion, 3 classes"
        summary.probes[key] = train_probe(probe_mus, data.music_label, data.music_split,
                                          PROBE_HIDDEN[key], 3, seed)
    if retrieval_images is None:
        retrieval_images = 100_000 if dev.type == "cuda" else 300
    if retrieval_images > 0:
        summary.retrieval = retrieval(model, data, img_emb, mus_emb, retrieval_images, seed)
    plot_heatmap(cells, LABELS, LABELS, out / "cells.png",
                 title=f"test accuracy per class pair, run {run}")
    report = render_report(summary, counts, n, metrics,
                           all_runs(wd, run, summary, split_fingerprint(wd)), data)
    atomic.write_text(out / "report.md", report)
    atomic.write_text(out / "evaluation.json",
                      json.dumps(summary.to_dict(), indent=2, sort_keys=True) + "\n")
    summary.outputs = [str(out / n) for n in ("report.md", "evaluation.json", "cells.png")]
    return summary


def _pct(v: float) -> str:
    return "—" if v != v else f"{100 * v:.2f}%"


class _Spec:
    """A checkpoint's model configuration read as attributes (for the data pipelines)."""

    def __init__(self, cfg: dict) -> None:
        self.__dict__.update(cfg)


def _feature_data(wd: Workdir, dev: torch.device) -> TrainData | None:
    """The ACP-Net feature stores, for the reference row (None when absent)."""
    from .data import load_data

    if not all((wd.root / "features" / f"{n}.h5").is_file() for n in ("images", "music")):
        return None
    return load_data(wd, dev, "acp")


def test_interval(data: TrainData, correct: Any, seed: int) -> tuple[float, float]:
    """95% two-way cluster bootstrap interval of the test accuracy (images and songs
    resampled within their class; cells at their fixed shares)."""
    from .metrics import cluster_bootstrap

    test = data.pairs["test"]
    il = data.image_label[test.image].cpu().numpy()
    ml = data.music_label[test.music].cpu().numpy()
    song_of = [data.music.extra["track_id"][i] for i in test.music.tolist()]
    return cluster_bootstrap(correct, test.image.cpu().numpy(), song_of, seed=seed,
                             image_stratum=il, song_stratum=ml, cell=il * 3 + ml)


def other_protocol(model: nn.Module, data: TrainData, seed: int) -> dict[str, Any]:
    """The run scored on the other protocol's pairs, drawn (with the run's seed) from the
    same test images and segments: both protocols' figures, neither comparable with the
    paper's."""
    import numpy as np
    import torch

    from .data import PairSet
    from .metrics import shortcut_baselines
    from .split import make_pairs
    from .trainer import score_pairs

    other = "paper" if data.protocol == "balanced" else "balanced"
    ri, rm = data.image_split["test"].tolist(), data.music_split["test"].tolist()
    il = [LABELS[int(v)] for v in data.image_label[ri].tolist()] if ri else []
    ml = [LABELS[int(v)] for v in data.music_label[rm].tolist()] if rm else []
    try:
        pairs = make_pairs([str(i) for i in ri], il, [str(m) for m in rm], ml,
                           np.random.default_rng([seed, 7]), "test", other)
    except UserError:
        return {}
    dev = data.device
    ps = PairSet(torch.tensor([int(a) for a, _, _ in pairs], device=dev),
                 torch.tensor([int(b) for _, b, _ in pairs], device=dev),
                 torch.tensor([t for _, _, t in pairs], device=dev))
    sc = score_pairs(model, data, ps)
    return {"protocol": other, "pairs": len(ps), "test_accuracy": sc.accuracy,
            "baselines": shortcut_baselines(data.image_label[ps.image].cpu().numpy(),
                                            data.music_label[ps.music].cpu().numpy(),
                                            ps.target.cpu().numpy())}


def all_runs(wd: Workdir, current: str, summary: EvalSummary, split_hash: str,
             data: TrainData | None = None) -> list[dict[str, Any]]:
    """Every trained run of the work directory (``runs/*/metrics.json``): name, model,
    recipe, whether class labels were used, seed, test accuracy, per-pair correctness
    (``test_correct``) and ``apart``: why it is not comparable with this evaluation
    (trained on another split or under another pair protocol), empty when it is."""
    from .. import guard

    rows = []
    for path in sorted(T.RUNS.at(wd.root).glob("*/metrics.json")):
        name = path.parent.name
        try:
            m = guard.json_object(path, "a run's metrics")
            acc, kind = guard.finite(m["test_accuracy"], "", lo=0, hi=1), \
                str(m.get("model", "acp"))
            cfg = m.get("config") if isinstance(m.get("config"), dict) else {}
            labels = bool(m.get("class_labels_used", uses_class_labels(cfg)))
            # one seed is one seed however it was written (1, 1.0, "1"): a group's spread
            # counts distinct seeds
            seed = guard.finite(m["seed"], "seed", integer=True) if "seed" in m else "?"
        except (ValueError, KeyError, TypeError, AttributeError, OverflowError, UserError,
                RecursionError) as e:
            # a damaged or foreign file is not a run: said in the report, not counted
            log.warning("runs/%s/metrics.json not read: %s", name, e)
            rows.append({"run": name, "unreadable": guard.printable(str(e))[:120]})
            continue
        if kind not in REGISTRY:
            continue
        apart = ""
        if name == current:
            acc = summary.test_accuracy
        elif m.get("split_sha256") != split_hash:
            apart = "trained and scored on another split (splits/ changed since)"
        elif m.get("protocol", "paper") != summary.protocol:
            apart = f"trained under the {m.get('protocol', 'paper')} pair protocol"
        rows.append({"run": name, "model": kind, "test_accuracy": acc,
                     "recipe": str(m.get("recipe", cfg.get("recipe", "?"))),
                     "class_labels": labels,
                     "seed": seed, "test_correct": m.get("test_correct"),
                     "setting": _setting(cfg), "apart": apart})
    return rows


def _cell(text: object) -> str:
    """Text for a Markdown table cell or a backticked name: printable, no "|" or "`"."""
    from ..guard import printable

    return printable(str(text)).replace("|", "¦").replace("`", "'")[:300]


def _setting(cfg: dict[str, Any]) -> str:
    """A run's training settings but its seed, as one canonical JSON text: runs that
    differ only by seed share it (a seed spread compares those runs, nothing else). A
    setting the run does not record takes today's default (runs made before it existed
    trained so), keys that are no setting are left out; numbers compare by value (5 and
    5.0). No config at all: ``""``."""
    import dataclasses
    import json

    from ..config import TrainConfig

    if not cfg:
        return ""

    def norm(v: Any) -> Any:
        if isinstance(v, bool) or v is None or isinstance(v, str):
            return v
        if isinstance(v, int | float):
            return float(v)
        if isinstance(v, list | tuple):
            return [norm(x) for x in v]
        if isinstance(v, dict):
            return {str(k): norm(x) for k, x in v.items()}
        return str(v)

    defaults = dataclasses.asdict(TrainConfig())
    # today's settings only: a key no TrainConfig has (a hand edit) sets nothing apart
    merged = {k: cfg.get(k, v) for k, v in defaults.items()}
    try:
        return json.dumps({k: norm(v) for k, v in merged.items() if k != "seed"},
                          sort_keys=True)
    except (TypeError, ValueError, RecursionError):  # a hand-edited file: its own group
        return json.dumps({"unreadable config": id(cfg)})


def _differences(settings: list[str]) -> list[str]:
    """For groups of one model and recipe trained under several settings, what each
    group's differ in ("epochs 8, fusion_widths [64, 32, 16]"); "" when alone."""
    import json

    if len(settings) < 2:
        return [""] * len(settings)
    parsed = []
    for s in settings:
        try:
            d = json.loads(s) if s else None
        except ValueError:
            d = None
        parsed.append(d if isinstance(d, dict) else None)
    keys = sorted({k for d in parsed if d for k in d})
    differ = [k for k in keys
              if len({json.dumps(d.get(k), sort_keys=True) for d in parsed if d}) > 1]

    def num(v: Any) -> str:  # 8.0 shown as 8
        def whole(x: Any) -> Any:
            if isinstance(x, float) and x.is_integer():
                return int(x)
            return [whole(y) for y in x] if isinstance(x, list) else x
        return json.dumps(whole(v))

    return [_cell(", ".join(f"{k} {num(d.get(k))}" for k in differ)) if d is not None
            else "no training config recorded" for d in parsed]


def table4_rows(runs: list[dict[str, Any]], data: TrainData | None, seed: int
                ) -> list[dict[str, Any]]:
    """Comparable runs grouped by (model, recipe, class labels, every other training
    setting but the seed): the mean over the group's training seeds, their spread
    (standard deviation, min–max), and the stratified cluster-bootstrap interval of the
    seed-averaged per-pair correctness. ``differs`` says what sets a group apart from the
    groups of the same model and recipe trained otherwise (other epochs, widths...)."""
    import numpy as np

    groups: dict[tuple, list[dict]] = {}
    for r in runs:
        if not r.get("apart") and not r.get("unreadable"):
            groups.setdefault((r["model"], r["recipe"], r["class_labels"],
                               r.get("setting", "")), []).append(r)
    siblings: dict[tuple, list[str]] = {}
    for key in groups:
        siblings.setdefault(key[:3], []).append(key[3])
    differs = {}
    for head, settings in siblings.items():
        for setting, text in zip(settings, _differences(settings), strict=True):
            differs[head + (setting,)] = text
    order = list(REGISTRY)
    out = []
    for (kind, recipe, labels, setting), members in sorted(
            groups.items(), key=lambda kv: (order.index(kv[0][0]), kv[0][2], kv[0][1],
                                            kv[0][3])):
        by_seed: dict[str, list[float]] = {}
        for r in members:  # a seed trained twice counts once (its runs' mean)
            by_seed.setdefault(str(r["seed"]), []).append(r["test_accuracy"])
        accs = np.array([np.mean(v) for v in by_seed.values()])
        ci = (float("nan"), float("nan"))
        vecs = [r["test_correct"] for r in members if isinstance(r.get("test_correct"), str)]
        if data is not None and vecs and all(len(v) == len(data.pairs["test"]) for v in vecs):
            mean_ok = np.mean([[c == "1" for c in v] for v in vecs], axis=0)
            ci = test_interval(data, mean_ok, seed)
        out.append({"model": kind, "recipe": recipe, "class_labels": labels,
                    "differs": differs[(kind, recipe, labels, setting)],
                    "runs": [r["run"] for r in members],
                    "seeds": [r["seed"] for r in members], "mean": float(accs.mean()),
                    "sd": float(accs.std(ddof=1)) if len(accs) > 1 else float("nan"),
                    "min": float(accs.min()), "max": float(accs.max()), "ci95": ci})
    return out


def render_report(s: EvalSummary, counts: list[list[int]], n: int,
                  metrics: dict[str, Any], runs: list[dict[str, Any]],
                  data: TrainData | None = None) -> str:
    b = s.baselines
    entry = get_entry(s.model)
    me = row_name(entry.paper_name, {"class_head_weight": float(s.class_labels_used)})
    L = [f"# Evaluation of run `{s.run}` ({me}, recipe `{s.recipe}`)", ""]
    L.append(f"Test pairs: {n}, pair protocol `{s.protocol}` "
             + ("(every single-modality rule scores 50%)" if s.protocol == "balanced" else
                "(the paper's reading: half true, but the classes' proportions give "
                "single-modality rules more than 50%; see the baselines)")
             + f". Best epoch {metrics.get('best_epoch', '?')} of "
             f"{metrics.get('epochs', '?')}; seed {metrics.get('seed', '?')}; recipe "
             f"`{s.recipe}`; class labels used in training: "
             f"{'yes' if s.class_labels_used else 'no (pair labels only)'}.")
    L += ["", f"Test accuracy {_pct(s.test_accuracy)}: 95% interval {_pct(s.ci95_bootstrap[0])}–"
          f"{_pct(s.ci95_bootstrap[1])} by a two-way cluster bootstrap over test songs and "
          "test images, each resampled within its class, the (image class, music class) "
          "cells kept at their shares of the pairs (each image and song appears in many "
          "pairs); the Wilson interval, which treats pairs as independent and is too narrow, "
          f"is {_pct(s.ci95[0])}–{_pct(s.ci95[1])}."]
    L += ["", "## Table 4: affective correspondence accuracy", "",
          "Runs trained on this split and scored on the same fixed test pairs "
          "(`splits/pairs_test.csv`) under the same protocol, grouped by model and recipe: "
          "the mean over training seeds with their spread (standard deviation; min–max), and "
          "the 95% stratified two-way cluster-bootstrap interval of the seed-averaged "
          "correctness. The reference row and \"+ class heads\" rows use per-modality class "
          "labels, which the paper's ACP-Net never sees. **None of these figures is "
          "comparable with the paper's** (other data, other pairs; the paper's column is "
          "for orientation only).", "",
          "| model | recipe | class labels used | seeds | test accuracy (mean) | spread over "
          "seeds (sd; min–max) | 95% interval | paper |",
          "|---|---|---|---|---|---|---|---|"]
    rows = table4_rows(runs, data, int(metrics.get("seed", 0)))
    for kind, e in REGISTRY.items():
        mine = [r for r in rows if r["model"] == kind]
        paper = f"{e.paper_accuracy}%" if e.paper_accuracy else "—"
        for r in mine:
            name = row_name(e.paper_name, {"class_head_weight": float(r["class_labels"])})
            this = " (this report)" if s.run in r["runs"] else ""
            runs_txt = ", ".join(f"`{_cell(x)}`" for x in r["runs"])
            seeds = len({str(x) for x in r["seeds"]})
            if seeds < len(r["runs"]):  # the same setting and seed trained again
                runs_txt += f"; {len(r['runs']) - seeds} repeating a seed"
            sd = "—" if r["sd"] != r["sd"] else f"{100 * r['sd']:.2f}"
            spread = f"{sd}; {_pct(r['min'])}–{_pct(r['max'])}" if seeds > 1 \
                else "— (one seed)"
            recipe = f"`{_cell(r['recipe'])}`" + (f" ({r['differs']})" if r["differs"] else "")
            L.append(f"| {name} | {recipe} | {'yes' if r['class_labels'] else 'no'} "
                     f"| {seeds} ({runs_txt}){this} | {_pct(r['mean'])} | {spread} | "
                     f"{_pct(r['ci95'][0])}–{_pct(r['ci95'][1])} | "
                     f"{paper if not r['class_labels'] else '— (not the paper method)'} |")
        if not mine and e.paper_accuracy:
            L.append(f"| {e.paper_name} | — | — | not trained | — | — | — | {paper} |")
    if s.reference:
        r = s.reference
        ci = r.get("ci95_bootstrap", (float("nan"), float("nan")))
        L.append(f"| per-modality classifiers combined by agreement (logistic regressions; "
                 f"image {_pct(r['image_accuracy'])}, music {_pct(r['music_accuracy'])}) | — | "
                 f"yes | — | {_pct(r['pair_accuracy'])} | — | {_pct(ci[0])}–{_pct(ci[1])} | — |")
    L += [f"| music's class only (best rule) | — | yes (test) | — | "
          f"{_pct(b['music_class_only'])} | — | — | — |",
          f"| image's class only (best rule) | — | yes (test) | — | "
          f"{_pct(b['image_class_only'])} | — | — | — |",
          f"| class prior (majority target) | — | — | — | {_pct(b['class_prior'])} | — | — | "
          "— |"]
    if s.other_protocol:
        o = s.other_protocol
        ob = o["baselines"]
        L += ["", f"Under the other protocol (`{o['protocol']}`; {o['pairs']} pairs drawn "
              f"with the run's seed from the same test images and segments) this run scores "
              f"{_pct(o['test_accuracy'])}; music's class only {_pct(ob['music_class_only'])}, "
              f"image's class only {_pct(ob['image_class_only'])}. Neither protocol's figure "
              "is comparable with the paper's."]
    apart = [r for r in runs if r.get("apart")]
    if apart:
        L += ["", "Not comparable with this table (listed apart):", ""]
        L += [f"- `{_cell(r['run'])}` ({get_entry(r['model']).paper_name}, recipe "
              f"`{_cell(r['recipe'])}`, {_pct(r['test_accuracy'])}): {r['apart']}"
              for r in apart]
    unread = [r for r in runs if r.get("unreadable")]
    if unread:
        L += ["", "Runs whose `metrics.json` could not be read (not counted):", ""]
        L += [f"- `{_cell(r['run'])}`: {_cell(r['unreadable'])}" for r in unread]
    L += ["",
          f"ROC-AUC: {s.roc_auc:.3f}.", "",
          "## Accuracy per (image class, music class) cell", "",
          "Diagonal cells hold true pairs, the others false pairs. Heat map: `cells.png`.", "",
          "| image \\ music | " + " | ".join(LABELS) + " |", "|---|---|---|---|"]
    for i, lab in enumerate(LABELS):
        L.append(f"| {lab} | " + " | ".join(f"{_pct(s.cells[i][j])} (n={counts[i][j]})"
                                            for j in range(3)) + " |")
    if s.probes:
        L += ["", "## Table 5: emotion recognition from the learned embeddings", "",
              "| task | this run | paper |", "|---|---|---|"]
        for k, v in s.probes.items():
            hidden = "-".join(map(str, PROBE_HIDDEN[k]))
            L.append(f"| {k} (embedding + MLP {hidden}) | {_pct(v)} | {PAPER_TABLE5[k]}% |")
        L += ["", "Chance: 12.5% for 8 classes (the image store's emotion column), "
              "33.3% for 3 classes."]
    if s.retrieval:
        r = s.retrieval
        L += ["", "## Cross-modal retrieval: test images → test songs", "",
              f"{int(r['queries'])} test images each rank {int(r['songs'])} test songs by the "
              "mean predicted correspondence over the song's segments; a song is relevant "
              "when it shares the image's class.", "",
              "| P@1 | P@5 | P@10 | mAP |", "|---|---|---|---|",
              f"| {r['precision_at_1']:.3f} | {r['precision_at_5']:.3f} | "
              f"{r['precision_at_10']:.3f} | {r['mean_average_precision']:.3f} |"]
    return "\n".join(L) + "\n"
