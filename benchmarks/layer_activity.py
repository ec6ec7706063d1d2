"""How much of the frames each recorded VMP layer dims: the share of test-clip pixels with attention below 0.5.

The paper arm's runs measure this as they end. The earlier stages' records keep only where the
layer ended (``final``: slope, shift), and the attention maps depend on nothing else but the test
clips, so this script recomputes the share afterwards for every layer in ``results/regimes.jsonl``:
the layer set to the record's end point, run over its regime's 600 test clips as its backbone reads
them. Output: ``results/layer_activity.json``, one entry per record (its stage and cell).

Run: ``python benchmarks/layer_activity.py`` (a few minutes; resumes, and recomputes nothing).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import tempfile
from collections import defaultdict
from pathlib import Path

import torch

from vmp.checkpoint import read_records
from vmp.experiment import get_profile, load_splits
from vmp.models import SPECS, build_model
from vmp.prompt import SLOPE_RANGE, m_n_for
from vmp.regimes import attention_below, record_key
from vmp.regimes_design import CLASS_SEED, CLASSES, study_config

ROOT = Path(__file__).resolve().parents[1]
RECORDS = ROOT / "benchmarks" / "results" / "regimes.jsonl"
OUT = ROOT / "benchmarks" / "results" / "layer_activity.json"


def layer_records(records: list[dict]) -> list[dict]:
    """The records of runs with a VMP layer (learned or frozen) and a recorded end point."""
    return [r for r in records if r["input"] in ("vmp", "vmp_frozen") and r.get("final")]


def set_layer(model: torch.nn.Module, slope: float, shift: float) -> None:
    """Put the model's VMP layer at an effective (slope, shift)."""
    m, n = m_n_for(min(slope, SLOPE_RANGE[1]), shift, learnable=False)
    with torch.no_grad():
        model.prompt.m.fill_(m)
        model.prompt.n.fill_(n)


def measure(records: list[dict], done: dict[str, float]) -> dict[str, float]:
    """The share below 0.5 for every layer record not in ``done``, grouped so that each regime's test
    clips are read once per backbone."""
    groups: dict[tuple, list[dict]] = defaultdict(list)
    for record in layer_records(records):
        if record_key(record) not in done:
            groups[record["backbone"], record["nuisance"], record["shortcut"], record["data_seed"]].append(record)
    measured = dict(done)
    for (backbone, nuisance, shortcut, data_seed), group in sorted(groups.items()):
        profile = dataclasses.replace(get_profile("book"), synthetic=study_config(nuisance, shortcut, data_seed))
        test = load_splits(profile, SPECS[backbone].layout).subset(CLASSES, None, seed=CLASS_SEED).test
        model = build_model(backbone, num_classes=CLASSES, input="vmp")
        for record in group:
            set_layer(model, *record["final"])
            measured[record_key(record)] = attention_below(model, test)
        print(f"{backbone} {nuisance}/{shortcut} (data seed {data_seed}): {len(group)} layers", flush=True)
        write(measured)
    return measured


def write(measured: dict[str, float], out: Path = OUT) -> None:
    """Write the shares atomically (a killed run loses nothing already written)."""
    with tempfile.NamedTemporaryFile("w", dir=out.parent, delete=False, suffix=".tmp") as handle:
        json.dump(dict(sorted(measured.items())), handle, indent=0)
    os.replace(handle.name, out)


def read(path: Path = OUT) -> dict[str, float]:
    """The shares measured so far, by :func:`record_key`."""
    return json.loads(path.read_text()) if path.exists() else {}


def main() -> None:
    argparse.ArgumentParser(description=__doc__.splitlines()[0]).parse_args()
    measure(read_records(RECORDS), read())


if __name__ == "__main__":
    main()
