"""Experiment arms from plain settings: intervention kinds and targeting policies by name.

The Hydra config (``sim.interventions``, ``policy``) names interventions of the catalogue
(``predgov.sim.interventions``) by class name with constructor keywords, and targeting
policies (``predgov.target.policies``) by a short name with constructor keywords; this module
checks such settings against the constructors' signatures and turns them into the arms of
``run_experiment``: ``make_interventions(budget, seed) -> [Intervention, ...]``.

Rules:

* the policy is the ``targeting=`` of every intervention whose unit a policy can rank
  (households, estates, grids, districts, merchants, sources, pairs); interventions on other
  units (``CapacityBoost``: a department, ``AlertDispatch``: alarmed cells) keep their own
  targets. The policy ``given`` gives no ``targeting=``: every intervention treats its own
  default or listed units (the seed's place: 青铁公园里's noise sources, the 中山路 chamber...);
* the budget of a run (total spending, same unit as ``unit_cost``, yuan in the examples) is
  shared equally by the interventions of the arm;
* keywords that take code (``targeting``, ``trigger``, ``eligible``, callables) and ``budget``
  (the budget axis sets it) cannot come from settings.

Examples
--------
>>> arm = make_arm("random", {}, {"flush": ("PipeFlushing", {"start": "2025-09-01",
...                                                          "capacity": 50})})
>>> [iv] = arm(10000.0, 0)
>>> type(iv.targeting).__name__, iv.budget, iv.label
('Random', 10000.0, 'flush')
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from typing import Any

from predgov.sim import interventions as catalogue
from predgov.sim.interventions import Intervention
from predgov.target import policies as pol

#: Intervention kinds a config may name (class names of the catalogue).
_KINDS = (catalogue.PipeFlushing, catalogue.SourceControl, catalogue.ProactiveVisits,
          catalogue.MediationNetwork, catalogue.MerchantElimination, catalogue.CapacityBoost,
          catalogue.AlertDispatch)  # fmt: skip
INTERVENTIONS: dict[str, type[Intervention]] = {c.__name__: c for c in _KINDS}
#: Targeting policies by config name; ``given`` = the interventions' own targets.
POLICIES: dict[str, type | None] = {
    "reactive": pol.Reactive,
    "random": pol.Random,
    "history_hotspot": pol.HistoryHotspot,
    "household_risk": pol.HouseholdRisk,
    "forecast_driven": pol.ForecastDriven,
    "oracle": pol.Oracle,
    "given": None,
}
#: Keywords a config may not set (code, or set by the experiment).
REFUSED = ("targeting", "trigger", "eligible", "budget", "label")


def keywords(cls: type) -> list[str]:
    """Keyword names ``cls(...)`` takes, through ``**kwargs`` up to ``Intervention``.

    Examples
    --------
    >>> "capacity" in keywords(catalogue.PipeFlushing), "estates" in keywords(
    ...     catalogue.PipeFlushing)
    (True, True)
    """
    names: list[str] = []
    for klass in cls.__mro__:
        if "__init__" not in vars(klass):
            continue
        params = inspect.signature(vars(klass)["__init__"]).parameters.values()
        names += [p.name for p in params if p.name != "self"
                  and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)]  # fmt: skip
        if not any(p.kind is p.VAR_KEYWORD for p in params) or klass is Intervention:
            break
    return list(dict.fromkeys(names))


def targeted(iv: Intervention) -> bool:
    """Whether a targeting policy can rank this intervention's units."""
    return getattr(iv, "unit", None) in pol.UNITS


