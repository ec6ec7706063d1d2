"""What the VMP layer adds to a training step of each backbone, at the backbone's standard clip.

Run: ``python benchmarks/bench_overhead.py [--rounds 5] [--models slowfast_r50 x3d_s timesformer]``.
Each backbone is built with identical weights behind three inputs: the plain frames, the VMP
layer with learnable m and n, and the VMP layer with m and n frozen. One SGD step (forward,
cross-entropy [+ TAV], backward, update) of each is timed in alternation; the script prints median
step times. Learnable m and n need the gradient of the loss with respect to the backbone's input,
which a frozen layer (and the plain baseline) never computes: the two VMP rows separate that cost
from the layer's own.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
import torch.nn.functional as F

from vmp import temporal_attention_variation
from vmp.models import SPECS, build_model

STANDARD = {  # name: (T, crop, batch) as in the papers' set-ups
    "slowfast_r50": (32, 224, 1),
    "x3d_s": (13, 160, 2),
    "timesformer": (8, 224, 1),
}
VIT_B = {"hidden_size": 768, "num_hidden_layers": 12, "num_attention_heads": 12, "intermediate_size": 3072}


def step_timer(model, clip: torch.Tensor, labels: torch.Tensor):
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-4, momentum=0.9)

    def step() -> float:
        start = time.perf_counter()
        logits, attention = model(clip)
        loss = F.cross_entropy(logits, labels)
        if attention is not None:
            loss = loss + 0.1 * temporal_attention_variation(attention)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        return time.perf_counter() - start

    return step


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--models", nargs="+", default=list(STANDARD))
    args = parser.parse_args()
    print(
        f"{torch.get_num_threads()} threads, torch {torch.__version__}, {args.rounds} alternating rounds after one "
        "warm-up, medians"
    )
    for name in args.models:
        frames, crop, batch = STANDARD[name]
        options = VIT_B if name == "timesformer" else {}
        torch.manual_seed(0)
        with_layer = build_model(name, 10, frames, crop, input="vmp", **options)
        without = build_model(name, 10, frames, crop, input="frames", **options)
        frozen = build_model(name, 10, frames, crop, input="vmp", **options)
        without.backbone.load_state_dict(with_layer.backbone.state_dict())
        frozen.load_state_dict(with_layer.state_dict())
        frozen.prompt.requires_grad_(False)
        sizes = {"B": batch, "C": 3, "T": frames + 1, "H": crop, "W": crop}
        clip = torch.randn([sizes[axis] for axis in SPECS[name].layout])
        labels = torch.zeros(batch, dtype=torch.long)
        steps = {"with VMP": step_timer(with_layer, clip, labels), "without": step_timer(without, clip, labels),
                 "frozen VMP": step_timer(frozen, clip, labels)}
        for step in steps.values():
            step()
        times = {key: [] for key in steps}
        for _ in range(args.rounds):
            for key, step in steps.items():
                times[key].append(step())
        medians = {key: statistics.median(values) for key, values in times.items()}
        layer_only = build_model(name, 10, frames, crop, input="vmp", **options).prompt
        layer_step = statistics.median(_layer_step(layer_only, clip) for _ in range(args.rounds))
        base = medians["without"]
        print(f"{name:13s} T+1={frames + 1:2d} crop={crop} batch={batch}: step {base:.3f} s without the layer; "
              f"with VMP {medians['with VMP']:.3f} s ({100 * (medians['with VMP'] / base - 1):+.1f}%), "
              f"with VMP frozen {medians['frozen VMP']:.3f} s ({100 * (medians['frozen VMP'] / base - 1):+.1f}%); "
              f"the layer alone (fwd+bwd) {1e3 * layer_step:.1f} ms = {100 * layer_step / base:.2f}% of a step")


def _layer_step(layer, clip: torch.Tensor) -> float:
    start = time.perf_counter()
    prompts, attention = layer(clip)
    (prompts.mean() + temporal_attention_variation(attention)).backward()
    return time.perf_counter() - start


if __name__ == "__main__":
    main()
