"""Packaging promises: the public API, import boundaries, conda/Binder files, .env.example."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import types
from pathlib import Path

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib
import yaml

import fbfailover
from fbfailover.config import ENV_NAMES

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
HELPERS = ["config", "errors", "keys", "tokens", "validation", "payloads", "client"]


def _isort_key(name: str) -> tuple[int, str]:
    """The order ruff keeps ``__all__`` in: CONSTANTS, then Classes, then everything else."""
    return (0 if name.isupper() else 1 if name[0].isupper() else 2, name)


def _requirement(text: str) -> tuple[str, str]:
    match = re.fullmatch(r"\s*([A-Za-z0-9_.\-]+)\s*(.*?)\s*", text)
    assert match, text
    return match.group(1).lower().replace("_", "-"), match.group(2).replace(" ", "")


def test_all_is_sorted_and_equals_the_public_names():
    assert fbfailover.__all__ == sorted(fbfailover.__all__, key=_isort_key)
    for name in fbfailover.__all__:
        assert getattr(fbfailover, name) is not None
    public = {n for n in dir(fbfailover) if not n.startswith("_")
              and not isinstance(getattr(fbfailover, n), types.ModuleType)}
    assert public | {"__version__"} == set(fbfailover.__all__)


def test_every_public_name_of_the_helper_modules_is_exported():
    import importlib

    for module in HELPERS:
        names = importlib.import_module(f"fbfailover.{module}").__all__
        assert set(names) <= set(fbfailover.__all__), module
        assert names == sorted(names, key=_isort_key), module


def test_version_matches_pyproject():
    assert fbfailover.__version__ == PYPROJECT["project"]["version"]


def test_console_script_points_at_main():
    assert PYPROJECT["project"]["scripts"]["fbfailover"] == "fbfailover.cli:main"


def _modules_after(code: str) -> set[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", code + "\nimport sys; print(' '.join(sys.modules))"],
                          capture_output=True, text=True, env=env, timeout=60, check=True)
    return set(done.stdout.split())


def test_helpers_import_neither_tornado_nor_ipywidgets():
    loaded = _modules_after("\n".join(f"import fbfailover.{m}" for m in HELPERS))
    assert {f"fbfailover.{m}" for m in HELPERS} <= loaded
    assert not {m for m in loaded if m.split(".")[0] in ("tornado", "ipywidgets")}


def test_importing_the_package_is_light():
    loaded = _modules_after("import fbfailover")
    assert not {m for m in loaded if m.split(".")[0] in ("tornado", "ipywidgets", "requests", "cryptography")}


# PyPI name -> conda-forge name, where they differ
CONDA_NAMES: dict[str, str] = {}  # PyPI name -> conda-forge name, where they differ


def test_environment_yml_matches_pyproject_dependencies():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    assert env["channels"] == ["conda-forge"]
    conda = [d for d in env["dependencies"] if isinstance(d, str)]
    assert "python=3.11" in conda
    pypi_names = {conda_name: pypi for pypi, conda_name in CONDA_NAMES.items()}
    runtime = {pypi_names.get(name, name): spec
               for name, spec in (_requirement(d) for d in conda if not d.startswith(("python=", "pip")))}
    assert runtime == dict(_requirement(d) for d in PYPROJECT["project"]["dependencies"])


def test_postbuild_installs_the_package_strictly():
    post = ROOT / "postBuild"
    assert os.access(post, os.X_OK)
    text = post.read_text()
    assert text.startswith("#!/usr/bin/env bash\n")
    assert "set -euo pipefail" in text and "pip install --no-deps -e ." in text


def test_env_example_documents_every_setting_with_a_comment():
    lines = (ROOT / ".env.example").read_text().splitlines()
    names = [names[0] for names in ENV_NAMES.values()] + ["FBFAILOVER_DATA_DIR", "FBFAILOVER_ENV_FILE"]
    for name in names:
        index = next((i for i, line in enumerate(lines) if re.match(rf"#?\s*{name}=", line)), None)
        assert index is not None, f"{name} is missing from .env.example"
        assert lines[index - 1].startswith("# "), f"{name} has no comment line above it"
    assert not any(re.match(r"VONAGE_API_(KEY|SECRET)=\S", line) for line in lines)  # no credentials shipped


def test_local_files_are_ignored_by_git():
    ignored = (ROOT / ".gitignore").read_text().splitlines()
    assert ".env" in ignored and ".fbfailover/" in ignored and "*.key" in ignored


def test_binder_builds_the_conda_environment_and_runs_postbuild():
    # repo2docker writes the Dockerfile Binder would build, without needing a Docker engine.
    repo2docker = Path(sys.executable).with_name("repo2docker")
    done = subprocess.run([str(repo2docker), "--no-build", "--debug", str(ROOT)], capture_output=True, text=True,
                          timeout=120, check=True)
    dockerfile = done.stdout + done.stderr
    assert "environment.yml" in dockerfile
    assert "RUN ./postBuild" in dockerfile
    assert "pip install --no-deps -e ." in (ROOT / "postBuild").read_text()
