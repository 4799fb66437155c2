"""Households and estates as struct-of-arrays, built once per world.

Rules (every number here is illustrative unless its comment names a source):

Estates (小区)
    Per district, households = round(table households x ``scale``); estates are cut from them
    with sizes ``max(40, round(lognormal(log 450, 0.6)))`` (the last takes the remainder), so a
    reduced city is a sample of real-sized estates. Estate age ~ Gamma(shape 4, mean = the
    demo city's district building age ``BUILDING_AGE``), clipped to [1, 70] years; build year =
    ``REFERENCE_YEAR - age``. Heating-system age = estate age with probability 0.75, otherwise
    Uniform(1, age) (the system was renewed). Central heating: every estate in urban districts,
    probability 0.45 in county-level cities (demo city's coverage). Floors: 6 (walk-up) when
    older than 25 years, else 6/11/18/26 with probabilities 0.2/0.3/0.3/0.2. Clogging rate of
    the estate's pipes: lognormal(log 0.03, 0.35) per year of system age. Positions (km) are
    uniform in a district square of area ``scale x households / density`` (density 4,000
    households/km² urban, 1,000 rural), so source and housing density do not change with scale.
Flats (households), vectorised over the whole city
    floor ~ Uniform{1..floors}; flags (bits, "边角顶底"): EDGE with probability 0.3 (end unit,
    exposed gable wall), CORNER = EDGE and probability 1/3 (two exposed walls), TOP = top
    floor, BOTTOM = ground floor. Occupants 1..5 with probabilities .20/.33/.25/.14/.08 (mean
    2.6 persons, Qingdao's average household size in ``conf/city/qingdao.yaml``).
    Reporting propensity = district factor x lognormal(-0.125, 0.5) (mean 1 within a district).
    District factors follow the 311 under-reporting literature (REFERENCES.md: up to ~3x
    between neighbourhoods; denser, richer areas report more): ``PROPENSITY`` below, range
    0.55..1.45 (2.6x). Patience (days before chasing an open ticket or calling again) =
    1 + Gamma(2, 1.5), mean 4 days. Clogging at the start = 1 - exp(-r x system age) with r =
    estate rate x lognormal(0, 0.3). Experience per process domain starts at 0 (int8 in
    [-3, 3]: +1 per satisfied rating, -1 per dissatisfied one); it multiplies that domain's
    reporting rate by ``1.15 ** experience``.

Households are ordered by district, then estate, then flat; a grid is a run of about
``grid_size`` consecutive households inside one district (a community grid, 网格): 400 in urban
districts (300-500 households), ``RURAL_GRID_SIZE`` (166) in the county-level cities, from the
seed's rural town (田庄镇: 93 grids for 15,422 households, SEED_BRIEF.md case 3; rural grids
are smaller in households and, at a quarter of the density, larger in area). Every grid and
estate is an index range into these arrays.

Named places of the seed's cases (``SEED_PLACES``; ``predgov.sim.places`` adds merchants,
sources and pairs): each takes the first estates of its district until it holds its share of
households (``round(households x scale)``, at least one estate), so a reduced city keeps them.

* 田庄镇 (town, 平度): 15,422 households in 93 grids of its own (SEED_BRIEF.md case 3);
* 鲁瑞苑 (estates, 市北; the district is an assumption, the article names none): heated since
  2003 (system age 22, build year 2003), small radiator inlet pipes: clogging rate x 1.5 (an
  assumption), ~3,000 households ("nearly 3,000 households reached", case 1);
* 青铁公园里 (estate, 西海岸新区, Huangdao street): 1,500 households (an assumption; the article
  gives none); its noise sources are placed by ``processes.noise`` (case 4).

These edits change the named estates' attributes only, never a stream's draws.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from predgov.data.demo import BUILDING_AGE
from predgov.data.taxonomy import load_districts
from predgov.sim import streams

#: Flat-position bits ("边角顶底": edge, corner, top, bottom).
EDGE, CORNER, TOP, BOTTOM = 1, 2, 4, 8
#: Year the estate ages refer to (the 2025-26 season of SEED_BRIEF.md).
REFERENCE_YEAR = 2025
#: Reporting propensity by district (illustrative, after the 311 literature: the dense, richer
#: old core and Laoshan report most, the county-level cities least).
PROPENSITY = {
    "市南": 1.45, "市北": 1.2, "李沧": 1.0, "崂山": 1.35, "西海岸新区": 1.05,
    "城阳": 1.0, "即墨": 0.75, "胶州": 0.7, "平度": 0.55, "莱西": 0.6,
}  # fmt: skip
#: Process domains with their own experience column (index = streams process id - 1).
N_DOMAINS = 5
#: Households per grid in the county-level cities: 田庄镇's 15,422 households in 93 grids.
RURAL_GRID_SIZE = 166
#: Named places of the seed's cases: name -> (kind, district, households at full scale, grids
#: at full scale or None, estate attribute edits).
SEED_PLACES: dict[str, tuple[str, str, int, int | None, dict[str, float]]] = {
    "田庄镇": ("town", "平度", 15_422, 93, {}),
    "鲁瑞苑": ("estates", "市北", 3_000, None, {"system_age": 22.0, "age": 22.0,
                                             "clog_rate_factor": 1.5}),
    "青铁公园里": ("estate", "西海岸新区", 1_500, None, {}),
}

_ESTATE_MEAN, _ESTATE_SD, _ESTATE_MIN = 450.0, 0.6, 40
_DENSITY = {True: 4000.0, False: 1000.0}  # households per km² of built-up area
_OCCUPANTS_P = np.array([0.20, 0.33, 0.25, 0.14, 0.08])


@dataclass
class Estates:
    """Estates (小区): one row each; households ``start[e]:stop[e]``."""

    district: np.ndarray  # int16
    start: np.ndarray  # int64
    stop: np.ndarray  # int64
    age: np.ndarray  # float32 years
    build_year: np.ndarray  # int16
    system_age: np.ndarray  # float32 years of the heating system
    central_heating: np.ndarray  # bool
    floors: np.ndarray  # int16
    clog_rate: np.ndarray  # float32 per year
    x: np.ndarray  # float32 km
    y: np.ndarray  # float32 km

    @property
    def size(self) -> np.ndarray:
        """Households per estate."""
        return self.stop - self.start

    def __len__(self) -> int:
        return len(self.start)


@dataclass
class Households:
    """Household state arrays (one element per household) and their estates and grids.

    Examples
    --------
    >>> h = build_households(seed=0, scale=0.001)
    >>> len(h) == int(h.district_stop[-1]), h.flags.dtype.name
    (True, 'uint8')
    """

    district_names: list[str]
    district_start: np.ndarray  # int64, households of district d are start[d]:stop[d]
    district_stop: np.ndarray
    urban: np.ndarray  # bool per district
    estates: Estates
    grid_start: np.ndarray  # int64 per grid
    grid_stop: np.ndarray
    grid_district: np.ndarray  # int16 per grid
    # per household
    district: np.ndarray  # int16
    estate: np.ndarray  # int32
    flags: np.ndarray  # uint8 bits EDGE|CORNER|TOP|BOTTOM
    occupants: np.ndarray  # int8
    propensity: np.ndarray  # float32
    patience: np.ndarray  # float32 days
    clog: np.ndarray  # float32 in [0, 1]
    clog_rate: np.ndarray  # float32 per year
    active: np.ndarray  # uint8 bit per process: an open problem of that process
    experience: np.ndarray = field(repr=False, default_factory=lambda: np.zeros((0, N_DOMAINS)))
    #: Named places (``SEED_PLACES``) present in the world: name -> estates ``[a, b)``.
    places: dict[str, tuple[int, int]] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.district)

    def nbytes(self) -> int:
        """Memory held by the per-household arrays."""
        names = ("district", "estate", "flags", "occupants", "propensity", "patience", "clog",
                 "clog_rate", "active", "experience")  # fmt: skip
        return int(sum(getattr(self, n).nbytes for n in names))

    def experience_factor(self, hh: np.ndarray, process: int) -> np.ndarray:
        """Reporting multiplier ``1.15 ** experience`` of households ``hh`` in a domain."""
        return np.power(1.15, self.experience[hh, process - 1].astype(np.float64))


def _estate_sizes(rng: np.random.Generator, n: int) -> np.ndarray:
    sizes: list[int] = []
    left = n
    while left > 0:
        s = max(_ESTATE_MIN, round(rng.lognormal(np.log(_ESTATE_MEAN), _ESTATE_SD)))
        s = min(s, left)
        if 0 < left - s < _ESTATE_MIN:  # fold a tiny remainder into this estate
            s = left
        sizes.append(s)
        left -= s
    return np.array(sizes, dtype=np.int64)


def build_households(
    seed: int = 0,
    scale: float = 0.01,
    *,
    districts: list[str] | None = None,
    grid_size: int = 400,
    rural_grid_size: int = RURAL_GRID_SIZE,
) -> Households:
    """Build the households, estates and grids of a Qingdao-like city.

    Parameters
    ----------
    seed
        World seed (the city's layout; run seeds vary only the dynamics).
    scale
        Fraction of Qingdao's households (1.0 = about 3.7 million).
    districts
        Subset of district names; default all ten.
    grid_size, rural_grid_size
        Households per community grid in urban districts and in county-level cities.

    Returns
    -------
    Households

    Examples
    --------
    >>> h = build_households(scale=0.001, districts=["市南"])
    >>> h.district_names, 200 <= len(h) <= 260
    (['市南'], True)
    """
    if not scale > 0:
        raise ValueError(f"scale must be > 0, got {scale}")
    table = load_districts("qingdao").table
    names = list(table["district"]) if districts is None else list(districts)
    unknown = [d for d in names if d not in table.index]
    if unknown:
        raise ValueError(f"unknown districts {unknown}; have {list(table.index)}")

    keys = ("district", "size", "age", "system_age", "central", "floors", "rate", "x", "y")
    est_cols: dict[str, list[np.ndarray]] = {k: [] for k in keys}
    d_sizes, urban = [], []
    places: dict[str, tuple[int, int]] = {}
    for name in names:
        di = list(table.index).index(name)  # stream key: position in the full table
        rng = streams.day_rng(seed, streams.WORLD, di)
        row = table.loc[name]
        n_d = max(1, round(float(row["households"]) * scale))
        is_urban = bool(row["urban"])
        sizes = _estate_sizes(rng, n_d)
        k = len(sizes)
        mean_age = BUILDING_AGE.get(name, 20.0)
        age = np.clip(rng.gamma(4.0, mean_age / 4.0, k), 1.0, 70.0)
        renewed = rng.random(k) >= 0.75
        system_age = np.where(renewed, rng.uniform(1.0, np.maximum(age, 1.0 + 1e-9)), age)
        central = np.ones(k, bool) if is_urban else rng.random(k) < 0.45
        floors = np.where(age > 25, 6, rng.choice([6, 11, 18, 26], k, p=[0.2, 0.3, 0.3, 0.2]))
        rate = rng.lognormal(np.log(0.03), 0.35, k)
        side = np.sqrt(scale * float(row["households"]) / _DENSITY[is_urban])
        first = sum(len(a) for a in est_cols["size"])  # global id of the district's 1st estate
        for place, (_, district, n_place, _, edits) in SEED_PLACES.items():
            if district != name:
                continue
            n_e = int(np.searchsorted(np.cumsum(sizes), max(1, round(n_place * scale)))) + 1
            n_e = min(n_e, k)
            sl = slice(0, n_e)
            if "age" in edits:
                age[sl] = edits["age"]
            if "system_age" in edits:
                system_age[sl] = edits["system_age"]
            rate[sl] *= edits.get("clog_rate_factor", 1.0)
            places[place] = (first, first + n_e)
        est_cols["district"].append(np.full(k, len(d_sizes)))
        x, y = rng.uniform(0, side, k), rng.uniform(0, side, k)
        values = (sizes, age, system_age, central, floors, rate, x, y)
        for key, val in zip(keys[1:], values, strict=True):
            est_cols[key].append(val)
        d_sizes.append(n_d)
        urban.append(is_urban)

    cat = {k: np.concatenate(v) for k, v in est_cols.items()}
    e_size = cat["size"]
    e_stop = np.cumsum(e_size)
    e_start = e_stop - e_size
    estates = Estates(
        district=cat["district"].astype(np.int16),
        start=e_start.astype(np.int64),
        stop=e_stop.astype(np.int64),
        age=cat["age"].astype(np.float32),
        build_year=(REFERENCE_YEAR - np.round(cat["age"])).astype(np.int16),
        system_age=cat["system_age"].astype(np.float32),
        central_heating=cat["central"].astype(bool),
        floors=cat["floors"].astype(np.int16),
        clog_rate=cat["rate"].astype(np.float32),
        x=cat["x"].astype(np.float32),
        y=cat["y"].astype(np.float32),
    )

    d_sizes_a = np.array(d_sizes, dtype=np.int64)
    d_stop = np.cumsum(d_sizes_a)
    d_start = d_stop - d_sizes_a
    n = int(d_stop[-1])
    estate_of = np.repeat(np.arange(len(e_size), dtype=np.int32), e_size)
    district_of = np.repeat(np.arange(len(names), dtype=np.int16), d_sizes_a)

    # Flats: one vectorised pass over the city (a single world stream).
    rng = streams.day_rng(seed, streams.WORLD, 10_000)
    floors_h = estates.floors[estate_of].astype(np.int64)
    floor = np.floor(rng.random(n) * floors_h).astype(np.int64) + 1
    edge = rng.random(n) < 0.3
    corner = edge & (rng.random(n) < 1 / 3)
    top, bottom = floor == floors_h, floor == 1
    flags = (edge * EDGE) | (corner * CORNER) | (top * TOP) | (bottom * BOTTOM)
    occupants = rng.choice(np.arange(1, 6), n, p=_OCCUPANTS_P).astype(np.int8)
    dfac = np.array([PROPENSITY.get(d, 1.0) for d in names])[district_of]
    propensity = dfac * rng.lognormal(-0.125, 0.5, n)
    patience = 1.0 + rng.gamma(2.0, 1.5, n)
    rate_h = estates.clog_rate[estate_of] * rng.lognormal(0.0, 0.3, n)
    clog = 1.0 - np.exp(-rate_h * estates.system_age[estate_of])

    g_start, g_stop, g_dist = [], [], []
    for d, name in enumerate(names):
        # segments cut into grids separately: a town with its own grid count, then the rest
        segments = [(int(d_start[d]), int(d_stop[d]), None)]
        for place, (_, district, _, grids, _) in SEED_PLACES.items():
            if district == name and grids is not None and place in places:
                a, b = (int(e_start[places[place][0]]), int(e_stop[places[place][1] - 1]))
                n_grids = max(1, round(grids * scale))
                segments = [(a, b, n_grids)] + ([(b, int(d_stop[d]), None)]
                                                if b < d_stop[d] else [])  # fmt: skip
        size = grid_size if urban[d] else rural_grid_size
        for a, b, k in segments:
            k = k or max(1, round((b - a) / size))
            cuts = np.linspace(a, b, k + 1).round().astype(np.int64)
            g_start.append(cuts[:-1])
            g_stop.append(cuts[1:])
            g_dist.append(np.full(k, d, dtype=np.int16))

    return Households(
        district_names=names,
        district_start=d_start,
        district_stop=d_stop,
        urban=np.array(urban, dtype=bool),
        estates=estates,
        grid_start=np.concatenate(g_start),
        grid_stop=np.concatenate(g_stop),
        grid_district=np.concatenate(g_dist),
        district=district_of,
        estate=estate_of,
        flags=flags.astype(np.uint8),
        occupants=occupants,
        propensity=propensity.astype(np.float32),
        patience=patience.astype(np.float32),
        clog=clog.astype(np.float32),
        clog_rate=rate_h.astype(np.float32),
        active=np.zeros(n, dtype=np.uint8),
        experience=np.zeros((n, N_DOMAINS), dtype=np.int8),
        places=places,
    )
