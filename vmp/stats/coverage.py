"""How often a nominal 95% interval for a difference between two inputs covers the truth, at the
seed counts a study can afford: simulated from a model fitted to the study's own runs.

The model, per backbone and pair of inputs (``a``, ``b``), has the three things that make a
difference uncertain:

- **clip effects**: each test clip its own chance of being right with each input (a beta-binomial
  fit to how many seeds got it right, so a clip right in every seed stays likely, not certain),
  the two inputs' per-clip gaps pulled towards their mean until they vary as much across clips as
  the runs' clip part says (the per-clip differences' spread less the seeds' noise in it);
- **seed effects**: each seed shifts both inputs' log-odds on every clip (a bivariate normal whose
  covariance is the per-seed accuracies' spread less the part the clips' own noise explains);
- **disagreement**: two runs of one seed share their luck on a clip with probability ``coupling``,
  fitted so that the inputs disagree on as many clips within a seed as the runs do.

A simulated study draws its test clips from the fitted ones (with replacement, shared by the
backbones, as the study's clips are) and its seeds from the seed effects; the truth is the
model's expected difference over clips and seeds.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np
from scipy import optimize, special

from vmp.regimes import Question, matches
from vmp.stats.intervals import residual_mean_square, seed_clip_t, seed_t

#: The interval methods compared: the two-level (seeds and clips) percentile bootstrap of
#: ``vmp.stats.bootstrap``, the seed-level t interval and the t interval with a clip part (``vmp.stats.intervals``).
METHODS = ("cluster bootstrap", "seed-level t", "seed and clip t")


def paired_correct(records: Sequence[dict], question: Question, backbone: str) -> tuple[np.ndarray, np.ndarray] | None:
    """``(seeds, clips)`` per-clip results (1 right, 0 wrong) of the two sides of a question on one
    backbone, rows paired by seed; None without runs of both."""
    sides = []
    for fields in (question.a, question.b):
        runs: dict[int, dict] = {}
        for record in records:
            if record["backbone"] == backbone and matches(record, fields):
                if record["seed"] in runs:
                    raise ValueError(f"two runs of {backbone} seed {record['seed']} match {fields}")
                runs[record["seed"]] = record
        sides.append(runs)
    seeds = sorted(set(sides[0]) & set(sides[1]))
    if not seeds:
        return None
    a, b = (np.asarray([side[s]["test_correct"] for s in seeds], dtype=np.int8) for side in sides)
    return a, b


def _beta_binomial_means(correct: np.ndarray) -> np.ndarray:
    """Each clip's chance of being right: the posterior mean of a beta-binomial fitted by moments
    to the number of seeds that got it right."""
    seeds = correct.shape[0]
    counts = correct.sum(axis=0).astype(np.float64)
    mean = float(np.clip(counts.mean() / seeds, 1e-3, 1 - 1e-3))
    excess = counts.var(ddof=1) / (seeds * mean * (1 - mean)) - 1
    correlation = float(np.clip(excess / (seeds - 1), 1e-3, 1 - 1e-3))  # 1 / (alpha + beta + 1)
    prior = 1 / correlation - 1
    return (counts + mean * prior) / (seeds + prior)


def _calibrated_clip_effects(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each clip's chance of being right with each input (:func:`_beta_binomial_means`), with the
    clips' differences ``p_a - p_b`` pulled towards their mean until their variance is the clip
    part of the observed per-clip differences (their variance less the seed-by-clip noise)."""
    p_a, p_b = _beta_binomial_means(a), _beta_binomial_means(b)
    d = a.astype(np.float64) - b
    target = max(0.0, float(d.mean(axis=0).var(ddof=1)) - residual_mean_square(d) / d.shape[0])
    gap = p_a - p_b
    spread = float(gap.var(ddof=1))
    keep = min(1.0, np.sqrt(target / spread)) if spread > 0 else 0.0
    gap = gap.mean() + keep * (gap - gap.mean())
    middle = (p_a + p_b) / 2
    return np.clip(middle + gap / 2, 1e-4, 1 - 1e-4), np.clip(middle - gap / 2, 1e-4, 1 - 1e-4)


def _shift_to(logits: np.ndarray, accuracy: float) -> float:
    """The shift of every clip's log-odds that makes the mean chance of being right ``accuracy``."""
    accuracy = float(np.clip(accuracy, 0.5 / logits.size, 1 - 0.5 / logits.size))
    return float(optimize.brentq(lambda shift: special.expit(logits + shift).mean() - accuracy, -30, 30))


