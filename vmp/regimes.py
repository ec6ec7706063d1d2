"""The regimes study's analysis: its primary questions answered from the run records, adjusted for
asking six of them (``benchmarks/regimes_plan.md`` fixes the questions and this analysis).

Every difference is estimated by a :data:`Method`; the default, Student's t with a seed and a clip
part of the variance (``vmp.stats.intervals``), was chosen after the runs, for its coverage at 3-10
seeds in a simulation fitted to them (``vmp.stats.coverage``); the plan's two-level bootstrap
(:func:`planned_bootstrap`) covers less than it says at these seed counts.

A record is one run as ``benchmarks/regimes.py`` writes it (:class:`vmp.regimes_design.RunRecord`).
A side of a question is a set of field values; its runs are paired with the other side's by
backbone and seed, clip by clip.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Callable, Sequence, Union

import numpy as np
import torch
from scipy import stats
from torch.utils.data import DataLoader, Dataset

from vmp.models.adapter import PromptedModel
from vmp.regimes_design import (
    BACKBONES,
    BASE,
    PAPER_BACKBONES,
    PAPER_REGIMES,
    PAPER_SEEDS,
    PAPER_SELECTION_SEEDS,
    PAPER_TAV_WEIGHTS,
    REGIMES,
    RunRecord,
    paper_inputs,
)
from vmp.stats.bootstrap import Bootstrap, cluster_bootstrap, per_clip_differences
from vmp.stats.intervals import TInterval, seed_clip_t
from vmp.stats.significance import holm_adjusted


@dataclass(frozen=True)
class Question:
    """``a`` minus ``b`` in test top-1, each a set of record fields, averaged over ``backbones``."""

    name: str
    text: str
    a: dict
    b: dict
    backbones: tuple[str, ...] = BACKBONES


#: The runs of the regimes (the start stage's runs answer only the start question).
SWEEP = {"stage": ("regimes", "primary")}


def _base(**changes) -> dict:
    return {**BASE, **SWEEP, **changes}


#: The six primary questions of the plan.
PRIMARY = (
    Question("base", "VMP - frames, base regime", _base(input="vmp"), _base(input="frames")),
    Question("few_labels", "VMP - frames, 5 labels per class", _base(input="vmp", labels_per_class=5),
             _base(input="frames", labels_per_class=5)),
    Question("scene", "VMP - frames, scene shortcut", _base(input="vmp", shortcut="scene"),
             _base(input="frames", shortcut="scene")),
    Question("appearance", "VMP - frames, appearance shortcut", _base(input="vmp", shortcut="appearance"),
             _base(input="frames", shortcut="appearance")),
    Question("learned_vs_fixed", "VMP - RGB differences, base regime", _base(input="vmp"),
             _base(input="difference"), ("tiny3d", "slowfast_r50")),
    Question("start", "VMP from shift -0.3 - VMP from +0.1, base regime",
             _base(input="vmp", start_shift=-0.3, stage="start"), _base(input="vmp", start_shift=0.1, stage="start"),
             ("tiny3d", "slowfast_r50")),
)

#: The plan's fourth amendment: the one exploratory lead (VMP ahead of the frames from scratch) asked
#: once more on runs of its own (``"stage": "confirm"``: new seeds, a new benchmark seed).
CONFIRMATORY = Question("confirm", "VMP - frames, from scratch, new seeds and clips",
                        {**_base(input="vmp", pretrained=False), "stage": "confirm"},
                        {**_base(input="frames", pretrained=False), "stage": "confirm"}, ("tiny3d", "slowfast_r50"))


def matches(record: RunRecord, fields: dict) -> bool:
    """Whether a run has every field value (``start_shift`` is the shift of its ``start``; a tuple
    of values admits any of them)."""
    for key, value in fields.items():
        have = record["start"][1] if key == "start_shift" and record.get("start") else record.get(key)
        if isinstance(value, tuple):
            if have not in value:
                return False
        elif isinstance(value, float) and isinstance(have, (int, float)):
            if abs(have - value) > 1e-9:
                return False
        elif have != value:
            return False
    return True


def _by_seed(records: Sequence[RunRecord], backbone: str, fields: dict) -> dict[int, dict]:
    runs = {}
    for record in records:
        if record["backbone"] == backbone and matches(record, fields):
            if record["seed"] in runs:
                raise ValueError(f"two runs of {backbone} seed {record['seed']} match {fields}")
            runs[record["seed"]] = record
    return runs


def paired_differences(records: Sequence[RunRecord], question: Question, backbone: str) -> np.ndarray | None:
    """``(seeds, clips)`` per-clip differences a - b of one backbone, paired by seed; None without runs."""
    a, b = _by_seed(records, backbone, question.a), _by_seed(records, backbone, question.b)
    seeds = sorted(set(a) & set(b))
    if not seeds:
        return None
    for seed in seeds:
        if a[seed]["synthetic_key"] != b[seed]["synthetic_key"]:
            raise ValueError(f"{question.name}, {backbone} seed {seed}: the two sides were tested on other clips")
    return per_clip_differences([a[s]["test_correct"] for s in seeds], [b[s]["test_correct"] for s in seeds])


#: A difference with its uncertainty: ``estimate``, ``standard_error``, ``interval(level)``,
#: ``p_value`` and ``detectable(alpha, power)``.
Estimate = Union[TInterval, Bootstrap]
#: Turns one question's ``(seeds, clips)`` differences, one array per backbone, into an Estimate of
#: their mean over the backbones.
Method = Callable[[Sequence[np.ndarray]], Estimate]


def planned_bootstrap(differences: Sequence[np.ndarray]) -> Bootstrap:
    """The plan's method: the two-level bootstrap, 10,000 resamples (reported beside the chosen one)."""
    return cluster_bootstrap(list(differences), 10_000)


