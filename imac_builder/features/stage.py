"""``run_features``: segments and images to ``features/music.h5`` and ``features/images.h5``.

Flow per modality: read the input table, build the configuration (extractor, engine or
weights, parameters, library versions) and its hash, cut the items into shards, run the
shards that have no part file yet (in this process, a local process pool, or a Dask
cluster), then combine the parts into the store in one atomic write, with the failures
in ``features/<modality>_failures.csv``.

Rerun rules: same configuration and same inputs as the existing store: nothing to do.
Same configuration, new inputs: only shards whose items changed are computed. Another
configuration (store or unfinished parts): refused unless ``force``, which discards the
modality's previous parts and rebuilds.
"""

from __future__ import annotations

import json
import logging
import math
import os
import shutil
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .. import __version__, atomic, tables
from ..config import FeaturesConfig, config_hash
from ..cores import available_cores, resolve_jobs
from ..errors import UserError
from ..guard import printable
from ..stopping import stop_workers
from ..workdir import Workdir
from . import music
from .inputs import image_items, music_items
from .registry import EXECUTORS, music_engine
from .shards import Item, ShardResult, ShardTask, items_hash, plan, read_part, run_shard
from .store import MODALITIES, FeatureStore, write_store
from .summary import ModalitySummary

log = logging.getLogger(__name__)

SHARD_SIZE = {"music": 32, "music_torch": 256, "images": 256}


@dataclass
class BuildOptions:
    """What every extractor's builder is given (``features/registry.py``)."""

    device: str = "cpu"
    jobs: int = 1
    execute: Executor = field(default_factory=lambda: Executor())
    engine: str | None = None
    weights: str = "fid-helper"
    image_root: Path | None = None
    force: bool = False
    shard_size: int | None = None
    batch_size: int = 32
    progress: bool = True


@dataclass
class FeaturesSummary:
    modalities: list[ModalitySummary] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)

    def lines(self) -> list[str]:
        out = []
        for m in self.modalities:
            if m.unchanged:
                out.append(f"{m.modality}: {m.output} is up to date ({m.rows} rows); "
                           "nothing to do")
                continue
            why = ", ".join(f"{n} {r}" for r, n in sorted(m.failed_reasons.items()))
            out.append(f"{m.modality}: {m.items} items in {m.shards} shards "
                       f"({m.shards_reused} reused, {m.shards_run} computed) in "
                       f"{m.seconds:.1f} s; {m.rows} rows"
                       + (f"; {m.failed} failed ({why})" if m.failed else ""))
            if m.output:
                out.append(f"wrote {m.output}")
            if m.failed:
                out.append("failures listed in "
                           f"{tables.store_failures(Path(m.output).parent.parent, m.modality)}")
        return out


# --------------------------------------------------------------------------- config

def music_config(engine: str, device: str) -> dict[str, Any]:
    music_engine(engine)  # refuses unknown engines
    if engine == "torch" and device.startswith("cuda"):
        import torch

        if not torch.cuda.is_available():
            raise UserError("--device cuda: no CUDA device is visible to torch")
    return {"modality": "music", "extractor": "librosa-recipe (spec 5), 10 s windows, 5 s hop",
            "engine": engine, "params": music.PARAMS,
            # reference and fast run on the CPU; torch's last bits depend on its device
            "device": device if engine == "torch" else "cpu",
            "librosa": music.library_versions().get("librosa", "")}


def image_config(model: Any, device: str) -> dict[str, Any]:
    from . import images

    return {"modality": "images", "extractor": "inception_v3 pooled 2048-d",
            "size": images.SIZE, "resize": "torch bilinear antialias", "device": device,
            "precision": "bf16" if device.startswith("cuda") else "fp32",
            **model.describe()}


# --------------------------------------------------------------------------- executors

@contextmanager
def _env(**values: str) -> Iterator[None]:
    old = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


@dataclass(frozen=True)
class Executor:
    """Runs shard tasks: a local process pool of ``jobs`` workers, or an existing Dask
    cluster at ``scheduler``. Calling it yields each result (or the task and its
    exception) as it finishes."""

    kind: str = "local"
    jobs: int = 1
    scheduler: str | None = None

    def __call__(self, tasks: list[ShardTask]
                 ) -> Iterator[ShardResult | tuple[ShardTask, BaseException]]:
        return _execute(tasks, self.kind, self.jobs, self.scheduler)


