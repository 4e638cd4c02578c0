"""Classes of final-state objects (leptons, jets, ...) picked out by PDG id."""

from __future__ import annotations

__all__ = ["OBJECT_CLASSES", "object_indices"]

from collections.abc import Callable, Sequence

_CLASSES: dict[str, Callable[[int], bool]] = {
    "leptons": lambda a: 11 <= a <= 16,
    "charged_leptons": lambda a: a in (11, 13, 15),
    "neutrinos": lambda a: a in (12, 14, 16),
    "jets": lambda a: 1 <= a <= 5 or a == 21,
    "quarks": lambda a: 1 <= a <= 5,
    "gluons": lambda a: a == 21,
    "b": lambda a: a == 5,
    "photons": lambda a: a == 22,
    "top": lambda a: a == 6,
    "all": lambda a: True,
}

#: Names accepted in cards' ``objects`` keys.
OBJECT_CLASSES = tuple(_CLASSES)


def object_indices(name: str, final_pdgs: Sequence[Sequence[int]], n_initial: int = 2) -> tuple[int, ...]:
    """Indices (into the full particle list, incoming first) of the objects of class ``name``.

    Arguments:
        name: one of :data:`OBJECT_CLASSES`.
        final_pdgs: the final-state PDG ids of every subprocess (same length each).
        n_initial: number of incoming particles preceding the final state.

    Returns:
        The indices, the same for every subprocess.

    Raises:
        ValueError: for an unknown class, or when subprocesses disagree about
            which final-state slots belong to the class (cuts would then depend
            on the flavour, which mlgen does not support).
    """
    if name not in _CLASSES:
        raise ValueError(f"unknown object class {name!r}; expected one of {', '.join(OBJECT_CLASSES)}")
    test = _CLASSES[name]
    patterns = {tuple(i for i, pdg in enumerate(sub) if test(abs(pdg))) for sub in final_pdgs}
    if len(patterns) != 1:
        raise ValueError(f"object class {name!r} picks different final-state slots in different subprocesses")
    return tuple(n_initial + i for i in patterns.pop())
