"""predgov.impact: how many calls did a past action prevent, with an honest interval.

One door, :func:`estimate` (``method="its"``, ``"did"``, ``"synth"`` or ``"auto"``), returns an
effect Dataset: observed vs counterfactual per treated unit, the effect (observed minus
counterfactual: negative when calls were prevented) per period, cumulative, pooled and in total
with joint predictive intervals, the naive year-on-year / before-after figure alongside, and the
checks (pre-trend, regression to the mean, placebo-in-time coverage) in ``attrs["checks"]``.

* :mod:`predgov.impact.its`: counterfactual forecast (NB GLM on the pre-period);
* :mod:`predgov.impact.did`: difference in differences for counts with an event study;
* :mod:`predgov.impact.synth`: synthetic control with placebo-in-space intervals;
* :mod:`predgov.impact.checks`: pre-trend test and regression-to-the-mean check;
* :mod:`predgov.impact.calibration`: placebo-in-time interval calibration.
"""

from predgov.impact.api import METHODS, choose_method, estimate
from predgov.impact.checks import ImpactWarning, RegressionToMeanWarning

__all__ = ["METHODS", "ImpactWarning", "RegressionToMeanWarning", "choose_method", "estimate"]
