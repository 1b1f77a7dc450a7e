"""``imac-build doctor``, the yt-dlp options handed on, and missing extras named."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from imac_builder.cli import cli
from imac_builder.doctor import GOOGLE_KEY, run_doctor
from imac_builder.errors import UserError
from imac_builder.ytdlp_access import HIDE_ENV, YtdlpAccess, find_js_runtime

ROOT = Path(__file__).resolve().parent.parent


def deno_path() -> str:
    deno = pytest.importorskip("deno", reason="the deno package (scripts/setup.sh installs it)")
    return deno.find_deno_bin()


def test_runtime_found_with_its_real_version(monkeypatch):
    path = deno_path()
    monkeypatch.delenv(HIDE_ENV, raising=False)
    out = subprocess.run([path, "--version"], capture_output=True, text=True, check=True)
    version = re.match(r"deno (\S+)", out.stdout).group(1)
    rt = find_js_runtime()
    assert rt.found and rt.path == path and rt.version == version
    check = run_doctor(stages=["download"]).check("js_runtime")
    assert check.state == "ok" and f"deno-{version}" in check.detail


def test_runtime_handed_to_ytdlp_by_path(monkeypatch, tmp_path):
    """yt-dlp itself, given our parameters, finds the runtime at the path we pass."""
    yt_dlp = pytest.importorskip("yt_dlp")
    path = deno_path()
    monkeypatch.delenv(HIDE_ENV, raising=False)
    monkeypatch.setenv("PATH", "/nonexistent")  # not found through PATH
    from imac_builder.download.fetch import FetchOptions, ydl_options

    params = ydl_options(tmp_path, FetchOptions(ytdlp_params=YtdlpAccess().params()))
    assert params["js_runtimes"] == {"deno": {"path": path}}
    with yt_dlp.YoutubeDL(params) as ydl:
        info = ydl._js_runtimes["deno"].info
    assert info is not None and info.path == path and info.supported


def test_ytdlp_options_parsed_as_ytdlp_does(tmp_path):
    pytest.importorskip("yt_dlp")
    node = tmp_path / "node"
    access = YtdlpAccess(f"node:{node}", "firefox:work",
                         ("youtube:player_client=default,mweb;po_token=mweb.gvs+TOKEN",
                          "youtubepot-bgutilhttp:base_url=http://127.0.0.1:4416"))
    from imac_builder.ytdlp_access import JsRuntime

    p = access.params(JsRuntime("node", str(node)))
    assert p["js_runtimes"] == {"node": {"path": str(node)}}  # only the runtime named
    assert p["cookiesfrombrowser"] == ("firefox", "work", None, None)
    assert p["extractor_args"] == {
        "youtube": {"player_client": ["default", "mweb"], "po_token": ["mweb.gvs+TOKEN"]},
        "youtubepot-bgutilhttp": {"base_url": ["http://127.0.0.1:4416"]}}
    with pytest.raises(UserError, match="unsupported browser"):
        YtdlpAccess(cookies_from_browser="netscape").params(JsRuntime("deno", None))
    with pytest.raises(UserError, match="deno, node, bun, quickjs"):
        find_js_runtime("rhino:/usr/bin/rhino")


def test_search_backend_gets_the_same_options():
    pytest.importorskip("yt_dlp")
    from imac_builder.search.ytdlp_search import YtdlpBackend

    b = YtdlpBackend(access=YtdlpAccess("deno", "chrome", ("youtube:lang=en",)))
    p = b.ydl_params()
    assert "deno" in p["js_runtimes"] and p["cookiesfrombrowser"][0] == "chrome"
    assert p["extractor_args"] == {"youtube": {"lang": ["en"]}}


def test_hidden_runtime_fails_download_readiness(runner, monkeypatch):
    monkeypatch.setenv(HIDE_ENV, "1")
    result = runner.invoke(cli, ["--json", "doctor", "--for", "download"])
    assert result.exit_code == 1, result.output
    doc = json.loads(result.output)
    assert doc["ok"] is False and "js_runtime" in doc["blocking"]
    assert doc["checks"]["js_runtime"]["state"] == "missing"
    # the same machine is fine for a stage that needs no runtime
    assert runner.invoke(cli, ["doctor", "--for", "tags"]).exit_code == 0
    monkeypatch.delenv(HIDE_ENV)
    bad = runner.invoke(cli, ["doctor", "--for", "download", "--js-runtime",
                              "node:/nonexistent/node"])
    assert bad.exit_code == 1 and "not ready for download: missing" in bad.output
    assert "js_runtime" in bad.output.splitlines()[-1]


def test_secrets_are_checked_never_shown(runner, tmp_path, monkeypatch):
    secret = "SIDvalue-" + os.urandom(8).hex()
    jar = tmp_path / "cookies.txt"
    jar.write_text("# Netscape HTTP Cookie File\n"
                   f".youtube.com\tTRUE\t/\tTRUE\t4102444800\tSID\t{secret}\n"
                   f".youtube.com\tTRUE\t/\tTRUE\t1000000000\tOLD\t{secret}\n"
                   f".example.org\tTRUE\t/\tFALSE\t4102444800\tX\t{secret}\n")
    key = "AIza" + "Sy" + "0123456789abcdefghijklmnopqrstuvw"
    assert GOOGLE_KEY.match(key)
    monkeypatch.setenv("YOUTUBE_API_KEY", key)
    result = runner.invoke(cli, ["--json", "doctor", "--cookies", str(jar)])
    assert secret not in result.output and key not in result.output
    checks = json.loads(result.output)["checks"]
    assert checks["cookies"]["state"] == "ok"
    assert "2 youtube.com cookies, 1 unexpired" in checks["cookies"]["detail"]
    assert checks["api_key"]["state"] == "ok" and "well-formed" in checks["api_key"]["detail"]
    monkeypatch.setenv("YOUTUBE_API_KEY", "not-a-key")
    other = tmp_path / "other.txt"
    other.write_text("# Netscape HTTP Cookie File\n"
                     f".example.org\tTRUE\t/\tFALSE\t4102444800\tX\t{secret}\n")
    report = run_doctor(stages=["download"], cookies=other)
    assert report.check("api_key").state == "warn"
    assert report.check("cookies").state == "missing" and "cookies" in report.blocking
    assert secret not in json.dumps(report.to_dict()) + "\n".join(report.lines())


def test_ffmpeg_decoders_and_disk(tmp_path):
    if shutil.which("ffmpeg") is None:
        pytest.skip("needs ffmpeg (scripts/setup.sh installs it)")
    w = tmp_path / "w"
    (w / "search").mkdir(parents=True)
    (w / "download").mkdir()
    header = "track_id,video_id,url,video_title,channel_title,video_duration,score,status," \
             "reason\n"
    body = "".join(f"TR{i:016d},v{i},http://x/{i},t,c,200,90,matched,ok\n" for i in range(3))
    (w / "search/matches.csv").write_text(header + body + "TRX,,,,,,,no_match,none\n")
    (w / "download/ledger.csv").write_text(
        "track_id,video_id,url,status,reason,attempts,last_attempt,n_segments\n"
        f"TR{0:016d},v0,http://x/0,ok,,1,t,3\nTR{1:016d},v1,http://x/1,network,r,1,t,0\n")
    report = run_doctor(w, stages=["download"])
    assert report.check("decoders").state == "ok"
    listing = subprocess.run([shutil.which("ffmpeg"), "-hide_banner", "-version"],
                             capture_output=True, text=True).stdout
    assert report.check("ffmpeg").detail.split()[0] == listing.split()[2]
    assert "the 2 matched songs left to download" in report.check("disk").detail


def test_status_points_to_doctor(runner, tmp_path):
    (tmp_path / "w").mkdir()
    out = runner.invoke(cli, ["--workdir", str(tmp_path / "w"), "status"]).output
    assert out.splitlines()[-1] == (f"is this machine ready? imac-build --workdir "
                                    f"{tmp_path / 'w'} doctor --for tags")


def test_missing_dependencies_named_with_their_extras(monkeypatch):
    from imac_builder.extras import require

    for name in ("PIL", "soundfile", "torch"):
        monkeypatch.setitem(sys.modules, name, None)
    with pytest.raises(UserError) as e:
        require("demo")
    assert str(e.value) == ("demo needs Pillow, soundfile, torch: pip install -e "
                            "'.[images,audio]' (or '.[all]') and a CPU torch from 'bash "
                            "scripts/setup.sh'; 'bash scripts/setup.sh' installs everything")


def test_missing_optional_dependency_is_one_line(tmp_path):
    """As after ``pip install .`` without extras: PIL cannot be imported (a ``None`` in
    ``sys.modules`` makes ``import PIL`` raise ModuleNotFoundError, as when absent)."""
    code = ("import sys; sys.modules['PIL'] = None; "
            "from imac_builder.cli import main; sys.argv[0] = 'imac-build'; main()")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    p = subprocess.run([sys.executable, "-c", code, "--workdir", str(tmp_path / "d"), "demo",
                        "--small"], capture_output=True, text=True, env=env, timeout=300)
    assert p.returncode == 1
    lines = [ln for ln in (p.stdout + p.stderr).splitlines() if ln.strip()]
    assert lines == ["Error: demo needs Pillow: pip install -e '.[images]' (or '.[all]'); "
                     "'bash scripts/setup.sh' installs everything"], lines


def _torch_cuda() -> bool:
    torch = pytest.importorskip("torch")
    return torch.cuda.is_available()


def test_features_on_cuda_needs_a_gpu_and_torchvision(runner, tmp_path):
    """On a machine without a GPU, --device cuda is not ready; the CPU is."""
    if _torch_cuda():
        pytest.skip("a GPU is visible: this test is for a machine without one")
    res = runner.invoke(cli, ["--workdir", str(tmp_path / "w"), "doctor", "--for", "features",
                              "--device", "cuda"])
    assert res.exit_code == 1, res.output
    cuda = next(ln for ln in res.output.splitlines() if ln.split()[1:2] == ["cuda"])
    assert cuda.startswith("missing") and "CUDA unavailable" in cuda
    assert "not ready for features: missing cuda" in res.output
    report = run_doctor(tmp_path / "w", ["features"], device="cuda")
    tv = report.check("torchvision")
    import importlib.util

    if importlib.util.find_spec("torchvision") is None:
        assert tv.state == "missing" and "torchvision" in report.blocking
    assert report.check("cuda").needed_by == ["features", "train"]

    # the same machine on the CPU: the GPU checks are advice, not needs
    cpu = run_doctor(tmp_path / "w", ["features"])
    assert cpu.check("cuda").state == "warn" and cpu.check("cuda").needed_by == []
    if cpu.ok:
        res = runner.invoke(cli, ["--workdir", str(tmp_path / "w"), "doctor", "--for",
                                  "features"])
        assert res.exit_code == 0 and "ready for features" in res.output
    else:  # a missing CPU need (ffmpeg, a package, the weights) is named
        assert set(cpu.blocking) <= {"ffmpeg", "packages", "inception", "torch", "disk"}


def test_doctor_device_choice_is_checked(runner, tmp_path):
    res = runner.invoke(cli, ["--workdir", str(tmp_path / "w"), "doctor", "--device", "tpu"])
    assert res.exit_code == 2 and "Traceback" not in res.output
    with pytest.raises(UserError, match="choose among cpu, cuda"):
        run_doctor(tmp_path, device="tpu")


def test_a_package_only_some_options_use_is_not_reported_missing(monkeypatch):
    """dask (features --executor dask) is in no extra setup.sh installs: a fresh set-up
    must not look broken; a package a stage imports stays "missing"."""
    import importlib.util

    from imac_builder.doctor import check_modules

    real = importlib.util.find_spec
    gone = {"dask", "distributed"}
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name in gone else real(name, *a))
    c = check_modules()
    assert c.state == "ok" and "dask, distributed" in c.detail and "[dask]" in c.detail
    gone.add("librosa")
    c = check_modules()
    assert c.state == "missing" and "features" in c.needed_by
    # the default search backend's client and the default JS runtime are needed too
    gone.clear()
    gone.add("googleapiclient")
    c = check_modules()
    assert c.state == "missing" and c.needed_by == ["search"]
