"""The interactive city's three pictures of a :class:`~predgov.viz.city.model.PairedCity`.

Plain matplotlib ``Figure`` objects (no pyplot state, so the app's sessions do not share
figures), in the briefing style: the estate map, the daily call curve of both arms, and the
paired difference as it accrues. The app (``predgov.viz.city.app``) shows them; they are
usable without solara.

Examples
--------
>>> from predgov.viz.city.model import PairedCity
>>> city = PairedCity(policy="random", budget=20_000, scale=0.001, first_shown="2025-11-10")
>>> for _ in range(7):
...     city.step()
>>> [len(f.axes) >= 1 for f in (estate_map(city), call_curve(city), paired_difference(city))]
[True, True, True]
"""

from __future__ import annotations

import io
import math
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import matplotlib as mpl
import numpy as np
import pandas as pd
from matplotlib.colors import Normalize
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from predgov.viz.city.model import FLUSH_END, FLUSH_START, SEASON_START, PairedCity
from predgov.viz.style import OKABE_ITO, SOURCE_COLOR, briefing_style, date_axis

#: Estate tiles per row inside a district block of the map, and district blocks per row.
TILES_PER_ROW, BLOCKS_PER_ROW = 3, 5
#: Note under every figure: the data are simulated.
NOTE = "Simulated city (predgov agent-based model), not real 12345 records"
POLICY_COLOR, REACTIVE_COLOR = OKABE_ITO[0], "#8C8C8C"
#: matplotlib's rcParams are global: the app's sessions draw one figure at a time.
_DRAW_LOCK = threading.Lock()


@contextmanager
def _style() -> Iterator[None]:
    """``predgov.viz.style.briefing_style``, with its values validated again when the
    rcParams skip matplotlib's validation (solara's server scopes ``rcParams`` per session
    with a class whose item assignment stores the style file's strings as they are:
    ``figure.figsize`` would stay ``'8, 4.5'``)."""
    with briefing_style():
        if isinstance(mpl.rcParams["figure.figsize"], str):
            validators = mpl.rcsetup._validators
            for key, value in list(mpl.rcParams.items()):
                if key in validators:
                    mpl.rcParams[key] = validators[key](value)
        yield


def render_png(draw: Callable[[PairedCity], Figure], city: PairedCity, dpi: int = 100) -> bytes:
    """PNG bytes of ``draw(city)``, built and saved under one lock (the briefing style sets
    the process-wide rcParams, so two threads must not draw at once).

    Examples
    --------
    >>> city = PairedCity(policy="reactive", scale=0.001, first_shown="2025-11-10")
    >>> city.step()
    >>> render_png(call_curve, city)[:4]
    b'\\x89PNG'
    """
    with _DRAW_LOCK:
        fig = draw(city)
        buf = io.BytesIO()
        with _style():
            fig.savefig(buf, format="png", dpi=dpi)
    return buf.getvalue()


def _shade_windows(ax, city: PairedCity) -> None:
    ax.axvspan(pd.Timestamp(FLUSH_START), pd.Timestamp(FLUSH_END), color=OKABE_ITO[1],
               alpha=0.12, lw=0)  # fmt: skip
    ax.axvline(pd.Timestamp(SEASON_START), color=OKABE_ITO[3], lw=1, ls="--")
    dates = city.shown_dates
    ax.set_xlim(dates[0], dates[-1])
    date_axis(ax)


