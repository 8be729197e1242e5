"""PNG bar chart of the ratios in a results payload (needs matplotlib)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from benchmarks.harness import SHORT, Libs

COLORS = {"PASS": "tab:green", "MISS": "tab:red", "info": "tab:gray"}


def _bars(rows: list[dict[str, Any]]) -> list[tuple[str, float, float | None, str]]:
    """(label, ratio, limit, verdict) per targeted ratio; torch/numpy when nothing is targeted."""
    bars = []
    for row in rows:
        prefix = f"{row['name']} t{row['threads']}"
        valued = [t for t in row["targets"] if t["value"] is not None]
        for t in valued:
            kind = "RSS " if t["metric"] == "rss" else ""
            bars.append(
                (
                    f"{prefix} {kind}{SHORT[t['num']]}/{SHORT[t['den']]}",
                    t["value"],
                    t["limit"],
                    t["verdict"],
                )
            )
        if not valued and "torch/numpy" in row["ratios"]:
            bars.append(
                (f"{prefix} torch/np", row["ratios"]["torch/numpy"]["median"], None, "info")
            )
    return bars


def plot_ratios(payload: dict[str, Any], path: Path, libs: Libs | None = None) -> bool:
    """Write the chart; returns False when matplotlib is not installed."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    groups = [g for g in payload["meta"]["groups"] if any(r["group"] == g for r in payload["rows"])]
    per_group = {g: _bars([r for r in payload["rows"] if r["group"] == g]) for g in groups}
    per_group = {g: b for g, b in per_group.items() if b}
    if not per_group:
        return False
    heights = [max(1.5, 0.22 * len(b) + 0.8) for b in per_group.values()]
    fig, axes = plt.subplots(
        len(per_group),
        1,
        figsize=(10, sum(heights)),
        gridspec_kw={"height_ratios": heights},
        squeeze=False,
    )
    for ax, (group, bars) in zip(axes[:, 0], per_group.items()):
        ys = range(len(bars))
        ax.barh(ys, [b[1] for b in bars], color=[COLORS[b[3]] for b in bars], height=0.7)
        for y, (_, _, limit, _) in zip(ys, bars):
            if limit is not None:
                ax.plot([limit, limit], [y - 0.4, y + 0.4], color="black", linewidth=1.5)
        ax.set_yticks(list(ys), [b[0] for b in bars], fontsize=7)
        ax.invert_yaxis()
        ax.set_xscale("log")
        ax.axvline(1.0, color="black", linewidth=0.6, linestyle=":")
        ax.set_title(
            f"{group}: time (or RSS) ratio, lower is better; black tick = target", fontsize=9
        )
    stand_in = (
        " (microtorch = torch stand-in)"
        if libs is not None and libs.micro_source == "torch"
        else ""
    )
    fig.suptitle(f"microtorch benchmarks, {payload['meta']['mode']}{stand_in}", fontsize=11)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True
