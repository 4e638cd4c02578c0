"""Find a matrix element by name: a built-in, ``module:attr`` or ``path/to/file.py:attr``.

A card that names Python code runs it: importing a module or a file executes it, and the named
object is called. So what a card may name is narrow (issue 27): never a module of Python's standard
library (``os:system``, ``subprocess:run`` and ``builtins:exec`` are refused before anything is
imported); a matrix element is a MatrixElement object, a class with ``__call__``, or a factory
function written in the user's own module or file; a hook step or an ``|M|^2`` function is a
function (or class) written in the user's own code, not a name re-exported from an installed package.
"""

from __future__ import annotations

__all__ = ["CodeRefused", "check_callable", "import_code", "load_matrix_element", "load_user_matrix_element"]

import importlib
import importlib.util
import inspect
import sys
import sysconfig
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

from mlgen.matrix.base import MatrixElement
from mlgen.matrix.builtin import MATRIX_ELEMENTS

#: Python's own modules: a card naming one (``os:system``, ``subprocess:run``, ``builtins:exec``)
#: names no matrix element or hook, only a way to run commands; refused before it is imported
_STDLIB = frozenset(sys.stdlib_module_names) | {"builtins", "__main__", "__future__"}
#: where installed code lives (the standard library, site-packages): a factory *function* found
#: there is not the user's, however its module is named
_INSTALLED = tuple(
    Path(sysconfig.get_paths()[key]).resolve() for key in ("stdlib", "platstdlib", "purelib", "platlib")
)

#: the modules loaded from a ``file.py`` a card names (the user's code wherever the file is)
_CARD_FILES: set[str] = set()


class CodeRefused(ValueError):
    """A card names Python code outside what the matrix-element and hook protocols accept."""


def _users_code(module: ModuleType) -> bool:
    """Whether ``module`` is the user's own code: a ``file.py`` a card names, or a module importable
    from outside Python's installation (its standard library and site-packages) and outside mlgen
    (whose steps and matrix elements a card names by their registered names)."""
    if module.__name__ in _CARD_FILES:
        return True
    if module.__name__.split(".")[0] == "mlgen":  # mlgen's functions are reached by their names only
        return False
    file = getattr(module, "__file__", None)
    if not file:
        return False
    path = Path(file).resolve()
    return not any(path.is_relative_to(root) for root in _INSTALLED)


def _import_attr(
    spec: str, base_dir: Path | None, key: str = "process.matrix_element"
) -> tuple[Any, ModuleType]:
    """The object ``spec`` (``module:attr`` or ``path/to/file.py:attr``) names, and its module.

    Raises:
        CodeRefused: ``spec`` names a module of Python's standard library (before importing it).
        ValueError: no such module, file or attribute.
    """
    module_name, _, attr = spec.rpartition(":")
    if not module_name or not attr:
        raise ValueError(
            f"matrix element {spec!r}: expected a registered name ({', '.join(sorted(MATRIX_ELEMENTS))}), "
            "module:attr or path/to/file.py:attr"
        )
    if module_name.endswith(".py"):
        path = Path(module_name)
        if not path.is_absolute() and base_dir is not None and not path.exists():
            path = base_dir / path
        if not path.is_file():
            raise ValueError(f"matrix element {spec!r}: no such file {path}")
        name = f"mlgen_user_{abs(hash(str(path.resolve())))}"
        loader_spec = importlib.util.spec_from_file_location(name, path)
        assert loader_spec is not None and loader_spec.loader is not None
        module = importlib.util.module_from_spec(loader_spec)
        sys.modules[name] = module
        _CARD_FILES.add(name)
        loader_spec.loader.exec_module(module)
    else:
        if module_name.split(".")[0] in _STDLIB:
            raise CodeRefused(
                f"{key} = {spec!r} refused: {module_name!r} is Python's standard library, not a "
                f"{'hook' if key.startswith('hooks') else 'matrix element'} (cards that name code run it: "
                "a card may name only a user's module or file)"
            )
        try:
            module = importlib.import_module(module_name)
        except ImportError as err:
            raise ValueError(f"matrix element {spec!r}: cannot import {module_name!r}: {err}") from None
    try:
        return getattr(module, attr), module
    except AttributeError:
        raise ValueError(f"matrix element {spec!r}: {module_name!r} has no attribute {attr!r}") from None


def _defined_in_users_code(target: Any, module: ModuleType) -> bool:
    """``target`` is a function or class written in ``module``, and ``module`` is the user's code
    (not a name re-exported from the standard library or an installed package)."""
    return (
        (inspect.isfunction(target) or inspect.isclass(target))
        and getattr(target, "__module__", None) == module.__name__
        and _users_code(module)
    )


def check_callable(spec: str, target: Any, module: ModuleType, key: str) -> None:
    """Refuse ``target`` unless it is a function or a class the user wrote (for a hook step or an
    ``|M|^2`` function), or a callable object of such a class.

    Raises:
        CodeRefused: one line naming ``key`` and what it named.
    """
    if _defined_in_users_code(target, module):
        return
    if not inspect.isclass(target) and callable(target) and _defined_in_users_code(type(target), module):
        return
    kind = type(target).__name__
    origin = getattr(target, "__module__", None) or module.__name__
    raise CodeRefused(
        f"{key} = {spec!r} refused: it names a {kind} from {origin!r}, "
        "not a function or class written in the user's own module or file (cards that name code run it)"
    )


