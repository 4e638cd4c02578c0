"""Per-channel weights of a finished multi-channel run on a MadGraph5 directory: where the
unweighting efficiency goes.

Loads the run's ``sampler.pt`` and the directory's process (nothing is retrained), draws a fresh
sample, and prints for every channel its share of sigma, its hit-or-miss efficiency
``eps_c = I_c / M_c`` (``M_c`` the reduced maximum, q = 1e-3, of its weights per unit allocation),
``M_c / I`` (the channel's part of ``1 / eps`` under the allocation ``p_c ~ M_c``) and the share of
its points outside the cuts (zero weight)::

    python benchmarks/madevent_channels.py <work>/gg_ttg/mlgen_multichannel/gg_ttg.mad \\
        --set dynamical_scale_choice=3 --points 60000
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from mlgen.integrate.persist import load_sampler
from mlgen.metrics import reduced_max
from mlgen.mg5_run import load_process_dir
from mlgen.process.build import build_process
from mlgen.process.channels import MultiChannelProcess


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("directory", type=Path, help="the .mad directory the run wrote into")
    parser.add_argument("--run", default="run_01")
    parser.add_argument("--set", action="append", default=[], help="the run's run-card overrides")
    parser.add_argument("--points", type=int, default=60_000)
    parser.add_argument("--seed", type=int, default=5)
    args = parser.parse_args()
    torch.set_num_threads(1)
    run = load_process_dir(args.directory, args.set)
    channels = MultiChannelProcess(build_process(run.card))
    kind, sampler = load_sampler(args.directory / "Events" / args.run / "sampler.pt")
    if kind != "multichannel":
        raise SystemExit(f"{args.directory}: the run's sampler is {kind!r}, not a multi-channel one")
    f = sampler.integrand(channels)
    u, log_q = sampler.sample(args.points, torch.Generator().manual_seed(args.seed))
    w = f(u) / torch.exp(log_q)
    n_ch = sampler.n_channels
    channel = (u[:, 0] * n_ch).long().clamp(0, n_ch - 1)
    total = float(w.mean())
    print(f"sigma {total:.4g} pb from {args.points} points; eps = {total / reduced_max(w, 1e-3):.4f}")
    print("channel  label           points  share   eps_c   M_c/I  outside cuts")
    for c in range(n_ch):
        sel = channel == c
        if int(sel.sum()) < 2:
            continue
        g = w[sel] * float(sampler.allocation[c])
        i_c, m_c = float(g.mean()), reduced_max(g, 1e-3)
        print(
            f"{c:7d}  {channels.labels[c]:14s} {int(sel.sum()):7d}  {i_c / total:.3f}  {i_c / m_c:.4f}  "
            f"{m_c / total:6.2f}  {float((g == 0).double().mean()):.2f}"
        )


if __name__ == "__main__":
    main()
