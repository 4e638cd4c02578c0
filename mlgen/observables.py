"""Per-event observables of an :class:`~mlgen.events.EventBatch`, for plots and sample comparisons.

For each object class found in the final state (status 1; tops and Ws also as
status-2 resonances, whose mass is then an observable too): the multiplicity
``n_<class>``; with one object or more the leading object's pT and rapidity;
with two or more the system's mass (``m_top (system)`` for tops and Ws, whose
leading object's own mass is ``m leading top``), pT and rapidity. With exactly one negative
and one positive charged lepton, the Collins-Soper angle ``cos theta*`` of the
negative one (the Drell-Yan forward-backward asymmetry lives there). At a
lepton collider with two or three final-state partons, the infrared-safe event shapes ``1 - T`` (thrust)
and the Durham ``y_3``: what an NLO sample with counter-events can be
histogrammed in. A value that does not exist in an event (no second lepton, no jet)
is NaN there, so samples of varying multiplicity (Z + 0, 1, 2 jets) compare
bin by bin.
"""

from __future__ import annotations

__all__ = ["CLASSES", "RESONANCES", "cos_theta_cs", "observables"]

import numpy as np
import torch

from mlgen.events import EventBatch
from mlgen.physics import vectors as v

#: Object classes by |PDG id|.
CLASSES = {
    "leptons": lambda a: (a >= 11) & (a <= 16),
    "jets": lambda a: ((a >= 1) & (a <= 5)) | (a == 21),
    "top": lambda a: a == 6,
    "W": lambda a: a == 24,
    "photons": lambda a: a == 22,
}

#: Classes that are also found as status-2 resonances: ``m_top`` would read as the top's own mass, so
#: their system's mass is ``m_top (system)`` and the leading one's own ``m leading top``.
RESONANCES = ("top", "W")


def observables(batch: EventBatch, *, multiplicities: bool = True) -> dict[str, np.ndarray]:
    """``name -> (B,)`` float64 arrays (NaN where an observable does not exist in an event)."""
    out: dict[str, np.ndarray] = {}
    pdg = batch.pdg.abs()
    final = batch.status == 1
    rows = torch.arange(len(batch), device=batch.device)
    for name, select in CLASSES.items():
        resonance = (batch.status == 2) & ((pdg == 6) | (pdg == 24))
        mask = select(pdg) & (final | resonance)
        count = mask.sum(1)
        if not bool((count > 0).any()):
            continue
        if multiplicities and not bool((count == count[0]).all()):
            out[f"n_{name}"] = count.double().cpu().numpy()
        p = torch.where(mask[..., None], batch.momenta, torch.zeros_like(batch.momenta))
        system = p.sum(1)
        two = (count >= 2).cpu().numpy()
        if two.any():
            # a resonance class's system (t t~, W+ W-) named so, unlike its leading object's own mass
            mass = f"m_{name} (system) [GeV]" if name in RESONANCES else f"m_{name} [GeV]"
            for label, values in (
                (mass, v.mass(system)),
                (f"y_{name} (system)", v.rapidity(system)),
                (f"pT_{name} (system) [GeV]", v.pt(system)),
            ):
                out[label] = np.where(two, values.cpu().numpy(), np.nan)
        pts = torch.where(mask, v.pt(batch.momenta), torch.full_like(batch.momenta[..., 0], -1.0))
        leading = batch.momenta[rows, pts.argmax(1)]
        one = (count >= 1).cpu().numpy()
        out[f"pT leading {name} [GeV]"] = np.where(one, v.pt(leading).cpu().numpy(), np.nan)
        out[f"y leading {name}"] = np.where(one, v.rapidity(leading).cpu().numpy(), np.nan)
        if name in RESONANCES and bool(resonance.any()):
            # the resonance's own line shape: where the narrow peak is and how wide
            out[f"m leading {name} [GeV]"] = np.where(one, v.mass(leading).cpu().numpy(), np.nan)
    cos = cos_theta_cs(batch)
    if cos is not None:
        out["cos theta* (CS)"] = cos
    out |= _event_shapes(batch)
    return out


def _event_shapes(batch: EventBatch) -> dict[str, np.ndarray]:
    """``1 - T`` and Durham ``y_3`` of events with 2 or 3 final partons from lepton beams (else nothing).

    For at most three massless partons, thrust is ``T = max_i 2 |p_i| / sum_j |p_j|`` and
    ``y_3 = min_ij 2 min(E_i, E_j)^2 (1 - cos theta_ij) / Q^2`` (0 for two partons), in the
    partons' rest frame.
    """
    coloured = CLASSES["jets"](batch.pdg.abs())
    if bool((coloured & (batch.status == -1)).any()):
        return {}
    final = coloured & (batch.status == 1)
    count = final.sum(1)
    if not bool(((count >= 2) & (count <= 3)).all()):
        return {}
    p = torch.where(final[..., None], batch.momenta, torch.zeros_like(batch.momenta))
    total = p.sum(1)
    p = v.boost_to_rest_frame(p, total[:, None, :].expand_as(p))
    p = torch.where(final[..., None], p, torch.zeros_like(p))
    q2 = v.mass2(total)
    size = v.p3_abs(p)
    thrust = 2 * size.max(1).values / size.sum(1)
    energy = p[..., 0]
    unit = p[..., 1:] / size.clamp_min(1e-300)[..., None]
    cos = torch.einsum("bic,bjc->bij", unit, unit)
    e_min = torch.minimum(energy[:, :, None], energy[:, None, :])
    y = 2 * e_min**2 * (1 - cos) / q2[:, None, None]
    pair = final[:, :, None] & final[:, None, :] & ~torch.eye(p.shape[1], dtype=torch.bool, device=p.device)
    y3 = torch.where(pair, y, torch.full_like(y, float("inf"))).flatten(1).min(1).values
    y3 = torch.where(count == 3, y3, torch.zeros_like(y3))
    return {"1 - T": (1 - thrust).cpu().numpy(), "y3 (Durham)": y3.cpu().numpy()}


def cos_theta_cs(batch: EventBatch) -> np.ndarray | None:
    """Collins-Soper ``cos theta*`` of the negative lepton where there is exactly one l- and one l+, else NaN.

    ``cos theta* = sign(pz_ll) 2 (p1+ p2- - p1- p2+) / (m_ll sqrt(m_ll^2 + pT_ll^2))``,
    ``p+- = (E +- pz) / sqrt(2)``, 1 = l-, 2 = l+ (Collins, Soper, Phys. Rev. D 16 (1977) 2219).
    """
    final = batch.status == 1
    charged = final & ((batch.pdg.abs() == 11) | (batch.pdg.abs() == 13) | (batch.pdg.abs() == 15))
    minus, plus = charged & (batch.pdg > 0), charged & (batch.pdg < 0)
    pair = (minus.sum(1) == 1) & (plus.sum(1) == 1)
    if not bool(pair.any()):
        return None
    p1 = (batch.momenta * minus[..., None]).sum(1)
    p2 = (batch.momenta * plus[..., None]).sum(1)
    ll = p1 + p2
    m, ptll = v.mass(ll), v.pt(ll)
    lc1, lc2 = p1[:, 0] + p1[:, 3], p2[:, 0] + p2[:, 3]
    ld1, ld2 = p1[:, 0] - p1[:, 3], p2[:, 0] - p2[:, 3]
    cos = torch.sign(ll[:, 3]) * (lc1 * ld2 - ld1 * lc2) / (m * torch.sqrt(m**2 + ptll**2)).clamp_min(1e-300)
    return np.where(pair.cpu().numpy(), cos.cpu().numpy(), np.nan)
