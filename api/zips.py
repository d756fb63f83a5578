"""Expanding a zip upload safely: no path traversal, no bombs, bounded count and size.

Member names are labels only (nothing is written to disk under them), but a name that tries
to leave its folder is still refused: it marks a hostile or broken archive.
"""

from __future__ import annotations

import io
import re
import zipfile

from api.problems import Problem, ProblemCode

ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")
_DRIVE = re.compile(r"^[A-Za-z]:")
_CHUNK = 1 << 16


def is_zip(data: bytes) -> bool:
    return data[:4] in ZIP_MAGIC


def unsafe_name(name: str) -> bool:
    if not name or "\x00" in name or name.startswith(("/", "\\")) or _DRIVE.match(name):
        return True
    parts = re.split(r"[\\/]+", name)
    return any(p == ".." for p in parts)


def _skipped(name: str) -> bool:
    base = re.split(r"[\\/]", name)[-1]
    return name.startswith("__MACOSX/") or base.startswith(".") or not base


def expand_zip(data: bytes, *, label: str, max_files: int, max_member_bytes: int, max_total_bytes: int,
               max_ratio: float) -> list[tuple[str, bytes]]:
    """(name, bytes) of each file in the archive, in archive order."""
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
        infos = zf.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError) as exc:
        raise Problem(ProblemCode.ZIP_INVALID, f"{label}: not a readable zip archive ({exc})") from exc
    for info in infos:
        if unsafe_name(info.filename):
            raise Problem(ProblemCode.ZIP_PATH_TRAVERSAL,
                          f"{label}: member {info.filename!r} leaves the archive's folder; the archive is refused")
    files = [i for i in infos if not i.is_dir() and not _skipped(i.filename)]
    if len(files) > max_files:
        raise Problem(ProblemCode.TOO_MANY_FILES, f"{label}: {len(files)} files; the limit is {max_files}")
    declared = sum(i.file_size for i in files)
    if declared > max_total_bytes:
        raise Problem(ProblemCode.ZIP_BOMB, f"{label}: expands to {declared:,} bytes; the limit is {max_total_bytes:,}")
    out: list[tuple[str, bytes]] = []
    total = 0
    for info in files:
        if info.flag_bits & 0x1:
            raise Problem(ProblemCode.ZIP_INVALID, f"{label}: member {info.filename!r} is encrypted")
        if info.file_size > max_member_bytes:
            raise Problem(ProblemCode.ZIP_BOMB, f"{label}: member {info.filename!r} expands to "
                                                f"{info.file_size:,} bytes; the limit is {max_member_bytes:,}")
        if info.file_size > 1024 * 1024 and info.file_size / max(info.compress_size, 1) > max_ratio:
            raise Problem(ProblemCode.ZIP_BOMB, f"{label}: member {info.filename!r} is compressed "
                                                f"{info.file_size / max(info.compress_size, 1):.0f} to 1")
        buf = bytearray()
        try:
            with zf.open(info) as fh:
                while chunk := fh.read(_CHUNK):
                    buf += chunk
                    # the declared size can lie: count what really comes out
                    if len(buf) > min(info.file_size, max_member_bytes) or total + len(buf) > max_total_bytes:
                        raise Problem(ProblemCode.ZIP_BOMB,
                                      f"{label}: member {info.filename!r} expands beyond its size or the limit")
        except (zipfile.BadZipFile, OSError, EOFError, NotImplementedError, RuntimeError) as exc:
            raise Problem(ProblemCode.ZIP_INVALID, f"{label}: member {info.filename!r} cannot be read ({exc})") from exc
        total += len(buf)
        out.append((f"{label}/{info.filename}", bytes(buf)))
    return out
