"""What a model field can hold, read once per model class from its annotation, so that the walks over every tool
result (card masking in app/security/minimisation.py, guest-text marking in app/security/untrusted.py) skip the
fields that cannot matter to them instead of visiting every field of every result.

A field is INERT when no value its annotation admits holds text or a container (numbers, booleans, dates, None,
non-text enums and literals), TEXT when at most a plain string, and ANY otherwise (a model, list, dict, Any...,
which the walks enter as before). Pydantic validates a field against its annotation, so a value of a model built
the usual way is of the kind the annotation says.
"""

from __future__ import annotations

import datetime as dt
import enum
import types
import typing
from decimal import Decimal
from functools import cache
from typing import Annotated, Any, Literal, get_args, get_origin

from pydantic import BaseModel

INERT, TEXT, ANY = 0, 1, 2

_INERT_TYPES = (type(None), bool, int, float, Decimal, dt.date, dt.datetime, dt.time, dt.timedelta)


def kind_of(annotation: Any) -> int:
    """INERT, TEXT or ANY for one annotation (the widest kind of a union's members)."""
    origin = get_origin(annotation)
    if origin is Annotated:
        return kind_of(get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        return max((kind_of(a) for a in get_args(annotation)), default=ANY)
    if origin is Literal:
        return TEXT if any(isinstance(v, str) for v in get_args(annotation)) else INERT
    if not isinstance(annotation, type) or origin is not None:
        return ANY
    if issubclass(annotation, str):
        return TEXT
    if issubclass(annotation, enum.Enum):
        return ANY  # a mixed-in value type the walks may care about: entered as before
    return INERT if issubclass(annotation, _INERT_TYPES) else ANY


@cache
def field_kinds(model: type[BaseModel]) -> tuple[tuple[str, int], ...]:
    """(name, kind) for every declared field of `model`, in declaration order."""
    return tuple((name, kind_of(info.annotation)) for name, info in model.model_fields.items())
