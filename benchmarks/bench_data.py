"""Clip loading throughput: 16+1 frames at a 224 crop from the sample footage.

Run: ``python benchmarks/bench_data.py [--clips 48] [--rounds 3]``. decord and PyAV readers, a
DataLoader with 0 and 2 workers, measured in interleaved rounds; prints median clips per second.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
from torch.utils.data import DataLoader

from vmp.data import ClipDataset, ClipTransform, VideoSample, sample_video
from vmp.data.footage import SAMPLE_VIDEOS


def footage_dataset(clips: int, backend: str) -> ClipDataset:
    """``clips`` random 17-frame clips (rate 2) spread over the three sample videos."""
    videos = [sample_video(name) for name in SAMPLE_VIDEOS]
    samples = [VideoSample(videos[i % len(videos)], 0) for i in range(clips)]
    return ClipDataset(samples, ["footage"], frames=17, rate=2, mode="random",
                       transform=ClipTransform(size=224, train=True), backend=backend)


def clips_per_second(dataset: ClipDataset, workers: int) -> float:
    loader = DataLoader(dataset, batch_size=4, num_workers=workers, persistent_workers=False)
    start = time.perf_counter()
    count = sum(len(batch) for batch, _ in loader)
    return count / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=48)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    torch.manual_seed(0)
    setups = {
        (backend, workers): footage_dataset(args.clips, backend) for backend in ("decord", "pyav") for workers in (0, 2)
    }
    rates: dict[tuple[str, int], list[float]] = {key: [] for key in setups}
    for _ in range(args.rounds):
        for (backend, workers), dataset in setups.items():
            rates[(backend, workers)].append(clips_per_second(dataset, workers))
    print(f"{args.clips} clips of 17 frames (rate 2) at a 224 crop from {', '.join(SAMPLE_VIDEOS)}, "
          f"batch 4, {torch.get_num_threads()} threads, median of {args.rounds} interleaved rounds")
    for (backend, workers), values in rates.items():
        print(f"  {backend:6s} workers={workers}  {statistics.median(values):6.1f} clips/s")
    decord_best = max(statistics.median(rates[("decord", w)]) for w in (0, 2))
    pyav_best = max(statistics.median(rates[("pyav", w)]) for w in (0, 2))
    print(f"  decord / PyAV (best of each): {decord_best / pyav_best:.2f}x")


if __name__ == "__main__":
    main()