@dataclass
class Answer:
    """One question's estimate (a fraction; ``difference``), Holm-adjusted p and family-wise interval."""

    question: Question
    backbones: list[str]
    difference: Estimate
    adjusted_p: float = 1.0
    level: float = 0.95
    interval: tuple[float, float] = field(default=(0.0, 0.0))

    @property
    def bootstrap(self) -> Estimate:
        """The former name of :attr:`difference` (the estimate was a bootstrap before)."""
        return self.difference

    @property
    def resolved(self) -> bool:
        """Whether the family-wise interval excludes zero."""
        return self.interval[0] > 0 or self.interval[1] < 0

    def rejected(self, family_level: float = 0.05) -> bool:
        """Whether Holm's step-down test rejects a zero difference at a family-wise ``family_level``."""
        return self.adjusted_p < family_level

    def wording(self) -> str:
        """What the adjusted interval allows: ahead or behind only when it excludes zero."""
        low, high = (100 * v for v in self.interval)
        if low > 0:
            return (
                f"{self.question.text}: ahead by {100 * self.difference.estimate:.1f} points ({low:+.1f} to "
                f"{high:+.1f})"
            )
        if high < 0:
            return (
                f"{self.question.text}: behind by {-100 * self.difference.estimate:.1f} points ({low:+.1f} to "
                f"{high:+.1f})"
            )
        return f"{self.question.text}: no resolved difference ({low:+.1f} to {high:+.1f} points)"


def answer(records: Sequence[RunRecord], questions: Sequence[Question] = PRIMARY, family_level: float = 0.05,
           method: Method = seed_clip_t) -> list[Answer]:
    """Each question with runs: its estimate by ``method``, Holm's adjusted p-value, and its interval
    at the Bonferroni level 1 - family_level / m, so that all m intervals hold together with
    probability at least 1 - family_level (Holm's step-down levels would not)."""
    answers = []
    for question in questions:
        differences = {b: paired_differences(records, question, b) for b in question.backbones}
        present = [b for b, d in differences.items() if d is not None]
        if present:
            answers.append(Answer(question, present, method([differences[b] for b in present])))
    adjusted = holm_adjusted({a.question.name: a.difference.p_value for a in answers})
    for item in answers:
        item.adjusted_p = adjusted[item.question.name]
        item.level = 1 - family_level / len(answers)
        item.interval = item.difference.interval(item.level)
    return answers


def detectable(answer_: Answer, power: float = 0.8) -> float:
    """The smallest true difference (a fraction) this question detects with ``power`` at its family-wise level."""
    return answer_.difference.detectable(1 - answer_.level, power)


@torch.no_grad()
def attention_below(model: PromptedModel, dataset: Dataset, threshold: float = 0.5, batch_size: int = 32) -> float:
    """Share of the attention maps' pixels below ``threshold`` over a dataset's clips: how much of
    the frames a VMP layer dims (near 0 when it passes almost every pixel, as the identity does)."""
    if model.prompt is None:
        raise ValueError(f"a model with input {model.input!r} has no attention maps")
    model.eval()
    below = total = 0
    for clips, _ in DataLoader(dataset, batch_size=batch_size):
        attention = model.prompt(clips.to(next(model.parameters()).device)).attention
        below += int((attention < threshold).sum())
        total += attention.numel()
    return below / total


