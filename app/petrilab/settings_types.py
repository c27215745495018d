"""A setting's value as its declared type (a TOML file, JSON and `--set` give numbers, text, lists and
tables), or a plain error that names the key and the type expected (used by settings.py)."""

from __future__ import annotations

import types
import typing

from petrilab.errors import UserError


def _describe(tp) -> str:
    return {
        str: "text",
        int: "a whole number",
        float: "a number",
        bool: "true or false",
        list[int]: "a list of whole numbers, like [32, 64]",
        list[str]: 'a list of names, like ["a", "b"]',
        list[float]: "a list of numbers, like [0.5, 1.5]",
        float | str: 'a number or "auto"',
        dict[str, str]: 'a table of names, like {x = "position_x", count = "invariant"}',
    }.get(tp, str(tp))


def coerce(key: str, value, tp):
    """`value` as type `tp`, or a UserError naming `key` and the expected type."""
    wrong = UserError(
        f"The setting '{key}' must be {_describe(tp)}, not {value!r}.",
        fix=f"Change '{key}' in the settings file.",
    )
    if tp is bool:
        if isinstance(value, bool):
            return value
        raise wrong
    if tp is int:
        if isinstance(value, bool):
            raise wrong
        if isinstance(value, int):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        raise wrong
    if tp is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        raise wrong
    if tp is str:
        if isinstance(value, str):
            return value
        raise wrong
    if typing.get_origin(tp) in (typing.Union, types.UnionType):  # e.g. float | str: a number or a word
        for option in (float, int, str):
            if option in typing.get_args(tp):
                try:
                    return coerce(key, value, option)
                except UserError:
                    pass
        raise wrong
    if typing.get_origin(tp) is dict:
        kinds, values = typing.get_args(tp)
        if not isinstance(value, dict):
            raise wrong
        return {coerce(key, k, kinds): coerce(key, v, values) for k, v in value.items()}
    if typing.get_origin(tp) is list:
        (inner,) = typing.get_args(tp)
        if not isinstance(value, list):
            raise wrong
        return [coerce(key, v, inner) for v in value]
    raise wrong
