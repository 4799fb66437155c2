"""Thresholds of the NB CUSUM from the predictive distribution: average run lengths.

The CUSUM ``S_t = max(0, S_{t-1} + a y_t + c)`` of the NB log-likelihood ratios
(:func:`predgov.stats.nb.nb_llr`, in-control mean ``mu``, size ``r``, out-of-control mean
``mu + delta * max(sd, 0.5)``) alarms when ``S_t > h`` and restarts at 0. When the counts
follow ``NB(mu, r)`` its alarms form a renewal process: the mean number of periods between
two alarms is the in-control *average run length* ``ARL0(h)``, and the false alarms per
series-year are ``periods_per_year / ARL0(h)``. :func:`cusum_arl` computes ``ARL0`` by the
Markov-chain method of Brook & Evans (1972) (the state ``S`` on a grid of ``n_states`` cells
plus the atom at 0); :func:`threshold_for_fa` inverts it by bisection, so the threshold has a
stated meaning: *this many false alarms per series-year if the predictive distribution is
right*. :func:`threshold_table` tabulates it over levels and dispersions (computed once per
``delta`` and rate), and :func:`cusum_threshold` interpolates it for every cell of a cube.
:func:`persistent_threshold` raises a threshold for a persistent error of the predictive mean
(a young series' estimated baseline), which the independent-period ARL does not see.

Examples
--------
>>> h = threshold_for_fa(20.0, 1e8, delta=2.0, fa=1.0, freq="D")
>>> arl = cusum_arl(20.0, 1e8, delta=2.0, h=h)
>>> round(365.25 / arl, 2)
1.0
"""

from __future__ import annotations

import sys
from functools import lru_cache

import numpy as np
from scipy import stats

from predgov.data.freq import periods_per_year
from predgov.stats.nb import MAX_DISPERSION, is_poisson, nb_llr

__all__ = [
    "compute_table", "cusum_arl", "cusum_threshold", "persistent_threshold", "threshold_for_fa",
    "threshold_table",
]

#: Grid of the threshold table: log10 of the mean, and the NB dispersion 1/size (0 = Poisson).
LOG_MU_GRID = np.linspace(-1.0, 3.5, 19)
ALPHA_GRID = np.array([0.0, 0.01, 0.03, 0.1, 0.2, 0.4, 0.7, 1.0, 2.0, MAX_DISPERSION])

