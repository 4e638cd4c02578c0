"""``ctypes`` binding of mlgen's C interface to a built MG5 process (``bridge_shim.cc``).

The C++ code evaluates batches whose size is a multiple of its SIMD vector (a GPU warp for
``cuda``), with one channel id per SIMD vector. :meth:`Bridge.evaluate` takes any batch: it sorts
the events by channel, pads each channel's group to that multiple with copies of its first
event, and rounds the padded size up to a few fixed sizes (the C++ side keeps one buffer set per
size), all with whole-tensor operations.
"""

from __future__ import annotations

__all__ = ["Bridge", "BridgeOutput"]

import ctypes
import hashlib
import math
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

_DOUBLE_P = ctypes.POINTER(ctypes.c_double)
_INT_P = ctypes.POINTER(ctypes.c_int)
_UINT_P = ctypes.POINTER(ctypes.c_uint)
_CHUNK = 8192  # events per C++ call at most
#: library file -> the parameter card its process was created with, in this Python process
_CARDS: dict[Path, Path] = {}


def _library_for(library: Path, param_card: Path) -> Path:
    """The library to load for ``param_card``. The model parameters live in process-wide C++ statics,
    so a second card for the same build gets its own copy of the library (loaded separately)."""
    card = param_card.resolve()
    if _CARDS.setdefault(library, card) == card:
        return library
    key = hashlib.sha256(card.read_bytes() + str(card).encode()).hexdigest()[:12]
    copy = library.parent / "cards" / key / library.name
    if copy not in _CARDS:
        copy.parent.mkdir(parents=True, exist_ok=True)
        if not copy.is_file():
            tmp = copy.with_suffix(f".tmp{os.getpid()}")
            shutil.copyfile(library, tmp)
            tmp.rename(copy)
        _CARDS[copy] = card
    return copy


@dataclass(frozen=True)
class BridgeOutput:
    """One batch's results, ``(B,)`` each, on the input's device.

    Attributes:
        me2: ``|M|^2`` (averaged over initial, summed over final helicities and colours).
        sde_weight: the single-diagram-enhancement weight of the channel (1 without channels).
        helicity: 0-based helicity combination chosen (index into ``ProcessInfo.helicities``).
        colour: 0-based leading colour flow chosen, ``-1`` where none is chosen (no channel).
    """

    me2: Tensor
    sde_weight: Tensor
    helicity: Tensor
    colour: Tensor


def _buffer(array: np.ndarray, kind: type) -> object:
    return array.ctypes.data_as(kind)


