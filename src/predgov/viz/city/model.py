"""``PairedCity``: a targeted city and its reactive twin, stepped together one day at a time.

The app's scenario is ``experiments/experiment/heating_prep.yaml`` made small: pre-season pipe
flushing (200 yuan a household, 1 Sep - 31 Oct 2025, estates picked by a targeting policy)
in a city of ``scale`` x Qingdao's households, with the heating season 2024-25 as the hotline
history the policies read. Two ``CityModel`` runs share the seed: the *policy* arm (the
flushing targeted by ``policy`` within ``budget``) and the *reactive* arm (no intervention,
接诉即办). Their draws come from keyed streams, so the arms are common-random-number twins:
before the flushing starts their calls are identical, and afterwards the day-by-day
difference is the flushing's effect for this seed, not chance between two cities.

The days before ``first_shown`` are simulated when the model is built (the burn-in season,
nothing to watch), and so are the days up to ``start_at`` when it is given (open the app
mid-season with the curves drawn so far); each ``step`` then simulates one day of both arms.

Examples
--------
>>> city = PairedCity(policy="oracle", budget=50_000, scale=0.001, first_shown="2025-11-14")
>>> city.shown_dates[0].date().isoformat()
'2025-11-14'
>>> city.step()
>>> city.today.date().isoformat(), city.days_shown
('2025-11-14', 1)
>>> int(city.calls("reactive").sum()) >= 0, city.running
(True, True)
"""

from __future__ import annotations

import mesa
import numpy as np
import pandas as pd

from predgov.data.taxonomy import load_districts
from predgov.sim.experiment.arms import POLICIES, make_arm
from predgov.sim.model import CityModel

#: First day of the hotline history the policies read (the heating season 2024-25).
BURN_IN = "2024-11-15"
#: The pre-season flushing window.
FLUSH_START, FLUSH_END = "2025-09-01", "2025-10-31"
#: The heating season whose calls the flushing should avert (the evaluation window).
SEASON_START, SEASON_END = "2025-11-15", "2026-04-05"
#: Flushing cost per household (yuan; the heating_prep experiment's assumption).
UNIT_COST = 200.0
#: Households flushed a day at full scale (heating_prep: 1,000 a day at scale 0.02).
CAPACITY_FULL_SCALE = 50_000
#: Policies offered in the app (``predgov.sim.experiment.arms.POLICIES`` without ``given``,
#: which targets nothing for flushing, and ``forecast_driven``, which refits a forecaster).
APP_POLICIES = ("reactive", "random", "history_hotspot", "household_risk", "oracle")
ARMS = ("policy", "reactive")