#: Tables already computed, by (delta, fa, freq, kind): the default's (fa = 1 x the margin of
#: :data:`predgov.warn.cusum.FA_MARGIN`: 0.6 daily, 0.7 weekly and monthly), delta 2 at fa 0.7
#: daily (the daily margin until issue 14's fourth session) and at fa 1 daily (computing one
#: takes 0.5-3 minutes: :func:`compute_table`; the printed entries come from
#: ``python -m predgov.warn.arl 2.0 0.6 D``, rounded to 3 decimals; tests recompute cells).
STORED_TABLES: dict[tuple[float, float, str, str], np.ndarray] = {
    (2.0, 0.7, "D", "nb"): np.array([
        [4.194, 4.183, 4.158, 4.079, 3.974, 3.874, 4.235, 3.957, 3.762, 2.756],
        [4.548, 4.532, 4.5, 4.391, 4.26, 3.927, 4.234, 3.907, 3.636, 2.723],
        [4.216, 4.215, 4.214, 4.319, 4.387, 4.277, 4.041, 4.028, 3.677, 2.717],
        [4.605, 4.561, 4.475, 4.375, 4.189, 4.264, 4.088, 3.958, 3.662, 2.745],
        [4.592, 4.523, 4.573, 4.34, 4.388, 4.288, 4.073, 3.903, 3.594, 2.692],
        [4.732, 4.632, 4.491, 4.562, 4.451, 4.312, 4.085, 3.979, 3.692, 2.702],
        [4.616, 4.561, 4.523, 4.47, 4.51, 4.188, 4.12, 4.005, 3.693, 2.706],
        [4.583, 4.544, 4.49, 4.35, 4.405, 4.246, 4.091, 3.975, 3.688, 2.709],
        [4.557, 4.501, 4.535, 4.468, 4.393, 4.256, 4.091, 3.978, 3.688, 2.71],
        [4.602, 4.477, 4.572, 4.486, 4.381, 4.256, 4.102, 3.987, 3.688, 2.708],
        [4.6, 4.626, 4.595, 4.493, 4.392, 4.256, 4.104, 3.981, 3.69, 2.709],
        [4.646, 4.58, 4.593, 4.486, 4.393, 4.255, 4.103, 3.984, 3.688, 2.709],
        [4.665, 4.627, 4.594, 4.487, 4.396, 4.258, 4.104, 3.985, 3.688, 2.709],
        [4.662, 4.627, 4.59, 4.488, 4.394, 4.258, 4.104, 3.983, 3.688, 2.709],
        [4.667, 4.629, 4.588, 4.489, 4.395, 4.257, 4.104, 3.983, 3.688, 2.709],
        [4.674, 4.632, 4.586, 4.489, 4.395, 4.257, 4.104, 3.983, 3.688, 2.709],
        [4.686, 4.632, 4.587, 4.489, 4.395, 4.257, 4.104, 3.983, 3.688, 2.709],
        [4.677, 4.634, 4.585, 4.489, 4.395, 4.257, 4.104, 3.983, 3.688, 2.709],
        [4.682, 4.633, 4.587, 4.489, 4.395, 4.257, 4.104, 3.983, 3.688, 2.709],
    ]),
    (2.0, 1.0, "D", "nb"): np.array([[3.8, 3.78, 3.75, 3.66, 3.54, 3.77, 3.53, 3.33, 3.27, 2.32],
 [3.69, 3.67, 3.64, 3.52, 4.18, 3.92, 3.58, 3.38, 3.48, 2.4],
 [3.86, 3.87, 4.12, 3.96, 3.75, 3.96, 3.75, 3.6, 3.36, 2.42],
 [3.82, 3.96, 4.07, 4.19, 4.02, 3.62, 3.7, 3.64, 3.33, 2.37],
 [4.08, 4.01, 4.09, 4.15, 3.94, 3.79, 3.67, 3.73, 3.3, 2.39],
 [3.99, 3.96, 4.35, 3.89, 3.86, 3.87, 3.74, 3.65, 3.35, 2.4],
 [4.21, 4.21, 4.25, 4.11, 4.08, 3.86, 3.73, 3.65, 3.37, 2.39],
 [4.25, 4.29, 4.27, 4.19, 4.0, 3.91, 3.76, 3.65, 3.36, 2.4],
 [4.16, 4.06, 4.21, 4.12, 4.04, 3.92, 3.75, 3.63, 3.34, 2.4],
 [4.29, 4.13, 4.21, 4.16, 4.01, 3.91, 3.76, 3.63, 3.35, 2.4],
 [4.28, 4.28, 4.23, 4.13, 4.04, 3.91, 3.76, 3.64, 3.34, 2.4],
 [4.3, 4.22, 4.24, 4.14, 4.04, 3.91, 3.76, 3.63, 3.35, 2.4],
 [4.31, 4.28, 4.23, 4.14, 4.04, 3.91, 3.75, 3.63, 3.35, 2.4],
 [4.35, 4.28, 4.24, 4.14, 4.04, 3.91, 3.75, 3.64, 3.35, 2.4],
 [4.32, 4.28, 4.23, 4.13, 4.04, 3.91, 3.75, 3.64, 3.35, 2.4],
 [4.33, 4.28, 4.23, 4.14, 4.04, 3.91, 3.75, 3.64, 3.35, 2.4],
 [4.34, 4.28, 4.24, 4.14, 4.04, 3.91, 3.75, 3.64, 3.35, 2.4],
 [4.34, 4.28, 4.24, 4.14, 4.04, 3.91, 3.75, 3.64, 3.35, 2.4],
 [4.33, 4.28, 4.23, 4.14, 4.04, 3.91, 3.75, 3.64, 3.35, 2.4]]),
    (2.0, 0.6, "D", "nb"): np.array([
        [4.194, 4.202, 4.172, 4.079, 4.353, 4.379, 4.235, 3.963, 3.762, 2.852],
        [4.548, 4.532, 4.5, 4.454, 4.26, 3.927, 4.244, 4.009, 3.681, 2.9],
        [4.581, 4.563, 4.531, 4.368, 4.483, 4.297, 4.151, 4.118, 3.854, 2.88],
        [4.623, 4.584, 4.661, 4.382, 4.275, 4.408, 4.262, 4.096, 3.855, 2.865],
        [4.785, 4.717, 4.582, 4.492, 4.539, 4.395, 4.191, 4.191, 3.892, 2.858],
        [4.758, 4.704, 4.55, 4.604, 4.46, 4.346, 4.272, 4.097, 3.826, 2.874],
        [4.733, 4.748, 4.611, 4.649, 4.556, 4.431, 4.265, 4.125, 3.827, 2.867],
        [4.717, 4.755, 4.794, 4.678, 4.498, 4.41, 4.23, 4.136, 3.82, 2.872],
        [4.668, 4.935, 4.745, 4.651, 4.535, 4.416, 4.254, 4.141, 3.838, 2.869],
        [4.787, 4.775, 4.728, 4.623, 4.562, 4.427, 4.256, 4.136, 3.838, 2.871],
        [4.881, 4.771, 4.729, 4.64, 4.545, 4.411, 4.258, 4.134, 3.838, 2.871],
        [4.789, 4.733, 4.739, 4.642, 4.547, 4.409, 4.257, 4.135, 3.837, 2.871],
        [4.829, 4.769, 4.742, 4.642, 4.547, 4.414, 4.254, 4.134, 3.837, 2.871],
        [4.796, 4.779, 4.736, 4.641, 4.548, 4.409, 4.256, 4.134, 3.837, 2.871],
        [4.829, 4.785, 4.742, 4.642, 4.548, 4.409, 4.256, 4.134, 3.838, 2.871],
        [4.831, 4.786, 4.741, 4.642, 4.548, 4.409, 4.256, 4.134, 3.838, 2.871],
        [4.827, 4.786, 4.739, 4.642, 4.547, 4.409, 4.256, 4.134, 3.838, 2.871],
        [4.836, 4.786, 4.739, 4.642, 4.547, 4.409, 4.256, 4.135, 3.838, 2.871],
        [4.836, 4.785, 4.739, 4.642, 4.547, 4.409, 4.256, 4.135, 3.838, 2.871],
    ]),
    (2.0, 0.7, "W-MON", "nb"): np.array([
        [1.795, 1.799, 1.789, 1.773, 1.756, 2.158, 2.352, 2.21, 1.854, 1.033],
        [2.781, 2.769, 2.743, 2.657, 2.546, 2.354, 2.122, 1.984, 1.661, 1.004],
        [2.302, 2.288, 2.262, 2.179, 2.414, 2.195, 2.405, 2.144, 1.777, 1.094],
        [2.398, 2.376, 2.331, 2.188, 2.014, 2.492, 2.237, 1.924, 1.786, 1.08],
        [2.592, 2.553, 2.478, 2.407, 2.672, 2.302, 2.281, 2.01, 1.797, 1.122],
        [2.831, 2.764, 2.707, 2.365, 2.551, 2.407, 2.162, 2.123, 1.889, 1.121],
        [2.674, 2.577, 2.549, 2.441, 2.336, 2.238, 2.255, 2.104, 1.856, 1.12],
        [2.597, 2.564, 2.696, 2.67, 2.502, 2.359, 2.236, 2.119, 1.875, 1.111],
        [2.582, 2.7, 2.65, 2.569, 2.492, 2.346, 2.243, 2.126, 1.886, 1.116],
        [2.823, 2.729, 2.64, 2.551, 2.482, 2.381, 2.24, 2.13, 1.883, 1.114],
        [2.751, 2.683, 2.676, 2.589, 2.499, 2.384, 2.238, 2.129, 1.882, 1.113],
        [2.734, 2.651, 2.688, 2.575, 2.495, 2.371, 2.234, 2.134, 1.883, 1.114],
        [2.791, 2.725, 2.668, 2.592, 2.496, 2.373, 2.238, 2.134, 1.884, 1.114],
        [2.728, 2.714, 2.678, 2.581, 2.494, 2.371, 2.238, 2.134, 1.884, 1.114],
        [2.739, 2.719, 2.679, 2.58, 2.497, 2.373, 2.237, 2.134, 1.884, 1.114],
        [2.775, 2.712, 2.672, 2.583, 2.496, 2.372, 2.238, 2.134, 1.884, 1.114],
        [2.742, 2.714, 2.672, 2.582, 2.496, 2.372, 2.238, 2.133, 1.884, 1.114],
        [2.773, 2.719, 2.673, 2.582, 2.495, 2.372, 2.238, 2.134, 1.884, 1.114],
        [2.755, 2.715, 2.673, 2.582, 2.495, 2.372, 2.238, 2.134, 1.884, 1.114],
    ]),
    (2.0, 0.7, "MS", "nb"): np.array([
        [1.398, 1.395, 1.387, 1.36, 1.324, 1.26, 1.176, 1.105, 0.927, 0.428],
        [0.891, 0.888, 0.882, 0.86, 0.832, 0.78, 0.716, 0.662, 0.531, 0.205],
        [0.784, 0.78, 0.772, 0.748, 0.714, 0.653, 0.868, 1.036, 0.888, 0.287],
        [1.1, 1.089, 1.069, 1.005, 0.926, 0.8, 0.665, 0.568, 0.849, 0.232],
        [1.296, 1.276, 1.239, 1.123, 0.991, 0.903, 0.821, 0.964, 0.6, 0.217],
        [1.079, 1.047, 0.991, 0.872, 1.28, 0.957, 1.056, 0.828, 0.655, 0.229],
        [0.966, 1.118, 1.018, 1.211, 0.957, 0.938, 0.855, 0.822, 0.669, 0.232],
        [1.374, 1.28, 1.123, 1.164, 1.101, 1.078, 0.961, 0.9, 0.729, 0.243],
        [1.074, 1.35, 1.094, 1.151, 1.089, 1.049, 0.911, 0.877, 0.708, 0.24],
        [1.271, 1.366, 1.259, 1.098, 1.08, 1.059, 0.951, 0.887, 0.707, 0.242],
        [1.229, 1.19, 1.183, 1.147, 1.135, 1.026, 0.938, 0.878, 0.711, 0.243],
        [1.315, 1.225, 1.167, 1.18, 1.127, 1.027, 0.946, 0.872, 0.711, 0.242],
        [1.149, 1.257, 1.186, 1.153, 1.102, 1.035, 0.946, 0.875, 0.708, 0.242],
        [1.278, 1.22, 1.191, 1.161, 1.106, 1.03, 0.943, 0.874, 0.709, 0.242],
        [1.205, 1.226, 1.21, 1.161, 1.113, 1.032, 0.945, 0.875, 0.709, 0.242],
        [1.236, 1.211, 1.205, 1.162, 1.111, 1.034, 0.945, 0.876, 0.71, 0.242],
        [1.209, 1.216, 1.201, 1.16, 1.111, 1.033, 0.945, 0.875, 0.709, 0.242],
        [1.199, 1.214, 1.202, 1.161, 1.111, 1.033, 0.945, 0.875, 0.709, 0.242],
        [1.217, 1.215, 1.202, 1.161, 1.111, 1.033, 0.945, 0.875, 0.709, 0.242],
    ]),
}


