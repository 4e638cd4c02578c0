"""Events as GAN features and back, with momentum conservation and on-shell masses exact by construction.

Events are grouped by their record layout (:func:`group_events`): the status of
every line and its particle class (incoming and outgoing quarks and gluons
together as ``j``, anything else by PDG id), so Z + 0, 1, 2 jets from MLM
merging fall into separate groups with their own generator.

Within a group, the final-state particles ``1..n`` are described by
``(log pT, y, phi - phi_1)`` for ``1..n-1`` and the rapidity ``y`` of the
last one (``phi_1`` itself is uniform: the azimuthal symmetry is exact). The
last particle's transverse momentum balances the others, masses are the
group's on-shell masses, and the incoming partons are rebuilt from the final
state, ``x_{1,2} = (E +- p_z) / sqrt(s)``: momentum conservation holds exactly,
and events with ``x > 1`` are rejected. Intermediate resonances (status 2) get
the sum of their daughters' momenta.
"""

from __future__ import annotations

__all__ = ["EventGroup", "features_of", "group_events", "momenta_of"]

import math
from dataclasses import dataclass

import torch
from torch import Tensor

from mlgen.events import EventBatch

_JET = {1, 2, 3, 4, 5, 21}


@dataclass
class EventGroup:
    """Events of one record layout.

    Attributes:
        key: the layout (status and particle class per line).
        index: ``(N,)`` indices of the group's events in the input batch.
        final: record slots of the outgoing particles (status 1), in record order.
        resonances: ``{slot: daughter slots}`` of the intermediate lines (status 2).
        masses: ``(n_final,)`` on-shell masses (the median of the input's mass column).
    """

    key: tuple
    index: Tensor
    final: list[int]
    resonances: dict[int, list[int]]
    masses: Tensor

    @property
    def n_features(self) -> int:
        return 3 * (len(self.final) - 1) + 1


def group_events(batch: EventBatch) -> list[EventGroup]:
    """Split ``batch`` into record layouts; groups in order of first appearance."""
    status = batch.status.cpu()
    pdg = batch.pdg.cpu()
    keys: dict[tuple, list[int]] = {}
    for i in range(len(batch)):
        row = []
        for s, p in zip(status[i].tolist(), pdg[i].tolist()):
            if p == 0:
                continue
            if abs(p) in _JET and s != 2:
                row.append((s, "j"))  # partons of any flavour: the flavour is drawn later
            else:
                row.append((s, p if s == 1 else abs(p)))
        keys.setdefault(tuple(row), []).append(i)
    groups = []
    for key, members in keys.items():
        idx = torch.tensor(members)
        first = members[0]
        final = [k for k, (s, _) in enumerate(key) if s == 1]
        if len(final) < 2:
            raise ValueError(
                f"events with {len(final)} outgoing particle(s) cannot be described (layout {key})"
            )
        mothers = batch.mothers[first].cpu()
        resonances: dict[int, list[int]] = {}
        for k, (s, _) in enumerate(key):
            if s == 2:
                resonances[k] = [j for j in final if _descends(mothers, j, k)]
        masses = batch.masses[idx][:, final].double().median(0).values.cpu()
        groups.append(EventGroup(key, idx, final, resonances, masses))
    return groups


def _descends(mothers: Tensor, j: int, k: int) -> bool:
    """Line ``j`` descends from line ``k`` (1-based mother indices, 0 = none)."""
    seen = set()
    todo = [j]
    while todo:
        i = todo.pop()
        for m in mothers[i].tolist():
            if m > 0 and m - 1 not in seen:
                if m - 1 == k:
                    return True
                seen.add(m - 1)
                todo.append(m - 1)
    return False


def _pt_y_phi(p: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    pt = torch.hypot(p[..., 1], p[..., 2])
    y = 0.5 * torch.log((p[..., 0] + p[..., 3]).clamp(min=1e-300) / (p[..., 0] - p[..., 3]).clamp(min=1e-300))
    return pt, y, torch.atan2(p[..., 2], p[..., 1])


def features_of(batch: EventBatch, group: EventGroup) -> Tensor:
    """``(N, n_features)`` float64 features of the group's events."""
    p = batch.momenta[group.index.to(batch.device)][:, group.final].double()
    pt, y, phi = _pt_y_phi(p)
    dphi = torch.remainder(phi[:, 1:-1] - phi[:, :1] + math.pi, 2 * math.pi) - math.pi
    cols = [torch.log(pt[:, :-1].clamp(min=1e-6)), y[:, :-1], dphi, y[:, -1:]]
    return torch.cat(cols, 1)


def momenta_of(
    features: Tensor, group: EventGroup, phi0: Tensor, sqrt_s: float
) -> tuple[Tensor, Tensor, Tensor]:
    """Final-state momenta ``(N, n_final, 4)``, ``x1``, ``x2`` from features (differentiable).

    ``phi0`` is the azimuth of the first particle.
    """
    n = len(group.final)
    log_pt = features[:, : n - 1]
    y = features[:, n - 1 : 2 * (n - 1)]
    dphi = features[:, 2 * (n - 1) : 3 * (n - 1) - 1]
    y_last = features[:, -1:]
    pt = torch.exp(log_pt)
    phi = torch.cat([phi0[:, None], phi0[:, None] + dphi], 1)
    px, py = pt * torch.cos(phi), pt * torch.sin(phi)
    px = torch.cat([px, -px.sum(1, keepdim=True)], 1)
    py = torch.cat([py, -py.sum(1, keepdim=True)], 1)
    y_all = torch.cat([y, y_last], 1)
    m = group.masses.to(features.dtype).to(features.device)
    mt = torch.sqrt(px**2 + py**2 + m**2)
    e, pz = mt * torch.cosh(y_all), mt * torch.sinh(y_all)
    p = torch.stack([e, px, py, pz], -1)
    total = p.sum(1)
    x1 = (total[:, 0] + total[:, 3]) / sqrt_s
    x2 = (total[:, 0] - total[:, 3]) / sqrt_s
    return p, x1, x2