class Bridge:
    """The compiled process (``libmlgen_mg5.so``), created with its parameter card.

    Arguments:
        library: the built interface library.
        subprocess_dir: the process's ``SubProcesses/P1_*`` directory.
        param_card: the SLHA card whose parameters the code uses.
    """

    def __init__(
        self, library: Path, subprocess_dir: Path, param_card: Path, *, diagram_sums: bool = False
    ) -> None:
        lib = ctypes.CDLL(str(_library_for(library, param_card)))
        lib.mlgen_mg5_create.restype = ctypes.c_void_p
        lib.mlgen_mg5_create.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_int]
        lib.mlgen_mg5_destroy.argtypes = [ctypes.c_void_p]
        lib.mlgen_mg5_evaluate.restype = ctypes.c_int
        lib.mlgen_mg5_evaluate.argtypes = [
            ctypes.c_void_p, ctypes.c_int, _DOUBLE_P, _DOUBLE_P, _DOUBLE_P, _DOUBLE_P,
            _UINT_P, _DOUBLE_P, _DOUBLE_P, _INT_P, _INT_P, ctypes.c_char_p, ctypes.c_int,
        ]  # fmt: skip
        #: whether :meth:`diagram_sums` works (a library whose CPPProcess.cc mlgen patched)
        self.has_diagram_sums = diagram_sums and hasattr(lib, "mlgen_mg5_diagrams")
        if self.has_diagram_sums:
            lib.mlgen_mg5_diagrams.restype = ctypes.c_int
            lib.mlgen_mg5_diagrams.argtypes = [
                ctypes.c_void_p, ctypes.c_int, _DOUBLE_P, _DOUBLE_P, _DOUBLE_P, _DOUBLE_P,
                _DOUBLE_P, _DOUBLE_P, _INT_P, ctypes.c_char_p, ctypes.c_int,
            ]  # fmt: skip
        sizes = [ctypes.c_int() for _ in range(6)]
        lib.mlgen_mg5_info(*(ctypes.byref(s) for s in sizes))
        self.npar, self.ncomb, self.ndiagrams, self.ncolor, self.multiple, multichannel = (
            s.value for s in sizes
        )
        self.multichannel = bool(multichannel)
        error = ctypes.create_string_buffer(1024)
        handle = lib.mlgen_mg5_create(str(subprocess_dir).encode(), str(param_card).encode(), error, 1024)
        if not handle:
            raise ValueError(f"{param_card}: the MG5 process could not read it: {error.value.decode()}")
        self._lib, self._handle = lib, ctypes.c_void_p(handle)

    def __del__(self) -> None:
        if getattr(self, "_handle", None):
            self._lib.mlgen_mg5_destroy(self._handle)

    def _size(self, n: int) -> int:
        """The padded size of a call: a power of two times ``multiple``, at most ``_CHUNK``."""
        return min(_CHUNK, self.multiple * 2 ** max(0, math.ceil(math.log2(max(n, 1) / self.multiple))))

    def evaluate(
        self,
        p: Tensor,
        alpha_s: Tensor,
        rnd_helicity: Tensor,
        rnd_colour: Tensor,
        channel: Tensor | None = None,
    ) -> BridgeOutput:
        """Evaluate ``B`` events.

        Arguments:
            p: ``(B, npar, 4)`` float64 momenta in GeV, in the code's particle order.
            alpha_s: ``(B,)`` strong coupling per event.
            rnd_helicity, rnd_colour: ``(B,)`` uniform numbers in ``[0, 1)`` for the choices.
            channel: ``(B,)`` 1-based diagram ids for single-diagram enhancement and the colour
                choice (``.mad`` builds only), or ``None``.
        """
        device, batch = p.device, p.shape[0]
        if p.shape[1:] != (self.npar, 4):
            raise ValueError(f"momenta: expected (B, {self.npar}, 4), got {tuple(p.shape)}")
        if channel is not None and not self.multichannel:
            raise ValueError("channel: a .sa build has no multichannel support; use the .mad directory")
        if batch == 0:
            empty = torch.zeros(0, dtype=torch.float64, device=device)
            return BridgeOutput(empty, empty, empty.long(), empty.long())
        gs = torch.sqrt(4.0 * math.pi * alpha_s.to(torch.float64))
        columns = torch.stack([gs, rnd_helicity.double(), rnd_colour.double()], dim=1).cpu()
        moms = p.detach().to("cpu", torch.float64)
        ids = torch.ones(batch, dtype=torch.long) if channel is None else channel.detach().cpu().long()
        # sort by channel, then pad each channel's group to a multiple of the SIMD vector
        order = torch.argsort(ids, stable=True)
        values, counts = torch.unique_consecutive(ids[order], return_counts=True)
        padded = (counts + self.multiple - 1) // self.multiple * self.multiple
        starts = torch.cumsum(padded, 0) - padded
        group = torch.repeat_interleave(torch.arange(len(counts)), counts)
        rank = torch.arange(batch) - torch.repeat_interleave(torch.cumsum(counts, 0) - counts, counts)
        slot = starts[group] + rank
        total = int(padded.sum())
        source = torch.repeat_interleave(
            order[torch.cumsum(counts, 0) - counts], padded
        )  # group's first event
        source[slot] = order
        out = self._call(moms[source], columns[source], ids[source] if channel is not None else None, total)
        back = slot[torch.argsort(order)]
        me2, sde, hel, col = (torch.from_numpy(o)[back].to(device) for o in out)
        return BridgeOutput(me2, sde, hel.long() - 1, col.long() - 1)

    def diagram_sums(self, p: Tensor, alpha_s: Tensor, rnd_helicity: Tensor) -> tuple[Tensor, Tensor]:
        """``|M|^2`` ``(B,)`` and every diagram's ``|amplitude|^2`` summed over helicities ``(B, D + 1)``
        (column ``d`` for diagram ``d``, column 0 their sum, the enhancement's denominator) of ``B``
        events, in one evaluation of the code: channel ``d``'s enhancement weight is column ``d``
        over column 0. Only where :attr:`has_diagram_sums`."""
        if not self.has_diagram_sums:
            raise ValueError("diagram sums need a .mad build on a C++ backend, built by this mlgen version")
        device, batch = p.device, p.shape[0]
        if p.shape[1:] != (self.npar, 4):
            raise ValueError(f"momenta: expected (B, {self.npar}, 4), got {tuple(p.shape)}")
        width = self.ndiagrams + 1
        me2, sums = np.empty(batch), np.empty((batch, width))
        moms = p.detach().to("cpu", torch.float64)
        gs = torch.sqrt(4.0 * math.pi * alpha_s.detach().to("cpu", torch.float64))
        rnd = rnd_helicity.detach().to("cpu", torch.float64)
        error = ctypes.create_string_buffer(1024)
        start = 0
        while start < batch:
            n = self._size(batch - start)
            stop = min(start + n, batch)
            pad = torch.arange(start, start + n).clamp(max=stop - 1)
            buffers = [np.ascontiguousarray(t[pad].numpy()) for t in (moms, gs, rnd, rnd)]
            o_me, o_sums, o_hel = np.empty(n), np.empty((n, width)), np.empty(n, dtype=np.int32)
            status = self._lib.mlgen_mg5_diagrams(
                self._handle, n, *(_buffer(a, _DOUBLE_P) for a in buffers),
                _buffer(o_me, _DOUBLE_P), _buffer(o_sums, _DOUBLE_P), _buffer(o_hel, _INT_P), error, 1024,
            )  # fmt: skip
            if status != 0:
                raise RuntimeError(f"MG5 matrix element: {error.value.decode()}")
            me2[start:stop], sums[start:stop] = o_me[: stop - start], o_sums[: stop - start]
            start = stop
        return torch.from_numpy(me2).to(device), torch.from_numpy(sums).to(device)

    def _call(
        self, moms: Tensor, columns: Tensor, ids: Tensor | None, total: int
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        me2, sde = np.empty(total), np.empty(total)
        hel, col = np.empty(total, dtype=np.int32), np.empty(total, dtype=np.int32)
        error = ctypes.create_string_buffer(1024)
        start = 0
        while start < total:
            n = self._size(total - start)
            stop = min(start + n, total)
            pad = torch.arange(start, start + n).clamp(max=stop - 1)  # pad with the chunk's last event
            p = np.ascontiguousarray(moms[pad].numpy())
            c = np.ascontiguousarray(columns[pad].numpy().T)
            ch = None if ids is None else np.ascontiguousarray(ids[pad].numpy().astype(np.uint32))
            o_me, o_sde = np.empty(n), np.empty(n)
            o_hel, o_col = np.empty(n, dtype=np.int32), np.empty(n, dtype=np.int32)
            doubles = [_buffer(a, _DOUBLE_P) for a in (p, c[0], c[1], c[2])]
            channels = None if ch is None else _buffer(ch, _UINT_P)
            outs = [_buffer(a, _DOUBLE_P) for a in (o_me, o_sde)] + [
                _buffer(a, _INT_P) for a in (o_hel, o_col)
            ]
            status = self._lib.mlgen_mg5_evaluate(self._handle, n, *doubles, channels, *outs, error, 1024)
            if status != 0:
                raise RuntimeError(f"MG5 matrix element: {error.value.decode()}")
            m = stop - start
            me2[start:stop], sde[start:stop], hel[start:stop], col[start:stop] = (
                o_me[:m],
                o_sde[:m],
                o_hel[:m],
                o_col[:m],
            )
            start = stop
        return me2, sde, hel, col
