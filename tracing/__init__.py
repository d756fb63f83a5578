"""Tracing lookup: a firearm registry, confusion-aware indexed serial search, trace requests.

- ``tracing.registry.Registry``: storage (SQLAlchemy 2; SQLite under ``CALIBER_DATA_DIR`` or
  PostgreSQL at ``CALIBER_DATABASE_URL``, see ``tracing.settings``), idempotent upserts, search.
- ``tracing.exchange``: CSV / JSON import (column mapping, bad rows by line) and export.
- ``tracing.query``: readings as positions with alternatives (``?`` unknown, ``[8B]`` choices).
- ``tracing.scoring``: the score (OCR confusion costs from ``data/confusions.json``, insertions,
  deletions, NCIC rules, make/model/calibre agreement) and its explanation.
- ``tracing.keys``: the deletion-neighbourhood index that finds every record within the threshold.
- ``tracing.reading`` / ``tracing.request``: from a ``vision.types.Recognition`` to queries and to
  a trace request document (JSON, printable HTML).
- ``tracing.cli``: ``caliber registry import|export|search|migrate|reindex`` and ``caliber trace``.
"""
