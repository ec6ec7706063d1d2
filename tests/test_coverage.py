"""The coverage simulation: the model reproduces what it was fitted to, its fast bootstrap is the
package's, a percentile bootstrap over three seeds covers less than it says, and the committed
``coverage.json`` is what the code gives (a small recomputation)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from vmp.checkpoint import read_records
from vmp.regimes import CONFIRMATORY
from vmp.stats.bootstrap import cluster_bootstrap
from vmp.stats.coverage import PairModel, bootstrap_resamples, coverage, fit_pair, resample_weights, simulated_moments

RESULTS = Path(__file__).resolve().parents[1] / "benchmarks" / "results"


def a_model(seed_sd: float = 0.6, clips: int = 600) -> PairModel:
    """Two inputs alike on most clips, a ahead by a few points, with seed effects on both."""
    rng = np.random.default_rng(0)
    logit_b = rng.normal(1.0, 2.0, clips)
    logit_a = logit_b + 0.3 + rng.normal(0, 0.5, clips)
    covariance = np.array([[1.0, 0.2], [0.2, 1.0]]) * seed_sd**2
    return PairModel(logit_a, logit_b, covariance, coupling=0.6)


def test_a_fit_reproduces_the_disagreement_and_the_spreads_it_was_fitted_to():
    truth = a_model()
    rng = np.random.default_rng(1)
    a, b = (runs[0] for runs in truth.draw_runs(rng.integers(0, 600, size=(1, 600)), 8, rng))
    fitted = fit_pair(a, b)
    (simulated,) = simulated_moments([fitted], replicates=100)
    observed = fitted.observed
    assert simulated["disagreement"] == pytest.approx(observed["disagreement"], rel=0.15)
    assert simulated["clip_sd"] == pytest.approx(observed["clip_sd"], rel=0.15)
    assert simulated["seed_sd"] == pytest.approx(observed["seed_sd"], rel=0.5)
    assert simulated["difference"] == pytest.approx(observed["difference"], abs=0.01)


def test_the_fast_bootstrap_resamples_like_the_packages():
    rng = np.random.default_rng(2)
    differences = [rng.integers(-1, 2, (5, 300)).astype(float) + rng.normal(0, 0.05, (5, 1)) for _ in range(2)]
    rng = np.random.default_rng(3)
    weights = resample_weights(300, 4000, rng), [resample_weights(5, 4000, rng) for _ in differences]
    fast = bootstrap_resamples(differences, *weights)
    package = cluster_bootstrap(differences, 4000, seed=3)
    assert fast.mean() == pytest.approx(package.estimate, abs=2e-3)
    assert fast.std(ddof=1) == pytest.approx(package.standard_error, rel=0.08)


def test_three_seeds_undercover_with_the_bootstrap_not_with_t():
    shares = coverage([a_model(seed_sd=0.8)], seed_counts=(3,), replicates=200, resamples=300, seed=4)
    bootstrap, seed_clip = shares["cluster bootstrap"][3][0.95], shares["seed and clip t"][3][0.95]
    assert bootstrap < 0.88 < seed_clip


def test_the_committed_coverage_is_what_the_code_gives():
    committed = json.loads((RESULTS / "coverage.json").read_text())["questions"]["confirm"]["coverage"]
    records = read_records(RESULTS / "regimes.jsonl")
    from vmp.stats.coverage import fit_question

    models = list(fit_question(records, CONFIRMATORY).values())
    replicates = 150
    shares = coverage(models, seed_counts=(3,), replicates=replicates, resamples=300, seed=5)
    for method in ("cluster bootstrap", "seed-level t", "seed and clip t"):
        recorded = committed[method]["3"]["0.9500"]
        tolerance = 4 * np.sqrt(recorded * (1 - recorded) / replicates) + 0.02
        assert shares[method][3][0.95] == pytest.approx(recorded, abs=tolerance), method
