"""PNG plots of a run: main observables of the events and the weight distribution.

Needs the ``plot`` extra (matplotlib, hist, mplhep); a missing extra fails with
the install hint.
"""

from __future__ import annotations

__all__ = ["event_observables", "plot_run"]

from pathlib import Path

import numpy as np

from mlgen.events import EventBatch
from mlgen.observables import observables


def _require_plotting() -> tuple:
    try:
        import hist
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        import mplhep
    except ImportError as err:  # pragma: no cover - only without the extra
        raise ImportError("plots need the plot extra: pip install 'mlgen[plot]'") from err
    return hist, plt, mplhep


def event_observables(batch: EventBatch) -> dict[str, np.ndarray]:
    """The observables of :func:`mlgen.observables.observables` that plots show (no multiplicities)."""
    return observables(batch, multiplicities=False)


def plot_run(
    batch: EventBatch, weights: np.ndarray | None, directory: str | Path, title: str = ""
) -> list[Path]:
    """Write PNG histograms of the observables of ``batch`` and of ``log10 weights``.

    Arguments:
        batch: events (unweighted, or weighted with ``batch.weight``).
        weights: the weighted sample's weights in pb (before unweighting), or ``None``.
        directory: where the PNGs go.
        title: a label for the plots.

    Returns:
        The files written.
    """
    hist, plt, mplhep = _require_plotting()
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    plt.style.use(mplhep.style.CMS)
    written = []
    w = batch.weight.cpu().numpy()
    for name, values in event_observables(batch).items():
        finite = np.isfinite(values)
        lo, hi = np.quantile(values[finite], [0.001, 0.999]) if finite.any() else (0.0, 1.0)
        if hi <= lo:
            hi = lo + 1.0
        h = hist.Hist(hist.axis.Regular(50, float(lo), float(hi), name=name), storage=hist.storage.Weight())
        h.fill(values[finite], weight=w[finite])
        fig, ax = plt.subplots(figsize=(8, 6))
        mplhep.histplot(h, ax=ax, yerr=True, histtype="step", label=title or None)
        ax.set_xlabel(name)
        ax.set_ylabel("pb / bin")
        if title:
            ax.legend()
        path = directory / f"{_slug(name)}.png"
        fig.savefig(path, dpi=80, bbox_inches="tight")
        plt.close(fig)
        written.append(path)
    if weights is not None and len(weights):
        nonzero = np.abs(weights[weights != 0])
        if len(nonzero):
            logs = np.log10(nonzero)
            h = hist.Hist(
                hist.axis.Regular(60, float(logs.min()), float(logs.max()) + 1e-9, name="log10 |w/pb|")
            )
            h.fill(logs)
            fig, ax = plt.subplots(figsize=(8, 6))
            mplhep.histplot(h, ax=ax, histtype="step")
            ax.set_yscale("log")
            ax.set_xlabel("log10 |w / pb|")
            ax.set_ylabel("weighted events")
            path = directory / "weights.png"
            fig.savefig(path, dpi=80, bbox_inches="tight")
            plt.close(fig)
            written.append(path)
    return written


def _slug(name: str) -> str:
    keep = [c if c.isalnum() else "_" for c in name.split("[")[0].strip()]
    return "".join(keep).strip("_").lower()
