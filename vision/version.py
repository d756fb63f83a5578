"""Versions recorded in every result's provenance."""

from __future__ import annotations

import subprocess
from functools import cache
from importlib import metadata
from pathlib import Path

LIBRARIES = ("numpy", "opencv-python-headless", "onnxruntime", "pillow", "pillow-heif", "rapidocr")
PIPELINE_VERSION = "11"  # bump when a change alters what the pipeline reads from the same photo


@cache
def library_versions() -> tuple[tuple[str, str], ...]:
    out = []
    for name in LIBRARIES:
        try:
            out.append((name, metadata.version(name)))
        except metadata.PackageNotFoundError:
            out.append((name, "not installed"))
    return tuple(out)


@cache
def code_version() -> str:
    """caliber's version, plus the git commit when running from a checkout."""
    try:
        version = metadata.version("caliber")
    except metadata.PackageNotFoundError:
        version = "0+unknown"
    root = Path(__file__).resolve().parent.parent
    if (root / ".git").exists():
        try:
            commit = subprocess.run(
                ["git", "-C", str(root), "rev-parse", "--short=12", "HEAD"],
                capture_output=True, text=True, timeout=5, check=True,
            ).stdout.strip()
            dirty = subprocess.run(
                ["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
                capture_output=True, text=True, timeout=5, check=True,
            ).stdout.strip()
            return f"{version}+g{commit}{'.dirty' if dirty else ''}"
        except (OSError, subprocess.SubprocessError):
            pass
    return version