def still_attention(slope: float, shift: float) -> float:
    """The attention a still pixel (D = 0) gets: sigmoid(slope * (0 - shift))."""
    return float(1 / (1 + np.exp(slope * shift)))


def regime_fields(name: str, input: str) -> dict:
    """The record fields of one input's runs in a named regime of the regimes and primary stages."""
    return _base(input=input, **REGIMES[name])


def comparison(records: Sequence[RunRecord], regime: str, a: str = "vmp", b: str = "frames",
               backbones: Sequence[str] = BACKBONES, method: Method = seed_clip_t) -> tuple[list[str], Estimate] | None:
    """An exploratory difference a - b in one regime, averaged over the backbones that ran both
    (unadjusted); None when no backbone did."""
    question = Question(regime, f"{a} - {b}, {regime}", regime_fields(regime, a), regime_fields(regime, b),
                        tuple(backbones))
    differences = {backbone: paired_differences(records, question, backbone) for backbone in backbones}
    present = [backbone for backbone, d in differences.items() if d is not None]
    if not present:
        return None
    return present, method([differences[b] for b in present])


def start_runs(records: Sequence[RunRecord], backbone: str, tav_weight: float, shift: float) -> list[dict]:
    """The start stage's runs of one backbone from one starting shift at one λ, by seed."""
    fields = _base(input="vmp", stage="start", tav_weight=tav_weight, start_shift=shift)
    return sorted(_by_seed(records, backbone, fields).values(), key=lambda r: r["seed"])


def start_table(records: Sequence[RunRecord]) -> list[dict]:
    """Per backbone, λ and starting shift: still-pixel attention at the start, mean validation and
    test top-1, and the mean, lowest and highest shift the layer ends at."""
    rows = []
    runs = [r for r in records if r.get("stage") == "start"]
    for backbone in sorted({r["backbone"] for r in runs}, key=BACKBONES.index):
        for tav_weight in sorted({r["tav_weight"] for r in runs}):
            for shift in sorted({r["start"][1] for r in runs}):
                group = start_runs(runs, backbone, tav_weight, shift)
                if not group:
                    continue
                slope = group[0]["start"][0]
                ends = [r["final"][1] for r in group]
                rows.append(
                    {
                        "backbone": backbone,
                        "tav_weight": tav_weight,
                        "start_shift": shift,
                        "seeds": len(group),
                        "still_attention": still_attention(slope, shift),
                        "val_top1": float(np.mean([r["val_top1"] for r in group])),
                        "test_top1": float(np.mean([r["test_top1"] for r in group])),
                        "end_shift": float(np.mean(ends)),
                        "end_shift_low": min(ends),
                        "end_shift_high": max(ends),
                    }
                )
    return rows


def regime_table(records: Sequence[RunRecord], regimes: Sequence[str] = tuple(REGIMES), a: str = "vmp",
                 b: str = "frames", method: Method = seed_clip_t) -> list[dict]:
    """Per regime: the backbones and seeds that ran it, mean test top-1 of ``a`` and ``b``, each
    backbone's mean a - b, and their average with its unadjusted 95% interval (``estimate``: by ``method``)."""
    rows = []
    for regime in regimes:
        found = comparison(records, regime, a, b, method=method)
        if found is None:
            continue
        backbones, boot = found
        top1 = {
            (backbone, input): [
                r["test_top1"] for r in _by_seed(records, backbone, regime_fields(regime, input)).values()
            ]
            for backbone in backbones
            for input in (a, b)
        }
        means = {input: float(np.mean([v for bk in backbones for v in top1[bk, input]])) for input in (a, b)}
        per_backbone = {bk: float(np.mean(top1[bk, a]) - np.mean(top1[bk, b])) for bk in backbones}
        seeds = min(len(top1[bk, a]) for bk in backbones)
        rows.append({"regime": regime, "backbones": backbones, "seeds": seeds, a: means[a], b: means[b],
                     "per_backbone": per_backbone, "difference": boot.estimate, "interval": boot.interval(0.95),
                     "estimate": boot})
    return rows


