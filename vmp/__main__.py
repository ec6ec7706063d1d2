"""Command line: ``python -m vmp synth|train|eval ...`` (see ``python -m vmp --help``)."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from vmp.data import VideoFolder
    from vmp.models import BackboneSpec


def _synth(args: argparse.Namespace) -> None:
    from vmp.data.synth import SynthConfig, generate, nuisance

    config = SynthConfig(
        seed=args.seed,
        classes=args.classes,
        clips_per_class=args.clips_per_class,
        frames=args.frames,
        size=args.size,
        distractors=nuisance("none" if args.no_distractors else args.nuisance),
        task=args.task,
    )
    start = time.perf_counter()
    generate(args.out, config)
    clips = config.classes * config.clips_per_class
    print(f"wrote {clips} clips of {config.classes} classes to {args.out} in {time.perf_counter() - start:.1f} s")


def _pretrain(args: argparse.Namespace) -> None:
    from vmp.pretrain import RECIPES, pretrain_all

    backbones = sorted(RECIPES) if args.backbone == ["all"] else args.backbone
    start = time.perf_counter()
    if args.out is None:
        from vmp.weights import CHECKPOINTS

        args.out = CHECKPOINTS
    pretrain_all(backbones, args.data, args.out, args.epochs, args.work)
    print(
        f"pretrained {', '.join(backbones)} in {time.perf_counter() - start:.0f} s; manifest in "
        f"{Path(args.out) / 'manifest.json'}"
    )


def _held_out(data: Path, split: str, frames: int, rate: int, crop: int, spec: BackboneSpec,
              temporal_views: int = 1, spatial_views: int = 1) -> VideoFolder | None:
    """The evaluation dataset of ``data/split`` as the backbone of ``spec`` reads it (layout and
    normalisation), or None if there is no such split."""
    from vmp.data import ClipTransform, VideoFolder

    if not (data / split).is_dir():
        return None
    transform = ClipTransform.for_backbone(spec, size=crop, train=False, spatial_views=spatial_views)
    mode = "uniform" if temporal_views > 1 else "center"
    return VideoFolder(
        data, split, frames=frames, rate=rate, mode=mode, temporal_views=temporal_views, transform=transform
    )


def _train(args: argparse.Namespace) -> None:
    from vmp.checkpoint import atomic_write_json
    from vmp.data import ClipTransform, VideoFolder
    from vmp.data.synth import SynthConfig, generate
    from vmp.models import SPECS, build_model
    from vmp.prompt import m_n_for
    from vmp.train import TrainConfig, distributed_context, evaluate, fit, seed_everything

    if args.model not in SPECS:
        raise SystemExit(f"unknown model {args.model!r}; choose one of {sorted(SPECS)}")
    out = Path(args.out or f"runs/{args.model}")
    data = Path(args.data) if args.data else out / "synthetic"
    if args.data is None and not (data / "synth.json").exists():
        print(f"no --data: generating the synthetic motion benchmark in {data}")
        generate(data, SynthConfig(seed=args.seed))
    synthetic = (data / "synth.json").exists()
    spec = SPECS[args.model]
    frames, crop = args.frames or spec.frames, args.crop or (64 if synthetic else spec.crop)
    flip = args.flip if args.flip is not None else not synthetic
    train_set = VideoFolder(data, "train", frames=frames + 1, rate=args.rate, mode="random", seed=args.seed,
                            transform=ClipTransform.for_backbone(spec, size=crop, train=True, flip=flip))
    val_set, test_set = (_held_out(data, split, frames + 1, args.rate, crop, spec) for split in ("val", "test"))
    build_args = {"name": args.model, "num_classes": len(train_set.classes), "frames": frames, "crop": crop,
                  "input": "frames" if args.no_prompt else args.input}
    try:
        prompt_init = m_n_for(*args.prompt_init) if args.prompt_init else None
    except ValueError as error:
        raise SystemExit(f"--prompt-init: {error}") from error
    seed_everything(args.seed)  # the initial weights come from the seed too
    model = build_model(**build_args, weights=args.weights, prompt_init=prompt_init)
    model_args = {**model.rebuild_args, "weights": args.weights}  # how eval rebuilds it (weights: where they came from)
    config = TrainConfig(epochs=args.epochs, batch_size=args.batch_size, optimizer=args.optimizer, lr=args.lr,
                         prompt_lr=args.prompt_lr, schedule=args.schedule, warmup_epochs=args.warmup_epochs,
                         tav_weight=args.tav_weight, clip_grad_norm=args.clip_grad_norm, workers=args.workers,
                         seed=args.seed, deterministic=args.deterministic, weight_decay=args.weight_decay)
    history = fit(
        model,
        train_set,
        val_set,
        config,
        out=out,
        resume=args.resume,
        model_args={**model_args, "classes": train_set.classes},
    )
    if test_set is not None:
        metrics = evaluate(model, test_set, args.batch_size, args.workers)
        if distributed_context()[0] == 0:
            atomic_write_json(out / "metrics.json", {"test": metrics, "final_epoch": history[-1]})
            print(f"test top-1 {metrics['top1']:.3f}, mean class accuracy {metrics['mean_class_accuracy']:.3f}")
    print(f"history in {out / 'history.json'}, checkpoint in {out / 'checkpoint.pt'}")


def _eval(args: argparse.Namespace) -> None:
    import json

    from vmp.models import SPECS
    from vmp.train import evaluate, load_trained

    model, checkpoint = load_trained(args.checkpoint)
    classes = checkpoint["model_args"].get("classes")
    spec = SPECS[checkpoint["model_args"]["name"]]
    dataset = _held_out(Path(args.data), args.split, model.frames + 1, args.rate, checkpoint["model_args"]["crop"],
                        spec, args.temporal_views, args.spatial_views)
    if dataset is None:
        raise SystemExit(f"no {args.split}/ split in {args.data}")
    if classes is not None and dataset.classes != classes:
        raise SystemExit(f"the data's classes {dataset.classes} are not the checkpoint's {classes}")
    metrics = evaluate(model, dataset, args.batch_size)
    print(json.dumps({key: value for key, value in metrics.items() if key not in ("confusion", "correct")}, indent=2))
    print("confusion (rows: true class, columns: predicted):")
    for name, row in zip(dataset.classes, metrics["confusion"]):
        print(f"  {name:>12s} {row}")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m vmp", description="Video motion prompts: data, training, evaluation."
    )
    commands = parser.add_subparsers(dest="command", required=True)

    synth = commands.add_parser("synth", help="write the motion-only synthetic benchmark as mp4 files")
    synth.add_argument("--out", required=True, help="output folder (root/{train,val,test}/<class>/<video>.mp4)")
    synth.add_argument("--seed", type=int, default=0)
    synth.add_argument("--classes", type=int, default=12, help="the first K classes (at most 12 motion, 8 source)")
    synth.add_argument("--clips-per-class", type=int, default=20, help="split 60/20/20 into train/val/test")
    synth.add_argument("--frames", type=int, default=17)
    synth.add_argument("--size", type=int, default=64, help="frame height and width in pixels")
    synth.add_argument(
        "--nuisance",
        choices=["none", "light", "heavy"],
        default="light",
        help="class-independent nuisance motion: none; light (noise, flicker, shake; the default); "
        "heavy (also flickering patches, shimmering texture, faint decoy sprites, more shake and noise)",
    )
    synth.add_argument("--no-distractors", action="store_true", help="the same as --nuisance none")
    synth.add_argument("--task", choices=["motion", "source"], default="motion",
                       help="motion: the motion-only target classes; source: the pretraining task")
    synth.set_defaults(run=_synth)

    pretrain = commands.add_parser("pretrain", help="pretrain the book's backbones on the source task (frames input)")
    pretrain.add_argument("--backbone", nargs="+", default=["all"],
                          help="backbones with a pretraining recipe (vmp.models.registry), or all (default)")
    pretrain.add_argument("--out", help="where the weights and manifest.json go (default: the package's own "
                                        "checkpoints folder, vmp/checkpoints in a clone)")
    pretrain.add_argument("--data", help="folder for the generated source task (default: a temporary one)")
    pretrain.add_argument("--epochs", type=int, help="override every recipe's epochs (for quick checks)")
    pretrain.add_argument("--work", default="runs/pretrain",
                          help="training checkpoints after every epoch; a killed run resumes from them")
    pretrain.set_defaults(run=_pretrain)

    train = commands.add_parser("train", help="train a backbone with (or without) the VMP layer")
    train.add_argument(
        "--data",
        help="root/{train,val,test}/<class>/<video>; default: the synthetic benchmark, generated in OUT/synthetic",
    )
    train.add_argument("--model", default="tiny3d",
                       help="a backbone of vmp.models.registry (default tiny3d; a wrong name lists them)")
    train.add_argument("--epochs", type=int, default=10)
    train.add_argument("--out", help="run folder for history.json, checkpoint.pt, metrics.json (default runs/MODEL)")
    train.add_argument("--no-prompt", action="store_true", help="the baseline: frames 1..T, no VMP layer")
    train.add_argument("--input", choices=["vmp", "frames", "difference"], default="vmp")
    train.add_argument("--tav-weight", type=float, default=0.0, help="lambda, the weight of the TAV term")
    train.add_argument(
        "--prompt-init",
        type=float,
        nargs=2,
        metavar=("SLOPE", "SHIFT"),
        help="start the layer at this slope and shift (default: m, n drawn from N(1e-5, 1) as the paper does)",
    )
    train.add_argument("--resume", action="store_true", help="continue from OUT/checkpoint.pt")
    train.add_argument("--frames", type=int, help="T, the frames the backbone sees (the clip has T+1)")
    train.add_argument("--rate", type=int, default=1, help="take every RATE-th frame")
    train.add_argument("--crop", type=int, help="crop size (default 64 on the synthetic data, else the backbone's)")
    train.add_argument(
        "--flip",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="random horizontal flips (default: on, except on the synthetic data where direction is the label)",
    )
    train.add_argument("--weights", help="'kinetics', a Hugging Face id (TimeSformer) or a local checkpoint")
    train.add_argument("--batch-size", type=int, default=8)
    train.add_argument("--optimizer", choices=["sgd", "adamw"], default="adamw")
    train.add_argument("--lr", type=float, default=3e-3)
    train.add_argument("--prompt-lr", type=float, help="learning rate of the layer's m and n (default: --lr)")
    train.add_argument("--weight-decay", type=float, default=1e-4)
    train.add_argument("--schedule", choices=["cosine", "step", "constant"], default="cosine")
    train.add_argument("--warmup-epochs", type=int, default=0)
    train.add_argument("--clip-grad-norm", type=float)
    train.add_argument("--workers", type=int, default=0)
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--deterministic", action="store_true")
    train.set_defaults(run=_train)

    evaluate = commands.add_parser("eval", help="evaluate a checkpoint on a split")
    evaluate.add_argument("--checkpoint", required=True)
    evaluate.add_argument("--data", required=True)
    evaluate.add_argument("--split", default="test")
    evaluate.add_argument("--rate", type=int, default=1)
    evaluate.add_argument("--temporal-views", type=int, default=1)
    evaluate.add_argument("--spatial-views", type=int, choices=[1, 3], default=1)
    evaluate.add_argument("--batch-size", type=int, default=8)
    evaluate.set_defaults(run=_eval)
    return parser


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    args.run(args)


if __name__ == "__main__":
    main(sys.argv[1:])