def estate_map(city: PairedCity, days: int = 7) -> Figure:
    """Estates (小区) as tiles in district blocks, coloured by their households' calls over the
    last ``days`` days per 1,000 households (policy arm); flushed estates hatched."""
    calls = city.estate_recent_calls("policy", days)
    rate = 1000.0 * calls / city.estate_households
    flushed = city.estate_flushed_share()
    vmax = max(10.0, float(np.quantile(rate, 0.95)) if len(rate) else 10.0)
    norm, cmap = Normalize(0.0, vmax), mpl.colormaps["viridis"]
    n_districts = len(city.district_names)
    per_district = [np.flatnonzero(city.estate_district == d) for d in range(n_districts)]
    rows_in_block = max(1, max(math.ceil(len(e) / TILES_PER_ROW) for e in per_district))
    block_w, block_h = TILES_PER_ROW + 1, rows_in_block + 1.6
    with _style():
        fig = Figure(figsize=(7.5, 5.2), layout="constrained")
        ax = fig.add_subplot()
        for d, estates in enumerate(per_district):
            bx = (d % BLOCKS_PER_ROW) * block_w
            by = -(d // BLOCKS_PER_ROW) * block_h
            ax.text(bx + TILES_PER_ROW / 2, by + 0.25,
                    f"{city.district_names[d]}\n{city.district_en[d]}", ha="center",
                    va="bottom", fontsize=8)  # fmt: skip
            for i, e in enumerate(estates):
                x = bx + i % TILES_PER_ROW
                y = by - 1 - i // TILES_PER_ROW
                ax.add_patch(Rectangle(
                    (x + 0.05, y + 0.05), 0.9, 0.9, facecolor=cmap(norm(rate[e])),
                    edgecolor="black" if flushed[e] > 0 else "white",
                    lw=1.5 if flushed[e] > 0 else 0.5,
                    hatch="///" if flushed[e] >= 0.5 else None,
                    linestyle="-" if city.estate_heated[e] else ":"))  # fmt: skip
        ax.set_xlim(-0.2, BLOCKS_PER_ROW * block_w)
        n_rows = math.ceil(n_districts / BLOCKS_PER_ROW)
        ax.set_ylim(-n_rows * block_h + 0.3, 1.4)
        ax.set_aspect("equal")
        ax.axis("off")
        sm = mpl.cm.ScalarMappable(norm=norm, cmap=cmap)
        fig.colorbar(sm, ax=ax, shrink=0.7, label=f"calls in the last {days} days\n"
                     "per 1,000 households")  # fmt: skip
        ax.set_title(f"Estates by district, {city.today.date():%d %b %Y} (policy arm)",
                     loc="left")  # fmt: skip
        fig.text(0.01, 0.01, "hatched: flushed (black edge: partly); dotted: no central heating"
                 f". {NOTE}.", fontsize=7, color=SOURCE_COLOR)  # fmt: skip
    return fig


def call_curve(city: PairedCity) -> Figure:
    """Daily calls city-wide: the policy arm against the reactive city of the same seed."""
    dates = city.shown_dates[:city.days_shown]
    with _style():
        fig = Figure(figsize=(7.5, 3.8), layout="constrained")
        ax = fig.add_subplot()
        ax.plot(dates, city.calls("reactive"), color=REACTIVE_COLOR, lw=2.2,
                label="reactive (接诉即办)")  # fmt: skip
        ax.plot(dates, city.calls("policy"), color=POLICY_COLOR, lw=1.2,
                label=f"flushing by {city.policy}")  # fmt: skip
        _shade_windows(ax, city)
        ax.set_ylim(bottom=0)
        ax.set_ylabel("calls a day")
        ax.set_title("Daily calls: policy arm vs reactive baseline (same seed)", loc="left")
        ax.legend(loc="upper left", fontsize=8)
        fig.text(0.01, 0.01, f"orange: flushing window; dashed: heating season. {NOTE}.",
                 fontsize=7, color=SOURCE_COLOR)  # fmt: skip
    return fig


def paired_difference(city: PairedCity) -> Figure:
    """Calls averted (reactive - policy) summed from the first shown day, day by day."""
    dates = city.shown_dates[:city.days_shown]
    diff = np.cumsum(city.calls("reactive") - city.calls("policy"))
    with _style():
        fig = Figure(figsize=(7.5, 3.8), layout="constrained")
        ax = fig.add_subplot()
        ax.axhline(0, color=SOURCE_COLOR, lw=0.8)
        ax.step(dates, diff, where="post", color=OKABE_ITO[2], lw=2)
        _shade_windows(ax, city)
        ax.set_ylabel("calls averted so far")
        ax.set_title(f"Paired difference: {city.averted_season():,} calls averted this season",
                     loc="left")  # fmt: skip
        fig.text(0.01, 0.01, "reactive minus policy arm, same seed (common random numbers); "
                 f"one seed, not a band. {NOTE}.", fontsize=7, color=SOURCE_COLOR)  # fmt: skip
    return fig


def summary_text(city: PairedCity) -> str:
    """The app's headline as Markdown: day, money spent, calls averted, cost per call.

    Examples
    --------
    >>> city = PairedCity(policy="reactive", scale=0.001, first_shown="2025-11-10")
    >>> city.step()
    >>> print(summary_text(city).splitlines()[0])
    **10 Nov 2025** · day 1 of 147 · policy `reactive`, budget 250,000 yuan, seed 0
    """
    averted, cost = city.averted_season(), city.cost()
    per_call = f"{cost / averted:,.0f} yuan per averted call" if averted > 0 else (
        "no calls averted yet")  # fmt: skip
    return (
        f"**{city.today.date():%d %b %Y}** · day {city.days_shown} of "
        f"{len(city.shown_dates)} · policy `{city.policy}`, budget {city.budget:,.0f} yuan, "
        f"seed {city.seed}\n\n"
        f"Spent {cost:,.0f} yuan on flushing ({FLUSH_START} to {FLUSH_END}); "
        f"**{averted:,} calls averted** since {SEASON_START} ({per_call}). "
        f"A city of {city.scale:g} x Qingdao's households; simulated, one seed."
    )
