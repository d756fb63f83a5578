"""The lines cache: readings survive the round trip, builds resume, cached lines are interpreted and scored."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import pytest

from benchmarks.datasets import load_dataset, write_manifest
from benchmarks.lines_cache import (
    CachedRead,
    build_cache,
    line_from_dict,
    line_to_dict,
    load_cache,
    score_cache,
)
from benchmarks.scoring import OVERALL
from vision.types import CharChoice, MarkCandidate, MarkKind, Quad, TextLine


def _line(text: str, alts: dict[int, tuple[tuple[str, float], ...]] | None = None) -> TextLine:
    alts = alts or {}
    n = len(text)
    chars = tuple(
        CharChoice(alts.get(i, ((c, 0.97),)), (i / n, (i + 1) / n)) for i, c in enumerate(text)
    )
    quad = Quad.from_points([[1.5, 2.0], [100.25, 2.0], [100.25, 20.0], [1.5, 20.0]])
    return TextLine(text, 0.9123456, quad, chars, variant="polar", angle=180)


def _dataset(tmp_path: Path) -> Path:
    records = [
        {"file": "images/a.jpg", "kind": "serial", "truth": "AB12345", "notes": "", "group": "stamped"},
        {"file": "images/b.jpg", "kind": "serial", "truth": "777123", "notes": "", "group": "stamped"},
        {"file": "images/c.jpg", "kind": "negative", "truth": "", "notes": "", "group": "negative"},
    ]
    (tmp_path / "images").mkdir()
    for r in records:
        (tmp_path / r["file"]).write_bytes(r["file"].encode())
    write_manifest(tmp_path / "manifest.csv", records)
    return tmp_path


def test_line_round_trip_keeps_alternatives_spans_and_geometry() -> None:
    line = _line("AB-7", {3: (("7", 0.61234567), ("1", 0.2), ("T", 0.05))})
    back = line_from_dict(json.loads(json.dumps(line_to_dict(line))))
    assert back == line


def test_build_appends_only_missing_images_and_survives_a_truncated_line(tmp_path: Path) -> None:
    ds = load_dataset(_dataset(tmp_path))
    out = tmp_path / "out" / "cache.jsonl"
    calls: list[bytes] = []

    def reader(data: bytes) -> tuple[tuple[TextLine, ...], str | None]:
        calls.append(data)
        if data.endswith(b"c.jpg"):
            raise RuntimeError("broken")
        return (_line("AB 12345"),), None

    assert build_cache(ds.limit(1), out, reader) == 1
    with out.open("a", encoding="utf-8") as fh:
        fh.write('{"format": 1, "file": "images/b.jp')  # an interrupted write
    assert build_cache(ds, out, reader) == 2
    assert calls == [b"images/a.jpg", b"images/b.jpg", b"images/c.jpg"]
    cache = load_cache(out)
    assert sorted(cache) == ["images/a.jpg", "images/b.jpg", "images/c.jpg"]
    assert cache["images/c.jpg"].error == "RuntimeError: broken"
    assert cache["images/a.jpg"].lines[0].text == "AB 12345"
    assert build_cache(ds, out, reader) == 0  # nothing left to read


def test_score_uses_the_interpreters_ranked_serials(tmp_path: Path) -> None:
    ds = load_dataset(_dataset(tmp_path))
    cache = {
        "images/a.jpg": CachedRead("images/a.jpg", (_line("AB 12345"),)),
        "images/b.jpg": CachedRead("images/b.jpg", (_line("777128"),)),
        "images/c.jpg": CachedRead("images/c.jpg", (_line("HELLO"),)),
    }

    def interpret(lines: Sequence[TextLine]) -> tuple[MarkCandidate, ...]:
        text = lines[0].text.replace(" ", "")
        if text == "HELLO":
            return (MarkCandidate(MarkKind.SERIAL, text, 0.6),)
        alts = tuple((text[:-1] + d, 0.1 - i / 100) for i, d in enumerate("0123456789") if d != text[-1])
        return (MarkCandidate(MarkKind.SERIAL, text, 0.9, alts),)

    result = score_cache(ds, cache, interpret)
    s = result.summaries["stamped"]
    assert (s.serials, s.top1, s.top5) == (2, 1, 2)  # 777123 is the 4th candidate
    overall = result.summaries[OVERALL]
    assert (overall.negatives, overall.false_serials) == (1, 1)
    assert result.predictions["images/b.jpg"].serials[0] == ("777128", 0.9)

    lines_only = score_cache(ds, cache, None).summaries["stamped"]
    assert (lines_only.top1, lines_only.top5) == (1, 1)  # line texts as serials: 777128 is not 777123


def test_missing_images_are_reported_not_scored(tmp_path: Path) -> None:
    ds = load_dataset(_dataset(tmp_path))
    result = score_cache(ds, {"images/a.jpg": CachedRead("images/a.jpg", ())}, None)
    assert result.missing == ("images/b.jpg", "images/c.jpg")
    assert result.summaries[OVERALL].images == 1


def test_extend_grows_cached_lines_from_the_photo(tmp_path: Path) -> None:
    from benchmarks.lines_cache import extend_cache
    from tests.imaging import _font, render_text_image, to_bytes

    font = _font(64)
    img = render_text_image([("ZG 57214", (300, 400), 64)], size=(1600, 900))
    (tmp_path / "images").mkdir()
    (tmp_path / "images" / "a.jpg").write_bytes(to_bytes(img, quality=92))
    write_manifest(tmp_path / "manifest.csv", [
        {"file": "images/a.jpg", "kind": "serial", "truth": "ZG57214", "notes": "", "group": "stamped"}])
    ds = load_dataset(tmp_path)
    x0, x1 = 300 + font.getlength("ZG "), 300 + font.getlength("ZG 57214")
    quad = Quad.from_points([(x0 - 4, 408), (x1 + 4, 408), (x1 + 4, 472), (x0 - 4, 472)])
    n = 5
    chars = tuple(CharChoice(((c, 0.97),), (i / n, (i + 1) / n)) for i, c in enumerate("57214"))
    cache = {"images/a.jpg": CachedRead("images/a.jpg", (TextLine("57214", 0.97, quad, chars),))}
    out = tmp_path / "grown.jsonl"
    grown, lines, _took = extend_cache(ds, cache, out)
    assert (grown, lines) == (1, 1)
    line = load_cache(out)["images/a.jpg"].lines[0]
    assert line.text.replace(" ", "") == "ZG57214"
    assert line.quad.points[0][0] < quad.points[0][0]
    # a setting that allows no new characters leaves the line as it was
    assert extend_cache(ds, cache, tmp_path / "same.jsonl", config="min_p=1.01")[0] == 0


def test_settings_parse_every_kind_of_field() -> None:
    from benchmarks.readers import parse_options

    opts = parse_options("variants=flatten+clahe/invert,variants_as=alternates,variant_below=0.95,"
                         "extend_lines=0,top_k=3")
    assert opts.variants == ("flatten+clahe", "invert")
    assert opts.variants_as == "alternates" and opts.variant_below == 0.95 and opts.top_k == 3
    assert opts.extend_lines is False
    assert parse_options("variants=").variants == ()
    with pytest.raises(KeyError, match="unknown setting"):
        parse_options("no_such=1")
    with pytest.raises(ValueError, match="variants_as"):
        parse_options("variants_as=sideways")
