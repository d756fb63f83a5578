"""``python -m models.training``: build the markings recogniser from a seed.

    python -m models.training all --seed 10 --minutes 50     # data, train, export, card, manifest

Steps, each also a command of its own (``data``, ``train``, ``export``); the work folder
(default ``build/rec_markings``) keeps the data shards, the training log and checkpoints, so
that an interrupted run can be exported from its last checkpoint.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

DEFAULT_WORK = Path("build/rec_markings")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m models.training", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument("--work", type=Path, default=DEFAULT_WORK, help="work folder (data, log, checkpoints)")
        p.add_argument("--seed", type=int, default=10)

    d = sub.add_parser("data", help="generate training shards and the validation split")
    common(d)
    d.add_argument("--shards", type=int, default=6, help="training shards of --shard-size lines")
    d.add_argument("--shard-size", type=int, default=2000)
    d.add_argument("--val", type=int, default=600, help="validation lines")

    t = sub.add_parser("train", help="fine-tune (1 thread) with checkpoints")
    common(t)
    t.add_argument("--minutes", type=float, default=50.0, help="stop after this much training time")
    t.add_argument("--max-steps", type=int, default=100_000)
    t.add_argument("--batch", type=int, default=24)
    t.add_argument("--lr", type=float, default=2e-4)
    t.add_argument("--freeze-convs", type=int, default=25,
                   help="keep the first N convolutions of the backbone as they are (speed)")
    t.add_argument("--eval-every", type=int, default=150)
    t.add_argument("--threads", type=int, default=1)

    e = sub.add_parser("export", help="ONNX with the character list, SHA-256 into the manifest, model card")
    common(e)
    e.add_argument("--checkpoint", type=Path, default=None, help="default: the best checkpoint of the work folder")
    e.add_argument("--out", type=Path, default=Path(__file__).resolve().parent.parent / "rec_markings_v1.onnx")

    a = sub.add_parser("all", help="data, train and export in one go")
    common(a)
    # bounded by steps, so that a seed gives the same run on any machine; the shipped model is
    # 420 steps (what 50 minutes on one thread gave); --minutes is only a safety limit here
    a.add_argument("--max-steps", type=int, default=420)
    a.add_argument("--minutes", type=float, default=600.0)
    a.add_argument("--shards", type=int, default=6)

    args = ap.parse_args(argv)
    if args.cmd in ("data", "all"):
        from models.training.dataset import make_data

        make_data(args.work, args.seed, shards=args.shards, shard_size=getattr(args, "shard_size", 2000),
                  val=getattr(args, "val", 600))
    if args.cmd in ("train", "all"):
        from models.training.train import TrainConfig, train

        cfg = TrainConfig(seed=args.seed, minutes=args.minutes, max_steps=args.max_steps)
        if args.cmd == "train":
            cfg = TrainConfig(seed=args.seed, minutes=args.minutes, max_steps=args.max_steps, batch=args.batch,
                              lr=args.lr, freeze_convs=args.freeze_convs, eval_every=args.eval_every,
                              threads=args.threads)
        train(args.work, cfg)
    if args.cmd in ("export", "all"):
        from models.training.export import export

        export(args.work, getattr(args, "checkpoint", None),
               getattr(args, "out", Path(__file__).resolve().parent.parent / "rec_markings_v1.onnx"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
