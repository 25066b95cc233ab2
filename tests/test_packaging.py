"""What a user and a distribution packager get: the wheel carries every file the
program reads at run time, and the sdist everything needed to build, install and
test it. Built for real, with `python -m build`, once for the module."""

from __future__ import annotations

import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def dist(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    done = subprocess.run([sys.executable, "-m", "build", "--outdir", str(out), str(ROOT)],
                          capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    return out


def test_the_wheel_carries_every_file_read_at_run_time(dist):
    [wheel] = dist.glob("followup-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for needed in ("followup/followup.toml", "followup/followup.service",
                   "followup/store/migrations/env.py", "followup/store/migrations/script.py.mako",
                   "followup/store/migrations/alembic.ini",
                   "followup/store/migrations/versions/0001_initial.py"):
        assert needed in names, f"{needed} is missing from the wheel"
    assert any(name.endswith("licenses/LICENSE") for name in names)


def test_the_sdist_can_be_built_installed_and_tested_from(dist):
    [sdist] = dist.glob("followup-*.tar.gz")
    with tarfile.open(sdist) as archive:
        names = {name.partition("/")[2] for name in archive.getnames()}
    for needed in ("LICENSE", "README.md", "pyproject.toml", "config/followup.toml",
                   "systemd/followup.service", "src/followup/followup.toml",
                   "tests/conftest.py", "tests/support/__init__.py", "tests/support/daemon.py",
                   "tests/reliability/conftest.py", "tests/reliability/faults.py",
                   "tests/test_cli.py"):
        assert needed in names, f"{needed} is missing from the sdist"


def test_the_license_is_mit():
    text = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert text.startswith("MIT License") and "followup developers" in text