def build_policy(name: str, params: Mapping[str, Any], strict: bool = True) -> Any:
    """The policy object ``name`` with ``params`` (None for ``given``); with ``strict=False``
    keywords the policy does not take are left out (shared settings of compared policies).

    Examples
    --------
    >>> build_policy("history_hotspot", {"category": "heating"}).category
    'heating'
    >>> build_policy("random", {"category": "heating"}, strict=False).seed
    0
    """
    if name not in POLICIES:
        raise ValueError(f"unknown policy {name!r}; choose from {sorted(POLICIES)}")
    cls = POLICIES[name]
    if cls is None:
        if strict and params:
            raise ValueError(f"policy 'given' takes no parameters, got {sorted(params)}")
        return None
    known = keywords(cls)
    if strict:
        bad = [k for k in params if k not in known]
        if bad:
            raise ValueError(f"policy {name!r} ({cls.__name__}) takes no parameter {bad[0]!r}")
    # lists from a config are pairs or sets of names: ("11-15", "04-05") windows
    kwargs = {k: _plain(v) for k, v in params.items() if k in known}
    return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in kwargs.items()})


def build_intervention(
    kind: str,
    params: Mapping[str, Any],
    *,
    label: str,
    budget: float = float("inf"),
    targeting: Any = None,
) -> Intervention:
    """One intervention of the catalogue from settings (see the module docstring).

    Examples
    --------
    >>> build_intervention("SourceControl", {"intensity_cut": 0.3}, label="noise").label
    'noise'
    """
    if kind not in INTERVENTIONS:
        raise ValueError(f"unknown intervention kind {kind!r}; choose from {sorted(INTERVENTIONS)}")
    cls = INTERVENTIONS[kind]
    check_intervention_params(kind, params)
    kwargs = {k: _plain(v) for k, v in params.items()}
    iv = cls(**kwargs, budget=budget, label=label)
    if targeting is not None and targeted(iv):
        iv = cls(**kwargs, budget=budget, label=label, targeting=targeting)
    return iv


def check_intervention_params(kind: str, params: Mapping[str, Any]) -> None:
    """A ValueError naming the first keyword ``kind`` does not take or a config may not set."""
    cls = INTERVENTIONS[kind]
    known = [k for k in keywords(cls) if k not in REFUSED]
    for k in params:
        if k in REFUSED:
            why = ("the budget comes from sim.budgets" if k == "budget" else "the label is the "
                   "intervention's key" if k == "label" else "code cannot come from a config")
            raise ValueError(f"{kind} parameter {k!r} cannot be set here: {why}")
        if k not in known:
            raise ValueError(f"{kind} takes no parameter {k!r}")


def make_arm(policy: str, policy_params: Mapping[str, Any],
             specs: Mapping[str, tuple[str, Mapping[str, Any]]], strict: bool = True
             ) -> Callable[[float, int], list[Intervention]]:  # fmt: skip
    """``make_interventions(budget, seed)`` for ``run_experiment``: the interventions of
    ``specs`` (label -> (kind, params)), targeted by ``policy``, sharing the budget."""
    if not specs:
        raise ValueError("an arm needs at least one intervention")
    for kind, params in specs.values():
        if kind not in INTERVENTIONS:
            raise ValueError(f"unknown intervention kind {kind!r}; "
                             f"choose from {sorted(INTERVENTIONS)}")  # fmt: skip
        check_intervention_params(kind, params)
    build_policy(policy, policy_params, strict)  # fail now, not inside the sweep

    def make_interventions(budget: float, seed: int) -> list[Intervention]:
        del seed  # policies draw from the run seed's keyed streams themselves
        share = float(budget) / len(specs)
        return [build_intervention(kind, params, label=label, budget=share,
                                   targeting=build_policy(policy, policy_params, strict))
                for label, (kind, params) in specs.items()]  # fmt: skip

    return make_interventions


def _plain(value: Any) -> Any:
    """OmegaConf containers as plain lists and dicts."""
    try:
        from omegaconf import DictConfig, ListConfig, OmegaConf
    except ImportError:  # pragma: no cover
        return value
    if isinstance(value, DictConfig | ListConfig):
        return OmegaConf.to_container(value, resolve=True)
    return value
