"""``evaluate``: test accuracy with its interval, per-class cells, ROC-AUC, the paper's
Tables 4 and 5 side by side, and cross-modal retrieval (image → songs)."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import atomic
from .. import tables as T
from ..config import EvaluateConfig
from ..errors import UserError
from ..workdir import Workdir
from .paper import PAPER_NAMES, PAPER_TABLE4, PAPER_TABLE5
from .split import LABELS

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
    test_accuracy: float = 0.0
    ci95: tuple[float, float] = (0.0, 0.0)  # Wilson: pairs as if independent
    ci95_bootstrap: tuple[float, float] = (0.0, 0.0)  # two-way cluster (songs, images)
    baselines: dict[str, float] = field(default_factory=dict)
    roc_auc: float = 0.0
    cells: list[list[float]] = field(default_factory=list)
    probes: dict[str, float] = field(default_factory=dict)
    retrieval: dict[str, float] = field(default_factory=dict)
    outputs: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)

    def lines(self) -> list[str]:
        b = self.baselines
        out = [f"run {self.run} ({self.protocol} pairs): test accuracy "
               f"{self.test_accuracy:.2%} (95% cluster bootstrap {self.ci95_bootstrap[0]:.2%}–"
               f"{self.ci95_bootstrap[1]:.2%}; Wilson {self.ci95[0]:.2%}–{self.ci95[1]:.2%}), "
               f"ROC-AUC {self.roc_auc:.3f}; paper {PAPER_TABLE4[PAPER_NAMES[self.model]]}% "
               f"({PAPER_NAMES[self.model]})",
               f"shortcut baselines: music class only {b['music_class_only']:.2%}, image class "
               f"only {b['image_class_only']:.2%}, class prior {b['class_prior']:.2%}"]
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
    if not isinstance(cfg, dict) or cfg.get("model", "acp") not in PAPER_NAMES or \
            "music_shape" not in cfg and "music_dim" not in cfg:
        raise UserError(f"{path} has no model configuration")
    if cfg.get("model", "acp") != data.model:
        raise UserError(f"{path} is a {cfg.get('model', 'acp')} model; the data were loaded "
                        f"for {data.model}")
    for name, x in (("image", data.image_x), ("music", data.music_x)):
        if f"{name}_dim" in cfg and cfg[f"{name}_dim"] != x.shape[1]:
            raise UserError(f"{path} was trained on {cfg[f'{name}_dim']}-d {name} features; "
                            f"the store has {x.shape[1]}: the store does not match the model")
        shape = list(x.shape[1:])
        if data.model == "l3" and (cfg[f"{name}_shape"][:-1] != shape[:-1] if name == "music"
                                   else cfg[f"{name}_shape"] != shape):
            raise UserError(f"{path} was trained on {name} inputs of shape "
                            f"{cfg[f'{name}_shape']}; the store has {shape}: the store does "
                            "not match the model")
    model = build_model(cfg)
    try:
        model.load_state_dict(ck["state_dict"])
    except (RuntimeError, KeyError) as e:
        raise UserError(f"{path}: weights do not fit {PAPER_NAMES[cfg.get('model', 'acp')]} "
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
            p = torch.softmax(rest(h).float(), dim=-1)[..., 1]  # images × segments
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
    """Evaluate a trained run; write ``runs/<run>/report.md``, ``evaluation.json`` and plots."""
    import torch

    from .data import load_data, resolve_device
    from .metrics import cluster_bootstrap, roc_auc, shortcut_baselines, wilson_interval
    from .plots import plot_heatmap
    from .trainer import load_checkpoint, run_dir, score_pairs

    config = config or EvaluateConfig()
    wd = workdir if isinstance(workdir, Workdir) else Workdir(Path(workdir))
    out = run_dir(wd, run)
    dev, retrieval_images = resolve_device(config.device), config.retrieval_images
    cfg = load_checkpoint(out / "model.pt").get("config", {})
    kind = cfg.get("model", "acp") if isinstance(cfg, dict) else "acp"
    data = load_data(wd, dev, kind if kind in PAPER_NAMES else "acp",
                     int(cfg.get("spec_blocks", 60)) if isinstance(cfg, dict) else 60)
    from .split import split_fingerprint
    from .trainer import load_checkpoint

    if load_checkpoint(out / "model.pt").get("split") != split_fingerprint(wd):
        raise UserError(f"run {run} was trained on another split (splits/ changed since it "
                        "was trained): its test pairs could hold training items; train it "
                        "again (--fresh) before evaluating")
    model = load_model(out / "model.pt", data)
    metrics_path = out / "metrics.json"
    from .. import guard

    metrics = (guard.json_object(metrics_path, "a run's metrics")
               if os.path.lexists(metrics_path) else {})
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
    song_of = [data.music.extra["track_id"][i] for i in test.music.tolist()]
    boot = cluster_bootstrap((sc.pred == sc.target).cpu().numpy(), test.image.cpu().numpy(),
                             song_of, seed=seed)
    summary = EvalSummary(run=run, model=data.model, protocol=data.protocol, test_accuracy=acc,
                          ci95=ci, ci95_bootstrap=boot, baselines=baselines, roc_auc=auc,
                          cells=cells)
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
                           all_runs(wd, run, summary, split_fingerprint(wd)))
    atomic.write_text(out / "report.md", report)
    atomic.write_text(out / "evaluation.json",
                      json.dumps(summary.to_dict(), indent=2, sort_keys=True) + "\n")
    summary.outputs = [str(out / n) for n in ("report.md", "evaluation.json", "cells.png")]
    return summary


def _pct(v: float) -> str:
    return "—" if v != v else f"{100 * v:.2f}%"


def all_runs(wd: Workdir, current: str, summary: EvalSummary, split_hash: str
             ) -> list[dict[str, Any]]:
    """Every trained run of the work directory (``runs/*/metrics.json``): name, model,
    test accuracy and its 95% Wilson interval (this evaluation's numbers for ``current``),
    and ``apart``: why it is not comparable with this evaluation (trained on another split
    or under another pair protocol), empty when it is."""
    from .. import guard
    from .metrics import wilson_interval

    rows = []
    for path in sorted(T.RUNS.at(wd.root).glob("*/metrics.json")):
        try:
            m = guard.json_object(path, "a run's metrics")
            acc, kind = guard.finite(m["test_accuracy"], "", lo=0, hi=1), \
                str(m.get("model", "acp"))
            n = int(m.get("pairs", {}).get("test", 0))
        except (ValueError, KeyError, TypeError, AttributeError, OverflowError, UserError):
            continue  # a damaged or foreign file is not a run
        if kind not in PAPER_NAMES:
            continue
        name = path.parent.name
        apart = ""
        if name == current:
            acc, kind, ci = summary.test_accuracy, summary.model, summary.ci95
        else:
            ci = wilson_interval(round(acc * n), n)
            if m.get("split_sha256") != split_hash:
                apart = "trained and scored on another split (splits/ changed since)"
            elif m.get("protocol", "paper") != summary.protocol:
                apart = f"trained under the {m.get('protocol', 'paper')} pair protocol"
        rows.append({"run": name, "model": kind, "test_accuracy": acc, "ci95": ci,
                     "apart": apart})
    return rows


def render_report(s: EvalSummary, counts: list[list[int]], n: int,
                  metrics: dict[str, Any], runs: list[dict[str, Any]]) -> str:
    b = s.baselines
    L = [f"# Evaluation of run `{s.run}` ({PAPER_NAMES[s.model]})", ""]
    L.append(f"Test pairs: {n}, pair protocol `{s.protocol}` "
             + ("(every single-modality rule scores 50%)" if s.protocol == "balanced" else
                "(the paper's reading: half true, but the classes' proportions give "
                "single-modality rules more than 50%; see the baselines)")
             + f". Best epoch {metrics.get('best_epoch', '?')} of "
             f"{metrics.get('epochs', '?')}; seed {metrics.get('seed', '?')}; recipe "
             f"{(metrics.get('config') or {}).get('recipe', 'paper')}.")
    L += ["", f"Test accuracy {_pct(s.test_accuracy)}: 95% interval {_pct(s.ci95_bootstrap[0])}–"
          f"{_pct(s.ci95_bootstrap[1])} by a two-way cluster bootstrap over test songs and "
          f"test images (each image and song appears in many pairs); the Wilson interval, "
          f"which treats pairs as independent and is too narrow, is {_pct(s.ci95[0])}–"
          f"{_pct(s.ci95[1])}."]
    L += ["", "## Table 4: affective correspondence accuracy", "",
          "Runs trained on this split and scored on the same fixed test pairs "
          "(`splits/pairs_test.csv`) under the same protocol, beside the paper's figure for "
          "its model and the best rules that see only part of the labels (no model, "
          "computed exactly from the test pairs).", "",
          "| model | run | test accuracy (95% Wilson) | paper |", "|---|---|---|---|"]
    same = [r for r in runs if not r.get("apart")]
    for kind in ("acp", "l3", "spectrogram-acp"):  # the paper's order
        mine = [r for r in same if r["model"] == kind]
        paper = f"{PAPER_TABLE4[PAPER_NAMES[kind]]}%"
        for r in mine:
            this = " (this report)" if r["run"] == s.run else ""
            L.append(f"| {PAPER_NAMES[kind]} | `{r['run']}`{this} | {_pct(r['test_accuracy'])} "
                     f"({_pct(r['ci95'][0])}–{_pct(r['ci95'][1])}) | {paper} |")
        if not mine:
            L.append(f"| {PAPER_NAMES[kind]} | not trained | — | {paper} |")
    L += [f"| music's class only (best rule) | — | {_pct(b['music_class_only'])} | — |",
          f"| image's class only (best rule) | — | {_pct(b['image_class_only'])} | — |",
          f"| class prior (majority target) | — | {_pct(b['class_prior'])} | — |"]
    apart = [r for r in runs if r.get("apart")]
    if apart:
        L += ["", "Not comparable with this table (listed apart):", ""]
        L += [f"- `{r['run']}` ({PAPER_NAMES[r['model']]}, {_pct(r['test_accuracy'])}): "
              f"{r['apart']}" for r in apart]
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
