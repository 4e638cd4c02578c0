"""mlgen sample ee-jets-nlo -o OUT.lhe.gz: event samples with known answers, to develop tools on.

ee-jets-nlo: e+ e- -> 2 jets at NLO with Catani-Seymour counter-events
(mlgen.samples.ee_jets_nlo): Born, real-emission and negative-weight
counter-events, whose cross section is sigma_0 (1 + alpha_s / pi) exactly and
whose real-minus-dipole part is -C_F alpha_s sigma_0 / (4 pi). Prints the
sample's estimates next to the closed forms.
"""

from __future__ import annotations

import argparse

HELP = "write an event sample with a closed-form answer (e+e- -> 2 jets at NLO with counter-events)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name", choices=("ee-jets-nlo",), help="which sample")
    parser.add_argument("-o", "--output", required=True, help="LHE file to write")
    parser.add_argument("--born", type=int, default=100_000, help="Born events")
    parser.add_argument("--real", type=int, default=100_000, help="real-emission points (3 events each)")
    parser.add_argument("--sqrt-s", type=float, default=91.188, help="collision energy, GeV")
    parser.add_argument("--alpha-s", type=float, default=0.118, help="alpha_s, fixed (no running)")
    parser.add_argument("--quark", type=int, default=2, choices=range(1, 6), help="quark flavour (PDG)")
    parser.add_argument("--seed", type=int, default=1, help="random seed")


def main(args: argparse.Namespace) -> int:
    from mlgen.lhe import write_lhe
    from mlgen.measured import format_measured, format_share
    from mlgen.samples.ee_jets_nlo import ee_jets_nlo

    sample = ee_jets_nlo(
        args.born, args.real, sqrt_s=args.sqrt_s, alpha_s=args.alpha_s, quark=args.quark, seed=args.seed
    )
    write_lhe(args.output, sample.info, sample.events)
    est = sample.estimate()
    w = sample.events.weight
    sigma = format_measured(est["sigma_pb"], est["error_pb"], "pb")
    negative = float((w < 0).double().mean())
    rmd = format_measured(est["real_minus_dipole_pb"], est["real_minus_dipole_error_pb"], "pb")
    print(
        f"{len(w)} events -> {args.output} ({format_share(negative)} negative weights)\n"
        f"  sigma_NLO = {sigma} (exact {sample.sigma_nlo_pb:.6g})\n"
        f"  real - dipoles = {rmd} (exact {sample.real_minus_dipole_pb:.5g}); "
        f"sigma_0 = {sample.sigma_born_pb:.6g} pb"
    )
    return 0