def _llr_coefficients(mu: float, size: float, delta: float, kind: str = "nb"
                      ) -> tuple[float, float]:  # fmt: skip
    a, c = cusum_increments(np.asarray(mu, dtype=np.float64), np.asarray(size, np.float64),
                            delta, kind)  # fmt: skip
    return float(a), float(c)


def cusum_increments(mu: np.ndarray, size: np.ndarray, delta: float, kind: str = "nb"
                     ) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """Per-count slope ``a`` and offset ``c`` of the CUSUM increment ``a y + c``.

    ``kind="nb"``: the NB log-likelihood ratio of ``mu + delta * max(sd, 0.5)`` against ``mu``
    (same size); ``kind="z"``: the Gaussian one on the standardised count
    ``z = (y - mu) / max(sd, 0.5)``, ``delta * z - delta^2 / 2``.

    Examples
    --------
    >>> a, c = cusum_increments(np.array(4.0), np.array(1e8), 2.0, "z")
    >>> float(a * 6 + c)  # z = 1: 2 * 1 - 2
    0.0
    """
    mu = np.asarray(mu, dtype=np.float64)
    r = np.asarray(size, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        extra = np.where(is_poisson(r), 0.0, mu * mu / r)
    sd = np.maximum(np.sqrt(mu + extra), 0.5)
    if kind == "z":
        return delta / sd, -delta * mu / sd - 0.5 * delta * delta
    if kind != "nb":
        raise ValueError(f"kind must be 'nb' or 'z', got {kind!r}")
    return nb_llr(mu, mu + delta * sd, r)


def _dist(mu: float, size: float):
    if is_poisson(np.asarray(size)):
        return stats.poisson(mu)
    return stats.nbinom(size, size / (size + mu))


def cusum_arl(mu: float, size: float, delta: float = 2.0, h: float = 5.0,
              n_states: int = 200, kind: str = "nb") -> float:  # fmt: skip
    """In-control average run length (periods) of the NB CUSUM started at 0.

    Parameters
    ----------
    mu, size
        In-control mean and NB size of every period (``size`` >= 1e8: Poisson).
    delta
        Shift (in-control SDs) the CUSUM is tuned to.
    h
        Threshold: alarm when ``S > h``.
    n_states
        Grid cells of the state on ``(0, h]``.

    Examples
    --------
    A CUSUM that alarms at any positive log-likelihood ratio (h = 0) runs until the first
    count with one, so its ARL is 1 / P(a y + c > 0):

    >>> a, c = _llr_coefficients(3.0, 1e8, 2.0)
    >>> p = 1 - stats.poisson(3.0).cdf(np.floor(-c / a))
    >>> bool(np.isclose(cusum_arl(3.0, 1e8, 2.0, h=1e-9), 1 / p, rtol=1e-6))
    True
    """
    if not (mu > 0 and h >= 0):
        raise ValueError(f"need mu > 0 and h >= 0, got mu={mu}, h={h}")
    a, c = _llr_coefficients(mu, size, delta, kind)
    dist = _dist(mu, size)
    m = int(n_states)
    w = max(h, 1e-12) / m
    # state 0: S = 0; state j (1..m): S in ((j-1) w, j w], represented by its midpoint
    s = np.concatenate([[0.0], (np.arange(1, m + 1) - 0.5) * w])
    y_max = int(np.ceil((h - c) / a)) + 1
    y = np.arange(0, max(y_max, 1) + 1)
    pmf = dist.pmf(y)
    new = s[:, None] + a * y[None, :] + c  # (states, y)
    j = np.where(new <= 0, 0, np.ceil(new / w - 1e-12).astype(np.int64))
    inside = new <= h
    P = np.zeros((m + 1, m + 1))
    rows = np.broadcast_to(np.arange(m + 1)[:, None], j.shape)
    np.add.at(P, (rows[inside], np.clip(j[inside], 0, m)), np.broadcast_to(pmf, j.shape)[inside])
    arl = np.linalg.solve(np.eye(m + 1) - P, np.ones(m + 1))
    return float(arl[0])


def threshold_for_fa(mu: float, size: float, delta: float = 2.0, fa: float = 1.0,
                     freq: str = "D", n_states: int = 200, kind: str = "nb") -> float:  # fmt: skip
    """Threshold ``h`` whose in-control ARL gives ``fa`` false alarms per series-year.

    Examples
    --------
    >>> h1 = threshold_for_fa(5.0, 10.0, fa=1.0)
    >>> h2 = threshold_for_fa(5.0, 10.0, fa=0.5)
    >>> bool(h2 > h1)
    True
    """
    if not (fa > 0):
        raise ValueError(f"fa must be > 0, got {fa}")
    target = periods_per_year(freq) / fa
    lo, hi = 0.0, 4.0
    while cusum_arl(mu, size, delta, hi, n_states, kind) < target and hi < 200:
        lo, hi = hi, hi * 2
    for _ in range(30):
        mid = 0.5 * (lo + hi)
        if cusum_arl(mu, size, delta, mid, n_states, kind) < target:
            lo = mid
        else:
            hi = mid
        if hi - lo < 1e-3:
            break
    return hi


def threshold_table(delta: float = 2.0, fa: float = 1.0, freq: str = "D", kind: str = "nb"
                    ) -> np.ndarray:  # fmt: skip
    """Thresholds ``h[i, j]`` for mean ``10**LOG_MU_GRID[i]`` and dispersion ``ALPHA_GRID[j]``
    (:data:`STORED_TABLES`, else computed once per arguments: a few minutes).

    Examples
    --------
    >>> threshold_table(2.0, 1.0, "D").shape
    (19, 10)
    """
    key = (float(delta), float(fa), str(freq), str(kind))
    if key in STORED_TABLES:
        return STORED_TABLES[key]
    return _compute_table(*key)


#: Markov-chain states of the tabulated thresholds (:func:`compute_table`).
TABLE_STATES = 120


def table_cell(i: int, j: int, delta: float = 2.0, fa: float = 1.0, freq: str = "D",
               kind: str = "nb") -> float:  # fmt: skip
    """Threshold of cell ``(i, j)`` of the table: mean ``10**LOG_MU_GRID[i]``, dispersion
    ``ALPHA_GRID[j]`` (0: Poisson), :data:`TABLE_STATES` states.

    Examples
    --------
    >>> stored = STORED_TABLES[(2.0, 0.7, "D", "nb")][2, 0]
    >>> bool(abs(table_cell(2, 0, 2.0, 0.7, "D") - stored) < 2e-3)
    True
    """
    al = float(ALPHA_GRID[j])
    size = 1e8 if al == 0 else 1.0 / al
    return threshold_for_fa(10.0 ** float(LOG_MU_GRID[i]), size, delta, fa, freq,
                            n_states=TABLE_STATES, kind=kind)  # fmt: skip


def compute_table(delta: float = 2.0, fa: float = 1.0, freq: str = "D", kind: str = "nb"
                  ) -> np.ndarray:  # fmt: skip
    """Compute the threshold table from scratch (what :data:`STORED_TABLES` holds): every
    :func:`table_cell` of ``LOG_MU_GRID x ALPHA_GRID`` (0.5-3 minutes).

    Examples
    --------
    >>> len(LOG_MU_GRID) * len(ALPHA_GRID)  # cells
    190
    """
    out = np.empty((len(LOG_MU_GRID), len(ALPHA_GRID)))
    for i in range(len(LOG_MU_GRID)):
        for j in range(len(ALPHA_GRID)):
            out[i, j] = table_cell(i, j, delta, fa, freq, kind)
    return out


@lru_cache(maxsize=8)
def _compute_table(delta: float, fa: float, freq: str, kind: str = "nb") -> np.ndarray:
    out = compute_table(delta, fa, freq, kind)
    out.setflags(write=False)
    return out


def format_table(table: np.ndarray, key: tuple[float, float, str, str]) -> str:
    """The :data:`STORED_TABLES` entry of ``table`` as Python source (3 decimals).

    Examples
    --------
    >>> print(format_table(np.array([[1.23456, 2.0]]), (2.0, 0.7, "MS", "nb")))
        (2.0, 0.7, "MS", "nb"): np.array([
            [1.235, 2.0],
        ]),
    """
    rows = "".join(
        "        [" + ", ".join(repr(round(float(v), 3)) for v in row) + "],\n" for row in table
    )
    delta, fa, freq, kind = key
    head = f'({float(delta)!r}, {float(fa)!r}, "{freq}", "{kind}")'
    return f"    {head}: np.array([\n{rows}    ]),"


def main(argv: list[str] | None = None) -> None:
    """Print stored-table entries: ``python -m predgov.warn.arl DELTA FA FREQ [FREQ ...]``
    (kind "nb"), e.g. ``python -m predgov.warn.arl 2.0 0.7 W-MON MS``."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) < 3:
        raise SystemExit("usage: python -m predgov.warn.arl DELTA FA FREQ [FREQ ...]")
    delta, fa = float(args[0]), float(args[1])
    for freq in args[2:]:
        print(format_table(compute_table(delta, fa, freq, "nb"), (delta, fa, freq, "nb")))


def cusum_threshold(mu: np.ndarray, size: np.ndarray, delta: float = 2.0, fa: float = 1.0,
                    freq: str = "D", kind: str = "nb") -> np.ndarray:  # fmt: skip
    """Threshold of every cell from its predictive mean and NB size: bilinear interpolation
    of :func:`threshold_table` in (log10 mean, dispersion), clamped to the grid; NaN where the
    mean is not finite.

    Examples
    --------
    >>> h = cusum_threshold(np.array([20.0]), np.array([1e8]))
    >>> bool(abs(h[0] - threshold_for_fa(20.0, 1e8)) < 0.1)
    True
    """
    table = threshold_table(float(delta), float(fa), str(freq), str(kind))
    mu = np.asarray(mu, dtype=np.float64)
    r = np.broadcast_to(np.asarray(size, dtype=np.float64), mu.shape)
    ok = np.isfinite(mu) & (mu > 0)
    lm = np.log10(np.where(ok, mu, 1.0))
    with np.errstate(divide="ignore", invalid="ignore"):
        al = np.where(is_poisson(r), 0.0, 1.0 / r)
    al = np.clip(np.nan_to_num(al, nan=0.0), 0.0, MAX_DISPERSION)
    fi = np.interp(lm, LOG_MU_GRID, np.arange(len(LOG_MU_GRID)))
    fj = np.interp(al, ALPHA_GRID, np.arange(len(ALPHA_GRID)))
    i0 = np.clip(np.floor(fi).astype(int), 0, len(LOG_MU_GRID) - 2)
    j0 = np.clip(np.floor(fj).astype(int), 0, len(ALPHA_GRID) - 2)
    di, dj = fi - i0, fj - j0
    h = (table[i0, j0] * (1 - di) * (1 - dj) + table[i0 + 1, j0] * di * (1 - dj)
         + table[i0, j0 + 1] * (1 - di) * dj + table[i0 + 1, j0 + 1] * di * dj)  # fmt: skip
    return np.where(ok, h, np.nan)


def persistent_threshold(h: np.ndarray, persist: np.ndarray, delta: float = 2.0) -> np.ndarray:
    """Raise thresholds ``h`` (made for independent periods) for a persistent error of the mean.

    The ARL of :func:`cusum_arl` assumes the predictive mean is right. An estimated mean
    (a young series, a yearly cycle not known yet, a trend) is off by ``e`` predictive SDs,
    and that error persists from day to day, so the CUSUM accumulates it. In the Gaussian
    approximation of the increments (``delta z - delta^2 / 2``, ``z ~ N(e, 1)``) the false
    alarm rate at threshold ``h`` is ``exp(-(1 - 2 e / delta) h)`` up to a constant; averaged
    over ``e ~ N(0, s2)`` (``s2 = persist``) it is the rate with ``e = 0`` times
    ``exp(b h^2)``, ``b = 2 s2 / delta^2``. The threshold keeping the rate of ``h`` solves
    ``h' - b h'^2 = h``: ``h' = 2 h / (1 + sqrt(1 - 4 b h))``, at most ``2 h`` (where
    ``4 b h >= 1`` the Gaussian mixture has no finite answer and ``2 h`` is kept).

    Parameters
    ----------
    h
        Thresholds for independent periods (:func:`cusum_threshold`).
    persist
        Variance of the mean's persistent error in predictive SDs squared (NaN: 0).
    delta
        Shift (SDs) the CUSUM is tuned to.

    Examples
    --------
    >>> float(persistent_threshold(np.array(4.0), np.array(0.0)))
    4.0
    >>> float(persistent_threshold(np.array(4.0), np.array(0.125)))  # 4 b h = 1: the cap
    8.0
    >>> round(float(persistent_threshold(np.array(4.0), np.array(0.0625))), 4)
    4.6863
    """
    h = np.asarray(h, dtype=np.float64)
    s2 = np.nan_to_num(np.asarray(persist, dtype=np.float64), nan=0.0)
    b = 2.0 * np.maximum(s2, 0.0) / (float(delta) ** 2)
    with np.errstate(invalid="ignore"):
        return 2.0 * h / (1.0 + np.sqrt(np.maximum(1.0 - 4.0 * b * h, 0.0)))


if __name__ == "__main__":
    main()
