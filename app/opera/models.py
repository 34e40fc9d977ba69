"""Shared pieces of our normalized domain models; each OHIP module keeps its own models beside its client."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class Money(BaseModel):
    amount: float
    currency: str | None = None


class PageInfo(BaseModel):
    """Where a list page sits in the whole result, so an agent knows whether and how to ask for more."""

    offset: int = Field(description="index of the first item of this page")
    limit: int = Field(description="page size asked for")
    count: int = Field(description="items in this page")
    total: int | None = Field(default=None, description="total matches, when OHIP says")
    has_more: bool = Field(description="true when more items follow; ask again with offset=next_offset")
    next_offset: int | None = Field(default=None, description="the offset for the next page, when has_more")


class ExternalReference(BaseModel):
    """An id another system gave an OPERA record (OHIP `externalReferences`: `id` within `idContext`, the external
    system code): how this server finds its own writes again."""

    system: str
    id: str

    def body(self) -> dict[str, str]:
        return {"id": self.id, "idContext": self.system}


class OperaWarning(BaseModel):
    """A soft problem OHIP reported on a successful call (returned to the agent, never dropped)."""

    code: str | None = None
    message: str


def as_text(value: Any) -> str | None:
    """A scalar from an OHIP body as trimmed text; None for missing, empty or structured values."""
    if value is None or isinstance(value, (dict, list)):
        return None
    text = str(value).strip()
    return text or None


def warnings_from(body: dict[str, Any] | None) -> list[OperaWarning]:
    raw = (body or {}).get("warnings")
    out: list[OperaWarning] = []
    if isinstance(raw, list):
        for w in raw:
            if isinstance(w, dict):
                text = w.get("value") or w.get("shortText") or w.get("type") or "warning"
                out.append(OperaWarning(code=w.get("code"), message=str(text)))
    return out
