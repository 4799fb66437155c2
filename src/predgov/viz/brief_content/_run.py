"""The run directory every section reads, and the formatting and suppression helpers they share."""

from __future__ import annotations

import io
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import pandas as pd
import xarray as xr

from predgov.data.suppress import small_cell_mask
from predgov.viz.brief_model import Bi, Figure

#: Mark for a cell the run's own CSV withheld (small count or its complement).
WITHHELD = "*"
#: Figure resolution (PNG inside the PDF and HTML).
DPI = 200
#: Tallest figure taken from the run directory, in mm (the page fitting may shrink it).
MAX_FIGURE_MM = 115.0


@dataclass
class Run:
    """A run directory and what every section needs from it."""

    path: Path
    config: dict[str, Any]
    min_count: int
    lang: str
    max_rows: int
    alerts_days: int
    _cube: xr.Dataset | None = None

    def file(self, relative: str) -> Path | None:
        """The file if the run holds it."""
        path = self.path / relative
        return path if path.is_file() else None

    def cube(self) -> xr.Dataset | None:
        """``cube.nc`` (loaded once), or None."""
        if self._cube is None and self.file("cube.nc") is not None:
            with xr.open_dataset(self.path / "cube.nc") as ds:
                self._cube = ds[["counts"]].load()
                self._cube.attrs = dict(ds.attrs)
        return self._cube

    def last_day(self) -> pd.Timestamp | None:
        """The data's last period: the cube's last time stamp."""
        cube = self.cube()
        if cube is None or cube.sizes.get("time", 0) == 0:
            return None
        return pd.Timestamp(cube["time"].values[-1])

    def category(self, codes: str) -> Bi:
        """Category codes (``heating`` or ``heating,gas``) in words, from the cube's labels."""
        cube = self.cube()
        labels = _labels(cube, "category") if cube is not None and "category" in cube.dims else {}
        parts = [labels.get(c.strip(), Bi(c.strip(), c.strip())) for c in str(codes).split(",")]
        return Bi("、".join(p.zh for p in parts), ", ".join(p.en for p in parts))


def fmt_int(value: float) -> str:
    """A number with thousands separators, no decimals.

    Examples
    --------
    >>> fmt_int(1837901.4), fmt_int(-3.6)
    ('1,837,901', '-4')
    """
    return f"{value:,.0f}"


def _pct(value: float) -> str:
    return "–" if not math.isfinite(value) else f"{value:+.0%}".replace("+0%", "0%")


def _small(value: float, min_count: int) -> bool:
    return bool(small_cell_mask(pd.Series([float(value)]), min_count).iloc[0])


def count_text(value: float, min_count: int) -> str:
    """A count for print: ``<5`` when small (suppressed), ``–`` when missing.

    Examples
    --------
    >>> count_text(3, 5), count_text(0, 5), count_text(1250.4, 5), count_text(float("nan"), 5)
    ('<5', '0', '1,250', '–')
    """
    if value is None or not math.isfinite(float(value)):
        return "–"
    return f"<{min_count}" if _small(value, min_count) else fmt_int(value)


def _date(value: Any) -> str:
    return str(pd.Timestamp(value).date())


def _png(fig: plt.Figure) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, metadata={"Software": None})
    plt.close(fig)
    return buf.getvalue()


def _source(files: list[str], date: str, extra: str = "") -> Bi:
    listed = ", ".join(files)
    more = f" ({extra})" if extra else ""
    return Bi(f"来源：{listed}{more} · {date}", f"Source: {listed}{more} · {date}")


def _labels(ds: xr.Dataset | xr.DataArray, dim: str) -> dict[str, Bi]:
    """``{code: Bi(zh, en)}`` for the district or category coordinate."""
    codes = [str(c) for c in ds[dim].values]
    if dim == "category":
        zh = ds["label_zh"].values if "label_zh" in ds.coords else codes
        en = ds["label_en"].values if "label_en" in ds.coords else codes
    else:
        zh = codes
        en = ds["district_label_en"].values if "district_label_en" in ds.coords else codes
    return {c: Bi(str(z), str(e)) for c, z, e in zip(codes, zh, en, strict=True)}


def _png_file(path: Path, alt: Bi, width_mm: float = 186.0, max_px: int = 1600) -> Figure:
    """A PNG of the run directory, scaled down to at most ``max_px`` pixels wide."""
    from PIL import Image

    with Image.open(path) as img:
        img = img.convert("RGB")
        if img.width > max_px:
            img = img.resize((max_px, round(img.height * max_px / img.width)), Image.LANCZOS)
        buf = io.BytesIO()
        img.save(buf, format="PNG", optimize=True)
        ratio = img.height / img.width
    height = width_mm * ratio
    if height > MAX_FIGURE_MM:  # keep a tall figure from taking the page
        width_mm, height = width_mm * MAX_FIGURE_MM / height, MAX_FIGURE_MM
    return Figure(buf.getvalue(), width_mm, height, alt)
