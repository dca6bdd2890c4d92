"""The package is ready for an index: ``python -m build`` gives a wheel and an sdist that hold
what they should and install into a folder that imports and answers ``--version``."""

from __future__ import annotations

import subprocess
import sys
import tarfile
import tomllib
import zipfile
from pathlib import Path

import pytest

import nnscratch as ns

ROOT = Path(__file__).parents[1]

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def dist(tmp_path_factory) -> Path:
    pytest.importorskip("build")
    pytest.importorskip("hatchling")
    out = tmp_path_factory.mktemp("dist")
    # --no-isolation: the build backend (hatchling) is already in the venv; no index needed
    subprocess.run(
        [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out), str(ROOT)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    return out


def test_the_wheel_holds_the_package_and_its_metadata(dist):
    (wheel,) = dist.glob("nnscratch-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    for module in (
        "__init__.py",
        "cli/__init__.py",
        "report/__init__.py",
        "plots/__init__.py",
        "training/health.py",
    ):
        assert f"nnscratch/{module}" in names
    assert not any(n.startswith("tests/") for n in names)
    meta = zipfile.ZipFile(wheel).read(next(n for n in names if n.endswith("METADATA"))).decode()
    assert f"Version: {ns.__version__}" in meta
    assert "Requires-Dist: numpy" in meta
    entry = zipfile.ZipFile(wheel).read(next(n for n in names if n.endswith("entry_points.txt"))).decode()
    assert "nnscratch = nnscratch.cli:main" in entry
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    assert version == ns.__version__


def test_the_sdist_holds_the_sources_and_the_readme(dist):
    (sdist,) = dist.glob("nnscratch-*.tar.gz")
    names = {n.split("/", 1)[1] for n in tarfile.open(sdist).getnames() if "/" in n}
    assert {
        "README.md",
        "pyproject.toml",
        "src/nnscratch/cli/__init__.py",
        "src/nnscratch/engine/module.py",
    } <= names


def test_the_installed_wheel_imports_and_trains(dist, tmp_path):
    (wheel,) = dist.glob("nnscratch-*.whl")
    target = tmp_path / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "-q",
            "--no-deps",
            "--no-index",
            "--target",
            str(target),
            str(wheel),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    smoke = (
        f"import numpy as np, nnscratch as ns; assert ns.__file__.startswith({str(target)!r}); "
        "m = ns.Sequential(ns.Linear(2, 4, rng=0), ns.Tanh(), ns.Linear(4, 1, rng=1), ns.Sigmoid()); "
        "X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]]); y = np.array([0, 1, 1, 0]); "
        "ns.fit(m, X, y, loss=ns.BCELoss(), lr=1.0, epochs=300); print(ns.__version__)"
    )
    env = {"PYTHONPATH": str(target), "PATH": "/usr/bin:/bin"}
    done = subprocess.run([sys.executable, "-c", smoke], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == ns.__version__
