"""predgov.stats: the count-model core every stage uses.

* :mod:`predgov.stats.nb`: the negative binomial (pmf, cdf, upper tail, quantiles, the
  log-likelihood ratio of two means) and its dispersion by moments or maximum likelihood, with
  the one dispersion cap :data:`MAX_DISPERSION`;
* :mod:`predgov.stats.glm`: one batched IRLS solver for Poisson and NB2 log-linear models of
  many series sharing a design (offsets, weights, ridge penalties, column masks).

Nothing here knows about cubes, calendars or detectors: inputs are numpy arrays.
"""

from predgov.stats.glm import Design, GLMFit, irls, single_thread, solve_batched
from predgov.stats.nb import (
    MAX_DISPERSION,
    MIN_SIZE,
    POISSON_SIZE,
    alpha_ml,
    is_poisson,
    moment_alpha,
    nb_alpha,
    nb_cdf,
    nb_cdf_pmf,
    nb_llr,
    nb_log_upper,
    nb_logpmf,
    nb_pmf,
    nb_ppf,
    nb_quantiles,
    nb_size_moments,
    size_from_alpha,
    size_from_phi,
    surprise,
)

__all__ = [
    "MAX_DISPERSION",
    "MIN_SIZE",
    "POISSON_SIZE",
    "Design",
    "GLMFit",
    "alpha_ml",
    "irls",
    "is_poisson",
    "moment_alpha",
    "nb_alpha",
    "nb_cdf",
    "nb_cdf_pmf",
    "nb_llr",
    "nb_log_upper",
    "nb_logpmf",
    "nb_pmf",
    "nb_ppf",
    "nb_quantiles",
    "nb_size_moments",
    "single_thread",
    "size_from_alpha",
    "size_from_phi",
    "solve_batched",
    "surprise",
]
