"""``imac-build status``: each stage's state in a work directory and what to run next.

States: ``not started``, ``done``, ``partial`` (with counts), ``stale`` (an input changed
since the stage ran: judged by content — ids, recorded input hashes, the split's
fingerprint — not by file times, so a stage that found nothing to do stays ``done``).
"""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from . import guard
from . import tables as T
from .errors import UserError
from .vocab import DONE, NOT_STARTED, PARTIAL, STALE
from .workdir import Workdir, command, quote, read_state


@dataclass
class StageState:
    stage: str
    state: str  # not started | done | partial | stale
    detail: str = ""


@dataclass
class Failure:
    """One song that failed, for ``status --failures``."""

    stage: str
    item: str
    word: str
    reason: str


@dataclass
class StatusSummary:
    workdir: str = ""
    stages: list[StageState] = field(default_factory=list)
    next_step: str = ""
    #: What the work directory remembers (pipeline file, image root).
    remembered: dict[str, str] = field(default_factory=dict)
    #: The plan: what is left and how long it takes (``plan_lines`` says it in words).
    plan: dict[str, float | int | str] = field(default_factory=dict)
    #: stage -> reason word -> songs.
    failures_by_reason: dict[str, dict[str, int]] = field(default_factory=dict)
    failures: list[Failure] = field(default_factory=list)
    overrides: int = 0
    doctor: str = ""

    def to_dict(self) -> dict:
        return asdict(self)

    def plan_lines(self) -> list[str]:
        p = self.plan
        out = []
        if "songs_to_search" in p:
            line = f"  search: {p['songs_to_search']} songs left to search"
            backend = p.get("search_backend", "api")
            if p.get("search_days") is not None:
                line += (f", about {p['search_days']} days at {p['daily_quota']:,} units a "
                         f"day ({p['units_per_song']} units a song, {backend} backend)")
            elif p["songs_to_search"] and backend == "api":
                line += (f" (api backend: the daily quota of {p['daily_quota']:,} units is "
                         f"below one song's {p['units_per_song']}: raise --daily-quota)")
            elif p["songs_to_search"]:
                line += f" ({backend} backend: no quota)"
            out.append(line)
        if "videos_to_download" in p:
            line = f"  download: {p['videos_to_download']} videos left"
            if p.get("download_hours") is not None:
                hours = p["download_hours"]
                took = f"about {hours:g} hours" if hours >= 0.1 else "under 0.1 hours"
                line += f", {took} at {p['rate']:g} videos an hour"
            line += f"; about {p['disk_gb']:g} GB of FLAC segments to come"
            out.append(line)
        return out

    def lines(self, failures: bool = False) -> list[str]:
        out = [f"work directory {self.workdir}"]
        for key, value in self.remembered.items():
            out.append(f"  remembers {key.replace('_', ' ')}: {value}")
        out += [f"  {s.stage:<9} {s.state:<12} {s.detail}" for s in self.stages]
        if self.overrides:
            out.append(f"  {self.overrides} songs decided by hand in search/overrides.csv")
        plan = self.plan_lines()
        if plan:
            out.append("plan:")
            out += plan
        if self.failures_by_reason:
            out.append("failures by reason (status --failures lists them):")
            for stage, words in self.failures_by_reason.items():
                out.append(f"  {stage}: " + ", ".join(f"{n} {w}" for w, n in words.items()))
        if failures:
            out += failure_lines(self.failures)
        out.append(f"next: {self.next_step}")
        if self.doctor:
            out.append(f"is this machine ready? {self.doctor}")
        return out


def failure_lines(failures: list[Failure]) -> list[str]:
    """Every failed song, grouped by reason with that reason's advice (vocab)."""
    from .vocab import DOWNLOAD_STATUSES, SEARCH_REASONS

    out: list[str] = []
    groups: dict[tuple[str, str], list[Failure]] = {}
    for f in failures:
        groups.setdefault((f.stage, f.word), []).append(f)
    for (stage, word), items in groups.items():
        table = DOWNLOAD_STATUSES if stage == "download" else SEARCH_REASONS
        advice = table[word].advice if word in table else "see the reason"
        out.append(f"{stage} {word} ({len(items)}): {advice}")
        out += [f"  {f.item}: {f.reason}" for f in items]
    return out


