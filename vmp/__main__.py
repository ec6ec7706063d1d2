"""Command line: ``python -m vmp synth|train|eval ...`` (see ``python -m vmp --help``)."""

from __future__ import annotations

import argparse
import sys
import time


def _synth(args: argparse.Namespace) -> None:
    from vmp.data.synth import NO_DISTRACTORS, Distractors, SynthConfig, generate

    config = SynthConfig(
        seed=args.seed,
        classes=args.classes,
        clips_per_class=args.clips_per_class,
        frames=args.frames,
        size=args.size,
        distractors=NO_DISTRACTORS if args.no_distractors else Distractors(),
    )
    start = time.perf_counter()
    generate(args.out, config)
    clips = config.classes * config.clips_per_class
    print(f"wrote {clips} clips of {config.classes} classes to {args.out} in {time.perf_counter() - start:.1f} s")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m vmp", description="Video motion prompts: data, training, evaluation.")
    commands = parser.add_subparsers(dest="command", required=True)

    synth = commands.add_parser("synth", help="write the motion-only synthetic benchmark as mp4 files")
    synth.add_argument("--out", required=True, help="output folder (root/{train,val,test}/<class>/<video>.mp4)")
    synth.add_argument("--seed", type=int, default=0)
    synth.add_argument("--classes", type=int, default=12, help="the first K motion classes (at most 12)")
    synth.add_argument("--clips-per-class", type=int, default=20, help="split 60/20/20 into train/val/test")
    synth.add_argument("--frames", type=int, default=17)
    synth.add_argument("--size", type=int, default=64, help="frame height and width in pixels")
    synth.add_argument("--no-distractors", action="store_true", help="no sensor noise, flicker or camera shake")
    synth.set_defaults(run=_synth)
    return parser


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    args.run(args)


if __name__ == "__main__":
    main(sys.argv[1:])
