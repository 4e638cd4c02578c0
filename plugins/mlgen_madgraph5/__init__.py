"""mlgen as a MadGraph5 PLUGIN: ``output mlgen DIR``.

Installed with mlgen as the top-level package ``mlgen_madgraph5``. MadGraph5 loads
PLUGINs from its own ``PLUGIN/`` folder, so link (or copy) this package's directory
there as ``PLUGIN/mlgen``, with mlgen installed in the Python MadGraph5 runs under::

    here=$(python -c 'import importlib.util as u; print(u.find_spec("mlgen_madgraph5").origin)')
    ln -s "$(dirname "$here")" $MG5DIR/PLUGIN/mlgen

(from a checkout: ``ln -s $MLGEN/plugins/mlgen_madgraph5 $MG5DIR/PLUGIN/mlgen``). Then in ``mg5_aMC``::

    import model sm
    generate p p > e+ e-
    output mlgen pp_ee
    # then: pp_ee/bin/mlgen_launch   (builds all_matrix2py.so, runs mlgen run Cards/mlgen_card.toml)

MadGraph5 reads the module-level fields below (``new_output``, ``new_interface``
and the version fields); see ``../shared/research/ecosystem.md``.
"""

from .exporter import MlgenExporter

#: output formats this plugin adds: ``output mlgen DIR``
new_output = {"mlgen": MlgenExporter}

#: no new command interface (``mg5_aMC --mode=mlgen``): mlgen's own CLI runs the directory
new_interface = None

# the MadGraph5 versions this plugin is written for (checked by misc.is_plugin_supported)
minimal_mg5amcnlo_version = (3, 5, 0)
maximal_mg5amcnlo_version = (1000, 1000, 1000)
latest_validated_version = (3, 6, 0)
