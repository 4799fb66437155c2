"""predgov.warn: early warning of emerging and trending problems in hotline counts.

Detectors score every (time, series) cell of a cube using only data available at that time
(DESIGN.md, "Early warning"): ``detect(counts, method)`` returns ``score``, ``threshold``,
``alarm``, ``expected`` and ``upper``. Methods: ``"ears_c1"``, ``"ears_c2"``, ``"ears_c3"``,
``"farrington"``, ``"nb_cusum"``, ``"exceedance"``, ``"trend"`` and ``"default"``.

The default for daily cubes is the negative-binomial CUSUM (``nb_cusum``, shift ``delta`` = 2
SD) against the calendar-aware expected counts of :mod:`predgov.warn.expected` (NB GLM with
weekday, yearly, holiday / make-up workday / season / Spring Festival terms and exogenous
regressors such as temperature, refitted weekly on the past only, pooled by category; past
outbreaks flagged by an online feedback CUSUM are left out of the refits and the level for up
to four weeks, two in a series' first year; longer excesses are taken as a new level; after
the first year a second, more sensitive feedback CUSUM keeps shorter excesses out of the
self-calibration below, so that past outbreaks do not widen the predictive distribution;
code in :mod:`~predgov.warn.design`, :mod:`~predgov.warn.batchfit`,
:mod:`~predgov.warn.online`).
Pass the calendar with
``detect(..., city="qingdao")`` and observed weather with ``regressors=``.

Its thresholds have a stated meaning (issue 14): the baseline's mean and NB size are
self-calibrated on the series' own past one-step errors (its *predictive* distribution), and
each day's CUSUM threshold is the one whose in-control average run length under that NB gives
``fa`` = 1 false alarm per series-year (:mod:`predgov.warn.arl`, Brook-Evans Markov chain,
with a margin for errors in the estimated mean: 0.6 daily, 0.7 weekly and monthly,
:data:`predgov.warn.cusum.FA_MARGIN`). The choice was made on the synthetic
family of ``benchmarks/calibration.py`` (never on the real sets); what it measured there and on
the held-out real sets is in that benchmark's output and notebook 03. ``detect(...,
threshold=h)`` or ``h=`` still sets one fixed threshold; ``calibrate_threshold`` tunes it on a
place's own history. Weekly and monthly cubes default to Farrington-flexible at alpha = 1 /
periods per year (1 false alarm per series-year) with a predictive NB threshold (the dispersion
widened by the uncertainty of the estimated mean): measured 1.21 (weekly) and 1.03 (monthly)
alarm periods per series-year on the synthetic family (``benchmarks/calibration.py``; alpha =
0.05 gave 3.5 weekly).

Detection quality is measured with :mod:`predgov.warn.evaluate` (outbreak injection,
calibration on outbreak-free series, POD / false alarms per series-year / delay / PPV).
"""

from predgov.warn.arl import cusum_arl, cusum_threshold, threshold_for_fa
from predgov.warn.baseline import Baseline, BaselineCache, fit_baseline, one_step_forecast
from predgov.warn.cusum import nb_cusum
from predgov.warn.detect import DEFAULT, DETECTORS, Detector, detect
from predgov.warn.ears import ears
from predgov.warn.evaluate import (
    calibrate,
    calibrate_threshold,
    demo_baseline,
    evaluate,
    inject_outbreaks,
    nb_baseline,
    run,
    score_alarms,
    smooth_baseline,
    sweep,
)
from predgov.warn.exceedance import exceedance
from predgov.warn.expected import expected_counts
from predgov.warn.farrington import farrington
from predgov.warn.trend import trend

try:  # alerts.py is written separately; the lead finalises this import
    from predgov.warn.alerts import alerts
except ImportError:  # pragma: no cover - until alerts.py exists
    alerts = None

__all__ = [
    "DEFAULT",
    "DETECTORS",
    "Baseline",
    "BaselineCache",
    "Detector",
    "alerts",
    "calibrate",
    "calibrate_threshold",
    "cusum_arl",
    "cusum_threshold",
    "demo_baseline",
    "detect",
    "ears",
    "evaluate",
    "exceedance",
    "expected_counts",
    "farrington",
    "fit_baseline",
    "inject_outbreaks",
    "nb_baseline",
    "nb_cusum",
    "one_step_forecast",
    "run",
    "score_alarms",
    "smooth_baseline",
    "sweep",
    "threshold_for_fa",
    "trend",
]
