"""A MadGraph5 CUDACPP process (``.sa`` or ``.mad`` directory) as an mlgen matrix element.

The directory is built once (:mod:`mlgen.matrix.mg5.build`) and called on whole batches through
mlgen's C interface (:mod:`mlgen.matrix.mg5.bridge`), with ``alpha_s`` per event from mlgen's
running and the parameters of the directory's ``Cards/param_card.dat`` (or of the card given).
:attr:`MadGraphCPP.parameters` holds those parameters read as MG5's ``sm`` model, so the rest of
the process (top mass of the scales, ``alpha`` of the record, ``alpha_s(m_Z)`` for lepton beams)
uses the same numbers as the code.

Colour: MG5 chooses a leading colour flow only for a channel (a diagram id, ``.mad`` builds), from
the flows that diagram allows, in proportion to their ``|jamp|^2``, as MadEvent does. For the event
record of a point sampled without a channel, :meth:`MadGraphCPP.colour_weights` first draws the
channel in proportion to its single-diagram-enhancement weight and returns MG5's choice for it, so
an event's flow has MadEvent's distribution. With mlgen's patched build (every diagram's
``|amplitude|^2`` in one call) that costs two calls per event; otherwise one per channel. A ``.sa``
directory has no colour information: coloured processes from it integrate, but cannot make event
records.
"""

from __future__ import annotations

__all__ = ["MadGraphCPP", "is_cpp_directory", "madgraph"]

import dataclasses
import tarfile
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from mlgen.matrix.base import Resonance, Subprocess
from mlgen.matrix.mg5.bridge import Bridge, BridgeOutput
from mlgen.matrix.mg5.build import build_process_library
from mlgen.matrix.mg5.configs import ChannelConfig, card_parameters, read_configs
from mlgen.matrix.mg5.directory import read_process_info
from mlgen.matrix.user import check_values
from mlgen.physics.propagators import Propagator
from mlgen.physics.sm import from_param_card


def is_cpp_directory(path: Path) -> bool:
    """Whether ``path`` (a directory or ``.tar.gz``) holds a CUDACPP process (a ``CPPProcess.cc``)."""
    if path.is_dir():
        return any(path.glob("SubProcesses/P*/CPPProcess.cc"))
    if path.is_file() and path.name.endswith((".tar.gz", ".tgz")):
        with tarfile.open(path) as archive:
            return any(name.endswith("/CPPProcess.cc") for name in archive.getnames())
    return False


