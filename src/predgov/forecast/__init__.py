"""predgov.forecast: category volumes per district with quantiles (DESIGN.md, "Forecasts").

Every model follows the scikit-learn habit: ``make_forecaster(name, **params)`` or the class,
then ``fit(counts, regressors=None)`` and ``predict(horizon, regressors=None)`` → a forecast
Dataset with ``mean``, ``quantiles`` (levels :data:`DEFAULT_QUANTILES`) and ``fallback``.
Two point forecasts: ``mean`` for squared-error use, the median (``quantiles`` at 0.5) for
absolute-error use such as MASE (:func:`point_forecast`).

* baselines: :class:`SeasonalNaive`, :class:`Climatology`, :class:`TSB`;
* :class:`NBGLM`: negative-binomial GLM for all series at once — the recommended default;
* :class:`ProphetForecaster`: one Prophet per series, joblib or Dask.
"""

from predgov.forecast.base import (
    DEFAULT_QUANTILES,
    Forecaster,
    NotFittedError,
    future_times,
    nb_quantiles,
    seasonal_periods,
)
from predgov.forecast.baselines import TSB, Climatology, SeasonalNaive
from predgov.forecast.factory import DEFAULT_MODEL, MODELS, available_models, make_forecaster
from predgov.forecast.metrics import point_forecast
from predgov.forecast.nbglm import NBGLM
from predgov.forecast.prophet_model import ProphetForecaster

__all__ = [
    "DEFAULT_MODEL",
    "DEFAULT_QUANTILES",
    "MODELS",
    "NBGLM",
    "TSB",
    "Climatology",
    "Forecaster",
    "NotFittedError",
    "ProphetForecaster",
    "SeasonalNaive",
    "available_models",
    "future_times",
    "make_forecaster",
    "nb_quantiles",
    "point_forecast",
    "seasonal_periods",
]
