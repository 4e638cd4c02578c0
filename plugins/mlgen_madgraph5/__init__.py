"""mlgen as a MadGraph5 PLUGIN: ``output mlgen DIR``.

``output mlgen DIR`` writes what ``output madevent_simd DIR`` writes with MadGraph5's CUDACPP
plugin — a MadEvent directory whose matrix element is CUDACPP's C++ — plus ``bin/mlgen_launch``,
which runs ``mlgen run .`` on it: mlgen builds the C++ library, takes MadEvent's channels from
``configs.inc``, the parameters from ``Cards/param_card.dat`` and beams, PDF, scales and cuts from
``Cards/run_card.dat``. The same directory still runs with MadEvent (``bin/generate_events``).

Installed with mlgen as the top-level package ``mlgen_madgraph5``; MadGraph5 (3.7.1 or later, with
its CUDACPP_OUTPUT plugin) loads PLUGINs from its own ``PLUGIN/`` folder, so link this package's
directory there as ``PLUGIN/mlgen``, with mlgen installed in the Python MadGraph5 runs under::

    here=$(python -c 'import importlib.util as u; print(u.find_spec("mlgen_madgraph5").origin)')
    ln -s "$(dirname "$here")" $MG5DIR/PLUGIN/mlgen

Then in ``mg5_aMC``: ``generate g g > t t~``, ``output mlgen gg_tt``, and ``gg_tt/bin/mlgen_launch``.
Outside MadGraph5 this package does not import (one line says why); ``mlgen run DIR`` needs none of it.
"""

from .exporter import MlgenExporter

__all__ = [
    "MlgenExporter",
    "latest_validated_version",
    "maximal_mg5amcnlo_version",
    "minimal_mg5amcnlo_version",
    "new_interface",
    "new_output",
]

#: output formats this plugin adds: ``output mlgen DIR``; MadGraph5 also finds the matrix-element
#: exporter here by the name ``change_output_args`` gives it (``--me_exporter=mlgen``)
new_output = {"mlgen": MlgenExporter}

#: no new command interface (``mg5_aMC --mode=mlgen``): mlgen's own CLI runs the directory
new_interface = None

# the MadGraph5 versions this plugin is written for (checked by misc.is_plugin_supported): the
# change_output_args / --me_exporter route as read in MadGraph5's interface (Qubitol/mg5amcnlo
# 05c4b59, a recent fork of mg5amcnlo) and in the CUDACPP plugin of madgraph4gpu 82c6b1b (which asks
# for 3.7.1), whose output (the .mad test data) mlgen reads in its tests; the exporter itself has not
# run inside MadGraph5 (none can be installed here)
minimal_mg5amcnlo_version = (3, 7, 1)
maximal_mg5amcnlo_version = (1000, 1000, 1000)
latest_validated_version = (3, 7, 1)
