"""A firearm record as stored in the registry (the fields of a trace record)."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass
from typing import Any

from tracing.confusions import ConfusionModel
from tracing.normalise import normalise_label, normalise_serial

STATUSES = (
    "stolen",
    "lost",
    "seized",
    "trafficked",
    "registered",
    "recovered",
    "destroyed",
    "deactivated",
    "exported",
    "unknown",
)

FIELDS = (
    "serial",
    "make",
    "model",
    "calibre",
    "type",
    "country",
    "importer",
    "status",
    "source",
    "reference",
    "date",
    "notes",
)


@dataclass(frozen=True, slots=True)
class FirearmRecord:
    serial: str
    make: str | None = None
    model: str | None = None
    calibre: str | None = None
    type: str | None = None
    country: str | None = None
    importer: str | None = None
    status: str = "registered"
    source: str = ""
    reference: str | None = None
    date: dt.date | None = None
    notes: str | None = None
    id: int | None = None

    def identity(self, model: ConfusionModel) -> str:
        """What makes two rows the same record: its reference in a source, else serial + make + model."""
        if self.reference:
            return f"ref|{self.source}|{self.reference}"
        return "|".join(
            ("ser", self.source, normalise_serial(self.serial, model), normalise_label(self.make),
             normalise_label(self.model))
        )

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["date"] = self.date.isoformat() if self.date else None
        return d
