"""Find a matrix element by name: a built-in, ``module:attr`` or ``path/to/file.py:attr``."""

from __future__ import annotations

__all__ = ["load_matrix_element", "load_user_matrix_element"]

import importlib
import importlib.util
import inspect
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from mlgen.matrix.base import MatrixElement
from mlgen.matrix.builtin import MATRIX_ELEMENTS


def _import_attr(spec: str, base_dir: Path | None) -> Any:
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
        loader_spec.loader.exec_module(module)
    else:
        try:
            module = importlib.import_module(module_name)
        except ImportError as err:
            raise ValueError(f"matrix element {spec!r}: cannot import {module_name!r}: {err}") from None
    try:
        return getattr(module, attr)
    except AttributeError:
        raise ValueError(f"matrix element {spec!r}: {module_name!r} has no attribute {attr!r}") from None


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
    if spec in MATRIX_ELEMENTS:
        target = _import_attr(MATRIX_ELEMENTS[spec], None)
    else:
        target = _import_attr(spec, base_dir)
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

    function = _import_attr(spec, base_dir)
    if not callable(function):
        raise ValueError(f"matrix element {spec!r} is not callable")
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