def _rows(root: Path, table: T.Table) -> list[dict[str, str]]:
    """A table's rows; none when it is absent. A table that is not UTF-8 CSV is one line
    naming it, as for the stage that reads it (a count from half a table would mislead)."""
    try:
        return T.read_table(root, table, required=(), missing_ok=True)
    except OSError:
        return []


def _count(values: list[str]) -> str:
    return ", ".join(f"{n} {k or '?'}" for k, n in sorted(Counter(values).items()))


def _store_ids(path: Path) -> tuple[list[str], str] | None:
    """The ids and recorded input hash of a feature store, without loading its features."""
    try:
        import h5py

        with h5py.File(path, "r") as f:
            id_name = f.attrs.get("id_name", "")
            id_name = id_name.decode() if isinstance(id_name, bytes) else str(id_name)
            ids = [str(v) for v in f[id_name].asstr()[()].tolist()]
            ihash = f.attrs.get("input_hash", "")
            return ids, ihash.decode() if isinstance(ihash, bytes) else str(ihash)
    except Exception:  # noqa: BLE001 - an unreadable store is simply not done
        return None


def _features_state(wd: Workdir, modality: str) -> str | None:
    """``done``/``stale`` for one store, or None when it is absent or unreadable."""
    from .features.inputs import image_items, music_items
    from .features.shards import items_hash

    store = _store_ids(T.STORES[modality].at(wd.root))
    if store is None:
        return None
    try:
        items = music_items(wd) if modality == "music" else image_items(wd)
    except UserError:
        return "stale"
    return "done" if items_hash(sorted(items, key=lambda it: it.id)) == store[1] else "stale"


def _config_changes(root: Path, pipeline: dict[str, dict] | None) -> dict[str, str]:
    """Stages whose recorded configuration differs from the pipeline's, with what changed."""
    from .config import CONFIGS, stage_config

    recorded = read_state(root).get("configs", {})
    out: dict[str, str] = {}
    for name, rec in recorded.items() if isinstance(recorded, dict) else ():
        if name not in CONFIGS or not isinstance(rec, dict):
            continue
        try:
            now = stage_config(name, (pipeline or {}).get(name, {}))
        except UserError:
            continue
        if rec.get("hash") != now.hash():
            old = rec.get("values") if isinstance(rec.get("values"), dict) else {}
            known = {f.name for f in fields(now)}
            try:  # compared as each run resolves its defaults (a key no longer known: none)
                old = type(now).from_dict({k: v for k, v in old.items() if k in known}
                                          ).in_effect() if old else {}
            except UserError:
                pass
            how = {f.name for f in fields(now) if f.metadata.get("how")}
            diff = [f"{k} {old.get(k)!r} -> {v!r}" for k, v in now.in_effect().items()
                    if old.get(k) != v and k not in how]
            if diff or not old:  # only how or where it ran changed: not stale
                out[name] = "configuration changed: " + (", ".join(diff[:3])
                                                          or "see workdir.json")
    return out


