"""Standard Model parameters as named, frozen schemes.

Two input schemes, so that numbers can be compared with the tools users know:

* ``gmu`` — the G_mu scheme: ``(m_Z, m_W, G_F)`` are inputs, ``sin^2 theta_W =
  1 - m_W^2/m_Z^2`` and ``alpha = sqrt(2) G_F m_W^2 sin^2 theta_W / pi``
  (about 1/132.2) are derived. PDG 2018 masses and widths.
* ``mg5_sm`` — MadGraph5's default ``sm`` model card: ``(m_Z, 1/alpha, G_F)`` are
  inputs and ``m_W = sqrt(m_Z^2/2 + sqrt(m_Z^4/4 - pi alpha m_Z^2/(sqrt(2) G_F)))``
  (80.419 GeV) is derived as MG5 does, so ``sin^2 theta_W = 0.2222``.

:func:`from_param_card` reads an SLHA ``param_card.dat`` the way MG5's ``sm``
model does (``SMINPUTS`` 1: aEWM1, 2: Gf, 3: aS; ``MASS``; ``DECAY``; ``YUKAWA``).
Units: GeV, GeV^-2 for ``G_F``.

References:
    A. Denner, S. Dittmaier, "Electroweak radiative corrections ...", arXiv:1912.06823, sec. 3
    (input schemes); MadGraph5_aMC@NLO ``models/sm`` (arXiv:1405.0301).
"""

from __future__ import annotations

__all__ = [
    "GMU",
    "MG5_SM",
    "PDG_WIDTHS",
    "SCHEMES",
    "SMParameters",
    "from_param_card",
    "mg5_w_mass",
    "parameters_from_card",
    "scheme",
]

import math
from dataclasses import dataclass, field, replace
from pathlib import Path

from mlgen.physics.slha import SLHAData, SLHAError, read_slha

IDENTITY_CKM: tuple[tuple[float, float, float], ...] = ((1.0, 0.0, 0.0), (0.0, 1.0, 0.0), (0.0, 0.0, 1.0))


