"""The person behind an eliciting MCP client, for tests of confirmation questions."""

from __future__ import annotations

from typing import Any

from mcp.types import ElicitResult


class Human:
    """Records every question asked and answers it with `answer` ("accept" says yes; anything else declines)."""

    def __init__(self, answer: str = "accept") -> None:
        self.answer = answer
        self.asked: list[str] = []

    async def __call__(self, context: Any, params: Any) -> ElicitResult:
        self.asked.append(params.message)
        if self.answer == "accept":
            return ElicitResult(action="accept", content={"confirm": True})
        return ElicitResult(action="decline")


class DeskPostsMeanwhile(Human):
    """Says yes, but while the first question is being read the front desk posts a charge to the stay's folio."""

    def __init__(self, enterprise: Any, reservation_id: str, amount: float, hotel_id: str = "SAND01") -> None:
        super().__init__()
        self.enterprise, self.reservation_id, self.amount, self.hotel_id = enterprise, reservation_id, amount, hotel_id

    async def __call__(self, context: Any, params: Any) -> ElicitResult:
        if not self.asked:
            self.enterprise.post_charge(self.hotel_id, self.reservation_id, "2010", self.amount, reference="minibar")
        return await super().__call__(context, params)
