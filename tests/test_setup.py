"""The README's first command on a stock system Python (PEP 668 marker), in a fresh clone.

``bash scripts/setup.sh`` runs with ``env -i PATH=/usr/bin:/bin`` so that ``python3`` is
the system's ``/usr/bin/python3`` (Debian 12's carries ``EXTERNALLY-MANAGED``): the set-up
must make ``.venv`` and install there. Then yt-dlp in that environment must report its
JavaScript runtime, ``doctor`` must agree (and fail ``--for download`` with the runtime
hidden), and the demo must run. It checks the committed state (a clone), as CI does.

It takes 6-10 minutes on a 2-core machine (the set-up alone 3.5 with a warm pip cache),
too long for every ``pytest -q`` on a laptop: it runs in CI (``CI=true``, which
``.ci/run``'s caller sets) and when ``IMAC_SETUP_TEST=1`` is set
(``IMAC_SETUP_TEST=1 .venv/bin/python -m pytest -q tests/test_setup.py``). Packages
come from the index pip is configured for (the ``PIP_*`` variables and the ``$HOME`` pip
configuration are kept).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SYSTEM_PYTHON = Path("/usr/bin/python3")


def _stock_python() -> bool:
    if not SYSTEM_PYTHON.is_file():
        return False
    out = subprocess.run([str(SYSTEM_PYTHON), "-c",
                          "import sysconfig; print(sysconfig.get_path('stdlib'))"],
                         capture_output=True, text=True)
    return out.returncode == 0 and Path(out.stdout.strip(), "EXTERNALLY-MANAGED").is_file()


@pytest.mark.slow
@pytest.mark.skipif(os.environ.get("IMAC_SETUP_TEST") != "1"
                    and os.environ.get("CI", "").lower() != "true",
                    reason="6-10 min: runs in CI (CI=true) or with IMAC_SETUP_TEST=1")
def test_setup_on_the_system_python_then_demo(tmp_path):
    if not _stock_python():
        pytest.skip("needs a system /usr/bin/python3 with the PEP 668 marker")
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("needs git and a git checkout to clone")
    if subprocess.run(["dpkg", "-s", "ffmpeg"], capture_output=True).returncode != 0 \
            and os.geteuid() != 0 and shutil.which("sudo") is None:
        pytest.skip("ffmpeg is not installed and apt cannot be run here")
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
    env = {"PATH": "/usr/bin:/bin", "HOME": os.environ.get("HOME", str(tmp_path)),
           "LANG": "C.UTF-8",
           **{k: v for k, v in os.environ.items() if k.startswith("PIP_")}}
    setup = subprocess.run(["bash", "scripts/setup.sh"], cwd=clone, env=env,
                           capture_output=True, text=True, timeout=1200)
    assert setup.returncode == 0, setup.stderr[-3000:]
    assert "externally-managed-environment" not in setup.stderr
    venv = clone / ".venv"
    py = venv / "bin" / "python"
    base = subprocess.run([str(py), "-c", "import sys; print(sys.base_prefix, sys.prefix)"],
                          capture_output=True, text=True, check=True).stdout.split()
    assert base == ["/usr", str(venv)]
    # nothing went into the system Python
    assert subprocess.run([str(SYSTEM_PYTHON), "-c", "import imac_builder"], env=env,
                          cwd=tmp_path, capture_output=True).returncode != 0

    ytdlp = subprocess.run([str(py), "-m", "yt_dlp", "-v"], cwd=clone, env=env,
                           capture_output=True, text=True, timeout=120)
    runtimes = [ln for ln in ytdlp.stderr.splitlines() if "JS runtimes:" in ln]
    assert runtimes and "JS runtimes: none" not in runtimes[0], ytdlp.stderr[-2000:]
    assert "deno-" in runtimes[0]
    version = runtimes[0].split("deno-", 1)[1].split()[0].rstrip(",")

    imac = [str(venv / "bin" / "imac-build")]
    doc = subprocess.run(imac + ["--json", "doctor", "--for", "download"], cwd=clone,
                         env=env, capture_output=True, text=True, timeout=300)
    assert doc.returncode == 0, doc.stdout + doc.stderr
    checks = json.loads(doc.stdout)["checks"]
    assert checks["js_runtime"]["state"] == "ok"
    assert f"deno-{version}" in checks["js_runtime"]["detail"]
    assert str(venv / "bin" / "deno") in checks["js_runtime"]["detail"]
    hidden = subprocess.run(imac + ["--json", "doctor", "--for", "download"], cwd=clone,
                            env={**env, "IMAC_HIDE_JS_RUNTIME": "1"}, capture_output=True,
                            text=True, timeout=300)
    assert hidden.returncode == 1 and "js_runtime" in json.loads(hidden.stdout)["blocking"]

    demo = subprocess.run(imac + ["--workdir", "imac-demo", "demo", "--small"], cwd=clone,
                          env=env, capture_output=True, text=True, timeout=900)
    assert demo.returncode == 0, demo.stdout[-2000:] + demo.stderr[-2000:]
    assert "Traceback" not in demo.stdout + demo.stderr
    assert "not a result" in demo.stdout
