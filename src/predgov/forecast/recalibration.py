"""Quantile recalibration of :class:`~predgov.forecast.nbglm.NBGLM` from rolling-origin PITs.

The rolling-origin forecasts inside the training data (:mod:`predgov.forecast.rolling`) have
probability integral transforms (mid-distribution PITs of their count); the share of them below
each level of :data:`PIT_GRID` tells at which NB level the errors actually fall below at a
nominal rate. :func:`calibrated_levels` turns those shares into the quantile levels to ask of
the NB (quantile recalibration, blended with the nominal levels by the number of scored
forecasts); :func:`recalibrate` keeps the map only where it helps held-out forecasts: fitted on
the earlier half of the scored target periods, checked on the later half.
"""

from __future__ import annotations

import numpy as np
from scipy import special

__all__ = ["CALIBRATION_PRIOR_CELLS", "PIT_GRID", "calibrated_levels", "recalibrate"]

#: Levels at which the share of rolling-origin PITs is evaluated (dense in the tails).
PIT_GRID = special.expit(np.linspace(-6.0, 6.0, 25))
#: Weight of the nominal levels in the calibration, in scored forecasts per series.
CALIBRATION_PRIOR_CELLS = 100.0


def calibrated_levels(
    nominal: np.ndarray, share: np.ndarray, n_series: int, n_cells: float
) -> np.ndarray:
    """Quantile levels to ask of the NB so that its quantiles are calibrated in training.

    ``share`` sums over ``n_series`` series the share of their rolling-origin forecasts'
    probability integral transforms (as a uniform spread over ``[F(y - 1), F(y)]``, the
    mid-distribution) below each level of :data:`PIT_GRID`: series weigh equally. The level
    whose share equals the nominal one replaces it (quantile recalibration), blended with the
    nominal level on the logit scale by the number of scored forecasts ``n_cells`` (weight
    ``n_cells / (n_cells + CALIBRATION_PRIOR_CELLS * n_series)``). The nominal levels when no
    series was scored.

    Examples
    --------
    >>> nominal = np.array([0.1, 0.5, 0.9])
    >>> calibrated_levels(nominal, PIT_GRID * 10, 10, 1e9).round(3).tolist()  # PITs uniform
    [0.1, 0.5, 0.9]
    >>> lv = calibrated_levels(nominal, special.expit(special.logit(PIT_GRID) * 0.5), 1, 1e9)
    >>> bool(lv[0] < 0.05 and lv[2] > 0.95)  # errors too wide for the NB: widen its levels
    True
    """
    nominal = np.asarray(nominal, dtype="float64")
    if n_series == 0:
        return nominal
    share = np.maximum.accumulate(np.asarray(share, dtype="float64") / n_series)
    # Level u whose share is the nominal level (interpolated on the logit scale).
    lg = special.logit(np.clip(share, 1e-9, 1 - 1e-9))
    lg = lg + 1e-9 * np.arange(lg.size)  # strictly increasing for interp
    u = special.expit(np.interp(special.logit(nominal), lg, special.logit(PIT_GRID)))
    w = n_cells / (n_cells + CALIBRATION_PRIOR_CELLS * n_series)
    lv = special.expit(w * special.logit(u) + (1 - w) * special.logit(nominal))
    lv = np.clip(lv, 1e-4, 1 - 1e-4)
    return np.maximum.accumulate(lv + 1e-9 * np.arange(lv.size))


def recalibrate(
    nominal: np.ndarray, share: np.ndarray, n_series: int, n_cells: np.ndarray, n_leads: int
) -> tuple[np.ndarray, bool]:
    """Recalibrated quantile levels, only where recalibration helps on held-out forecasts.

    ``share`` holds the PIT shares of the rolling-origin forecasts, summed over series, of the
    earlier (row 0) and later (row 1) half of the scored target periods and of all (row 2);
    ``n_cells`` the cells of the two halves, ``n_leads`` the leads scored per origin. The map
    fitted on the earlier half (:func:`calibrated_levels`) is checked on the later half: kept
    (and refitted on all forecasts) when the later half's PIT shares at the mapped levels are
    nearer the nominal levels (summed absolute error) than at the nominal levels themselves by
    more than the shares' sampling noise (binomial standard errors summed over the levels, a
    cell per origin); otherwise the nominal levels are used. Returns the levels and whether
    the recalibration was kept.

    Examples
    --------
    >>> nominal = np.array([0.1, 0.5, 0.9])
    >>> wide = special.expit(special.logit(PIT_GRID) * 0.5)  # errors wider than the NB
    >>> lv, kept = recalibrate(nominal, np.stack([wide, wide, wide]), 1, np.array([4e3, 4e3]), 4)
    >>> kept, bool(lv[0] < 0.05)
    (True, True)
    >>> recalibrate(nominal, np.stack([PIT_GRID] * 3), 1, np.array([4e3, 4e3]), 4)[1]
    False
    """
    nominal = np.asarray(nominal, dtype="float64")
    n_cells = np.asarray(n_cells, dtype="float64")
    if n_series == 0 or not (n_cells > 0).all():
        return calibrated_levels(nominal, share[2], n_series, float(n_cells.sum())), False
    early = calibrated_levels(nominal, share[0], n_series, float(n_cells[0]))
    late = np.maximum.accumulate(share[1] / n_series)
    lg = special.logit(PIT_GRID)

    def held_out_error(lv: np.ndarray) -> float:
        return float(np.abs(np.interp(special.logit(lv), lg, late) - nominal).sum())

    # Sampling noise of the later half's shares (cells of one origin's leads overlap:
    # counted once per origin), summed over the levels: the gain must exceed it.
    n_eff = max(float(n_cells[1]) / max(int(n_leads), 1), 1.0)
    noise = float(np.sqrt(nominal * (1.0 - nominal) / n_eff).sum())
    if held_out_error(early) < held_out_error(nominal) - noise:
        return calibrated_levels(nominal, share[2], n_series, float(n_cells.sum())), True
    return nominal, False
