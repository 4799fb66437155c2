"""Score the newest day of every series in O(series): the default detector kept running.

:func:`~predgov.warn.detect.detect` rescores a whole cube: fitting the calendar baseline over
every past period is most of its time. Early warning only ever needs the newest period, and
everything the default detector (the NB CUSUM, :func:`~predgov.warn.cusum.nb_cusum`) needs to
score it is known the evening before: the baseline's mean, NB size and persistent-error
variance of that period are made from earlier periods only (no look-ahead), and so are the
threshold and the CUSUM's state. :class:`Monitor` fits them once (:meth:`Monitor.fit`, on the
counts up to yesterday: blocked and optionally on a cluster, as
:func:`~predgov.warn.distributed.detect_blocked`) and then scores the new day for all series
with a few vector operations (:meth:`Monitor.score`).

The result is the row of that day that ``detect`` gives on the counts extended by it (same
``score``, ``threshold``, ``alarm``, ``expected``, ``upper``, quiet series): :meth:`fit` runs
the baseline on the counts with the next period appended as unobserved (NaN), which changes
nothing before it, and the day's scoring is the CUSUM step ``S = max(0, S_prev + a y + c)``
with the increment coefficients of :func:`predgov.warn.arl.cusum_increments`. The baseline of
the day after depends on today's count (level, dispersion, outbreak feedback): after scoring,
:meth:`Monitor.advance` (or ``score(day, advance=True)``) extends the kept baseline
(:class:`~predgov.warn.calendar_model.CalendarModel`) by that one day, without rerunning the past,
and the state becomes what :meth:`fit` on the counts including it gives (the day's online
level / dispersion / self-calibration / feedback step; on a weekly refit day one batched GLM
fit over the series). Only when a new day changes the calendar design of earlier days (the day
after 除夕 can rename the holiday block it starts) is a block's past rerun.

Examples
--------
>>> import numpy as np, pandas as pd, xarray as xr
>>> t = pd.date_range("2024-01-01", periods=120, freq="D")
>>> rng = np.random.default_rng(3)
>>> da = xr.DataArray(rng.poisson(6.0, (120, 2)).astype(float), dims=("time", "category"),
...                   coords={"time": t, "category": ["a", "b"]}, attrs={"freq": "D"})
>>> mon = Monitor().fit(da.isel(time=slice(0, -1)))
>>> str(mon.next_time_)[:10]
'2024-04-29'
>>> day = mon.score(da.isel(time=-1))
>>> from predgov.warn.detect import detect
>>> full = detect(da).isel(time=[-1])
>>> bool(np.allclose(day["score"], full["score"], rtol=1e-9, equal_nan=True))
True
>>> _ = mon.advance(da.isel(time=-1))  # ready for the day after, as fit(da) would be
>>> str(mon.next_time_)[:10]
'2024-04-30'
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from predgov.parallel import DEFAULT_BLOCK_SERIES, BlockTask, map_blocks, plan_blocks, run_block
from predgov.warn._common import as_counts, freq_of, stack
from predgov.warn.arl import cusum_increments, cusum_threshold, persistent_threshold
from predgov.warn.baseline import fit_baseline
from predgov.warn.calendar_model import CalendarModel
from predgov.warn.cusum import cusum_path, fa_margin, nb_cusum
from predgov.warn.detect import prepare

__all__ = ["STATE_VARS", "Monitor", "next_period"]

#: Per-series state the monitor keeps between :meth:`Monitor.fit` and :meth:`Monitor.score`.
STATE_VARS = ("expected", "size", "threshold", "upper", "state", "slope", "offset",
              "n_observed", "total")  # fmt: skip
#: Keywords of :func:`~predgov.warn.cusum.nb_cusum` that are not the baseline's.
_CUSUM_ONLY = ("h", "threshold", "fa", "delta", "kind")


def next_period(time: np.ndarray, freq: str) -> np.datetime64:
    """The period after the last of ``time`` at frequency ``freq``.

    Examples
    --------
    >>> t = np.array(["2024-01-30", "2024-01-31"], dtype="datetime64[ns]")
    >>> str(next_period(t, "D"))[:10], str(next_period(t[:1], "MS"))[:10]
    ('2024-02-01', '2024-02-01')
    """
    last = pd.Timestamp(np.asarray(time)[-1])
    if freq == "D":
        nxt = last + pd.Timedelta(days=1)
    else:
        nxt = last + pd.tseries.frequencies.to_offset(freq)
    return np.datetime64(nxt.to_datetime64(), "ns")


def _pad(da: xr.DataArray, stamp: np.datetime64) -> xr.DataArray:
    """``da`` with one more period ``stamp``, unobserved (NaN)."""
    extra = xr.full_like(da.isel(time=[-1]), np.nan, dtype=np.float64)
    extra = extra.assign_coords(time=[stamp])
    out = xr.concat([da.astype(np.float64), extra], dim="time", combine_attrs="override")
    out.attrs = dict(da.attrs)
    return out


def _cusum_vectors(mu0: np.ndarray, size: np.ndarray, persist: np.ndarray | None,
                   state: np.ndarray, freq: str, cusum: dict[str, Any]) -> dict[str, np.ndarray]:
    """Threshold, increment coefficients and ``upper`` of one period from its baseline, as
    :func:`~predgov.warn.cusum.nb_cusum` computes them for that period's cells."""
    delta, kind = cusum["delta"], cusum["kind"]
    mu0, size = mu0[None], size[None]
    a, c = cusum_increments(mu0, size, delta, kind)
    if cusum["fixed"] is None:
        h = cusum_threshold(mu0, size, delta, cusum["fa"] * fa_margin(freq), freq, kind)
        if persist is not None:
            h = persistent_threshold(h, persist[None], delta)
    else:
        h = np.full(mu0.shape, float(cusum["fixed"]))
    with np.errstate(invalid="ignore", divide="ignore"):
        upper = np.floor((h - state[None] - c) / a)
    upper = np.where(np.isfinite(upper), np.maximum(upper, 0.0), np.nan)
    return {"expected": np.array(mu0[0]), "size": size[0], "threshold": h[0], "upper": upper[0],
            "slope": a[0], "offset": c[0]}  # fmt: skip


