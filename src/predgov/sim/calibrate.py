"""Calibration: fit occurrence and reporting parameters of ``CityModel`` to an observed cube.

Patterns (pattern-oriented modelling, several at once)
    annual volume per category, seasonal profile (weekly totals), district shares, and
    optionally the repeat-call share per category (hotline exports rarely carry it; pass it as
    ``repeat_share`` when known).
Likelihood
    The simulated mean of each (week, district, category) cell is the mean over ``seeds`` of
    the simulated counts, scaled from the simulated to the observed households of the
    district (so a reduced-scale town fits a full-size cube). Observed weekly counts are
    negative binomial around it, ``NB(mu, size_c)``, with one dispersion ``size_c`` per
    category estimated by maximum likelihood given ``mu`` (profile likelihood). A repeat
    share adds a binomial term for the repeat calls among all calls of each category.
Common random numbers
    Every evaluation runs the same ``seeds`` (the model draws from (seed, process, day) keyed
    streams), so the objective changes smoothly with the parameters instead of jumping with
    fresh noise, and differences between candidate parameters are not masked by it.
Fitting (``method``)
    ``"ratio"`` (default): a few multiplicative updates, each parameter scaled by (observed /
    simulated volume of the categories it drives) ** (1 / elasticity), a moment estimator
    that converges fast because volume is nearly proportional to each occurrence rate (the
    elasticity starts at the given value and is then re-estimated from the last two steps, a
    secant step in log-log space: queues make calls grow faster than problems); the result is
    the last update. ``"nelder-mead"``: ``scipy.optimize.minimize`` of the negative
    log-likelihood over the log parameters (starting where the ``ratio_steps`` ratio updates
    ended); the result is the evaluated point with the highest likelihood.
    Either way the dispersion is then estimated at the result.

Parameters are named by their path in ``SimParams``: ``"heating.rate"``,
``"heating.reporting.report"``, ``"noise.rate_social"``, ...

Examples
--------
>>> p = set_param(SimParams(), "heating.reporting.report", 0.5)
>>> get_param(p, "heating.reporting.report"), get_param(p, "heating.rate") == 5.8e-5
(0.5, True)
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr
from scipy import optimize, special

from predgov.sim.model import SimParams
from predgov.sim.processes.background import EXPLICIT
from predgov.sim.scenario import run_scenario

#: Default parameters to fit: path -> (categories whose volume it drives, elasticity).
DEFAULT_PARAMS: dict[str, tuple[tuple[str, ...], float]] = {
    "heating.rate": (("heating",), 1.0),
    "neighbour.escalate": (("neighbour_dispute",), 1.0),
    "consumer.dispute": (("consumer_dispute",), 1.0),
    "noise.rate_traffic": (("noise_traffic",), 1.0),
    "noise.rate_construction": (("noise_construction",), 1.0),
    "noise.rate_social": (("noise_social",), 1.0),
}


def get_param(params: SimParams, path: str) -> float:
    """Value of the parameter at ``path`` (dotted attribute path in ``SimParams``)."""
    obj: Any = params
    for part in path.split("."):
        if not hasattr(obj, part):
            raise KeyError(f"SimParams has no parameter {path!r}")
        obj = getattr(obj, part)
    return float(obj)


def set_param(params: SimParams, path: str, value: float) -> SimParams:
    """A copy of ``params`` with the parameter at ``path`` set to ``value``.

    Examples
    --------
    >>> set_param(SimParams(), "noise.rate_social", 1e-4).noise.rate_social
    0.0001
    """
    head, _, rest = path.partition(".")
    if not hasattr(params, head):
        raise KeyError(f"SimParams has no parameter {path!r}")
    if not rest:
        return dataclasses.replace(params, **{head: value})  # type: ignore[type-var]
    return dataclasses.replace(params, **{head: set_param(getattr(params, head), rest, value)})  # type: ignore[type-var,arg-type]


def nb_loglik(y: np.ndarray, mu: np.ndarray, size: float | np.ndarray) -> float:
    """Negative-binomial log-likelihood of counts ``y`` with means ``mu`` and ``size``.

    Examples
    --------
    >>> y = np.array([0, 3, 10])
    >>> round(nb_loglik(y, y + 0.5, 1e9), 4) == round(float(
    ...     __import__("scipy").stats.poisson.logpmf(y, y + 0.5).sum()), 4)
    True
    """
    y = np.asarray(y, dtype=np.float64)
    mu = np.maximum(np.asarray(mu, dtype=np.float64), 1e-9)
    size = np.asarray(size, dtype=np.float64)
    out = (special.gammaln(y + size) - special.gammaln(size) - special.gammaln(y + 1)
           + size * np.log(size / (size + mu)) + y * np.log(mu / (size + mu)))  # fmt: skip
    return float(out.sum())


def nb_size(y: np.ndarray, mu: np.ndarray) -> float:
    """Maximum-likelihood NB ``size`` of counts ``y`` given their means ``mu`` (in [0.1, 1e6]).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> mu = np.full(4000, 20.0)
    >>> y = rng.poisson(mu * rng.gamma(5.0, 1 / 5.0, mu.shape))
    >>> 4 < nb_size(y, mu) < 6.5
    True
    """
    res = optimize.minimize_scalar(lambda s: -nb_loglik(y, mu, np.exp(s)),
                                   bounds=(np.log(0.1), np.log(1e6)), method="bounded")  # fmt: skip
    return float(np.exp(res.x))


@dataclass
class CalibrationResult:
    """What ``calibrate`` found.

    ``values`` / ``start`` map parameter paths to fitted / starting values; ``params`` is the
    fitted ``SimParams``; ``volume`` compares observed and simulated volume per category before
    and after; ``district_shares`` the districts' shares of each category's volume (observed,
    before, after); ``loglik_start`` / ``loglik`` the NB log-likelihood before and after;
    ``size`` the NB dispersion per category; ``history`` one row per model evaluation.
    """

    params: SimParams
    values: dict[str, float]
    start: dict[str, float]
    loglik_start: float
    loglik: float
    size: dict[str, float]
    volume: pd.DataFrame
    district_shares: pd.DataFrame
    repeat_share: pd.DataFrame
    history: pd.DataFrame = field(repr=False)

    def summary(self) -> pd.DataFrame:
        """Parameters: start, fitted value and their ratio."""
        return pd.DataFrame({
            "start": self.start, "fitted": self.values,
            "ratio": {k: self.values[k] / self.start[k] for k in self.values},
        })  # fmt: skip


class _Objective:
    """Simulates with given parameter values (same seeds each time) and scores the fit."""

    def __init__(self, model_cfg: Mapping[str, Any], target: xr.DataArray, base: SimParams,
                 paths: Sequence[str], seeds: Sequence[int], freq: str, n_jobs: int,
                 categories: Sequence[str], repeat_share: Mapping[str, float] | None,
                 repeat_weight: float) -> None:  # fmt: skip
        self.cfg = dict(model_cfg)
        self.base, self.paths, self.seeds = base, list(paths), list(seeds)
        self.freq, self.n_jobs = freq, n_jobs
        self.categories = list(categories)
        self.repeat_share = dict(repeat_share or {})
        self.repeat_weight = repeat_weight
        self.target = target.sel(category=self.categories)
        self.target_w = self._weekly(self.target)
        self.history: list[dict[str, Any]] = []
        self.sims: list[xr.Dataset] = []

    def _weekly(self, da: xr.DataArray) -> xr.DataArray:
        return da.resample(time=self.freq).sum()

    def params_for(self, values: Mapping[str, float]) -> SimParams:
        p = self.base
        for path in self.paths:
            p = set_param(p, path, float(values[path]))
        return p

    def simulate(self, values: Mapping[str, float]) -> xr.Dataset:
        """Mean over seeds of the simulated outputs, scaled to the target's households."""
        ds = run_scenario({**self.cfg, "params": self.params_for(values)}, seeds=self.seeds,
                          n_jobs=self.n_jobs)  # fmt: skip
        ratio = (self.target["households"].astype(float) / ds["sim_households"].astype(float))
        out = ds[["counts", "repeat_calls"]].mean("seed") * ratio
        return out.sel(category=self.categories)

    def score(self, sim: xr.Dataset, size: Mapping[str, float] | None = None
              ) -> tuple[float, dict[str, float]]:  # fmt: skip
        """NB log-likelihood of the weekly target given the simulation (and the sizes used)."""
        mu = self._weekly(sim["counts"]).transpose(*self.target_w.dims)
        y = self.target_w
        total, sizes = 0.0, {}
        for c in self.categories:
            yc, mc = y.sel(category=c).values, mu.sel(category=c).values
            s = nb_size(yc, mc) if size is None else size[c]
            sizes[c] = s
            total += nb_loglik(yc, mc, s)
        for c, share in self.repeat_share.items():
            calls = float(sim["counts"].sel(category=c).sum())
            rep = float(sim["repeat_calls"].sel(category=c).sum())
            q = min(max(rep / max(calls, 1e-9), 1e-6), 1 - 1e-6)
            n_obs = float(y.sel(category=c).sum())
            k = share * n_obs
            total += self.repeat_weight * (k * np.log(q) + (n_obs - k) * np.log(1 - q))
        return total, sizes

    def __call__(self, values: Mapping[str, float]) -> tuple[float, xr.Dataset]:
        sim = self.simulate(values)
        ll, _ = self.score(sim)
        self.history.append({**values, "loglik": ll})
        self.sims.append(sim)
        return ll, sim


