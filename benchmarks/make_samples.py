"""Write the photos in ``sample_images/`` from the synthetic marking generator.

    python -m benchmarks.make_samples [--out sample_images]

Each sample is one fixed (seed, kind of marking, surface); ``sample_images/README.md`` lists what
each photo shows. Rerunning with a changed generator gives different photos: commit them together.
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

from benchmarks.synth import Spec, generate_sample

SAMPLES = [
    ("stamped-radom.jpg", 305, "stamped", "parkerized"),
    ("laser-m57.jpg", 301, "laser", "stainless"),
    ("engraved-licence-prefix.jpg", 300, "engraved", "blued"),
    ("stamped-cyrillic.jpg", 302, "stamped", "parkerized"),
    ("dot-peen-serial.jpg", 302, "dot-peen", "brushed"),
    ("headstamp-fc.jpg", 302, "headstamp", "brass"),
    ("label-colt.jpg", 305, "printed", "paper-label"),
]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("sample_images"))
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    with (args.out / "truth.csv").open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["file", "kind", "method", "surface", "truth"])
        for name, seed, group, surface in SAMPLES:
            sample = generate_sample(seed, Spec(group=group, surface=surface, size="phone"))
            (args.out / name).write_bytes(sample.jpeg)
            for line in sample.lines:
                writer.writerow([name, line.kind, sample.method, sample.surface, line.text])
            print(f"{name}: {sample.width}x{sample.height}, {len(sample.jpeg) // 1024} KB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
