"""The one registry of matrix-element names, as run cards spell them (``[process] matrix_element``).

Adding a process is a factory and one line here.

Each maps to ``"module:factory"``; every factory takes keyword options (the card's
``[process] options``) and ``parameters`` (:class:`~mlgen.physics.sm.SMParameters`).

========== ============================================ =====================================
name       factory                                      options
========== ============================================ =====================================
ee_mumu    :class:`~mlgen.matrix.ee_mumu.EEMuMu`        ``mode``, ``lepton``, ``zprime``
drell_yan  :class:`~mlgen.matrix.drell_yan.DrellYan`    ``mode``, ``lepton``, ``zprime``, ``quarks``
w_lnu      :class:`~mlgen.matrix.w_boson.WLeptonNeutrino` ``charge``, ``lepton``
ttbar      :class:`~mlgen.matrix.ttbar.TTbar`           ``quarks``
ttbar_6j   :class:`~mlgen.matrix.ttbar_decay.TTbarAllHadronic` ``generations``, ``quarks``
ggh        :class:`~mlgen.matrix.higgs.GGH`             (none)
ee_qqg     :class:`~mlgen.matrix.ee_qqg.EEQQG`          ``mode``, ``quarks``
========== ============================================ =====================================
"""

from __future__ import annotations

__all__ = ["BUILTIN_MATRIX_ELEMENTS", "MATRIX_ELEMENTS"]

#: Card name -> ``"module:factory"``.
BUILTIN_MATRIX_ELEMENTS: dict[str, str] = {
    "ee_mumu": "mlgen.matrix.ee_mumu:EEMuMu",
    "drell_yan": "mlgen.matrix.drell_yan:DrellYan",
    "w_lnu": "mlgen.matrix.w_boson:WLeptonNeutrino",
    "ttbar": "mlgen.matrix.ttbar:TTbar",
    "ttbar_6j": "mlgen.matrix.ttbar_decay:TTbarAllHadronic",
    "ggh": "mlgen.matrix.higgs:GGH",
    "ee_qqg": "mlgen.matrix.ee_qqg:EEQQG",
}

#: Every name a card may use: the built-in processes, and ``madgraph`` for a MadGraph5 process directory
#: (option ``path``): a CUDACPP ``.sa``/``.mad`` directory or its ``.tar.gz`` (one with a ``CPPProcess.cc``)
#: takes the batched C++ route (:class:`~mlgen.matrix.mg5.MadGraphCPP`: ``param_card``, ``backend``,
#: ``cache``, ``seed``), any other the Fortran standalone route
#: (:class:`~mlgen.matrix.madgraph.MadGraphStandalone`: ``masses``, ``colour``, ...).
#: Anything else is ``module:attr`` or ``path/to/file.py:attr``
#: (:func:`mlgen.matrix.loader.load_matrix_element`).
MATRIX_ELEMENTS: dict[str, str] = BUILTIN_MATRIX_ELEMENTS | {
    "madgraph": "mlgen.matrix.mg5:madgraph",
}