def accuracy(records: Sequence[RunRecord], fields: dict, backbone: str,
             method: Method = seed_clip_t) -> Estimate | None:
    """One configuration's test top-1 on one backbone, with seeds and test clips as sources of error; None without
    runs."""
    runs = _by_seed(records, backbone, fields)
    if not runs:
        return None
    correct = np.asarray([runs[seed]["test_correct"] for seed in sorted(runs)], dtype=np.float64)
    return method([correct])


# The fifth amendment's arm, trained as the paper trains: its own records (``results/regimes_paper.jsonl``),
# read only by the functions below.

def paper_fields(regime: str, input: str) -> dict:
    """The record fields of one input's confirmatory runs in the paper arm."""
    return {"stage": "paper", "regime": regime, "input": input}


_REGIME_TEXT = {"base": "base regime", "labels_5": "5 labels per class", "scene": "scene shortcut",
                "appearance": "appearance shortcut"}
#: The paper arm's primary family (Holm over four): VMP (learned, λ chosen on validation) - frames.
PAPER_PRIMARY = tuple(
    Question(regime, f"VMP - frames, {_REGIME_TEXT[regime]}", paper_fields(regime, "vmp"),
             paper_fields(regime, "frames"), PAPER_BACKBONES)
    for regime in PAPER_REGIMES
)
#: Secondary: the learned layer against the same draw left untrained (base regime, seeds 10-14).
PAPER_LEARNED_VS_FROZEN = Question("learned_vs_frozen", "learned - frozen layer, base regime",
                                   paper_fields("base", "vmp"), paper_fields("base", "vmp_frozen"), PAPER_BACKBONES)
#: The layer is called close to the identity when fewer test pixels than this get attention below 0.5.
IDENTITY_SHARE = 0.01


def tav_weight_scores(records: Sequence[RunRecord], backbone: str) -> dict[float, float]:
    """λ's selection for one backbone: each λ's mean best-epoch validation top-1 over the selection
    seeds, in validation clips (so equal means tie exactly)."""
    runs = [r for r in records if r.get("stage") == "paper_lambda" and r["backbone"] == backbone]
    if len(runs) < len(PAPER_TAV_WEIGHTS) * len(PAPER_SELECTION_SEEDS):
        raise ValueError(f"λ's selection for {backbone} has {len(runs)} of its "
                         f"{len(PAPER_TAV_WEIGHTS) * len(PAPER_SELECTION_SEEDS)} runs: finish it first")
    return {w: float(np.mean([round(r["val_top1"] * r["val_clips"]) for r in runs if r["tav_weight"] == w]))
            for w in PAPER_TAV_WEIGHTS}


def chosen_tav_weight(records: Sequence[RunRecord], backbone: str) -> float:
    """The λ a backbone's VMP runs use: the best mean validation top-1 over the selection seeds,
    ties to the smaller λ."""
    scores = tav_weight_scores(records, backbone)
    return max(sorted(scores), key=lambda weight: scores[weight])


def complete_paper_seeds(records: Sequence[RunRecord]) -> list[int]:
    """The confirmatory seeds whose every planned run (each backbone, regime and input) is recorded:
    the analysis reads these only, so a partial sweep is analysed on whole seeds."""
    have = {(r["seed"], r["backbone"], r["regime"], r["input"]) for r in records if r.get("stage") == "paper"}
    return [seed for seed in PAPER_SEEDS
            if all((seed, backbone, regime, input) in have for backbone in PAPER_BACKBONES
                   for regime in PAPER_REGIMES for input in paper_inputs(regime, seed))]


def paper_records(records: Sequence[RunRecord]) -> list[RunRecord]:
    """The paper arm's confirmatory runs of its complete seeds."""
    seeds = set(complete_paper_seeds(records))
    return [r for r in records if r.get("stage") == "paper" and r["seed"] in seeds]


def paper_answers(records: Sequence[RunRecord], method: Method = seed_clip_t) -> list[Answer]:
    """The paper arm's four primary answers on its complete seeds: Holm's adjusted p-values and
    intervals at the Bonferroni level 1 - 0.05/4."""
    return answer(paper_records(records), PAPER_PRIMARY, method=method)