def workdir_status(workdir: Workdir | Path, progress: bool = True,
                   pipeline: dict[str, dict] | None = None,
                   pipeline_path: Path | None = None) -> StatusSummary:
    """Read the work directory's tables (nothing is changed) and judge each stage.

    ``pipeline`` is the pipeline file's tables: a stage that ran with another
    configuration is ``stale``. ``pipeline_path`` is that file when it is not the one
    the work directory remembers: the next command then names it.
    """
    from . import stages

    wd = workdir if isinstance(workdir, Workdir) else Workdir(Path(workdir))
    r = wd.root
    memory = read_state(r)
    remembered = {k: str(memory[k]) for k in ("pipeline", "image_root")
                  if isinstance(memory.get(k), str) and memory[k]}
    cmd = command(r)
    if pipeline_path is not None and str(Path(pipeline_path).resolve()) != remembered.get(
            "pipeline"):
        cmd += f" --config {quote(str(pipeline_path))}"

    def hint(s: stages.Stage) -> str:
        if "image_root" in remembered:  # features and images use the remembered root
            return s.hint.replace("--image-root IMAGE_EMOTION_DIR", "").strip()
        return s.hint

    commands = {s.name: f"{cmd} {s.name} {hint(s)}".rstrip() for s in stages.STAGES}
    changed = _config_changes(r, pipeline)
    from .subset import describe, recorded

    scope = recorded(r)  # a subset (imac_builder.subset) or the demo's songs
    if scope is not None:  # the rest is out of scope
        remembered["subset"] = describe(r)
    rebuilt = memory.get("rebuilt_from") if isinstance(memory.get("rebuilt_from"), dict) \
        else None
    seen = Seen(wd, r, _rows(r, T.SONGS), _rows(r, T.MATCHES), _rows(r, T.LEDGER),
                memory, pipeline or {}, scope=scope, rebuilt=rebuilt)
    st = [s.judgement()(seen) for s in stages.STAGES if s.judge]
    songs, matches, ledger = seen.in_scope(seen.songs), seen.matches, seen.ledger
    for s in st:
        if s.stage in changed and s.state == DONE:
            s.state = STALE
            s.detail = "; ".join(x for x in (s.detail, changed[s.stage]) if x)
    summary = StatusSummary(str(r), st, "", remembered)
    _plan(r, memory, pipeline or {}, [] if rebuilt else songs, matches, ledger, summary,
          scope)
    order = {name: i for i, name in enumerate(stages.ORDER)}
    st.sort(key=lambda s: order.get(s.stage, len(order)))
    nxt = next((s for s in st if s.state != DONE), None)
    if memory.get("demo") and (nxt is None or nxt.stage in ("search", "download")):
        nxt = None  # the demo's songs are generated: no search or download on them
    if nxt is None:
        released = _releases(r, memory)
        step = (f"everything is done ({', '.join(released)} released)" if released else
                f"everything is done: {cmd} release --name imac --version X.Y.Z")
    else:
        step = commands[nxt.stage] + (" (its inputs changed since it ran)"
                                      if nxt.state == STALE else "")
    summary.next_step = step
    summary.doctor = f"{cmd} doctor" + (f" --for {nxt.stage}" if nxt is not None else "")
    return summary


@dataclass
class Seen:
    """What the stages' judges read from the work directory (each table once)."""

    wd: Workdir
    root: Path
    songs: list[dict[str, str]]
    matches: list[dict[str, str]]
    ledger: list[dict[str, str]]
    #: What the work directory remembers (``workdir.json``) and the pipeline's tables.
    memory: dict = field(default_factory=dict)
    pipeline: dict = field(default_factory=dict)
    #: Feature stores present (music, images), filled by the features judge.
    stores: list[str] = field(default_factory=list)
    #: The fingerprint of the current split (None: none usable), by the split judge.
    split_hash: str | None = None
    #: run name -> done or stale, by the train judge.
    runs: dict[str, str] = field(default_factory=dict)
    #: The songs in scope: a recorded subset or the demo's (None: every song).
    scope: set[str] | None = None
    #: The release the songs were rebuilt from (``workdir.json`` ``rebuilt_from``).
    rebuilt: dict | None = None

    def in_scope(self, rows: list[dict[str, str]]) -> list[dict[str, str]]:
        """The rows of songs in scope (all of them without a subset)."""
        if self.scope is None:
            return rows
        return [x for x in rows if x.get("track_id") in self.scope]


def judge_tags(seen: Seen) -> StageState:
    r = seen.root
    return StageState("tags", DONE if T.SONGS.at(r).exists() else NOT_STARTED,
                      _count([s.get("label", "") for s in seen.songs]))


def judge_search(seen: Seen) -> StageState:
    exists = T.MATCHES.at(seen.root).exists()
    if seen.rebuilt is not None and exists:
        # the songs and their videos came from a release: nothing is left to search
        return StageState("search", DONE, f"rebuilt from {seen.rebuilt.get('release')} "
                          f"({len(seen.matches)} videos; no search needed)")
    if not exists:
        return StageState("search", NOT_STARTED)
    kinds = []
    for m in seen.in_scope(seen.matches):
        reason = m.get("reason", "")
        kinds.append("not searched" if reason.startswith("not_searched") else
                     "search failed" if reason.startswith("search_failed") else
                     m.get("status", ""))
    new = {s["track_id"] for s in seen.in_scope(seen.songs)} - \
        {m.get("track_id") for m in seen.matches}
    todo = sum(k in ("not searched", "search failed") for k in kinds)
    state = STALE if new else PARTIAL if todo else DONE
    backend = _recorded(seen.memory, seen.pipeline, "search", "backend")
    return StageState("search", state, _count(kinds) +
                      (f"; {len(new)} new songs" if new else "") + f"; backend {backend}")


