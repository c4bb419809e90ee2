"""Figures: the loss curve of a run, the paper's comparison grid (Fig. 9) and zoomed patches
(Fig. 6), and the input-ablation bars (Fig. 7). matplotlib (Agg) is imported lazily."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import numpy as np

from device.common.files import atomic_output


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path: Path) -> None:
    with atomic_output(path) as tmp:
        fig.savefig(tmp, format="png", dpi=100, bbox_inches="tight")
    _pyplot().close(fig)


def plot_loss_curve(history: Sequence[dict[str, Any]], path: Path) -> None:
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 4))
    its = [row["iteration"] for row in history]
    ax.plot(its, [row.get("loss", np.nan) for row in history], label="train MAE", marker=".")
    ax.plot(its, [row.get("val_mae", np.nan) for row in history], label="validation MAE",
            marker=".")
    ax.set_xlabel("iteration")
    ax.set_ylabel("mean absolute error ([-1, 1] units)")
    ax.set_yscale("log")
    ax.legend()
    ax.grid(alpha=0.3)
    _save(fig, path)


def comparison_grid(rows: Sequence[tuple[str, np.ndarray, dict[str, np.ndarray]]],
                    path: Path) -> None:
    """rows: (scene, truth HxWx3, {model label: prediction HxWx3}); columns truth | models."""
    plt = _pyplot()
    labels = list(rows[0][2])
    fig, axes = plt.subplots(len(rows), 1 + len(labels), squeeze=False,
                             figsize=(2.2 * (1 + len(labels)), 2.2 * len(rows)))
    for r, (scene, truth, preds) in enumerate(rows):
        for c, (title, image) in enumerate([("ground truth", truth), *preds.items()]):
            ax = axes[r][c]
            ax.imshow(np.clip(image, 0, 1), interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            if r == 0:
                ax.set_title(title, fontsize=9)
            if c == 0:
                ax.set_ylabel(scene, fontsize=7)
    _save(fig, path)


def zoom_box(shape: tuple[int, ...], fraction: float = 0.25) -> tuple[slice, slice]:
    """A centred square window `fraction` of the image side (Fig. 6's zoomed patches)."""
    h, w = shape[:2]
    side = max(8, int(min(h, w) * fraction))
    y, x = (h - side) // 2, (w - side) // 2
    return slice(y, y + side), slice(x, x + side)


def ablation_bars(rows: Sequence[dict[str, Any]], metrics: Sequence[str], path: Path) -> None:
    plt = _pyplot()
    fig, axes = plt.subplots(1, len(metrics), figsize=(4.5 * len(metrics), 3.8), squeeze=False)
    names = [row["inputs"] for row in rows]
    for ax, metric in zip(axes[0], metrics):
        ax.bar(range(len(rows)), [row[metric] for row in rows], color="tab:blue")
        ax.set_xticks(range(len(rows)), names, rotation=45, ha="right", fontsize=8)
        ax.set_title(metric)
        ax.grid(axis="y", alpha=0.3)
    _save(fig, path)