class MadGraphCPP:
    """The C++ matrix element of a MG5_aMC CUDACPP process directory.

    Arguments:
        path: a ``.sa`` or ``.mad`` directory, or its ``.tar.gz`` (relative to ``base_dir``).
        param_card: an SLHA card to use instead of the directory's ``Cards/param_card.dat``.
        backend: ``cppnone``, ``cppsse4``, ``cppavx2``, ``cpp512y``, ``cpp512z`` or ``cuda``;
            default: the best for this machine.
        cache: the build cache directory (default ``$MLGEN_CACHE_DIR`` or ``~/.cache/mlgen``).
        seed: seed of the generator for the colour choices of :meth:`colour_weights`.
        base_dir: directory relative paths are taken from (the card's).
        name: a label.
    """

    def __init__(
        self,
        path: str | Path,
        *,
        param_card: str | Path | None = None,
        backend: str | None = None,
        cache: str | Path | None = None,
        seed: int = 0,
        base_dir: Path | None = None,
        name: str = "",
    ) -> None:
        def resolve(p: str | Path) -> Path:
            p = Path(p).expanduser()
            return base_dir / p if not p.is_absolute() and base_dir is not None else p

        source = resolve(path)
        self.build = build_process_library(
            source, backend=backend, cache=None if cache is None else resolve(cache)
        )
        card = resolve(param_card) if param_card is not None else None
        self.info = read_process_info(self.build.root, self.build.subprocess_dir, card)
        self.bridge = Bridge(
            self.build.library,
            self.build.subprocess_dir,
            self.info.param_card,
            diagram_sums=self.build.diagram_sums,
        )
        self.parameters = from_param_card(self.info.param_card)
        self.name = name or f"MG5 {self.info.process} ({source.name})"
        self.subprocesses = (Subprocess(self.info.pdg, self.info.colour_flows),)
        self.masses = self.info.masses
        self.resonances: tuple[Resonance, ...] = ()
        self.propagators: tuple[Propagator, ...] = ()
        self.generator = torch.Generator().manual_seed(seed)
        #: MadEvent's channels (``configs.inc``, ``.mad`` only) and the card's named parameters
        #: (each config's ``diagram`` is the C++ code's channel id for it, from ``coloramps.h``)
        configs = (
            read_configs(self.build.subprocess_dir)
            if (self.build.subprocess_dir / "configs.inc").is_file()
            else ()
        )
        if configs and self.info.channels and len(configs) != len(self.info.channels):
            raise ValueError(
                f"{self.build.subprocess_dir}: configs.inc has {len(configs)} configs but coloramps.h "
                f"maps {len(self.info.channels)} channels to configs"
            )
        if self.info.channels:  # without channel2iconfig (older CUDACPP) MAPCONFIG is all there is
            configs = tuple(dataclasses.replace(c, diagram=self.info.channels[c.number - 1]) for c in configs)
        self.configs: tuple[ChannelConfig, ...] = configs
        self.card_values = card_parameters(self.info.param_card)
        coloured = any(abs(p) <= 6 or p == 21 for p in self.info.pdg)
        self._needs_colour = coloured and not self.info.colour_flows

    def _alpha_s(self, p: Tensor, alpha_s: Tensor | None) -> Tensor:
        if alpha_s is None:
            return torch.full(p.shape[:1], self.parameters.alpha_s_mz, dtype=torch.float64, device=p.device)
        return alpha_s

    def __call__(self, p: Tensor, alpha_s: Tensor | None = None) -> Tensor:
        """``(B, 1)`` ``|M|^2`` at ``(B, n, 4)`` momenta (GeV^(8-2n)); ``alpha_s`` ``(B,)`` or ``None``
        (the card's ``alpha_s(m_Z)``)."""
        half = torch.full(p.shape[:1], 0.5, dtype=torch.float64)
        out = self.bridge.evaluate(p, self._alpha_s(p, alpha_s), half, half)
        check_values(out.me2, self.name)
        return out.me2[:, None]

    def evaluate(
        self, p: Tensor, alpha_s: Tensor | None, generator: torch.Generator, channel: Tensor | None = None
    ) -> BridgeOutput:
        """``|M|^2`` with MG5's helicity and colour choices (random numbers from ``generator``), and for
        a ``(B,)`` tensor of 1-based ``channel`` ids the single-diagram-enhancement weights."""
        rnd = torch.rand(2, p.shape[0], dtype=torch.float64, generator=generator, device=generator.device)
        out = self.bridge.evaluate(p, self._alpha_s(p, alpha_s), rnd[0], rnd[1], channel)
        check_values(out.me2, self.name)
        return out

    def channel_weights(self, p: Tensor, alpha_s: Tensor | None = None) -> Tensor:
        """``(B, C)`` single-diagram-enhancement weights of MadEvent's ``C`` channels (:attr:`configs`,
        in config order) at ``(B, n, 4)`` momenta: ``|A_c|^2 / sum_k |A_k|^2`` summed over helicities,
        what MadEvent multiplies channel ``c``'s integrand by. They sum to 1 wherever ``|M|^2 > 0``.
        One evaluation of the code per point where the build gives every diagram's ``|amplitude|^2``
        (:meth:`Bridge.diagram_sums`, mlgen's builds of ``.mad`` directories on C++ backends), else
        two per channel and point (the ratio of the enhanced and the plain ``|M|^2`` per channel id)."""
        if not self.configs:
            raise ValueError(f"{self.name}: no configs.inc; channel weights need the .mad directory")
        batch, n_channels = p.shape[0], len(self.configs)
        if self.bridge.has_diagram_sums:
            half = torch.full((batch,), 0.5, dtype=torch.float64)
            _, sums = self.bridge.diagram_sums(p, self._alpha_s(p, alpha_s), half)
            diagrams = torch.tensor([c.diagram for c in self.configs], dtype=torch.long, device=sums.device)
            total = sums[:, :1]
            return torch.where(total > 0, sums[:, diagrams] / total.clamp(min=1e-300), torch.zeros_like(total))
        ids = torch.tensor([c.diagram for c in self.configs], dtype=torch.long).repeat_interleave(batch)
        a_s = self._alpha_s(p, alpha_s).repeat(n_channels)
        half = torch.full((batch * n_channels,), 0.5, dtype=torch.float64)
        out = self.bridge.evaluate(p.repeat(n_channels, 1, 1), a_s, half, half, ids)
        return out.sde_weight.reshape(n_channels, batch).T.contiguous()

    def choose_helicities(self, p: Tensor) -> Tensor:
        """``(B, n)`` helicities per event, as MadEvent writes them into SPINUP: the code's choice of
        a helicity combination in proportion to its share of ``|M|^2`` (random numbers from
        :attr:`generator`), one row of :attr:`ProcessInfo.helicities`."""
        rnd = torch.rand(2, p.shape[0], dtype=torch.float64, generator=self.generator)
        out = self.bridge.evaluate(p, self._alpha_s(p, None), rnd[0], rnd[1])
        table = torch.tensor(self.info.helicities, dtype=torch.float64)
        return table[out.helicity.cpu().clamp(min=0)].to(p.device)

    def colour_weights(self, p: Tensor) -> Tensor | None:
        """``(B, 1, F)``: one-hot of MG5's colour flow for a channel drawn per event in proportion to
        its enhancement weight (random numbers from :attr:`generator`); ``None`` without colour.
        Where the build gives every diagram's ``|amplitude|^2`` (:meth:`channel_weights` in one
        call) the channel is drawn from those and the code called once more with it: two
        evaluations per event whatever the number of channels; else one per channel."""
        if self._needs_colour:
            raise ValueError(
                f"{self.name}: a .sa directory has no colour flows for the event record; "
                "use the .mad directory"
            )
        if not self.info.colour_flows:
            return None
        batch = p.shape[0]
        alpha_s = self._alpha_s(p, None)
        rnd = torch.rand(2, batch, dtype=torch.float64, generator=self.generator)
        if self.bridge.has_diagram_sums and self.configs:
            w = self.channel_weights(p, alpha_s).cpu()
            w = torch.where(w.sum(1, keepdim=True) > 0, w, torch.ones_like(w))
            pick = torch.multinomial(w, 1, generator=self.generator).squeeze(1)
            ids = torch.tensor([c.diagram for c in self.configs], dtype=torch.long)[pick]
            colour = self.bridge.evaluate(p, alpha_s, rnd[0], rnd[1], ids).colour.cpu()
        else:
            colour = self._colour_per_channel(p, alpha_s, rnd)
        one_hot = torch.zeros(batch, 1, len(self.info.colour_flows), dtype=torch.float64)
        one_hot[torch.arange(batch), 0, colour.clamp(min=0)] = 1.0
        return one_hot.to(p.device)

    def _colour_per_channel(self, p: Tensor, alpha_s: Tensor, rnd: Tensor) -> Tensor:
        """``(B,)`` colour flow indices: the code's choice for every channel id, then one channel
        per event in proportion to its enhancement weight (one evaluation per channel)."""
        batch = p.shape[0]
        weights, colours = [], []
        for c in self.info.channels:
            ids = torch.full((batch,), c, dtype=torch.long)
            out = self.bridge.evaluate(p, alpha_s, rnd[0], rnd[1], ids)
            weights.append(out.sde_weight.cpu())
            colours.append(out.colour.cpu())
        w = torch.stack(weights, dim=1)
        w = torch.where(w.sum(1, keepdim=True) > 0, w, torch.ones_like(w))
        pick = torch.multinomial(w, 1, generator=self.generator).squeeze(1)
        return torch.stack(colours, dim=1)[torch.arange(batch), pick]


def madgraph(path: str, *, base_dir: Path | None = None, name: str = "", **options: Any) -> Any:
    """The card's ``matrix_element = "madgraph"``: a directory (or ``.tar.gz``) with a ``CPPProcess.cc``
    takes the C++ route (:class:`MadGraphCPP`), any other the Fortran standalone route
    (:class:`~mlgen.matrix.madgraph.MadGraphStandalone`); ``options`` go to the class chosen."""
    root = Path(path).expanduser()
    if not root.is_absolute() and base_dir is not None:
        root = base_dir / root
    if is_cpp_directory(root):
        return MadGraphCPP(root, base_dir=base_dir, name=name, **options)
    from mlgen.matrix.madgraph import MadGraphStandalone

    return MadGraphStandalone(str(root), base_dir=base_dir, name=name, **options)