def judge_download(seen: Seen) -> StageState:
    r = seen.root
    if not T.LEDGER.at(r).exists():
        return StageState("download", NOT_STARTED)
    done = {(x.get("track_id"), x.get("video_id")) for x in seen.ledger}
    want = {(m.get("track_id"), m.get("video_id")) for m in seen.matches
            if m.get("status") == "matched"}
    todo = len(want - done)
    n_seg = len(_rows(r, T.SEGMENTS))
    return StageState("download", PARTIAL if todo else DONE,
                      _count([x.get("status", "") for x in seen.ledger]) +
                      f"; {n_seg} segments" + (f"; {todo} to do" if todo else ""))


def judge_images(seen: Seen) -> StageState:
    images = _rows(seen.root, T.IMAGES)
    return StageState("images", DONE if T.IMAGES.at(seen.root).exists() else NOT_STARTED,
                      _count([i.get("status", "") for i in images]))


def judge_features(seen: Seen) -> StageState:
    feats = {m: _features_state(seen.wd, m) for m in ("music", "images")}
    seen.stores = [m for m, s in feats.items() if s]
    if not seen.stores:
        return StageState("features", NOT_STARTED)
    state = (STALE if STALE in feats.values() else
             DONE if len(seen.stores) == 2 else PARTIAL)
    return StageState("features", state,
                      ", ".join(f"{m}.h5 {s}" for m, s in feats.items() if s))


def judge_split(seen: Seen) -> StageState:
    r = seen.root
    splits = _rows(r, T.SPLITS)
    if not splits:
        return StageState("split", NOT_STARTED)
    assigned = {x.get("item_id") for x in splits}
    stale = any((ids := _store_ids(T.STORES[m].at(r))) and not set(ids[0]) <= assigned
                for m in seen.stores)
    from .train.split import split_fingerprint

    try:
        seen.split_hash = split_fingerprint(seen.wd)
    except Exception:  # noqa: BLE001 - pair lists missing: the split is not usable
        seen.split_hash = None
    return StageState("split", STALE if stale else DONE,
                      _count([x.get("split", "") for x in splits]))


def judge_train(seen: Seen) -> StageState:
    for p in sorted(T.RUNS.at(seen.root).glob("*/metrics.json")):
        metrics = guard.json_object(p, "a run's metrics")
        trained_on = metrics.get("split_sha256")
        seen.runs[p.parent.name] = DONE if trained_on and trained_on == seen.split_hash \
            else STALE
    runs = seen.runs
    return StageState("train", NOT_STARTED if not runs else
                      STALE if STALE in runs.values() else DONE,
                      ", ".join(f"{k} ({v})" for k, v in runs.items()))


def judge_evaluate(seen: Seen) -> StageState:
    evaluated = [n for n in seen.runs if T.run_file(seen.root, n, "report.md").exists()]
    return StageState("evaluate", NOT_STARTED if not evaluated else
                      STALE if any(seen.runs[n] == STALE for n in evaluated) else DONE,
                      ", ".join(evaluated))


def _releases(root: Path, memory: dict) -> list[str]:
    """Releases made of this work directory: those ``release`` recorded (wherever
    ``--out`` put them) and any under ``W/manifests``."""
    found = {p.name for p in (root / "manifests").glob("*") if p.is_dir()
             and not p.name.startswith(".")}
    recorded = memory.get("releases")
    if isinstance(recorded, dict):
        found |= {str(k) for k, v in recorded.items() if Path(str(v)).is_dir()}
    return sorted(found)


def _recorded(state: dict, pipeline: dict, stage: str, key: str) -> object:
    """A setting as the next run will use it: the pipeline file's, else the one the
    stage last ran with, else the configuration's default."""
    from .config import CONFIGS, field_default

    default = next(field_default(f) for f in fields(CONFIGS[stage]) if f.name == key)
    table = pipeline.get(stage) if isinstance(pipeline.get(stage), dict) else {}
    if key in table:
        return table[key]
    values = (state.get("configs") or {}).get(stage, {}).get("values") or {}
    return values.get(key, default) if isinstance(values, dict) else default