@dataclass(frozen=True)
class SMParameters:
    """Standard Model parameters of one scheme (GeV units).

    Attributes:
        name: scheme label.
        mz, mw, mt, mh, mb: pole masses in GeV.
        wz, ww, wt, wh: total widths in GeV.
        gf: Fermi constant in GeV^-2.
        alpha: electromagnetic coupling used in matrix elements.
        alpha_s_mz: ``alpha_s(m_Z)``.
        ymt, ymb: top and bottom Yukawa masses in GeV.
        ckm: ``|V_ij|`` as rows ``(u, c, t)`` x columns ``(d, s, b)``.
    """

    name: str
    mz: float
    mw: float
    gf: float
    alpha: float
    wz: float
    ww: float
    mt: float = 173.0
    wt: float = 1.4915
    mh: float = 125.0
    wh: float = 4.088e-3
    mb: float = 4.7
    alpha_s_mz: float = 0.118
    ymt: float = 173.0
    ymb: float = 4.7
    ckm: tuple[tuple[float, float, float], ...] = field(default=IDENTITY_CKM)

    @property
    def sw2(self) -> float:
        """``sin^2 theta_W = 1 - m_W^2/m_Z^2`` (on-shell definition)."""
        return 1.0 - self.mw**2 / self.mz**2

    @property
    def cw2(self) -> float:
        """``cos^2 theta_W = m_W^2/m_Z^2``."""
        return self.mw**2 / self.mz**2

    @property
    def e2(self) -> float:
        """``e^2 = 4 pi alpha``."""
        return 4.0 * math.pi * self.alpha

    @property
    def gw2(self) -> float:
        """SU(2) coupling squared ``g^2 = e^2 / sin^2 theta_W``
        (``= 4 sqrt(2) G_F m_W^2`` in both schemes)."""
        return self.e2 / self.sw2

    @property
    def vev(self) -> float:
        """Higgs vacuum expectation value ``v = (sqrt(2) G_F)^(-1/2)`` in GeV (246.2)."""
        return (math.sqrt(2.0) * self.gf) ** -0.5

    def vckm(self, up: int, down: int) -> float:
        """``|V_ud|`` for up-type PDG id ``up`` (2, 4, 6) and down-type ``down`` (1, 3, 5); signs ignored."""
        return self.ckm[abs(up) // 2 - 1][(abs(down) + 1) // 2 - 1]


def _gmu() -> SMParameters:
    mz, mw, gf = 91.1876, 80.379, 1.1663787e-5
    sw2 = 1.0 - mw**2 / mz**2
    alpha = math.sqrt(2.0) * gf * mw**2 * sw2 / math.pi
    return SMParameters("gmu", mz=mz, mw=mw, gf=gf, alpha=alpha, wz=2.4952, ww=2.085)


def mg5_w_mass(mz: float, alpha: float, gf: float) -> float:
    """MG5 ``sm``'s derived ``m_W = sqrt(m_Z^2/2 + sqrt(m_Z^4/4 - pi alpha m_Z^2/(sqrt(2) G_F)))``."""
    disc = mz**4 / 4.0 - math.pi * alpha * mz**2 / (math.sqrt(2.0) * gf)
    if disc < 0:
        raise ValueError(f"no real W mass for m_Z = {mz}, 1/alpha = {1 / alpha}, G_F = {gf}")
    return math.sqrt(mz**2 / 2.0 + math.sqrt(disc))


def _mg5_sm() -> SMParameters:
    mz, alpha, gf = 91.188, 1.0 / 132.507, 1.16639e-5
    return SMParameters(
        "mg5_sm",
        mz=mz,
        mw=mg5_w_mass(mz, alpha, gf),
        gf=gf,
        alpha=alpha,
        wz=2.441404,
        ww=2.0476,
        mt=173.0,
        wt=1.4915,
        mh=125.0,
        wh=6.382339e-3,
        mb=4.7,
        alpha_s_mz=0.118,
        ymt=173.0,
        ymb=4.7,
    )


#: The G_mu scheme (PDG 2018): the reference values a default elsewhere in mlgen takes
#: (the fixed scale ``m_Z``, the ``alpha_s`` reference mass, the top mass of ``m_t`` scales).
GMU: SMParameters = _gmu()
#: MadGraph5's default ``sm`` card: the values of the ready-made decay trees, and of a MadGraph5
#: standalone directory's ``alpha_s`` reference.
MG5_SM: SMParameters = _mg5_sm()

#: The named schemes.
SCHEMES: dict[str, SMParameters] = {"gmu": GMU, "mg5_sm": MG5_SM}


def scheme(name: str) -> SMParameters:
    """The parameters of a named scheme (``"gmu"`` or ``"mg5_sm"``)."""
    try:
        return SCHEMES[name]
    except KeyError:
        raise ValueError(f"unknown SM scheme {name!r}; expected one of {', '.join(SCHEMES)}") from None


def from_param_card(path: str | Path) -> SMParameters:
    """SM parameters from an SLHA ``param_card.dat``, interpreted as MG5's ``sm`` model.

    Inputs missing from the card keep their ``mg5_sm`` values; ``m_W`` is always
    derived from ``(m_Z, alpha, G_F)`` (a ``MASS 24`` entry, which MG5 writes as
    an internal parameter, is ignored).

    Raises:
        SLHAError: for an unreadable or malformed card, or unphysical inputs, naming the file.
    """
    card = read_slha(path)
    base = SCHEMES["mg5_sm"]

    def get(block: str, index: int, default: float) -> float:
        value = card.value(block, index)
        return default if value is None else value

    aewm1 = get("SMINPUTS", 1, 1.0 / base.alpha)
    gf = get("SMINPUTS", 2, base.gf)
    mz = get("MASS", 23, base.mz)
    if aewm1 <= 0 or gf <= 0 or mz <= 0:
        raise SLHAError(f"{card.source}: SMINPUTS 1 (aEWM1), 2 (Gf) and MASS 23 must be positive")
    try:
        mw = mg5_w_mass(mz, 1.0 / aewm1, gf)
    except ValueError as err:
        raise SLHAError(f"{card.source}: {err}") from None
    widths = card.decays
    return replace(
        base,
        ckm=_ckm_of(card),
        name=f"param_card:{Path(path).name}",
        mz=mz,
        mw=mw,
        gf=gf,
        alpha=1.0 / aewm1,
        alpha_s_mz=get("SMINPUTS", 3, base.alpha_s_mz),
        mt=get("MASS", 6, base.mt),
        mh=get("MASS", 25, base.mh),
        mb=get("MASS", 5, base.mb),
        wz=widths.get(23, base.wz),
        ww=widths.get(24, base.ww),
        wt=widths.get(6, base.wt),
        wh=widths.get(25, base.wh),
        ymt=get("YUKAWA", 6, base.ymt),
        ymb=get("YUKAWA", 5, base.ymb),
    )


def _ckm_of(card: SLHAData) -> tuple[tuple[float, float, float], ...]:
    """The CKM magnitudes of MadGraph5's ``sm`` model (``sm-ckm``: ``Block CKMBLOCK``, entry 1 the
    Cabibbo angle: ``V_ud = V_cs = cos, V_us = V_cd = sin``, ``V_tb = 1``); the identity without it.
    Another CKM block, or a ``CKMBLOCK`` of another model, is refused rather than ignored."""
    for block in ("VCKMIN", "VCKM", "IMVCKM", "WOLFENSTEIN"):
        if block in card.blocks:
            raise SLHAError(
                f"{card.source}: Block {block} is not read (mlgen reads MadGraph5 sm's CKMBLOCK): "
                "give the CKM magnitudes as [model] ckm"
            )
    entries = card.blocks.get("CKMBLOCK", {})
    if not entries:
        return IDENTITY_CKM
    if set(entries) != {(1,)}:
        raise SLHAError(
            f"{card.source}: Block CKMBLOCK has entries {sorted(k[0] for k in entries)}; mlgen reads "
            "MadGraph5 sm's, entry 1 alone (the Cabibbo angle): give the CKM magnitudes as [model] ckm"
        )
    c, s = abs(math.cos(entries[(1,)])), abs(math.sin(entries[(1,)]))
    return ((c, s, 0.0), (s, c, 0.0), (0.0, 0.0, 1.0))


def parameters_from_card(
    scheme_name: str = "gmu",
    param_card: str | None = None,
    *,
    base_dir: Path | None = None,
    ckm: tuple[tuple[float, float, float], ...] | None = None,
) -> SMParameters:
    """The parameters a run card's ``[model]`` asks for: its ``param_card`` when given
    (relative paths tried against ``base_dir``), else the named scheme; ``ckm`` (``|V_ij|``,
    rows u, c, t) replaces the identity, and may not replace a param card's own CKM."""
    if param_card is None:
        parameters = scheme(scheme_name)
    else:
        path = Path(param_card)
        if not path.is_absolute() and base_dir is not None and not path.exists():
            path = base_dir / path
        parameters = from_param_card(path)
    if ckm is None:
        return parameters
    if parameters.ckm != IDENTITY_CKM:
        raise ValueError(f"model.ckm: the param card {param_card} gives a CKM matrix (CKMBLOCK) already")
    return replace(parameters, ckm=tuple((float(r[0]), float(r[1]), float(r[2])) for r in ckm))


#: Total widths (GeV) by PDG id, the Review of Particle Physics' values (PDG 2018: Gamma_Z 2.4952,
#: Gamma_W 2.085, Gamma_t 1.42 measured; Gamma_H 4.1 MeV, the SM prediction at 125 GeV). The
#: generative route's line shapes take them for a resonance that the input's ``<slha>`` block
#: does not give (:mod:`mlgen.generative.lineshapes`).
PDG_WIDTHS: dict[int, float] = {23: GMU.wz, 24: GMU.ww, 6: 1.42, 25: 0.0041}
