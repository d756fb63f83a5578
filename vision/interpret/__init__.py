"""Interpretation of read text: serial candidates, maker, model, calibre, country, importer,
proof marks and dates, as ranked :class:`vision.types.MarkCandidate` records.

    from vision.interpret import build_interpreter
    interpreter = build_interpreter()          # loads data files once; immutable, thread-safe
    marks = interpreter.interpret(lines)       # or interpret(lines, image=bgr) for proof marks

Rules live in ``vision/data/*.json``; the proof-mark reference gallery in
``vision/interpret/gallery/`` (one folder per mark).
"""

from vision.interpret.interpreter import InterpretConfig, Interpreter, build_interpreter, serial_readings
from vision.interpret.proof import UNKNOWN_MARK, ProofMarkMatcher

__all__ = [
    "UNKNOWN_MARK",
    "InterpretConfig",
    "Interpreter",
    "ProofMarkMatcher",
    "build_interpreter",
    "serial_readings",
]
