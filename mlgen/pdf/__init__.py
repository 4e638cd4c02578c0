"""Parton densities from LHAPDF6 grids, interpolated in torch on any device.

``load(name_or_path, member=0)`` finds the set (``LHAPDF_DATA_PATH``, then the
``share/Pythia8/pdfdata`` folder of the ``pythia8mc`` wheel, or a path) and
returns a :class:`~mlgen.pdf.gridpdf.GridPDF`; ``backend="lhapdf"`` uses the
``lhapdf`` module instead when it imports.
"""

from __future__ import annotations

__all__ = ["GridPDF", "PDFFormatError", "PDFNotFoundError", "load"]

from pathlib import Path

from mlgen.pdf.grid import PDFFormatError, parse_info, read_grid
from mlgen.pdf.gridpdf import GridPDF, alphas_mz_from_name, loops_from_name
from mlgen.pdf.locate import PDFNotFoundError, find_member
from mlgen.physics.alphas import AlphaS
from mlgen.physics.sm import GMU


def load(
    name_or_path: str | Path,
    member: int = 0,
    *,
    backend: str = "mlgen",
    alphas_mz: float | None = None,
    alphas_loops: int | None = None,
    alphas_nf_max: int | None = None,
) -> GridPDF:
    """Load a PDF member.

    Arguments:
        name_or_path: LHAPDF set name, set folder or member ``.dat`` file.
        member: member number.
        backend: ``"mlgen"`` (own reader and torch interpolation) or ``"lhapdf"``.
        alphas_mz, alphas_loops: alpha_s(M_Z) and loop order of the running. Without them a set
            with an ``.info`` table uses it; one without (the wheel's files) runs from the value in
            its name (``as_0130``) at its order (LO 1, NLO 2, NNLO 3 loops), with LHAPDF's default
            thresholds. ``alphas_mz`` given replaces the set's value (its table too).
        alphas_nf_max: at most this many active flavours in that running (default 6); given, it
            runs alpha_s from the set's alpha_s(M_Z) even where the ``.info`` has a table.

    Raises:
        ValueError: alpha_s settings with ``backend = "lhapdf"`` (that backend runs alpha_s as
            the set says), or an unknown backend.
    """
    if backend == "lhapdf":
        given = {"alphas_mz": alphas_mz, "alphas_loops": alphas_loops, "alphas_nf_max": alphas_nf_max}
        named = [k for k, v in given.items() if v is not None]
        if named:
            raise ValueError(
                f"{', '.join(named)}: not with backend = 'lhapdf' (it runs alpha_s as the set says); "
                "use backend = 'mlgen'"
            )
        from mlgen.pdf.lhapdf_backend import load_lhapdf

        return load_lhapdf(str(name_or_path), member)  # type: ignore[return-value]
    if backend != "mlgen":
        raise ValueError(f"PDF backend {backend!r}: expected 'mlgen' or 'lhapdf'")
    member_file, info_file, set_name = find_member(name_or_path, member)
    grid = read_grid(member_file)
    info = parse_info(info_file.read_text(), str(info_file)) if info_file else {}
    merged = {**info, **grid.meta}
    tabulated = "AlphaS_Type" in merged or "AlphaS_Qs" in merged
    if info and alphas_mz is None and alphas_nf_max is None and tabulated:
        alpha_s = AlphaS.from_info(merged, str(info_file))
    else:
        value = alphas_mz if alphas_mz is not None else merged.get("AlphaS_MZ", alphas_mz_from_name(set_name))
        if value is None:
            raise ValueError(f"{member_file}: no .info and no 'as_XXXX' in the name; give alphas_mz")
        if alphas_loops is not None:
            loops = alphas_loops
        elif "AlphaS_OrderQCD" in merged:
            loops = int(merged["AlphaS_OrderQCD"])  # loops, as from_info reads it
        else:
            loops = loops_from_name(set_name)
        alpha_s = AlphaS.from_mz(
            float(value),
            float(merged.get("MZ", GMU.mz)),
            loops=loops,
            n_flavours_max=6 if alphas_nf_max is None else alphas_nf_max,
        )
    return GridPDF(grid, alpha_s, name=set_name, member=member, info=merged)
