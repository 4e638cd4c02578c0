"""Turn TOML tables into the frozen dataclasses of :mod:`mlgen.cards.schema`.

Every error names the card file and the dotted key, and says what was
expected, e.g. ``cards/dy.toml: [integrator] n_iter: expected an integer >= 1,
got -3``. ``--set key=value`` overrides are applied to the raw tables before
validation, so they are checked exactly like the card itself.
"""

from __future__ import annotations

__all__ = ["CardError", "apply_override", "from_table", "load_card", "parse_card"]

import dataclasses
import sys
import types
import typing
import warnings
from pathlib import Path
from typing import Any, Literal, Union, get_args, get_origin, get_type_hints

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


class CardError(ValueError):
    """A run card (or an override) is malformed; the message names file and key."""


def _describe(tp: Any) -> str:
    origin = get_origin(tp)
    if origin is Literal:
        return "one of " + ", ".join(repr(a) for a in get_args(tp))
    if origin in (Union, types.UnionType):
        return " or ".join(_describe(a) for a in get_args(tp))
    if origin is tuple:
        return f"a list of {_describe(get_args(tp)[0])}"
    if origin is dict:
        return "a table"
    if dataclasses.is_dataclass(tp):
        return "a table"
    return {
        int: "an integer",
        float: "a number",
        str: "a string",
        bool: "true or false",
        type(None): "nothing",
    }.get(tp, str(tp))


def _convert(value: Any, tp: Any, where: str) -> Any:
    origin = get_origin(tp)
    if tp is Any:
        return value
    if origin in (Union, types.UnionType):
        options = [a for a in get_args(tp) if a is not type(None)]
        if value is not None and len(options) == 1:
            # an optional table or value: its own error (naming the inner key) is the useful one
            return _convert(value, options[0], where)
        errors = []
        for option in get_args(tp):
            try:
                return _convert(value, option, where)
            except CardError as err:
                errors.append(err)
        raise CardError(f"{where}: expected {_describe(tp)}, got {value!r}")
    if origin is Literal:
        if value in get_args(tp):
            return value
        raise CardError(f"{where}: expected {_describe(tp)}, got {value!r}")
    if origin is tuple:
        if not isinstance(value, list | tuple):
            raise CardError(f"{where}: expected {_describe(tp)}, got {value!r}")
        item_types = get_args(tp)
        if len(item_types) == 2 and item_types[1] is Ellipsis:
            return tuple(_convert(v, item_types[0], f"{where}[{i}]") for i, v in enumerate(value))
        if len(value) != len(item_types):
            raise CardError(f"{where}: expected a list of {len(item_types)} values, got {value!r}")
        return tuple(_convert(v, t, f"{where}[{i}]") for i, (v, t) in enumerate(zip(value, item_types)))
    if origin is dict:
        if not isinstance(value, dict):
            raise CardError(f"{where}: expected a table, got {value!r}")
        return dict(value)
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        if not isinstance(value, dict):
            raise CardError(f"{where}: expected a table, got {value!r}")
        return from_table(tp, value, where)
    if tp is bool:
        if isinstance(value, bool):
            return value
    elif tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif tp is float:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
    elif tp is str:
        if isinstance(value, str):
            return value
    elif tp is type(None):
        if value is None:
            return None
    raise CardError(f"{where}: expected {_describe(tp)}, got {value!r}")


def from_table(cls: type, table: dict[str, Any], where: str) -> Any:
    """Build dataclass ``cls`` from a TOML table, checking keys and types.

    After construction the dataclass's ``validate()`` (when it has one) checks
    values; it raises ``ValueError("key: message")`` which is re-raised naming
    ``where``.
    """
    hints = get_type_hints(cls)
    table = _renamed(cls, table, where)
    names = {f.name for f in dataclasses.fields(cls) if not f.metadata.get("internal")}
    unknown = sorted(set(table) - names)
    if unknown:
        prefix = f"{where}: " if where else ""
        raise CardError(f"{prefix}unknown key {unknown[0]!r} (allowed: {', '.join(sorted(names))})")
    kwargs = {}
    for field in dataclasses.fields(cls):
        if field.name not in names:
            continue
        if field.name in table:
            sub = f"{where}.{field.name}" if where else field.name
            kwargs[field.name] = _convert(table[field.name], hints[field.name], sub)
        elif field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING:
            prefix = f"{where}: " if where else ""
            raise CardError(f"{prefix}missing required key {field.name!r} ({_describe(hints[field.name])})")
    obj = cls(**kwargs)
    check = getattr(obj, "validate", None)
    if check is not None:
        try:
            check()
        except ValueError as err:
            raise CardError(f"{where}.{err}" if where else str(err)) from None
    return obj


def _renamed(cls: type, table: dict[str, Any], where: str) -> dict[str, Any]:
    """``table`` with keys under their old names (a field's ``old_name``) moved to the new ones."""
    table = dict(table)
    for field in dataclasses.fields(cls):
        old = field.metadata.get("old_name")
        if old is None or old not in table:
            continue
        key = f"{where}.{old}" if where else old
        if field.name in table:
            raise CardError(f"{key}: the old name of {field.name!r}; give one of the two")
        warnings.warn(f"{key} is deprecated: it is now called {field.name!r}", FutureWarning, stacklevel=2)
        table[field.name] = table.pop(old)
    return table


def _parse_value(text: str) -> Any:
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def apply_override(table: dict[str, Any], assignment: str) -> None:
    """Apply ``key.sub=value`` (value in TOML syntax, bare words as strings) to ``table``."""
    if "=" not in assignment:
        raise CardError(f"--set {assignment!r}: expected key=value, e.g. integrator.n_iter=5")
    key, _, text = assignment.partition("=")
    parts = key.strip().split(".")
    node = table
    for part in parts[:-1]:
        node = node.setdefault(part, {})
        if not isinstance(node, dict):
            raise CardError(f"--set {assignment!r}: {part!r} is not a table")
    node[parts[-1]] = _parse_value(text.strip())


def parse_card(text: str, source: str = "<card>", overrides: typing.Sequence[str] = ()) -> Any:
    """Parse card text (TOML) into a :class:`~mlgen.cards.schema.Card`."""
    from mlgen.cards.schema import Card

    try:
        table = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise CardError(f"{source}: not valid TOML: {err}") from None
    for assignment in overrides:
        apply_override(table, assignment)
    try:
        card = from_table(Card, table, "")
    except CardError as err:
        raise CardError(f"{source}: {err}") from None
    return dataclasses.replace(card, source=source, given=frozenset(_dotted_keys(table)))


def _dotted_keys(table: dict[str, Any], prefix: str = "") -> list[str]:
    """Every key of ``table`` and of its sub-tables, dotted (``scales``, ``scales.mu_r``)."""
    keys = []
    for key, value in table.items():
        keys.append(prefix + key)
        if isinstance(value, dict):
            keys += _dotted_keys(value, f"{prefix}{key}.")
    return keys


def load_card(path: str | Path, overrides: typing.Sequence[str] = ()) -> Any:
    """Read and validate a TOML run card; ``overrides`` are ``key=value`` strings."""
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as err:
        raise CardError(f"{path}: cannot read card: {err.strerror}") from None
    return parse_card(text, str(path), overrides)