def _warm_up(tasks: list[ShardTask]) -> None:
    """Before workers start on music: compile librosa's numba kernels here, once
    (:func:`.music.warm_up`; numba issue #10128)."""
    if any(t.modality == "music" for t in tasks):
        from .music import warm_up

        warm_up()


def _execute(tasks: list[ShardTask], executor: str, jobs: int, scheduler: str | None
             ) -> Iterator[ShardResult | tuple[ShardTask, BaseException]]:
    """Run shards; yield each result (or the task and its exception) as it finishes."""
    if executor == "dask":
        try:
            from distributed import Client, as_completed
        except ImportError:
            raise UserError("--executor dask needs the dask extra: pip install "
                            "'imac_builder[dask]'") from None
        if not scheduler:
            raise UserError("--executor dask needs --scheduler ADDRESS (tcp://host:8786)")
        try:
            client = Client(scheduler, timeout="20s")
        except (OSError, TimeoutError) as e:
            raise UserError(f"cannot reach the Dask scheduler at {scheduler} ({e})") from None
        with client:
            _warm_up(tasks)
            futures = {client.submit(run_shard, t, pure=False, key=f"imac-features-{t.name}"):
                       t for t in tasks}
            for fut in as_completed(futures):
                try:
                    yield fut.result()
                except Exception as e:
                    yield futures[fut], e
        return
    assert executor in EXECUTORS, executor  # FeaturesConfig refuses any other
    if jobs <= 1 or len(tasks) <= 1:
        for t in tasks:
            try:
                yield run_shard(t)
            except Exception as e:
                yield t, e
        return
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    _warm_up(tasks)
    threads = str(max(1, available_cores() // jobs))
    with _env(OMP_NUM_THREADS=threads, OPENBLAS_NUM_THREADS=threads, MKL_NUM_THREADS=threads):
        ex = ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("spawn"))
        try:
            futs = {ex.submit(run_shard, t): t for t in tasks}
            for fut in as_completed(futs):
                try:
                    yield fut.result()
                except Exception as e:
                    yield futs[fut], e
        except BaseException:  # Ctrl-C, SIGTERM, a failure: no worker may write on
            ex.shutdown(wait=False, cancel_futures=True)
            stop_workers()
            raise
        ex.shutdown(wait=True)


# --------------------------------------------------------------------------- one modality

def _store_state(path: Path) -> dict[str, Any] | None:
    if not path.is_file():
        return None
    try:
        return FeatureStore.open(path).attrs
    except UserError:
        return None


def _run_modality(wd: Workdir, modality: str, items: list[Item], root: Path,
                  config: dict[str, Any], settings: dict[str, Any], execute: Executor,
                  force: bool, shard_size: int, versions: dict[str, str],
                  progress: bool) -> ModalitySummary:
    out_dir = wd.stage("features")
    atomic.remove_stale_temporaries(out_dir)
    target = tables.STORES[modality].at(wd.root)
    chash = config_hash(config)
    ihash = items_hash(sorted(items, key=lambda it: it.id))
    summary = ModalitySummary(modality, items=len(items), output=str(target),
                              config_hash=chash)
    parts_root = out_dir / "parts"
    mine = parts_root / f"{modality}-{chash[:16]}"
    others = [p for p in parts_root.glob(f"{modality}-*") if p != mine and p.is_dir()]
    state = _store_state(target)
    if force:
        for p in [*others, mine]:
            shutil.rmtree(p, ignore_errors=True)
    else:
        if state is not None and state.get("config_hash") != chash:
            raise UserError(f"{target} was built with another configuration "
                            f"({_config_diff(state.get('config'), config)}); rerun with "
                            "--force to rebuild it")
        if others:
            raise UserError(f"unfinished {modality} parts of another configuration are in "
                            f"{others[0]}; rerun with --force to discard them")
        if state is not None and state.get("input_hash") == ihash:
            summary.unchanged = True
            summary.rows = int(state.get("n_rows", 0))
            return summary

    t0 = time.perf_counter()
    mine.mkdir(parents=True, exist_ok=True)
    atomic.write_text(mine / "config.json", json.dumps(config, indent=2, sort_keys=True) + "\n")
    atomic.remove_stale_temporaries(mine)
    shards = plan(items, shard_size)
    summary.shards = len(shards)
    todo = [(name, chunk) for name, chunk in shards if not (mine / f"{name}.h5").is_file()]
    summary.shards_reused = len(shards) - len(todo)
    if "threads" in settings and execute.kind == "local":
        # the cores are shared by the workers that actually run: one shard alone gets all
        busy = max(1, min(execute.jobs, len(todo)))
        settings = {**settings, "threads": max(1, available_cores() // busy)}
    tasks = [ShardTask(modality, name, chunk, str(root), str(mine / f"{name}.h5"), settings)
             for name, chunk in todo]
    wanted = {f"{name}.h5" for name, _ in shards}
    for stale in mine.glob("*.h5"):
        if stale.name not in wanted:
            stale.unlink()  # parts of items no longer in the input table

    errors: list[str] = []
    from tqdm import tqdm

    sizes = {t.name: len(t.items) for t in tasks}
    with tqdm(total=sum(sizes.values()), unit=" " + ("segment" if modality == "music"
                                                      else "image"),
              desc=f"features {modality}", disable=not progress) as bar:
        for res in execute(tasks):
            if isinstance(res, ShardResult):
                summary.shards_run += 1
                bar.update(sizes.get(res.name, 0))
            else:
                task, exc = res
                summary.shards_failed += 1
                errors.append(f"{task.name}: {type(exc).__name__}: {exc}")
                log.error("shard %s failed: %r", task.name, exc)
                bar.update(sizes.get(task.name, 0))
    summary.seconds = time.perf_counter() - t0
    if errors:
        raise UserError(f"{len(errors)} {modality} shard(s) failed (first: {errors[0]}); "
                        "finished shards are kept: run the same command again to retry")
    _combine(target, modality, [mine / f"{name}.h5" for name, _ in shards], config, chash,
             ihash, versions, summary)
    return summary


def _config_diff(old: Any, new: dict[str, Any]) -> str:
    if not isinstance(old, dict):
        return "unknown before"
    keys = sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))
    return ", ".join(f"{k}: {old.get(k)!r} -> {new.get(k)!r}" for k in keys[:3]) or "same keys"


def _combine(target: Path, modality: str, parts: list[Path], config: dict[str, Any],
             chash: str, ihash: str, versions: dict[str, str],
             summary: ModalitySummary) -> None:
    """Concatenate the finished parts into the store (one atomic write)."""
    id_name, (extra_name,) = MODALITIES[modality]
    feats, ids, labels, extra = [], [], [], []
    failures: list[tuple[str, str, str]] = []
    for p in parts:
        store, fails = read_part(p)
        feats.append(store.features)
        ids += store.ids
        labels += store.labels
        extra += store.extra[extra_name]
        failures += fails
    dims = music.N_FEATURES if modality == "music" else 2048
    matrix = np.concatenate(feats) if feats else np.zeros((0, dims), np.float32)
    if modality == "music":
        columns = music.column_names()
    else:
        columns = [f"inception_{i:04d}" for i in range(dims)]
    attrs: dict[str, Any] = {
        "columns": columns, "config": config, "config_hash": chash, "input_hash": ihash,
        "extractor": config["extractor"], "versions": versions,
        "imac_builder": __version__, "n_failed": len(failures),
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    if modality == "music":
        attrs.update(engine=config["engine"], params=config["params"],
                     groups=[f"{g}:{n}" for g, n in music.GROUPS])
    else:
        attrs.update(weights=config["weights"], weights_sha256=config["weights_sha256"],
                     image_size=config["size"])
    write_store(target, matrix, ids, labels, {extra_name: extra}, attrs,
                modality=modality, id_name=id_name)
    tables.write_table(target.parent.parent, tables.failures_table(modality), sorted(failures))
    summary.rows = len(ids)
    summary.failed = len(failures)
    summary.failed_reasons = dict(Counter(r for _, r, _ in failures))


# --------------------------------------------------------------------------- entry point

def run_features(workdir: Workdir | Path, *, config: FeaturesConfig | None = None,
                 scheduler: str | None = None, image_root: Path | None = None,
                 force: bool = False, progress: bool = True) -> FeaturesSummary:
    """Compute the music and/or image feature stores (spec §5).

    ``config.jobs``: worker processes; 0 is one per available core, except with a CUDA
    device, where 0 is one process feeding the GPU (it decodes on threads). ``scheduler``
    is the Dask scheduler's address for the ``dask`` executor."""
    from .registry import builder

    c = config or FeaturesConfig()
    modality, device, jobs = c.modality, c.device, c.jobs
    wd = workdir if isinstance(workdir, Workdir) else Workdir(Path(workdir))
    if jobs == 0 and device.startswith("cuda") and modality not in ("spectrograms", "pixels"):
        jobs = 1  # one process feeds the GPU
    jobs = resolve_jobs(jobs)
    opts = BuildOptions(device=device, jobs=jobs, execute=Executor(c.executor, jobs, scheduler),
                        engine=c.engine, weights=c.weights, image_root=image_root, force=force,
                        shard_size=c.shard_size, batch_size=c.batch_size, progress=progress)
    todo = ["music", "images"] if modality == "all" else [modality]
    if "images" in todo:
        opts.image_root = _image_root(wd, image_root)  # fails early, before any music work
    return FeaturesSummary([builder(name)(wd, opts) for name in todo])


def _image_root(wd: Workdir, image_root: Path | None) -> Path:
    if image_root is None and tables.IMAGE_FILES.at(wd.root).is_dir():
        image_root = tables.IMAGE_FILES.at(wd.root)  # the images stage's own default
    if image_root is None:
        raise UserError("--image-root DIR is needed for image features (the folder "
                        "that images/images.csv paths are relative to)")
    if not Path(image_root).is_dir():
        raise UserError(f"--image-root {image_root} is not a folder")
    return Path(image_root)


def _some_image_under(root: Path, items: list[Item]) -> None:
    """Refuse an image folder that holds none of the images (a mistyped --image-root would
    otherwise give an empty store, every image "missing"), and an image table that lists
    none (it would replace the store with an empty one)."""
    from .shards import FeatureError, safe_path

    if not items:
        raise UserError("images/images.csv lists no usable image (status ok): nothing to "
                        "compute; the image store is left as it is (run the images stage)")
    for it in items:
        try:
            if safe_path(root, it.path).is_file():
                return
        except (FeatureError, OSError):
            continue
    raise UserError(f"the image folder {printable(str(root))} holds none of the "
                    f"{len(items)} images of images/images.csv at their paths (inside the "
                    "folder, not through links out of it): give --image-root the folder "
                    "the images stage read")


def fitted_shard_size(default: int, n: int, jobs: int, executor: str) -> int:
    """Shards small enough that every local worker gets one: a run of fewer items than
    ``jobs`` shards of ``default`` (the demo's 30 segments) would otherwise be one shard
    on one core. Real runs (thousands of segments) keep ``default``."""
    if executor != "local" or jobs <= 1 or n <= 0:
        return default
    return max(1, min(default, math.ceil(n / jobs)))


def build_music(wd: Workdir, opts: BuildOptions) -> ModalitySummary:
    """``features/music.h5``: the 193-d vector of every segment (spec §5)."""
    eng = FeaturesConfig(engine=opts.engine, device=opts.device).music_engine()
    config = music_config(eng, opts.device)
    settings = {"engine": eng, "device": opts.device}
    items = music_items(wd)
    size = opts.shard_size or (SHARD_SIZE["music_torch"] if eng == "torch"
                               else fitted_shard_size(SHARD_SIZE["music"], len(items),
                                                      opts.jobs, opts.execute.kind))
    return _run_modality(wd, "music", items, wd.root, config, settings,
                         opts.execute, opts.force, size, music.library_versions(),
                         opts.progress)


def build_images(wd: Workdir, opts: BuildOptions) -> ModalitySummary:
    """``features/images.h5``: the 2048-d Inception-v3 vector of every usable image."""
    from . import images
    from .shards import image_model

    root = _image_root(wd, opts.image_root)
    items = image_items(wd)
    _some_image_under(root, items)
    model = image_model(opts.weights, opts.device)  # fails early, with a clear message
    config = image_config(model, opts.device)
    settings = {"weights": opts.weights, "device": opts.device,
                "batch_size": opts.batch_size,
                "threads": max(1, available_cores() // opts.jobs)}
    return _run_modality(wd, "images", items, root, config, settings,
                         opts.execute, opts.force, opts.shard_size or SHARD_SIZE["images"],
                         images.library_versions(), opts.progress)
