"""MadGraph5_aMC@NLO CUDACPP process directories as mlgen matrix elements (build, C interface, protocol)."""

from mlgen.matrix.mg5.build import MG5BuildError, build_process_library, choose_backend
from mlgen.matrix.mg5.matrix_element import MadGraphCPP, is_cpp_directory, madgraph

__all__ = [
    "MG5BuildError",
    "MadGraphCPP",
    "build_process_library",
    "choose_backend",
    "is_cpp_directory",
    "madgraph",
]
