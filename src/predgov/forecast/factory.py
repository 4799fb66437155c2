"""Build any forecaster by name: ``make_forecaster("default")``, ``make_forecaster("prophet")``.

Names (:data:`MODELS`): ``"seasonal_naive"``, ``"climatology"``, ``"tsb"`` (alias
``"croston_tsb"``), ``"nb_glm"``, ``"prophet"``, and ``"default"`` — the recommended model,
:class:`~predgov.forecast.nbglm.NBGLM` (see its module for why).
"""

from __future__ import annotations

from typing import Any

from predgov.forecast.base import Forecaster
from predgov.forecast.baselines import TSB, Climatology, SeasonalNaive
from predgov.forecast.nbglm import NBGLM
from predgov.forecast.prophet_model import ProphetForecaster

#: The recommended model's name.
DEFAULT_MODEL = "nb_glm"

#: Forecaster classes by name.
MODELS: dict[str, type[Forecaster]] = {
    "seasonal_naive": SeasonalNaive,
    "climatology": Climatology,
    "tsb": TSB,
    "nb_glm": NBGLM,
    "prophet": ProphetForecaster,
}

_ALIASES = {"default": DEFAULT_MODEL, "croston_tsb": "tsb", "snaive": "seasonal_naive"}


def available_models() -> list[str]:
    """Every name :func:`make_forecaster` accepts.

    Examples
    --------
    >>> available_models()  # doctest: +NORMALIZE_WHITESPACE
    ['climatology', 'croston_tsb', 'default', 'nb_glm', 'prophet', 'seasonal_naive',
     'snaive', 'tsb']
    """
    return sorted([*MODELS, *_ALIASES])


def make_forecaster(name: str, **params: Any) -> Forecaster:
    """A forecaster by name with constructor ``params``.

    Raises ValueError for an unknown name (listing the known ones) and TypeError for a
    parameter the model does not take.

    Examples
    --------
    >>> make_forecaster("default").name
    'nb_glm'
    >>> make_forecaster("seasonal_naive", period=7).period
    7
    """
    if not isinstance(name, str):
        raise TypeError(f"name must be a string, got {type(name).__name__}")
    key = name.strip().lower().replace("-", "_")
    key = _ALIASES.get(key, key)
    if key not in MODELS:
        raise ValueError(f"unknown forecaster {name!r}; choose one of {available_models()}")
    cls = MODELS[key]
    try:
        return cls(**params)
    except TypeError as exc:
        raise TypeError(
            f"{cls.__name__} does not accept {sorted(params)}: {exc}. "
            f"Its parameters: {cls._param_names()}"
        ) from None
