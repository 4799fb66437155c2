"""Experiments: policy × budget × seed sweeps with a shared baseline, and paired effects.

``run_experiment`` (``runner``) runs every arm at every budget for every seed, plus the
baseline (no interventions) once per seed, with the same seed for all (common random numbers),
serially, with joblib or on ``dask.distributed``, optionally into a resumable store
(``store``); ``collect`` merges a store or a Hydra multirun into the same Dataset; ``compare``
(``compare``) gives per-seed paired differences of totals with medians, bands and bootstrap
intervals. With ``seasons`` a run spans a burn-in and several seasons, the interventions are
repeated before each (``seasons``: decided again on the history so far, the prevention
paradox) and ``compare`` reports effects per season.

Examples
--------
>>> from predgov.sim import NullIntervention
>>> ds = run_experiment({"scale": 0.001, "start": "2025-11-15", "end": "2025-11-17"},
...                     {"null": lambda budget, seed: [NullIntervention()]},
...                     budgets=[1.0], seeds=[0, 1])
>>> float(compare(ds)["calls_averted_mean"].sel(policy="null", budget=1.0))
0.0
"""

from predgov.sim.experiment.compare import compare, crn_ratio, paired, totals
from predgov.sim.experiment.runner import DEFAULT_OUTPUTS, reduce_run, run_experiment
from predgov.sim.experiment.seasons import repeat_for_seasons, season_table
from predgov.sim.experiment.store import collect

__all__ = [
    "DEFAULT_OUTPUTS",
    "collect",
    "compare",
    "crn_ratio",
    "paired",
    "reduce_run",
    "repeat_for_seasons",
    "run_experiment",
    "season_table",
    "totals",
]