def _plan(root: Path, state: dict, pipeline: dict, songs: list[dict[str, str]],
          matches: list[dict[str, str]], ledger: list[dict[str, str]],
          summary: StatusSummary, scope: set[str] | None = None) -> None:
    """What is left, how long it takes at the recorded quota and rate, and what failed."""
    import math

    from .config import SearchConfig
    from .download.inputs import DEFAULT_SECONDS, FLAC_BYTES_PER_SEGMENT
    from .search.quota import COSTS, DEFAULT_DAILY_QUOTA
    from .vocab import DOWNLOAD_STATUSES, SEGMENT_SECONDS

    plan = summary.plan
    if songs:
        by_track = {m.get("track_id"): m for m in matches}
        left = 0
        for s in songs:
            m = by_track.get(s.get("track_id"))
            reason = (m or {}).get("reason", "")
            if m is None or reason.startswith(("not_searched", "search_failed")):
                left += 1
        plan["songs_to_search"] = left
        backend = _recorded(state, pipeline, "search", "backend")
        plan["search_backend"] = str(backend)
        if backend == "api":
            results = guard.finite(_recorded(state, pipeline, "search", "results")
                                   or SearchConfig().results,
                                   f"{root / 'workdir.json'}: search results", lo=1,
                                   hi=500, integer=True)
            units = COSTS["search.list"] * math.ceil(results / 50) + COSTS["videos.list"]
            daily = DEFAULT_DAILY_QUOTA
            if os.path.lexists(T.QUOTA.at(root)):
                from .search.quota import QuotaLedger

                daily = QuotaLedger.load(T.QUOTA.at(root)).recorded_quota or daily
            per_day = daily // units
            plan.update(units_per_song=units, daily_quota=daily,
                        search_days=math.ceil(left / per_day) if per_day else None)
    if scope is not None:
        matches = [m for m in matches if m.get("track_id") in scope]
        ledger = [x for x in ledger if x.get("track_id") in scope]
    if matches:
        done = {(x.get("track_id"), x.get("video_id")) for x in ledger
                if x.get("status") == "ok" or not DOWNLOAD_STATUSES.get(
                    x.get("status", ""), DOWNLOAD_STATUSES["error"]).retryable}
        todo = [m for m in matches if m.get("status") == "matched"
                and (m.get("track_id"), m.get("video_id")) not in done]
        rate = guard.finite(_recorded(state, pipeline, "download", "rate") or 0,
                            f"{root / 'workdir.json'}: download rate", lo=0)
        segments = 0
        for m in todo:
            seconds = guard.finite_or_none(m.get("video_duration")) or DEFAULT_SECONDS
            segments += int(seconds // SEGMENT_SECONDS)
        plan["videos_to_download"] = len(todo)
        plan["rate"] = rate
        plan["download_hours"] = round(len(todo) / rate, 2) if rate else None
        plan["disk_gb"] = round(segments * FLAC_BYTES_PER_SEGMENT / 1e9, 2)
    fails: dict[str, dict[str, int]] = {}
    for m in matches:
        if m.get("status") == "no_match":
            word = m.get("reason", "").split(":", 1)[0].strip() or "?"
            if word in ("not_searched", "skipped"):  # not done yet / a person's decision
                continue
            fails.setdefault("search", {})
            fails["search"][word] = fails["search"].get(word, 0) + 1
            summary.failures.append(Failure("search", m.get("track_id", ""), word,
                                            m.get("reason", "")))
    chosen = {(m.get("track_id"), m.get("video_id")) for m in matches
              if m.get("status") == "matched"}
    for x in ledger:
        word = x.get("status", "")
        if (x.get("track_id"), x.get("video_id")) not in chosen:
            continue  # a video no longer chosen (rematched, or none left: search says why)
        if word and word != "ok":
            fails.setdefault("download", {})
            fails["download"][word] = fails["download"].get(word, 0) + 1
            summary.failures.append(Failure("download", f"{x.get('track_id', '')} "
                                            f"({x.get('video_id', '')})", word,
                                            x.get("reason", "")))
    summary.failures_by_reason = {k: dict(sorted(v.items())) for k, v in fails.items()}
    summary.overrides = sum(1 for x in _rows(root, T.OVERRIDES)  # blank rows decide nothing
                            if x.get("track_id", "").strip())