def _fit_state(block: xr.DataArray, method: str, stamp: np.datetime64, params: dict[str, Any],
               city: str | None, regressors: Any, pool: str | None) -> _Block:  # fmt: skip
    """Per-series state of one block for scoring period ``stamp`` (the one after the block's
    last period): the baseline and CUSUM of ``detect(method)`` run on the block padded with
    ``stamp`` unobserved, read at ``stamp``. The calendar baseline (the default) is kept as a
    :class:`~predgov.warn.calendar_model.CalendarModel` that :meth:`Monitor.advance` extends."""
    padded = _pad(block, stamp)
    prep = prepare(padded, method, dict(params), city=city, regressors=regressors, pool=pool)
    if prep.name != "nb_cusum":
        raise ValueError(f"Monitor scores the NB CUSUM (the daily default); {method!r} at "
                         f"frequency {prep.freq!r} is {prep.name!r}")  # fmt: skip
    call = dict(prep.call)
    if call.get("expected") is not None:
        raise ValueError("Monitor fits its own baseline: expected= is not supported")
    x, time, freq = prep.stacked.values, prep.time, prep.freq
    defaults = inspect.signature(nb_cusum).parameters
    base_keys = set(inspect.signature(fit_baseline).parameters) - {"x", "time", "freq"}
    base_kw = {k: v for k, v in call.items() if k in base_keys}
    rest = {k: v for k, v in call.items() if k not in base_keys}
    cusum = {
        "delta": float(call.get("delta", defaults["delta"].default)),
        "kind": str(call.get("kind", defaults["kind"].default)),
        "fa": float(call.get("fa", defaults["fa"].default)),
        "fixed": call.get("h") if call.get("threshold") is None else call.get("threshold"),
    }  # fmt: skip
    observed = ~np.isnan(x[:-1])
    incremental = (base_kw.get("baseline") == "calendar"
                   and base_kw.get("young", "calendar") == "calendar"
                   and base_kw.get("start") is None and base_kw.get("end") is None
                   and base_kw.get("size") is None)  # fmt: skip
    model = None
    if incremental:
        opts = dict(base_kw.get("model") or {})
        if base_kw.get("guard"):
            opts.setdefault("guard", base_kw["guard"])
        model = CalendarModel(x[:-1], time[:-1], freq, next_time=stamp, city=base_kw.get("city"),
                              regressors=base_kw.get("regressors"), groups=base_kw.get("groups"),
                              **opts)  # fmt: skip
        score = cusum_score(model.outputs(), x[:-1], freq, cusum)
        row = model.next_row()
        mu0, size, persist = row["expected"], row["size"], row["persist"]
    else:
        fitted = fit_baseline(x, time, freq, **base_kw)
        out = nb_cusum(x, time, freq, baseline=fitted, **rest)
        score = (out["score"][:-1], out["threshold"][:-1])
        mu0, size = fitted.expected[-1], fitted.size[-1]
        persist = None if fitted.persist is None else fitted.persist[-1]
    state = _carried_state(*score)
    vectors = _cusum_vectors(mu0, size, persist, state, freq, cusum)
    vectors.update(state=state, n_observed=observed.sum(axis=0).astype(np.float64),
                   total=np.where(observed, x[:-1], 0.0).sum(axis=0))  # fmt: skip
    return _Block(prep, vectors, model, cusum, freq)


