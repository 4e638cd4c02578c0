"""Build the event record (an :class:`~mlgen.events.EventBatch`) from evaluated points.

Layout of each event: the two incoming partons (status -1), then the
intermediate resonances the matrix element declares (status 2, outermost
first), then the external final state (status 1) in the matrix element's order.
A resonance's momentum is the sum of its daughters'; its colour is what is
left of its daughters' colours after the lines joining them are closed.
"""

from __future__ import annotations

__all__ = ["EventBuilder"]

from collections import Counter

import torch
from torch import Tensor

from mlgen.events import EventBatch
from mlgen.matrix.base import ChoosesHelicities, MatrixElement
from mlgen.physics import vectors as v

COLOUR_OFFSET = 500


class EventBuilder:
    """Turns evaluated points of one process into event records.

    Arguments:
        me: the matrix element (subprocesses, colour flows, resonances, masses).
    """

    def __init__(self, me: MatrixElement) -> None:
        self.me = me
        subs = me.subprocesses
        n_ext = len(subs[0].pdg)
        res = me.resonances
        self.n_external = n_ext
        self.n_resonances = len(res)
        n = n_ext + len(res)
        # Slot of each external particle in the record: incoming 0, 1; finals after resonances.
        self.slot = [0, 1] + [2 + len(res) + i for i in range(n_ext - 2)]
        parent = [self._innermost(res, (i,)) for i in range(n_ext)]
        res_parent = [self._innermost(res, r.daughters, strict=True) for r in res]
        mothers = torch.zeros(n, 2, dtype=torch.long)
        for i in range(2, n_ext):
            mothers[self.slot[i]] = _mother_pair(parent[i])
        for j in range(len(res)):
            mothers[2 + j] = _mother_pair(res_parent[j])
        self.mothers = mothers
        status = torch.ones(n, dtype=torch.long)
        status[:2] = -1
        status[2 : 2 + len(res)] = 2
        self.status = status
        pdg = torch.zeros(len(subs), n, dtype=torch.long)
        for k, sub in enumerate(subs):
            for i, pid in enumerate(sub.pdg):
                pdg[k, self.slot[i]] = pid
            for j, r in enumerate(res):
                pdg[k, 2 + j] = r.pdg_by_subprocess[k] if r.pdg_by_subprocess else r.pdg
        self.pdg = pdg
        self.colour_table = self._colour_table()
        self.masses = torch.tensor(me.masses, dtype=torch.float64)

    @staticmethod
    def _innermost(res: tuple, daughters: tuple[int, ...], strict: bool = False) -> int:
        """Index of the smallest resonance containing all ``daughters`` (-1: none);
        ``strict`` asks for a proper superset (the parent of a resonance)."""
        best, size = -1, 10**9
        wanted = set(daughters)
        for j, r in enumerate(res):
            have = set(r.daughters)
            if wanted <= have and not (strict and wanted == have) and len(have) < size:
                best, size = j, len(have)
        return best

    def _colour_table(self) -> Tensor:
        """``(K, F, n, 2)`` colour tags for every subprocess, flow and record slot."""
        subs = self.me.subprocesses
        n_flows = max(1, max(len(s.colour_flows) for s in subs))
        n = self.n_external + self.n_resonances
        table = torch.zeros(len(subs), n_flows, n, 2, dtype=torch.long)
        for k, sub in enumerate(subs):
            for f, flow in enumerate(sub.colour_flows):
                ext = [(c + COLOUR_OFFSET if c else 0, a + COLOUR_OFFSET if a else 0) for c, a in flow]
                for i, tags in enumerate(ext):
                    table[k, f, self.slot[i]] = torch.tensor(tags)
                for j, r in enumerate(self.me.resonances):
                    table[k, f, 2 + j] = torch.tensor(_open_lines([ext[d] for d in r.daughters]))
        return table

    def build(
        self,
        momenta: Tensor,
        contributions: Tensor,
        weight: Tensor,
        generator: torch.Generator,
        **fields: Tensor | None,
    ) -> EventBatch:
        """Event records for ``B`` points.

        Arguments:
            momenta: ``(B, n_ext, 4)`` external momenta.
            contributions: ``(B, K)`` per-subprocess contributions; a subprocess is
                drawn in proportion to their absolute values.
            weight: ``(B,)`` event weights in pb.
            generator: randomness for the flavour and colour-flow choice.
            fields: further :class:`EventBatch` fields (``scale``, ``alpha_s``,
                ``alpha_qed``, ``x1``, ``x2``, ``mu_r``, ``mu_f``, ``extra_weights``).
        """
        device = momenta.device
        batch = momenta.shape[0]
        probs = contributions.abs()
        empty = probs.sum(1) <= 0
        probs = torch.where(empty[:, None], torch.ones_like(probs), probs)
        sub = torch.multinomial(probs, 1, generator=generator).squeeze(1)
        cw = self.me.colour_weights(momenta)
        n_flows = self.colour_table.shape[1]
        if cw is None:
            counts = torch.tensor([max(1, len(s.colour_flows)) for s in self.me.subprocesses], device=device)
            cw = (torch.arange(n_flows, device=device)[None, :] < counts[:, None]).to(momenta.dtype)
            flow_probs = cw[sub]
        else:
            flow_probs = cw[torch.arange(batch, device=device), sub].abs()
            flow_probs = torch.where(
                flow_probs.sum(1, keepdim=True) > 0, flow_probs, torch.ones_like(flow_probs)
            )
        flow = torch.multinomial(flow_probs, 1, generator=generator).squeeze(1)
        colours = self.colour_table.to(device)[sub, flow]
        n_res = self.n_resonances
        res_p = [momenta[:, list(r.daughters)].sum(1) for r in self.me.resonances]
        record = torch.cat([momenta[:, :2], *(p[:, None] for p in res_p), momenta[:, 2:]], dim=1)
        masses = torch.cat(
            [
                self.masses[:2].to(device).expand(batch, 2),
                *(v.mass(p)[:, None] for p in res_p),
                self.masses[2:].to(device).expand(batch, -1),
            ],
            dim=1,
        )
        n = record.shape[1]
        assert n == self.n_external + n_res
        if isinstance(self.me, ChoosesHelicities) and "spin" not in fields:
            helicities = self.me.choose_helicities(momenta).to(device, torch.float64)
            unknown = torch.full((batch, n_res), 9.0, dtype=torch.float64, device=device)
            fields["spin"] = torch.cat([helicities[:, :2], unknown, helicities[:, 2:]], dim=1)
        return EventBatch(
            momenta=record,
            pdg=self.pdg.to(device)[sub],
            status=self.status.to(device).expand(batch, n).clone(),
            mothers=self.mothers.to(device).expand(batch, n, 2).clone(),
            colors=colours,
            masses=masses,
            weight=weight,
            process_id=torch.ones(batch, dtype=torch.long, device=device),
            **fields,  # type: ignore[arg-type]
        )


def _mother_pair(parent: int) -> Tensor:
    """1-based mothers: an enclosing resonance (slot 2 + j) or both incoming partons."""
    if parent < 0:
        return torch.tensor([1, 2])
    return torch.tensor([3 + parent, 3 + parent])


def _open_lines(tags: list[tuple[int, int]]) -> tuple[int, int]:
    """Colour of a resonance from its daughters' tags: lines joining two daughters close."""
    cols = Counter(c for c, _ in tags if c)
    acols = Counter(a for _, a in tags if a)
    open_c = list((cols - acols).elements())
    open_a = list((acols - cols).elements())
    if len(open_c) > 1 or len(open_a) > 1:
        raise ValueError(f"resonance daughters {tags} do not form a colour singlet, triplet or octet")
    return (open_c[0] if open_c else 0, open_a[0] if open_a else 0)
