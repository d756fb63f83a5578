"""Load any folder with a ``manifest.csv`` (the real-dev format: one row per truth string).

Columns: ``file,source_repo,source_commit,source_path,licence,kind,truth,notes`` and optionally
``method,surface,quad,group``. A row's group is its ``group`` column, else the ``domain=`` value
in its notes (e.g. ``vehicle-vin-plate``), else ``other``.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

MANIFEST_COLUMNS = ("file", "source_repo", "source_commit", "source_path", "licence", "kind", "truth",
                    "notes")
EXTRA_COLUMNS = ("method", "surface", "quad", "group")
HEADSTAMP_GROUPS = frozenset({"headstamp", "ammunition-headstamp"})
SYMBOL_KINDS = frozenset({"proofmark", "symbol"})  # drawn symbols: no text to read
NEGATIVE_KIND = "negative"

_DOMAIN = re.compile(r"(?:^|[;\s])domain=([^;\s]+)")

Point = tuple[float, float]


def domain_of(notes: str) -> str | None:
    m = _DOMAIN.search(notes)
    return m.group(1) if m else None


@dataclass(frozen=True, slots=True)
class TruthRow:
    file: str
    kind: str
    truth: str
    notes: str
    group: str
    method: str = ""
    surface: str = ""
    quad: tuple[Point, ...] | None = None

    @property
    def partial(self) -> bool:
        return "PARTIAL" in self.notes

    @property
    def negative(self) -> bool:
        return self.kind == NEGATIVE_KIND

    @property
    def symbol(self) -> bool:
        return self.kind in SYMBOL_KINDS

    @property
    def headstamp(self) -> bool:
        return self.group in HEADSTAMP_GROUPS or domain_of(self.notes) == "ammunition-headstamp"


@dataclass(frozen=True, slots=True)
class ImageEntry:
    file: str  # as written in the manifest, relative to the dataset folder
    path: Path
    rows: tuple[TruthRow, ...]

    @property
    def group(self) -> str:
        return self.rows[0].group if self.rows else "other"

    @property
    def negative(self) -> bool:
        return bool(self.rows) and all(r.negative for r in self.rows)

    def read_bytes(self) -> bytes:
        return self.path.read_bytes()


@dataclass(frozen=True, slots=True)
class Dataset:
    root: Path
    images: tuple[ImageEntry, ...]

    @property
    def name(self) -> str:
        return self.root.name

    @property
    def rows(self) -> tuple[TruthRow, ...]:
        return tuple(r for im in self.images for r in im.rows)

    def groups(self) -> list[str]:
        seen: dict[str, None] = {}
        for r in self.rows:
            seen.setdefault(r.group, None)
        return list(seen)

    def limit(self, n: int | None) -> Dataset:
        return self if n is None else Dataset(self.root, self.images[: max(0, n)])


def _parse_quad(text: str) -> tuple[Point, ...] | None:
    text = (text or "").strip()
    if not text:
        return None
    pts = json.loads(text)
    return tuple((float(p[0]), float(p[1])) for p in pts)


def row_from_record(rec: Mapping[str, str]) -> TruthRow:
    notes = rec.get("notes") or ""
    group = (rec.get("group") or "").strip() or domain_of(notes) or "other"
    return TruthRow(
        file=rec["file"],
        kind=(rec.get("kind") or "").strip(),
        truth=rec.get("truth") or "",
        notes=notes,
        group=group,
        method=(rec.get("method") or "").strip(),
        surface=(rec.get("surface") or "").strip(),
        quad=_parse_quad(rec.get("quad") or ""),
    )


def load_dataset(root: str | Path) -> Dataset:
    """Read ``root/manifest.csv``; images keep the manifest's order, rows grouped per file."""
    root = Path(root)
    manifest = root / "manifest.csv"
    if not manifest.is_file():
        raise FileNotFoundError(f"no manifest.csv in {root}")
    by_file: dict[str, list[TruthRow]] = {}
    with manifest.open(newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        missing = {"file", "kind", "truth", "notes"} - set(reader.fieldnames or ())
        if missing:
            raise ValueError(f"{manifest}: missing columns {sorted(missing)}")
        for rec in reader:
            row = row_from_record(rec)
            by_file.setdefault(row.file, []).append(row)
    images = tuple(ImageEntry(f, root / f, tuple(rows)) for f, rows in by_file.items())
    return Dataset(root, images)


def write_manifest(path: str | Path, records: Iterable[Mapping[str, str]],
                   extra: tuple[str, ...] = EXTRA_COLUMNS) -> None:
    columns = list(MANIFEST_COLUMNS) + [c for c in extra if c not in MANIFEST_COLUMNS]
    with Path(path).open("w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=columns, extrasaction="ignore")
        w.writeheader()
        for rec in records:
            w.writerow({c: rec.get(c, "") for c in columns})
