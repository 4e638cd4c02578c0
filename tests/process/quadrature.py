"""Independent deterministic quadratures of hadronic cross sections (for the tests).

Each uses only a PDF object (``xfxQ2(pid, x, q2)``, ``alphasQ2(q2)``) and
textbook total partonic cross sections; nothing from mlgen's phase space,
matrix elements or process code.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from mlgen.physics.sm import scheme

GEV2_TO_PB = 0.3893793721e9
QUARKS = {1: (-1 / 3, -0.5), 2: (2 / 3, 0.5), 3: (-1 / 3, -0.5), 4: (2 / 3, 0.5), 5: (-1 / 3, -0.5)}


def gauss(a: float, b: float, n: int) -> tuple[np.ndarray, np.ndarray]:
    x, w = np.polynomial.legendre.leggauss(n)
    return 0.5 * (b - a) * x + 0.5 * (b + a), 0.5 * (b - a) * w


def _xf_all(pdf, x: np.ndarray, q2: np.ndarray) -> dict[int, np.ndarray]:
    """``{pid: x f}`` on the grid of points ``x``, ``q2`` (same shape), one PDF call."""
    xt = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float64).reshape(-1))
    qt = torch.from_numpy(np.array(np.broadcast_to(q2, x.shape), dtype=np.float64).reshape(-1))
    values = pdf.xfxQ2_all(xt, qt).numpy()
    return {int(pid): values[:, i].reshape(x.shape) for i, pid in enumerate(pdf.pids)}


def _alpha_s(pdf, q2: float) -> float:
    return float(pdf.alphasQ2(torch.tensor([q2], dtype=torch.float64))[0])


def drell_yan(
    pdf,
    sqrt_s: float,
    m_lo: float,
    m_hi: float,
    pt_min: float = 0.0,
    eta_max: float = math.inf,
    n_m: int = 400,
    n_y: int = 400,
) -> float:
    """sigma(pp -> gamma*/Z -> l+ l-) in pb, m_lo < m_ll < m_hi, mu_F = m_ll, optional lepton pT / |eta| cuts.

    The lepton angle is integrated analytically: with both cuts the allowed
    |cos theta*| < c_max(m, y), and the forward-backward term cancels.
    """
    par = scheme("gmu")
    sw2 = 1 - par.mw**2 / par.mz**2
    cw2 = 1 - sw2
    alpha = math.sqrt(2) * par.gf * par.mw**2 * sw2 / math.pi
    mz, gz = par.mz, par.wz
    s = sqrt_s**2
    # m^2 = mz^2 + mz gz tan(t): flattens the Breit-Wigner
    t_lo, t_hi = (math.atan((m**2 - mz**2) / (mz * gz)) for m in (m_lo, m_hi))
    t, wt = gauss(t_lo, t_hi, n_m)
    m2 = mz**2 + mz * gz * np.tan(t)
    dm2_dt = mz * gz / np.cos(t) ** 2
    chi = m2 / (m2 - mz**2 + 1j * mz * gz) / (4 * sw2 * cw2)
    ve, ae, qe = -0.5 + 2 * sw2, -0.5, -1.0
    tau = m2 / s
    y_max = -0.5 * np.log(tau)
    total = 0.0
    u, wu = gauss(-1.0, 1.0, n_y)
    y = y_max[:, None] * u[None, :]
    wy = y_max[:, None] * wu[None, :]
    x1 = np.sqrt(tau)[:, None] * np.exp(y)
    x2 = np.sqrt(tau)[:, None] * np.exp(-y)
    q2 = np.broadcast_to(m2[:, None], x1.shape)
    m = np.sqrt(m2)[:, None]
    c_pt = np.sqrt(np.clip(1 - (2 * pt_min / m) ** 2, 0, 1)) if pt_min > 0 else np.ones_like(m)
    c_eta = np.tanh(np.clip(eta_max - np.abs(y), 0, None)) if math.isfinite(eta_max) else np.ones_like(y)
    c_max = np.minimum(c_pt, c_eta)
    angular = (2 * c_max + 2 * c_max**3 / 3) / (8 / 3)  # fraction of the full (1 + c^2) integral
    f1, f2 = _xf_all(pdf, x1, q2), _xf_all(pdf, x2, q2)
    for q, (qq, t3) in QUARKS.items():
        vq, aq = t3 - 2 * qq * sw2, t3
        c0 = (
            (qe * qq) ** 2
            + 2 * qe * qq * ve * vq * chi.real
            + (ve**2 + ae**2) * (vq**2 + aq**2) * np.abs(chi) ** 2
        )
        sigma_hat = 4 * math.pi * alpha**2 / (9 * m2) * c0  # colour averaged, GeV^-2
        lum = (f1[q] * f2[-q] + f1[-q] * f2[q]) / (x1 * x2)
        # dx1 dx2 = dtau dy, dtau = dm2 / s
        integrand = lum * angular * sigma_hat[:, None] / s
        total += float(np.sum(integrand * wy * (wt * dm2_dt)[:, None]))
    return total * GEV2_TO_PB


def ttbar(pdf, sqrt_s: float, mt: float, n_tau: int = 300, n_y: int = 200) -> float:
    """sigma(pp -> t tbar) in pb at LO with mu_R = mu_F = m_t (Combridge's total partonic cross sections)."""
    s = sqrt_s**2
    a_s = _alpha_s(pdf, mt**2)
    # shat from 4 mt^2 to s, flat in log(shat)
    l, wl = gauss(math.log(4 * mt**2), math.log(s), n_tau)
    shat = np.exp(l)
    rho = 4 * mt**2 / shat
    beta = np.sqrt(np.clip(1 - rho, 0, 1))
    sig_qq = 8 * math.pi * a_s**2 / (27 * shat) * beta * (1 + rho / 2)
    sig_gg = (
        math.pi
        * a_s**2
        / (3 * shat)
        * ((1 + rho + rho**2 / 16) * np.log((1 + beta) / (1 - beta)) - beta * (7 / 4 + 31 * rho / 16))
    )
    tau = shat / s
    y_max = -0.5 * np.log(tau)
    u, wu = gauss(-1.0, 1.0, n_y)
    y = y_max[:, None] * u[None, :]
    wy = y_max[:, None] * wu[None, :]
    x1 = np.sqrt(tau)[:, None] * np.exp(y)
    x2 = np.sqrt(tau)[:, None] * np.exp(-y)
    q2 = np.full(x1.shape, mt**2)
    f1, f2 = _xf_all(pdf, x1, q2), _xf_all(pdf, x2, q2)
    lum_gg = f1[21] * f2[21]
    lum_qq = sum(f1[q] * f2[-q] + f1[-q] * f2[q] for q in QUARKS)
    # dx1 dx2 f f = dtau dy (xf xf)/tau ; dtau = tau dl
    integrand = lum_gg * sig_gg[:, None] + lum_qq * sig_qq[:, None]
    return float(np.sum(integrand * wy * wl[:, None])) * GEV2_TO_PB


def w_plus(pdf, sqrt_s: float, n_m: int = 400, n_y: int = 400, ckm=None) -> float:
    """sigma(pp -> W+ -> e+ nu) in pb, mu_F = m_enu, full Breit-Wigner; ``ckm`` the magnitudes |V_ij|
    (rows u, c, t; columns d, s, b; default diagonal: u d~ and c s~)."""
    par = scheme("gmu")
    mw, gw = par.mw, par.ww
    s = sqrt_s**2
    t, wt = gauss(math.atan((1.0 - mw**2) / (mw * gw)), math.atan((s - mw**2) / (mw * gw)), n_m)
    m2 = mw**2 + mw * gw * np.tan(t)
    dm2_dt = mw * gw / np.cos(t) ** 2
    sigma_hat = par.gf**2 * mw**4 * m2 / (18 * math.pi * ((m2 - mw**2) ** 2 + mw**2 * gw**2))
    tau = m2 / s
    y_max = -0.5 * np.log(tau)
    u, wu = gauss(-1.0, 1.0, n_y)
    y = y_max[:, None] * u[None, :]
    wy = y_max[:, None] * wu[None, :]
    x1 = np.sqrt(tau)[:, None] * np.exp(y)
    x2 = np.sqrt(tau)[:, None] * np.exp(-y)
    q2 = np.broadcast_to(m2[:, None], x1.shape)
    f1, f2 = _xf_all(pdf, x1, q2), _xf_all(pdf, x2, q2)
    v = ckm if ckm is not None else ((1.0, 0.0, 0.0), (0.0, 1.0, 0.0), (0.0, 0.0, 1.0))
    lum = sum(
        v[up // 2 - 1][(dn - 1) // 2] ** 2 * (f1[up] * f2[-dn] + f1[-dn] * f2[up])
        for up in (2, 4)
        for dn in (1, 3, 5)
    )
    integrand = lum / (x1 * x2) * sigma_hat[:, None] / s
    return float(np.sum(integrand * wy * (wt * dm2_dt)[:, None])) * GEV2_TO_PB


def ggh(pdf, sqrt_s: float, mh: float, mu: float, n_y: int = 400) -> float:
    """sigma(gg -> H) in pb, heavy-top limit, narrow width: sigma_0 int dy xg(x1) xg(x2)."""
    par = scheme("gmu")
    a_s = _alpha_s(pdf, mu**2)
    sigma0 = par.gf * a_s**2 / (288 * math.sqrt(2) * math.pi)
    tau = mh**2 / sqrt_s**2
    y_max = -0.5 * math.log(tau)
    y, wy = gauss(-y_max, y_max, n_y)
    x1, x2 = math.sqrt(tau) * np.exp(y), math.sqrt(tau) * np.exp(-y)
    q2 = np.full(y.shape, mu**2)
    f1, f2 = _xf_all(pdf, x1, q2), _xf_all(pdf, x2, q2)
    return float(np.sum(f1[21] * f2[21] * wy)) * sigma0 * GEV2_TO_PB