def paper_secondary(records: Sequence[RunRecord], question: Question, backbones: Sequence[str] | None = None,
                    method: Method = seed_clip_t) -> Estimate | None:
    """An unadjusted (secondary) difference on the complete seeds, averaged over ``backbones``
    (default: the question's); None without runs."""
    chosen = paper_records(records)
    differences = [paired_differences(chosen, question, b) for b in (backbones or question.backbones)]
    differences = [d for d in differences if d is not None]
    return method(differences) if differences else None


def disagreement(first: Sequence[int], second: Sequence[int]) -> float:
    """Share of test clips that exactly one of two runs classifies correctly."""
    a, b = np.asarray(first, dtype=bool), np.asarray(second, dtype=bool)
    if a.shape != b.shape:
        raise ValueError(f"runs tested on {a.size} and {b.size} clips cannot be compared clip by clip")
    return float(np.mean(a != b))


def _activity(layer: dict[int, RunRecord], frames: dict[int, RunRecord], below: dict[int, float]) -> dict:
    """How far one arm's layers are from the identity, over the seeds that have a frames run beside
    them: clips changed against the frames of the same seed (and, the noise floor, between frames runs
    of neighbouring seeds), test pixels below 0.5, and where (a, b) starts and ends."""
    seeds = sorted(set(layer) & set(frames))
    if not seeds:
        raise ValueError("no seed has both a layer run and a frames run to compare it with")
    shares = [below[s] for s in seeds]
    ends = np.asarray([layer[s]["final"] for s in seeds], dtype=np.float64)
    starts = np.asarray([layer[s]["start"] for s in seeds], dtype=np.float64)
    return {
        "seeds": len(seeds),
        "disagree": float(np.mean([disagreement(layer[s]["test_correct"], frames[s]["test_correct"])
                                   for s in seeds])),
        "frames_disagree": float(np.mean([disagreement(frames[s]["test_correct"], frames[t]["test_correct"])
                                          for s, t in zip(seeds, seeds[1:])])) if len(seeds) > 1 else float("nan"),
        "below_half": float(np.mean(shares)), "below_half_high": float(max(shares)),
        "identity_seeds": sum(share < IDENTITY_SHARE for share in shares),
        "still_attention_low": float(min(still_attention(*layer[s]["final"]) for s in seeds)),
        "start_slope": starts[:, 0].tolist(), "start_shift": starts[:, 1].tolist(),
        "end_slope": ends[:, 0].tolist(), "end_shift": ends[:, 1].tolist(),
    }


def layer_activity(records: Sequence[RunRecord], backbone: str, regime: str, input: str = "vmp") -> dict:
    """How far the paper arm's layer is from the identity in one backbone and regime, over the
    complete seeds (see :func:`_activity`), and whether it is close to the identity."""
    chosen = paper_records(records)
    layer = _by_seed(chosen, backbone, paper_fields(regime, input))
    frames = _by_seed(chosen, backbone, paper_fields(regime, "frames"))
    if not set(layer) & set(frames):
        raise ValueError(f"no complete seed has {backbone}'s {input} and frames runs in regime {regime!r}")
    below = {seed: record["attention_below_half"] for seed, record in layer.items()}
    return {"backbone": backbone, "regime": regime, "input": input, **_activity(layer, frames, below)}


def record_key(record: RunRecord) -> str:
    """A run's identity among the records: its stage and its cell (backbone, input, seed, settings)."""
    return json.dumps([record["stage"], record["cell"]])


#: What makes two runs of the earlier stages the same arm (everything but the seed and the input's
#: own options), and what pairs a layer's run with a frames run (the data and the backbone's start).
_ARM_KEYS = ("stage", "backbone", "input", "labels_per_class", "nuisance", "shortcut", "pretrained", "tav_weight",
             "data_seed", "source")
_PAIR_KEYS = ("backbone", "labels_per_class", "nuisance", "shortcut", "pretrained", "data_seed", "source")


def _arm_field(record: RunRecord, key: str) -> object:
    """One field of a run for grouping (runs from before the source controls pretrained on the book's pooled task)."""
    return (record.get(key) or "pooled") if key == "source" else record.get(key)


