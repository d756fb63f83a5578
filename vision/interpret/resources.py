"""Locating and reading the interpreter's data files (``vision/data/*.json``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

DATA_DIR = Path(__file__).resolve().parent.parent / "data"
GALLERY_DIR = Path(__file__).resolve().parent / "gallery"


def load_json(name: str, data_dir: Path | None = None) -> dict[str, Any]:
    """Read one data file; a missing or malformed file is an error, never an empty table."""
    path = (data_dir or DATA_DIR) / name
    with path.open(encoding="utf-8") as fh:
        value = json.load(fh)
    if not isinstance(value, dict):
        raise ValueError(f"{path}: expected a JSON object at the top level")
    return value