def cusum_score(base: dict[str, np.ndarray], x: np.ndarray, freq: str,
                cusum: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """CUSUM path (score, threshold) of the past periods from the calendar model's output."""
    mu0, r, persist = base["expected"], base["size"], base.get("persist")
    a, c = cusum_increments(mu0, r, cusum["delta"], cusum["kind"])
    if cusum["fixed"] is None:
        h = cusum_threshold(mu0, r, cusum["delta"], cusum["fa"] * fa_margin(freq), freq,
                            cusum["kind"])
        if persist is not None:
            h = persistent_threshold(h, persist, cusum["delta"])
    else:
        h = np.full(x.shape, float(cusum["fixed"]))
    score, _ = cusum_path(a * x + c, h)
    return score, h


def _carried_state(score: np.ndarray, h: np.ndarray | None) -> np.ndarray:
    """CUSUM state carried into the next period: the last scored period's S, 0 after an alarm."""
    scored = np.isfinite(score)
    any_scored = scored.any(axis=0)
    last = np.where(any_scored, score.shape[0] - 1 - scored[::-1].argmax(axis=0), 0)
    cols = np.arange(score.shape[1])
    s_last, h_last = score[last, cols], h[last, cols]
    with np.errstate(invalid="ignore"):
        return np.where(any_scored, np.where(s_last > h_last, 0.0, s_last), 0.0)


@dataclass
class _Block:
    """One block's monitor state: the stacked layout, the next period's per-series vectors,
    the calendar model (None: not incremental) and the CUSUM settings."""

    prep: Any
    vectors: dict[str, np.ndarray]
    model: CalendarModel | None
    cusum: dict[str, Any]
    freq: str

    def dataset(self) -> xr.Dataset:
        ds = xr.Dataset({k: self.prep.stacked.unstack_series(np.asarray(self.vectors[k],
                                                                        np.float64))
                         for k in STATE_VARS})  # fmt: skip
        ds.attrs.update(detector=self.prep.name, params=str(sorted(self.prep.params.items())),
                        freq=self.freq)  # fmt: skip
        return ds


class Monitor:
    """The default daily detector kept running: fit once, then score each new day in O(series).

    Parameters
    ----------
    method
        "default" (the NB CUSUM for daily data) or "nb_cusum".
    city, regressors, pool, **params
        As for :func:`~predgov.warn.detect.detect`. ``regressors`` must cover the day scored
        (calendar and exogenous values of that day).
    block_series, backend, scheduler, n_workers, processes
        How :meth:`fit` runs: blocks of whole categories, serially or on a dask cluster
        (:func:`~predgov.warn.distributed.detect_blocked`).

    Attributes
    ----------
    state_ : xr.Dataset
        Per series: ``expected``, ``size``, ``threshold``, ``upper`` of the next day, the CUSUM
        ``state`` carried into it, the increment ``slope`` and ``offset`` (score
        ``max(0, state + slope * y + offset)``), and ``n_observed`` / ``total`` of the past
        counts (the quiet-series rule).
    next_time_ : numpy.datetime64
        The day :meth:`score` scores.
    """

    def __init__(
        self,
        method: str = "default",
        *,
        city: str | None = None,
        regressors: Any = None,
        pool: str | None = "category",
        block_series: int = DEFAULT_BLOCK_SERIES,
        backend: str = "serial",
        scheduler: Any = None,
        n_workers: int | None = -1,
        processes: bool = True,
        **params: Any,
    ) -> None:
        self.method = method
        self.city = city
        self.regressors = regressors
        self.pool = pool
        self.block_series = block_series
        self.backend = backend
        self.scheduler = scheduler
        self.n_workers = n_workers
        self.processes = processes
        self.params = params

    def fit(self, counts: xr.Dataset | xr.DataArray) -> Monitor:
        """Fit baselines and CUSUM state on ``counts`` (up to yesterday) for the next period."""
        da = as_counts(counts)
        if da.sizes.get("time", 0) < 1:
            raise ValueError("Monitor.fit needs counts with at least one period")
        freq = freq_of(da, counts if isinstance(counts, xr.Dataset) else None)
        da = da.copy(deep=False)
        da.attrs["freq"] = freq
        stamp = next_period(da["time"].values, freq)
        self._check_regressors(stamp)
        dim, blocks = plan_blocks(da, self.pool, self.block_series)
        kwargs = dict(method=self.method, stamp=stamp, params=self.params, city=self.city,
                      regressors=self.regressors, pool=self.pool)  # fmt: skip
        tasks = [BlockTask(da if dim is None else da.isel({dim: idx}), _fit_state, kwargs)
                 for idx in blocks]  # fmt: skip
        parts = map_blocks(run_block, tasks, backend=self.backend, scheduler=self.scheduler,
                           n_workers=self.n_workers, processes=self.processes,
                           name="predgov-monitor")  # fmt: skip
        self._blocks, self._dim, self._index = parts, dim, blocks
        self.dims_ = tuple(str(d) for d in da.dims if d != "time")
        self.next_time_ = stamp
        self.freq_ = freq
        self._assemble()
        return self

    def _assemble(self) -> None:
        """``state_`` from the blocks' vectors."""
        parts = [b.dataset() for b in self._blocks]
        if self._dim is None:
            state = parts[0]
        else:
            order = np.argsort(np.concatenate(self._index), kind="stable")
            state = xr.concat(parts, dim=self._dim, combine_attrs="override")
            state = state.isel({self._dim: order})
        self.state_ = state.transpose(*self.dims_)

    def advance(self, day: xr.DataArray | xr.Dataset) -> Monitor:
        """Move to the day after :attr:`next_time_` with that day's counts ``day`` (as given
        to :meth:`score`): the state becomes what :meth:`fit` on the counts including ``day``
        gives (the baselines extended by one period, one batched GLM refit on refit days),
        without rerunning the past. Needs the calendar baseline (the daily default)."""
        if not hasattr(self, "state_"):
            raise RuntimeError("Monitor is not fitted: call fit(counts) first")
        if any(b.model is None for b in self._blocks):
            raise ValueError("advance needs the calendar baseline (young='calendar', no "
                             "start=/end=); call fit again instead")  # fmt: skip
        y = self._day_values(day)
        stamp = next_period(np.array([self.next_time_]), self.freq_)
        self._check_regressors(stamp)
        yd = xr.DataArray(y, dims=self.dims_, coords={k: c for k, c in self.state_.coords.items()})
        for idx, blk in zip(self._index, self._blocks, strict=True):
            part = yd if self._dim is None else yd.isel({self._dim: idx})
            part = part.expand_dims(time=[self.next_time_]).transpose("time", *part.dims)
            v = stack(part).values[0]
            ok = ~np.isnan(v)
            vec = blk.vectors
            with np.errstate(invalid="ignore"):
                step = vec["slope"] * np.where(ok, v, 0.0) + vec["offset"]
                good = ok & ~np.isnan(step)
                s = np.maximum(0.0, vec["state"] + np.where(good, step, 0.0))
                state = np.where(good, np.where(s > vec["threshold"], 0.0, s), vec["state"])
            n_obs = vec["n_observed"] + ok
            total = vec["total"] + np.where(ok, v, 0.0)
            if blk.model.extend(v, stamp):  # the past was rerun: so is the CUSUM
                m = blk.model
                state = _carried_state(*cusum_score(m.outputs(), m.online.x[: m.T], self.freq_,
                                                    blk.cusum))  # fmt: skip
            row = blk.model.next_row()
            blk.vectors = _cusum_vectors(row["expected"], row["size"], row["persist"], state,
                                         self.freq_, blk.cusum)  # fmt: skip
            blk.vectors.update(state=state, n_observed=n_obs, total=total)
        self.next_time_ = stamp
        self._assemble()
        return self

    def _check_regressors(self, stamp: np.datetime64) -> None:
        reg = self.regressors
        if isinstance(reg, xr.Dataset) and "time" in reg.dims:
            if not (reg["time"].values == stamp).any():
                raise ValueError(f"regressors must cover the day to score, "
                                 f"{str(stamp)[:10]}: they end {str(reg['time'].values[-1])[:10]}")

    def _day_values(self, day: xr.DataArray | xr.Dataset) -> np.ndarray:
        """The day's counts (series dims in the fitted order), checked."""
        y = as_counts(day) if isinstance(day, xr.Dataset) else day
        if "time" in y.dims:
            if y.sizes["time"] != 1:
                raise ValueError(f"score takes one day, got {y.sizes['time']} periods")
            stamp = np.datetime64(y["time"].values[0], "ns")
            if stamp != self.next_time_:
                raise ValueError(f"the monitor was fitted to score {str(self.next_time_)[:10]}, "
                                 f"got {str(stamp)[:10]}")  # fmt: skip
            y = y.isel(time=0, drop=True)
        if set(y.dims) != set(self.dims_):
            raise ValueError(f"day counts need dims {self.dims_}, got {y.dims}")
        y = y.transpose(*self.dims_)
        v = np.asarray(y.values, dtype=np.float64)
        if (v[np.isfinite(v)] < 0).any() or np.isinf(v).any():
            raise ValueError("day counts must be finite and >= 0 (NaN = not observed)")
        return v

    def score(self, day: xr.DataArray | xr.Dataset, advance: bool = False) -> xr.Dataset:
        """Score the next day of every series: ``detect``'s row of that day, one ``time``.

        ``day`` holds the day's counts with the series dims of the fitted counts (and
        optionally a ``time`` dim of length one, the day :attr:`next_time_`); NaN = not
        observed. ``advance=True``: then :meth:`advance` with it (ready for the day after).
        """
        if not hasattr(self, "state_"):
            raise RuntimeError("Monitor is not fitted: call fit(counts) first")
        st = self.state_
        v = self._day_values(day)
        ok = ~np.isnan(v)
        a, c, prev = st["slope"].values, st["offset"].values, st["state"].values
        with np.errstate(invalid="ignore"):
            step = a * np.where(ok, v, 0.0) + c
            good = ok & ~np.isnan(step)
            s = np.maximum(0.0, prev + np.where(good, step, 0.0))
            quiet = ((st["n_observed"].values + ok) < 2) | (
                st["total"].values + np.where(ok, v, 0.0) <= 0)  # fmt: skip
            h = st["threshold"].values
            score = np.where(good & ~quiet, s, np.nan)
            alarm = np.asarray(score > h) & ok & ~quiet
        coords = {k: c_ for k, c_ in st.coords.items()}
        one = {"time": [self.next_time_]}

        def var(arr: np.ndarray) -> xr.DataArray:
            return xr.DataArray(arr[None], dims=("time", *self.dims_), coords={**coords, **one})

        out = xr.Dataset({"score": var(score), "threshold": var(h), "alarm": var(alarm),
                          "expected": var(st["expected"].values),
                          "upper": var(st["upper"].values)})  # fmt: skip
        out.attrs.update(detector="nb_cusum", method=str(self.method), freq=self.freq_,
                         n_quiet_series=int(quiet.sum()))  # fmt: skip
        if advance:
            self.advance(day)
        return out
