"""Generation, shower and hadronisation in one process: an mlgen card feeds Pythia 8
through :class:`MlgenLHAup`, with no LHE file in between.

``mlgen shower --card cards/drell_yan.toml --pythia-card run.cmnd -n 1000`` calls
:func:`shower_card` (registered as the ``pythia8`` entry point of ``mlgen.plugins``).
"""

from __future__ import annotations

__all__ = ["shower_card"]

from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from mlgen.cards.schema import Card
from mlgen.events import EventBatch
from mlgen.run import event_stream, prepare
from mlgen.shower import ShowerReport, apply_user_settings, import_pythia, run_pythia

from .lhaup import MlgenLHAup


def shower_card(
    card: Card,
    n: int,
    *,
    pythia_card: str | Path | None = None,
    settings: Sequence[str] = (),
    on_event: Callable[[Any], None] | None = None,
    log: Callable[[str], None] | None = print,
) -> ShowerReport:
    """Integrate ``card``, then generate ``n`` unweighted events on demand and shower them.

    Arguments:
        card: the mlgen run card.
        n: events to shower.
        pythia_card: a Pythia ``.cmnd`` file (read with ``readFile``), applied before ``settings``.
        settings: extra Pythia settings.
        on_event: called with the ``Pythia`` object after each good event.

    Returns:
        A :class:`~mlgen.shower.ShowerReport`; its σ is Pythia's ``sigmaGen`` (strategy 3:
        the card's integrated σ).
    """
    prepared = prepare(card, log=log)
    sigma = float(prepared.result.mean)

    def batches() -> Iterator[EventBatch]:
        for batch, _ in event_stream(prepared, n):
            # strategy 3: Pythia takes sigma from <init>; weights carry sigma/n per unit
            batch.weight = batch.weight * (sigma / n)
            yield batch

    lha = MlgenLHAup(prepared.run_info, batches(), max_events=n)
    pythia8mc = import_pythia()
    pythia = pythia8mc.Pythia("", False)
    used = ["Beams:frameType = 5", "Print:quiet = on", "Next:numberCount = 0"]
    if prepared.process.pdf is None:
        used.append("PDF:lepton = off")
    for line in used:
        pythia.readString(line)
    used += apply_user_settings(pythia, pythia_card, settings)
    pythia.setLHAupPtr(lha)
    return run_pythia(
        pythia,
        ShowerReport(f"<memory: {card.source}>", n, settings=used),
        on_event,
        source="the mlgen event stream",
    )
