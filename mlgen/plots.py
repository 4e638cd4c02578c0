"""PNG plots of a run: main observables of the events and the weight distribution.

Needs the ``plot`` extra (matplotlib, hist, mplhep); a missing extra fails with
the install hint.
"""

from __future__ import annotations

__all__ = ["degenerate", "differential_cross_section", "event_observables", "plot_run"]

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


def differential_cross_section(
    values: np.ndarray, w: np.ndarray, edges: np.ndarray, sigma_pb: float
) -> tuple[np.ndarray, np.ndarray]:
    """``(dsigma/dX, its error)`` per bin, in pb per unit of X, whatever the weights' convention.

    Arguments:
        values: ``(N,)`` the observable (non-finite values count in sigma, in no bin).
        w: ``(N,)`` the events' weights (signed; any normalisation: pb per event, or shares of sigma).
        edges: ``(n + 1,)`` bin edges.
        sigma_pb: the sample's cross section.

    The weights are normalised to sum to ``sigma_pb``, binned and divided by the bin widths; the error
    is ``sqrt(sum w^2)`` of the same normalised weights. The bins integrate to ``sigma_pb`` times the
    share of the weights inside them.
    """
    total = float(np.sum(w))
    scale = sigma_pb / total if total else 0.0
    width = np.diff(edges)
    inside = np.isfinite(values)
    content = np.histogram(values[inside], edges, weights=w[inside] * scale)[0]
    square = np.histogram(values[inside], edges, weights=(w[inside] * scale) ** 2)[0]
    return content / width, np.sqrt(square) / width


def plot_run(
    batch: EventBatch,
    weights: np.ndarray | None,
    directory: str | Path,
    title: str = "",
    *,
    sigma_pb: float | None = None,
) -> list[Path]:
    """Write PNG histograms of the observables of ``batch`` and of ``log10 weights``.

    Arguments:
        batch: events (unweighted, or weighted with ``batch.weight``).
        weights: the weighted sample's weights in pb per event (before unweighting), or ``None``.
        directory: where the PNGs go.
        title: a label for the plots.
        sigma_pb: the cross section the plots integrate to; default: the mean of ``weights``, or
            (without them) the sum of the events' weights (unweighted files: ``sigma / N`` each).

    Every plot is ``dsigma/dX`` in pb per unit of X (:func:`differential_cross_section`), so a
    weighted and an unweighted sample of one run give the same curve. An observable with one value
    in every event (:func:`degenerate`: the pair's pT of a 2 -> 2 process) is not plotted.

    Returns:
        The files written.
    """
    hist, plt, mplhep = _require_plotting()
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    plt.style.use(mplhep.style.CMS)
    written = []
    w = batch.weight.cpu().numpy()
    if sigma_pb is None:
        sigma_pb = float(np.mean(weights)) if weights is not None and len(weights) else float(w.sum())
    for name, values in event_observables(batch).items():
        finite = np.isfinite(values)
        if degenerate(values[finite]):
            continue
        lo, hi = np.quantile(values[finite], [0.001, 0.999]) if finite.any() else (0.0, 1.0)
        if hi <= lo:
            hi = lo + 1.0
        edges = np.linspace(float(lo), float(hi), 51)
        density, error = differential_cross_section(values, w, edges, sigma_pb)
        fig, ax = plt.subplots(figsize=(8, 6))
        mplhep.histplot(density, edges, ax=ax, yerr=error, histtype="step", label=title or None)
        # a distribution over decades (a pT tail) on a log axis
        positive = density[density > 0]
        if len(positive) > 1 and positive.max() > 100 * positive.min():
            ax.set_yscale("log")
        ax.set_xlabel(name)
        unit = name[name.find("[") + 1 : name.find("]")] if "[" in name else ""
        ax.set_ylabel(f"dsigma/d{name.split('[')[0].strip()} [pb" + (f"/{unit}]" if unit else "]"))
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


def degenerate(values: np.ndarray) -> bool:
    """Whether ``values`` (finite) are one value up to rounding: nothing to plot (a 2 -> 2 pair's pT is
    0, an e+ e- -> W+ W- pair's mass is sqrt(s)); also when there are none.

    >>> degenerate(np.array([1e-13, 0.0, 3e-14])), degenerate(np.array([500.0, 500.0 + 1e-10]))
    (True, True)
    >>> degenerate(np.array([91.0, 91.2]))
    False
    """
    if len(values) == 0:
        return True
    lo, hi = float(values.min()), float(values.max())
    return hi - lo <= 1e-9 * max(abs(lo), abs(hi), 1.0)


def _slug(name: str) -> str:
    """The file name of an observable's plot: ``pT_top (system) [GeV]`` -> ``pt_top_system``."""
    keep = "".join(c if c.isalnum() else "_" for c in name.split("[")[0].strip())
    return "_".join(part for part in keep.split("_") if part).lower()
