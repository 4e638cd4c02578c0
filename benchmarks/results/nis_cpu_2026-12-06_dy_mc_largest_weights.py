"""Where the multi-channel sampler's largest Drell-Yan weights sit (eps_max 0.22 against the flow's 0.54).

From the repository root::

    .venv-bench/bin/python benchmarks/results/nis_cpu_2026-12-06_dy_mc_largest_weights.py SEED
"""

import math
import sys
import time

sys.path.insert(0, "benchmarks")
sys.path.insert(0, ".")
import nis

import torch

from mlgen.device import make_generator
from mlgen.integrate.multichannel import multichannel_integrate

seed = int(sys.argv[1]) if len(sys.argv) > 1 else 1
_, process = nis.physics_case("dy_zprime", torch.device("cpu"))
settings = nis.multichannel_settings(500_000)  # as in the benchmark
t0 = time.perf_counter()
result, sampler, mc = multichannel_integrate(process, settings, seed=seed, device="cpu")
print("train", time.perf_counter() - t0, result.flags["channels"], result.flags.get("defensive"))
g = make_generator(seed + 1000, "cpu")
us, lqs, ws = [], [], []
for _ in range(10):
    u, lq = sampler.sample(100_000, g)
    us.append(u)
    lqs.append(lq)
    ws.append(mc(u) * torch.exp(-lq))
u, lq, w = torch.cat(us), torch.cat(lqs), torch.cat(ws)
print("mean", float(w.mean()), "max/mean", float(w.max() / w.mean()), "spread", float(w.std() / w.mean()))
top = torch.argsort(w, descending=True)[:15]
ch = mc.channel_of(u)
for i in top.tolist():
    c = int(ch[i])
    s = sampler.samplers[c]
    v = u[i : i + 1, 1:]
    ev = mc.channel_point(c, v).evaluation
    p = ev.momenta[0]
    ll = p[2] + p[3]
    mll = math.sqrt(max(float(ll[0] ** 2 - ll[1] ** 2 - ll[2] ** 2 - ll[3] ** 2), 0))
    with torch.no_grad():
        lp_flow = float(s.log_prob_latent(v, mixed=False)[0]) if not s.composed else float("nan")
        lgrid, lunif = s.defensive_log_densities(v)
        feats, lprior = mc._features_and_prior(ev)
        alpha = torch.exp(mc.channel_log_alpha(mc.channel_point(c, v))[0])
    print(
        f"w/mean {float(w[i] / w.mean()):6.2f} ch {c} mll {mll:8.2f} "
        f"x1 {float(ev.x1[0]):.3g} x2 {float(ev.x2[0]):.3g} "
        f"log q {float(lq[i]):7.2f} flow {lp_flow:7.2f} grid {float(lgrid[0]):6.2f} "
        f"shares {s.defensive:.3g}/{s.uniform:.3g} "
        f"alpha {[round(float(a), 3) for a in alpha]} "
        f"prior {[round(float(a), 3) for a in torch.exp(lprior[0])]} "
        f"u {[round(x, 4) for x in v[0].tolist()]}"
    )
# weights by channel
for c in range(mc.n_channels):
    sel = ch == c
    if sel.any():
        print(
            c,
            "points",
            int(sel.sum()),
            "max/mean",
            float(w[sel].max() / w.mean()),
            "mean share",
            float(w[sel].sum() / w.sum()),
        )
