"""Scaling curves as PNG: a benchmark's figures against load, side by side in panels.

Benchmarks write a plot only when asked (`--plot PATH`); the PNGs that docs/PERFORMANCE.md shows
live in docs/images/ and are replaced by hand from a run on an idle machine, named in the title.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

Points = list[tuple[float, float]]


@dataclass
class Panel:
    """One chart: a line per named series of (x, y) points, and optional horizontal lines."""

    y_label: str
    series: dict[str, Points]
    levels: dict[str, float] = field(default_factory=dict)  # name -> y, e.g. a target or a raw figure
    log_y: bool = False


def save_curves(path: Path, title: str, x_label: str, panels: list[Panel]) -> None:
    """Write `panels` side by side, sharing `x_label` (log scale: loads span 1 to hundreds)."""
    import matplotlib

    matplotlib.use("Agg")  # no display on servers and CI
    from matplotlib import pyplot

    figure, axes = pyplot.subplots(1, len(panels), figsize=(5.5 * len(panels), 4.2), squeeze=False)
    for axis, panel in zip(axes[0], panels, strict=True):
        for name, points in panel.series.items():
            xs, ys = zip(*sorted(points), strict=True) if points else ((), ())
            axis.plot(xs, ys, marker="o", label=name)
        for (name, level), style in zip(panel.levels.items(), ("--", ":", "-."), strict=False):
            axis.axhline(level, linestyle=style, color="grey", label=name)
        axis.set_xscale("log")
        loads = sorted({x for points in panel.series.values() for x, _ in points})
        axis.set_xticks(loads, [f"{x:g}" for x in loads])  # the loads measured, not powers of ten
        axis.minorticks_off()
        if panel.log_y:
            axis.set_yscale("log")
        axis.set_xlabel(x_label)
        axis.set_ylabel(panel.y_label)
        axis.grid(True, which="both", alpha=0.3)
        axis.legend(fontsize="small")
    figure.suptitle(title, fontsize="medium")
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    pyplot.close(figure)