@dataclass(frozen=True)
class PairModel:
    """Two inputs of one backbone, fitted to their runs: clip effects, seed effects, coupling."""

    logit_a: np.ndarray
    logit_b: np.ndarray
    seed_covariance: np.ndarray
    coupling: float
    observed: dict = field(default_factory=dict)

    @property
    def clips(self) -> int:
        return self.logit_a.size

    def expected_difference(self, nodes: int = 40) -> float:
        """The model's true difference: the mean over clips and seed effects of a's chance minus b's."""
        x, w = np.polynomial.hermite_e.hermegauss(nodes)  # E over a normal seed effect
        w = w / w.sum()
        means = []
        for logits, sd in ((self.logit_a, np.sqrt(self.seed_covariance[0, 0])),
                           (self.logit_b, np.sqrt(self.seed_covariance[1, 1]))):
            means.append(float((special.expit(logits[:, None] + sd * x[None, :]) * w).sum(axis=1).mean()))
        return means[0] - means[1]

    def draw_runs(self, clip_index: np.ndarray, seeds: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """Simulated studies' per-clip results (1 right, 0 wrong) of a and of b, each
        ``(replicates, seeds, clips)``; ``clip_index``: ``(replicates, clips)`` the fitted clips each
        study tests on."""
        replicates, clips = clip_index.shape
        effects = rng.multivariate_normal(np.zeros(2), self.seed_covariance, size=(replicates, seeds))
        chance_a = special.expit(self.logit_a[clip_index][:, None, :] + effects[..., :1])
        chance_b = special.expit(self.logit_b[clip_index][:, None, :] + effects[..., 1:])
        luck_a = rng.random((replicates, seeds, clips))
        shared = rng.random((replicates, seeds, clips)) < self.coupling
        luck_b = np.where(shared, luck_a, rng.random((replicates, seeds, clips)))
        return (luck_a < chance_a).astype(np.int8), (luck_b < chance_b).astype(np.int8)

    def draw(self, clip_index: np.ndarray, seeds: int, rng: np.random.Generator) -> np.ndarray:
        """``(replicates, seeds, clips)`` differences a - b of simulated studies (:meth:`draw_runs`)."""
        a, b = self.draw_runs(clip_index, seeds, rng)
        return a - b


def fit_pair(correct_a: np.ndarray, correct_b: np.ndarray) -> PairModel:
    """The model of one backbone's two inputs from their ``(seeds, clips)`` results, paired by seed."""
    a, b = np.asarray(correct_a), np.asarray(correct_b)
    if a.shape != b.shape or a.ndim != 2 or a.shape[0] < 2:
        raise ValueError(f"need two (seeds, clips) arrays of one shape with 2 or more seeds, got {a.shape}, {b.shape}")
    seeds, clips = a.shape
    p_a, p_b = _calibrated_clip_effects(a, b)
    # coupling: the share of shared luck that gives the observed disagreement within a seed
    independent = float((p_a * (1 - p_b) + p_b * (1 - p_a)).mean())
    shared = float(np.abs(p_a - p_b).mean())
    disagreement = float((a != b).mean())
    coupling = 0.0
    if independent > shared:
        coupling = float(np.clip((independent - disagreement) / (independent - shared), 0, 1))
    # seed effects: each run's shift of the log-odds, less what the clips' own noise adds to their spread
    logit_a, logit_b = special.logit(p_a), special.logit(p_b)
    shifts = np.array([[_shift_to(logit_a, run.mean()) for run in a], [_shift_to(logit_b, run.mean()) for run in b]])
    slope_a, slope_b = float((p_a * (1 - p_a)).mean()), float((p_b * (1 - p_b)).mean())
    together = float((coupling * (np.minimum(p_a, p_b) - p_a * p_b)).mean())
    noise = np.array([[1 / slope_a, together / (slope_a * slope_b)],
                      [together / (slope_a * slope_b), 1 / slope_b]]) / clips
    values, vectors = np.linalg.eigh(np.cov(shifts) - noise)
    covariance = (vectors * np.clip(values, 0, None)) @ vectors.T
    d = a.astype(np.float64) - b
    observed = {"seeds": seeds, "disagreement": disagreement, "seed_sd": float(d.mean(axis=1).std(ddof=1)),
                "clip_sd": float(d.mean(axis=0).std(ddof=1)), "difference": float(d.mean())}
    return PairModel(logit_a, logit_b, covariance, coupling, observed)


def fit_question(records: Sequence[dict], question: Question) -> dict[str, PairModel]:
    """One fitted model per backbone that ran both sides of ``question``."""
    models = {}
    for backbone in question.backbones:
        found = paired_correct(records, question, backbone)
        if found is not None:
            models[backbone] = fit_pair(*found)
    return models


def resample_weights(size: int, resamples: int, rng: np.random.Generator) -> np.ndarray:
    """``(resamples, size)`` bootstrap weights: how often each of ``size`` items is drawn, over
    ``size`` (multinomial counts, drawn as uniform indices, which is faster)."""
    drawn = rng.integers(0, size, size=(resamples, size)) + size * np.arange(resamples)[:, None]
    return np.bincount(drawn.ravel(), minlength=resamples * size).reshape(resamples, size) / size


def bootstrap_resamples(differences: Sequence[np.ndarray], clip_weights: np.ndarray,
                        seed_weights: Sequence[np.ndarray]) -> np.ndarray:
    """The resampled means of :func:`vmp.stats.bootstrap.cluster_bootstrap` (each backbone's seeds on
    their own, the clips shared) for given weights (:func:`resample_weights`; one seed weight
    array per backbone)."""
    total = np.zeros(clip_weights.shape[0])
    for d, weights in zip(differences, seed_weights):
        total += ((weights @ d) * clip_weights).sum(axis=1)
    return total / len(differences)


def _intervals(studies: list[np.ndarray], levels: Sequence[float], methods: Sequence[str],
               weights: tuple[np.ndarray, list[np.ndarray]]) -> dict[str, dict[float, tuple[float, float]]]:
    """Each method's intervals of one simulated study at each level."""
    found = {}
    for method in methods:
        if method == "cluster bootstrap":
            means = bootstrap_resamples(studies, *weights)
            found[method] = {level: tuple(np.quantile(means, [0.5 - level / 2, 0.5 + level / 2])) for level in levels}
        elif method in ("seed-level t", "seed and clip t"):
            result = (seed_t if method == "seed-level t" else seed_clip_t)(studies)
            found[method] = {level: result.interval(level) for level in levels}
        else:
            raise ValueError(f"unknown method {method!r}; known: {METHODS}")
    return found


def coverage(models: Sequence[PairModel], seed_counts: Sequence[int] = (3, 5, 10), replicates: int = 1000,
             levels: Sequence[float] = (0.95,), methods: Sequence[str] = METHODS, resamples: int = 1000,
             seed: int = 0, chunk: int = 50) -> dict:
    """The share of simulated studies whose interval covers the true difference (the mean over
    backbones of each model's), per method, seed count and level: ``{method: {seeds: {level: share}}}``.
    Every method sees the same simulated studies; the bootstrap draws its resampling weights once
    per ``chunk`` of studies (common random numbers: each study's interval is still a bootstrap's)."""
    models = list(models)
    clips = {m.clips for m in models}
    if len(clips) != 1:
        raise ValueError(f"the backbones' models must share their clips, got {sorted(clips)}")
    (count,) = clips
    truth = float(np.mean([m.expected_difference() for m in models]))
    rng = np.random.default_rng(seed)
    hits = {method: {s: {level: 0 for level in levels} for s in seed_counts} for method in methods}
    for seeds in seed_counts:
        for start in range(0, replicates, chunk):
            size = min(chunk, replicates - start)
            clip_index = rng.integers(0, count, size=(size, count))
            drawn = [m.draw(clip_index, seeds, rng).astype(np.float64) for m in models]
            # one draw of bootstrap weights serves the chunk's studies (each study's data are its own)
            weights = (resample_weights(count, resamples, rng),
                       [resample_weights(seeds, resamples, rng) for _ in models])
            for r in range(size):
                found = _intervals([d[r] for d in drawn], levels, methods, weights)
                for method, by_level in found.items():
                    for level, (low, high) in by_level.items():
                        hits[method][seeds][level] += int(low <= truth <= high)
    return {method: {s: {level: hits[method][s][level] / replicates for level in levels} for s in seed_counts}
            for method in methods}


def simulated_moments(models: Sequence[PairModel], replicates: int = 200, seed: int = 0) -> list[dict]:
    """Per model, the mean over simulated studies with the observed seed count of what
    :func:`fit_pair` records as observed (disagreement, per-seed and per-clip spread): the fit's check."""
    rng = np.random.default_rng(seed)
    found = []
    for m in models:
        seeds = m.observed["seeds"]
        d = m.draw(rng.integers(0, m.clips, size=(replicates, m.clips)), seeds, rng).astype(np.float64)
        found.append({"disagreement": float((d != 0).mean()),
                      "seed_sd": float(d.mean(axis=2).std(axis=1, ddof=1).mean()),
                      "clip_sd": float(d.mean(axis=1).std(axis=1, ddof=1).mean()),
                      "difference": m.expected_difference()})
    return found


def study_coverage(records: Sequence[dict], questions: Sequence[Question], seed_counts: Sequence[int] = (3, 5, 10),
                   levels: Sequence[float] = (0.95,), replicates: int = 1000, resamples: int = 1000,
                   seed: int = 0) -> dict:
    """For each question with runs: its models' fit (observed against simulated), the true difference
    and :func:`coverage`, as plain data (levels and seed counts as strings, for JSON)."""
    found = {}
    for number, question in enumerate(questions):
        models = fit_question(records, question)
        if not models:
            continue
        simulated = simulated_moments(list(models.values()), seed=seed + number)
        shares = coverage(list(models.values()), seed_counts, replicates, levels, resamples=resamples,
                          seed=seed + number)
        found[question.name] = {
            "text": question.text, "backbones": list(models),
            "truth": float(np.mean([m.expected_difference() for m in models.values()])),
            "fit": {backbone: {"coupling": m.coupling, "seed_sd_logit": np.sqrt(np.diag(m.seed_covariance)).tolist(),
                               "observed": m.observed, "simulated": moments}
                    for (backbone, m), moments in zip(models.items(), simulated)},
            "coverage": {method: {str(s): {f"{level:.4f}": share for level, share in by_level.items()}
                                  for s, by_level in by_seeds.items()} for method, by_seeds in shares.items()},
        }
    return found