def arm_activity(records: Sequence[RunRecord], below_half: dict[str, float]) -> list[dict]:
    """The layer's activity (:func:`_activity`) in every VMP arm of the earlier stages, each arm's
    layers beside the frames runs of the same data, backbone start and seed; ``below_half`` is each
    run's share of test pixels below 0.5 by :func:`record_key` (``benchmarks/layer_activity.py``)."""
    arms: dict[tuple, dict[int, RunRecord]] = {}
    frames: dict[tuple, dict[int, RunRecord]] = {}
    for record in records:
        if record["input"] in ("vmp", "vmp_frozen"):
            key = (*(_arm_field(record, k) for k in _ARM_KEYS), tuple(record["start"]))
            arms.setdefault(key, {})[record["seed"]] = record
        elif record["input"] == "frames":
            pair = tuple(_arm_field(record, k) for k in _PAIR_KEYS)
            if record["seed"] in frames.setdefault(pair, {}):
                raise ValueError(f"two frames runs of seed {record['seed']} share {dict(zip(_PAIR_KEYS, pair))}")
            frames[pair][record["seed"]] = record
    rows = []
    for key, layer in arms.items():
        arm = dict(zip(_ARM_KEYS, key[:-1]))
        pair = frames.get(tuple(arm.get(k) for k in _PAIR_KEYS), {})
        below = {seed: below_half[record_key(record)] for seed, record in layer.items()}
        rows.append({**arm, "start": list(key[-1]), **_activity(layer, pair, below)})
    return rows


def stopping_summary(records: Sequence[RunRecord]) -> dict:
    """How the paper arm's complete-seed runs ended: stopped by the validation rule or by the
    maximum, and the epochs they trained (does training to convergence hold?)."""
    chosen = paper_records(records)
    epochs = [r["epochs_trained"] for r in chosen]
    return {"runs": len(chosen), "by_rule": sum(r["stopped_epoch"] is not None for r in chosen),
            "by_maximum": sum(r["stopped_epoch"] is None for r in chosen),
            "epochs_median": float(np.median(epochs)) if epochs else float("nan"),
            "epochs_high": max(epochs, default=0)}


def paper_arm_table(records: Sequence[RunRecord], method: Method = seed_clip_t) -> list[dict]:
    """Per primary regime of the paper arm, on its complete seeds: mean test top-1 of the frames and
    of VMP, VMP - frames with its family-wise interval, Holm's adjusted p, the detectable
    difference, and the layer's activity averaged over the backbones (clips it changes beside the
    frames' own floor, test pixels below 0.5, seeds at the identity)."""
    chosen = paper_records(records)
    rows = []
    for item in paper_answers(records, method=method):
        regime = item.question.name
        activity = [layer_activity(chosen, backbone, regime) for backbone in item.backbones]
        top1 = {input: float(np.mean([r["test_top1"] for r in chosen
                                      if r["regime"] == regime and r["input"] == input]))
                for input in ("frames", "vmp")}
        rows.append({
            "regime": regime, "seeds": min(a["seeds"] for a in activity), **top1,
            "difference": item.difference.estimate, "interval": item.interval, "level": item.level,
            "adjusted_p": item.adjusted_p, "detectable": detectable(item),
            "disagree": float(np.mean([a["disagree"] for a in activity])),
            "frames_disagree": float(np.mean([a["frames_disagree"] for a in activity])),
            "below_half": float(np.mean([a["below_half"] for a in activity])),
            "identity_seeds": sum(a["identity_seeds"] for a in activity),
            "layer_runs": sum(a["seeds"] for a in activity),
        })
    return rows




#: A paper-arm draw "passes" still pixels when its start gives a still pixel (D = 0) at least this
#: attention, and "blanks" them otherwise.
PASSING_DRAW = 0.5


def layers_by_draw(records: Sequence[RunRecord]) -> dict:
    """The paper arm's learned layers (complete seeds) grouped by their draw, which is fixed before
    training: ``passing`` and ``blanking`` each list every layer's share of test pixels dimmed
    (attention below 0.5) and of test clips changed against the frames of its seed; ``floor`` lists
    the clips two frames runs of neighbouring seeds differ on (same backbone and regime). Pooled,
    the two kinds can land on the floor while each sits on one side of it."""
    chosen = paper_records(records)
    groups: dict = {"passing": {"dimmed": [], "changed": []}, "blanking": {"dimmed": [], "changed": []},
                    "floor": []}
    for backbone in PAPER_BACKBONES:
        for regime in PAPER_REGIMES:
            layer = _by_seed(chosen, backbone, paper_fields(regime, "vmp"))
            frames = _by_seed(chosen, backbone, paper_fields(regime, "frames"))
            for seed in sorted(set(layer) & set(frames)):
                run = layer[seed]
                group = groups["passing" if still_attention(*run["start"]) >= PASSING_DRAW else "blanking"]
                group["dimmed"].append(run["attention_below_half"])
                group["changed"].append(disagreement(run["test_correct"], frames[seed]["test_correct"]))
            seeds = sorted(frames)
            groups["floor"] += [disagreement(frames[s]["test_correct"], frames[t]["test_correct"])
                                for s, t in zip(seeds, seeds[1:])]
    return groups