class PairedCity(mesa.Model):
    """Heating-prep flushing targeted by ``policy`` and the reactive city of the same seed.

    Parameters
    ----------
    policy
        Targeting policy name (:data:`APP_POLICIES`; ``"reactive"`` flushes nothing, so the
        arms stay identical: the app's control).
    budget
        Flushing budget for the whole run (yuan; 200 yuan a household).
    seed
        Run seed of both arms (weather and every draw).
    scale
        Share of Qingdao's households simulated (0.005: about 18,600 households, 48 estates).
    first_shown
        First day the app shows; the days before it are simulated when the model is built.
    start_at
        Simulate up to and including this day when the model is built (default: nothing
        from ``first_shown`` on); the shown days are collected as if stepped.

    Attributes
    ----------
    arms
        ``{"policy": CityModel, "reactive": CityModel}``.
    datacollector
        Mesa ``DataCollector`` with one row per shown day: ``date``, ``calls_policy``,
        ``calls_reactive``, ``averted_today`` (reactive - policy), ``averted_season`` (the sum
        of ``averted_today`` since the season's first day) and ``cost`` (spent so far).
    """

    def __init__(
        self,
        policy: str = "history_hotspot",
        budget: float = 250_000.0,
        seed: int = 0,
        scale: float = 0.005,
        first_shown: str = "2025-08-25",
        start_at: str | None = None,
    ) -> None:
        super().__init__(rng=int(seed))
        if policy not in POLICIES or policy == "given":
            raise ValueError(f"policy must be one of {list(APP_POLICIES)}, got {policy!r}")
        if not (np.isfinite(budget) and budget >= 0):
            raise ValueError(f"budget must be a number >= 0 (yuan), got {budget!r}")
        if not 0 < scale <= 0.05:
            raise ValueError(f"scale must be in (0, 0.05] for an interactive city, got {scale!r}")
        self.policy, self.budget, self.seed, self.scale = str(policy), float(budget), int(
            seed), float(scale)  # fmt: skip
        shown = pd.Timestamp(first_shown)
        if not pd.Timestamp(BURN_IN) < shown <= pd.Timestamp(SEASON_END):
            raise ValueError(f"first_shown must be after {BURN_IN} and not after {SEASON_END}, "
                             f"got {first_shown!r}")  # fmt: skip
        kwargs = dict(seed=self.seed, scale=self.scale, start=BURN_IN, end=SEASON_END)
        interventions = []
        if self.policy != "reactive":
            capacity = max(1, round(CAPACITY_FULL_SCALE * self.scale))
            arm = make_arm(self.policy, {}, {"flushing": ("PipeFlushing", {
                "unit": "estate", "start": FLUSH_START, "end": FLUSH_END,
                "capacity": capacity, "unit_cost": UNIT_COST})})  # fmt: skip
            interventions = arm(self.budget, self.seed)
        self.arms: dict[str, CityModel] = {
            "policy": CityModel(**kwargs, interventions=interventions),
            "reactive": CityModel(**kwargs),
        }
        ref = self.arms["reactive"]
        self.dates = ref.dates
        self.first_shown_t = int(self.dates.searchsorted(shown))
        self.season_t = int(self.dates.searchsorted(pd.Timestamp(SEASON_START)))
        self.flush_t = (int(self.dates.searchsorted(pd.Timestamp(FLUSH_START))),
                        int(self.dates.searchsorted(pd.Timestamp(FLUSH_END))))  # fmt: skip
        hh = ref.households
        self.district_names: list[str] = list(hh.district_names)
        self.district_en: list[str] = list(load_districts("qingdao").coords(
            self.district_names)["district_label_en"][1])  # fmt: skip
        self.estate_district = np.asarray(hh.estates.district, np.int64)
        self.estate_households = np.asarray(hh.estates.size, np.int64)
        self.estate_heated = np.asarray(hh.estates.central_heating, bool)
        self._hh_estate = np.asarray(hh.estate, np.int64)
        #: Calls per (arm, day, estate), cumulative from the first simulated day.
        self._estate_cum = np.zeros((2, len(self.dates) + 1, len(self.estate_households)),
                                    np.int64)  # fmt: skip
        self.datacollector = mesa.DataCollector(model_reporters={
            "date": lambda m: m.today.date().isoformat(),
            "calls_policy": lambda m: int(m.calls("policy")[-1]),
            "calls_reactive": lambda m: int(m.calls("reactive")[-1]),
            "averted_today": lambda m: int(m.calls("reactive")[-1] - m.calls("policy")[-1]),
            "averted_season": lambda m: m.averted_season(),
            "cost": lambda m: m.cost(),
        })  # fmt: skip
        while self.t < self.first_shown_t:  # the burn-in: nothing to watch
            self._advance()
        if start_at is not None:
            stop = pd.Timestamp(start_at)
            if not shown <= stop <= pd.Timestamp(SEASON_END):
                raise ValueError(f"start_at must be between first_shown ({first_shown}) and "
                                 f"{SEASON_END}, got {start_at!r}")  # fmt: skip
            while self.t < len(self.dates) and self.dates[self.t] <= stop:
                self.step()

    # ------------------------------------------------------------------ stepping
    @property
    def t(self) -> int:
        """Days simulated so far (both arms)."""
        return self.arms["reactive"].t

    @property
    def today(self) -> pd.Timestamp:
        """The last simulated day."""
        return self.dates[max(self.t - 1, 0)]

    @property
    def days_shown(self) -> int:
        """Days simulated since ``first_shown``."""
        return self.t - self.first_shown_t

    @property
    def shown_dates(self) -> pd.DatetimeIndex:
        """All days the app can show (``first_shown`` to the season's end)."""
        return self.dates[self.first_shown_t:]

    def _advance(self) -> None:
        t = self.t
        for k, name in enumerate(ARMS):
            m = self.arms[name]
            m.step()
            self._estate_cum[k, t + 1] = m.estate_calls.sum(axis=(0, 2))

    def step(self) -> None:
        """Simulate one more day of both arms (the run stops after the season's last day)."""
        if self.t >= len(self.dates):
            self.running = False
            return
        self._advance()
        self.datacollector.collect(self)
        if self.t >= len(self.dates):
            self.running = False

    # ------------------------------------------------------------------ reading
    def calls(self, arm: str, since: int | None = None) -> np.ndarray:
        """Daily calls of ``arm`` (``"policy"`` or ``"reactive"``) city-wide, from day index
        ``since`` (default ``first_shown``) to the last simulated day."""
        if arm not in ARMS:
            raise ValueError(f"arm must be one of {ARMS}, got {arm!r}")
        start = self.first_shown_t if since is None else int(since)
        return self.arms[arm].record["calls"][start:self.t].sum(axis=(1, 2))

    def averted_season(self) -> int:
        """Calls averted so far in the season (reactive - policy, from ``SEASON_START``)."""
        if self.t <= self.season_t:
            return 0
        return int(self.calls("reactive", self.season_t).sum()
                   - self.calls("policy", self.season_t).sum())  # fmt: skip

    def cost(self) -> float:
        """Yuan spent on flushing so far."""
        return float(self.arms["policy"].intervention_cost[:self.t].sum())

    def estate_recent_calls(self, arm: str = "policy", days: int = 7) -> np.ndarray:
        """Calls by each estate's households over the last ``days`` simulated days."""
        k = ARMS.index(arm)
        return self._estate_cum[k, self.t] - self._estate_cum[k, max(self.t - days, 0)]

    def estate_flushed_share(self) -> np.ndarray:
        """Share of each estate's households flushed so far in the policy arm."""
        ivs = self.arms["policy"].interventions
        if not ivs or getattr(ivs[0], "visits_", None) is None:
            return np.zeros(len(self.estate_households))
        visited = np.asarray(ivs[0].visits_ > 0, np.float64)
        return np.bincount(self._hh_estate, weights=visited,
                           minlength=len(self.estate_households)) / self.estate_households