def _check_matrix_element(spec: str, target: Any, module: ModuleType) -> None:
    """A card's ``matrix_element`` may name a MatrixElement object, a class with ``__call__``
    (a MatrixElement once built), or a factory function the user wrote; nothing else is called."""
    if isinstance(target, MatrixElement) and not inspect.isclass(target):
        return
    origin = getattr(target, "__module__", "") or ""
    if (
        inspect.isclass(target)
        and "__call__" in dir(target)
        and origin.split(".")[0] not in _STDLIB
        and (origin.split(".")[0] != "mlgen" or origin.startswith("mlgen.matrix."))
    ):
        return
    check_callable(spec, target, module, "process.matrix_element")


def load_matrix_element(
    spec: str, options: dict[str, Any] | None = None, *, base_dir: Path | None = None, **context: Any
) -> MatrixElement:
    """Build a matrix element.

    Arguments:
        spec: a registered name (:data:`mlgen.matrix.builtin.MATRIX_ELEMENTS`), ``module:attr`` or
            ``path/to/file.py:attr`` (relative paths are tried against ``base_dir``,
            the card's directory). ``attr`` is a matrix element object, or a class or
            factory returning one.
        options: keyword arguments for the factory (the card's ``[process] options``);
            an option the factory does not accept is an error naming it.
        context: keyword arguments passed only if the factory accepts them
            (``parameters`` — the SM parameters —, ``device``, ``name``; ``base_dir`` too).

    Returns:
        An object satisfying :class:`~mlgen.matrix.base.MatrixElement`.
    """
    options = dict(options or {})
    if spec in MATRIX_ELEMENTS:  # mlgen's own: trusted
        target, _ = _import_attr(MATRIX_ELEMENTS[spec], None)
    else:
        target, module = _import_attr(spec, base_dir)
        _check_matrix_element(spec, target, module)
    if isinstance(target, MatrixElement):
        if options:
            raise ValueError(
                f"matrix element {spec!r} is an object; it takes no options (got {sorted(options)})"
            )
        return target
    if not callable(target):
        raise ValueError(f"matrix element {spec!r} is neither a matrix element nor a factory")
    me = _call_with_options(spec, target, options, {**context, "base_dir": base_dir})
    if not isinstance(me, MatrixElement):
        raise ValueError(
            f"matrix element {spec!r}: the factory returned {type(me).__name__}, "
            "which lacks the MatrixElement attributes (name, subprocesses, masses, ...)"
        )
    return me


def _call_with_options(
    spec: str, factory: Callable[..., Any], options: dict[str, Any], context: dict[str, Any]
) -> Any:
    try:
        signature = inspect.signature(factory)
    except (TypeError, ValueError):
        return factory(**options)
    params = signature.parameters
    takes_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
    for key in options:
        if key not in params and not takes_any:
            allowed = [k for k in params if k not in context]
            raise ValueError(
                f"process.options.{key}: {spec!r} has no option {key!r} (allowed: {', '.join(allowed)})"
            )
    kwargs = {k: v for k, v in context.items() if k in params and k not in options}
    try:
        return factory(**options, **kwargs)
    except TypeError as err:
        raise ValueError(f"process.options: {spec!r} rejected its options: {err}") from None


def load_user_matrix_element(
    spec: str, user: Any, *, base_dir: Path | None = None, name: str = ""
) -> MatrixElement:
    """Wrap the ``|M|^2`` function ``spec`` (``module:attr`` or ``file.py:attr``) as a matrix element.

    ``user`` is the card's ``[process.user]`` table (:class:`~mlgen.cards.schema.UserMatrixElementCard`).
    """
    from mlgen.matrix.user import UserMatrixElement
    from mlgen.physics.propagators import Propagator

    function, module = _import_attr(spec, base_dir)
    if not callable(function):
        raise ValueError(f"matrix element {spec!r} is not callable")
    check_callable(spec, function, module, "process.matrix_element")
    try:
        return UserMatrixElement(
            function,
            user.subprocesses,
            kind=user.kind,
            masses=user.masses,
            colour=user.colour,
            propagators=[Propagator(tuple(p.daughters), p.mass, p.width, p.pdg) for p in user.propagators],
            name=name,
        )
    except ValueError as err:
        raise ValueError(f"process.user.{err}") from None


def import_code(spec: str, base_dir: Path | None, key: str) -> Any:
    """The function or class ``spec`` (``module:attr`` or ``file.py:attr``) names for the card key
    ``key``, if the user wrote it (:func:`check_callable`); for hook steps.

    Raises:
        CodeRefused: a standard-library module, or an object that is not the user's function or class.
        ValueError: no such module, file or attribute.
    """
    target, module = _import_attr(spec, base_dir, key)
    check_callable(spec, target, module, key)
    return target