# The sixth amendment's clean source control: Tiny3D pretrained on the book's pooled source task and
# on one that keeps direction only on the diagonals (no class a target class), three pretraining
# seeds each, each checkpoint fine-tuned in the base regime with fine-tuning seeds 0-2.

#: The control's checkpoints by arm; ``pooled_s0`` is the book's own, whose base-regime runs are the
#: regimes stage's.
SOURCE_ARMS = {arm: tuple(f"{arm}_s{seed}" for seed in range(3)) for arm in ("pooled", "diagonal")}
SOURCE_FINE_TUNING_SEEDS = (0, 1, 2)


def source_checkpoint_runs(records: Sequence[RunRecord], checkpoint: str, input: str) -> list[RunRecord]:
    """One checkpoint's base-regime fine-tuning runs of one input, seeds 0-2 (the book's checkpoint:
    the regimes stage's runs)."""
    fields = (regime_fields("base", input) if checkpoint == "pooled_s0"
              else _base(input=input, stage="source_control", source=checkpoint))
    runs = _by_seed(records, "tiny3d", fields)
    return [runs[seed] for seed in SOURCE_FINE_TUNING_SEEDS if seed in runs]


def source_control(records: Sequence[RunRecord], input: str) -> dict:
    """Diagonal − pooled source in test top-1 for one input: each checkpoint summarised by its mean
    over the fine-tuning seeds, and a Welch t interval (95%) over the 3 + 3 checkpoints, so that
    the interval carries each checkpoint's luck."""
    means = {}
    for checkpoint in (name for names in SOURCE_ARMS.values() for name in names):
        runs = source_checkpoint_runs(records, checkpoint, input)
        if len(runs) != len(SOURCE_FINE_TUNING_SEEDS):
            raise ValueError(f"checkpoint {checkpoint} has {len(runs)} of its "
                             f"{len(SOURCE_FINE_TUNING_SEEDS)} {input} runs")
        means[checkpoint] = float(np.mean([r["test_top1"] for r in runs]))
    diagonal, pooled = ([means[c] for c in SOURCE_ARMS[arm]] for arm in ("diagonal", "pooled"))
    test = stats.ttest_ind(diagonal, pooled, equal_var=False)
    interval = test.confidence_interval(0.95)
    return {"input": input, "checkpoints": means, "difference": float(np.mean(diagonal) - np.mean(pooled)),
            "interval": (float(interval.low), float(interval.high)), "p": float(test.pvalue)}


# The gated input's threshold, chosen per backbone on the gate stage's runs (the sixth amendment).

def gate_scores(records: Sequence[RunRecord], backbone: str) -> dict[float, float]:
    """Each threshold's mean validation top-1 in one backbone's gate stage."""
    runs = [r for r in records if r["stage"] == "gate" and r["backbone"] == backbone]
    if not runs:
        raise ValueError(f"no gate-stage runs of {backbone}")
    return {gate: float(np.mean([r["val_top1"] for r in runs if r["gate"] == gate]))
            for gate in sorted({r["gate"] for r in runs})}


def chosen_gate(records: Sequence[RunRecord], backbone: str = "tiny3d") -> float:
    """The threshold with the best mean validation top-1 in a backbone's gate stage; ties to the smaller."""
    scores = gate_scores(records, backbone)
    return max(scores, key=lambda gate: scores[gate])


def at_own_gate(records: Sequence[RunRecord]) -> list[RunRecord]:
    """The records with each backbone's gated runs at its own threshold only: gated runs made at
    another backbone's threshold (and made again at this one's) are left out; the gate stage's own
    runs stay, to show the choice."""
    gates = {b: chosen_gate(records, b) for b in {r["backbone"] for r in records if r["stage"] == "gate"}}

    def kept(record: RunRecord) -> bool:
        own = gates.get(record["backbone"])  # None: no gate stage of its own, every gated run kept
        return (record["input"] != "gated" or record["stage"] == "gate" or own is None
                or abs(record["gate"] - own) < 1e-9)

    return [r for r in records if kept(r)]