def calibrate(
    model_cfg: Mapping[str, Any],
    target_cube: xr.Dataset | xr.DataArray,
    *,
    params: Sequence[str] | Mapping[str, tuple[Sequence[str], float]] | None = None,
    seeds: Sequence[int] = (0, 1),
    method: str = "ratio",
    ratio_steps: int = 4,
    maxfev: int = 40,
    freq: str = "W-MON",
    repeat_share: Mapping[str, float] | None = None,
    repeat_weight: float = 1.0,
    n_jobs: int = 1,
) -> CalibrationResult:
    """Fit occurrence and reporting parameters of ``CityModel`` to an observed cube.

    Parameters
    ----------
    model_cfg
        ``CityModel`` keyword arguments (``scale``, ``world_seed``, ``districts``,
        ``processes``, ``params`` as the starting values). ``start``/``end`` default to the
        target's first and last day; ``districts`` to the target's.
    target_cube
        Observed cube (``counts(time, district, category)``, daily, with a ``households``
        coordinate on ``district``), e.g. one season of ``predgov.data.demo_city``.
    params
        Parameter paths to fit (a list, each driving the volume of the categories given in
        ``DEFAULT_PARAMS`` or of every category when unknown), or a mapping ``path ->
        (categories, elasticity)``. Default ``DEFAULT_PARAMS`` restricted to the processes run.
    seeds
        Common random numbers: every evaluation runs these seeds.
    method
        ``"ratio"`` or ``"nelder-mead"`` (see the module docstring).
    ratio_steps
        Multiplicative updates (``"ratio"``, or before Nelder-Mead).
    maxfev
        Model evaluations of Nelder-Mead.
    freq
        Aggregation of the likelihood's cells (weekly by default).
    repeat_share
        Observed share of repeat calls per category, when known (adds a binomial term).
    repeat_weight
        Weight of the repeat-share term.
    n_jobs
        Parallel processes over seeds.

    Returns
    -------
    CalibrationResult

    Examples
    --------
    >>> from predgov.data.demo import demo_city
    >>> target = demo_city(0, start="2023-11-15", end="2023-12-10", districts=["市南"],
    ...                    anomalies=False)
    >>> fit = calibrate({"scale": 0.02, "processes": ["heating"]}, target, seeds=[0],
    ...                 ratio_steps=2)
    >>> list(fit.values), list(fit.volume.columns)
    (['heating.rate'], ['observed', 'simulated_start', 'simulated', 'ratio'])
    """
    target = target_cube["counts"] if isinstance(target_cube, xr.Dataset) else target_cube
    if "households" not in target.coords:
        raise ValueError("target_cube needs a 'households' coordinate on 'district'")
    cfg = dict(model_cfg)
    cfg.pop("seed", None)
    times = pd.DatetimeIndex(target["time"].values)
    cfg.setdefault("start", str(times[0].date()))
    cfg.setdefault("end", str(times[-1].date()))
    cfg.setdefault("districts", [str(d) for d in target["district"].values])
    target = target.sel(time=slice(cfg["start"], cfg["end"]), district=list(cfg["districts"]))
    base: SimParams = cfg.pop("params", None) or SimParams()

    processes = cfg.get("processes")
    run_names = ["heating", "neighbour", "consumer", "noise", "background"] if processes is None \
        else list(processes)  # fmt: skip
    if params is None:
        spec = {k: v for k, v in DEFAULT_PARAMS.items() if k.split(".")[0] in run_names}
    elif isinstance(params, Mapping):
        spec = {k: (tuple(v[0]), float(v[1])) for k, v in params.items()}
    else:
        spec = {k: DEFAULT_PARAMS.get(k, ((), 1.0)) for k in params}
    if not spec:
        raise ValueError("nothing to fit: no parameter of the processes run")
    for path in spec:
        get_param(base, path)  # fails early on a wrong path
    explicit = [c for c in EXPLICIT if any(c in cats for cats, _ in spec.values())]
    background = [str(c) for c in target["category"].values if c not in EXPLICIT] \
        if "background" in run_names else []  # fmt: skip
    categories = [c for c in map(str, target["category"].values) if c in explicit + background]
    for path, (cats, _) in list(spec.items()):
        if not cats:
            spec[path] = (tuple(categories), spec[path][1])

    obj = _Objective(cfg, target, base, list(spec), seeds, freq, n_jobs, categories,
                     repeat_share, repeat_weight)  # fmt: skip
    start = {k: get_param(base, k) for k in spec}
    ll0, sim0 = obj(start)
    values, sim = dict(start), sim0
    obs_vol = target.sum(["time", "district"])
    steps = ratio_steps if method in ("ratio", "nelder-mead") else 0
    if method not in ("ratio", "nelder-mead"):
        raise ValueError(f"method must be 'ratio' or 'nelder-mead', got {method!r}")
    elasticity = {path: e for path, (_, e) in spec.items()}
    prev: dict[str, tuple[float, float]] = {}
    for _ in range(steps):
        vol = sim["counts"].sum(["time", "district"])
        new = {}
        for path, (cats, _) in spec.items():
            o = float(obs_vol.sel(category=list(cats)).sum())
            s = float(vol.sel(category=list(cats)).sum())
            if not (s > 0 and o > 0):
                new[path] = values[path]
                continue
            step = abs(np.log(values[path] / prev[path][0])) if path in prev else 0.0
            if step > 0.05 and prev[path][1] > 0:  # a step large enough to beat the noise
                # secant in log-log space: volume is not exactly proportional to the rate
                e = np.log(s / prev[path][1]) / np.log(values[path] / prev[path][0])
                elasticity[path] = float(np.clip(e, 0.3, 3.0)) if np.isfinite(e) else 1.0
            prev[path] = (values[path], s)
            new[path] = values[path] * (o / s) ** (1.0 / elasticity[path])
        values = new
        _, sim = obj(values)
    if method == "nelder-mead":
        x0 = np.log([values[k] for k in spec])
        cache: dict[tuple[float, ...], float] = {}

        def nll(x: np.ndarray) -> float:
            key = tuple(np.round(x, 12))
            if key not in cache:
                cache[key] = -obj(dict(zip(spec, np.exp(x), strict=True)))[0]
            return cache[key]

        opts = {"maxfev": maxfev, "xatol": 1e-3, "fatol": 0.5}
        res = optimize.minimize(nll, x0, method="Nelder-Mead", options=opts)
        obj(dict(zip(spec, np.exp(res.x).tolist(), strict=True)))
        best = max(range(len(obj.history)), key=lambda i: obj.history[i]["loglik"])
        values = {k: float(obj.history[best][k]) for k in spec}
        sim = obj.sims[best]
    ll, sizes = obj.score(sim)

    vol0 = sim0["counts"].sum(["time", "district"])
    vol1 = sim["counts"].sum(["time", "district"])
    volume = pd.DataFrame({
        "observed": obs_vol.sel(category=categories).to_series(),
        "simulated_start": vol0.to_series(), "simulated": vol1.to_series(),
    }).loc[categories]  # fmt: skip
    volume["ratio"] = volume["simulated"] / volume["observed"]

    def shares(da: xr.DataArray) -> pd.Series:
        tot = da.sum("time")
        return (tot / tot.sum("district")).to_series()

    district_shares = pd.DataFrame({
        "observed": shares(target.sel(category=categories)),
        "simulated_start": shares(sim0["counts"]), "simulated": shares(sim["counts"]),
    })  # fmt: skip
    rep = pd.DataFrame({
        "simulated_start": (sim0["repeat_calls"].sum(["time", "district"])
                            / vol0).to_series(),
        "simulated": (sim["repeat_calls"].sum(["time", "district"]) / vol1).to_series(),
    }).loc[categories]  # fmt: skip
    rep["observed"] = [repeat_share.get(c, np.nan) if repeat_share else np.nan
                       for c in rep.index]  # fmt: skip
    return CalibrationResult(
        params=obj.params_for(values), values=values, start=start, loglik_start=ll0,
        loglik=ll, size=sizes, volume=volume, district_shares=district_shares,
        repeat_share=rep, history=pd.DataFrame(obj.history),
    )  # fmt: skip
