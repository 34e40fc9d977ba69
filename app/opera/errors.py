"""One exception tree for everything OHIP can answer (the httpx `_exceptions.py` shape).

OperaError
├── OperaAuthError            the token endpoint refused us, or a business call stayed 401 after one refresh
├── OperaForbiddenError       403: the integration user may not do this for this hotel
├── OperaNotFoundError        404, or 204 on a by-id read
├── OperaBadRequestError      400 (OHIP's exceptionDetailType carries detail and o:errorCode)
├── OperaConflictError        409 / 422 style business refusals
├── OperaServerError          5xx after retries
├── OperaRateLimitedError     429 after retries
├── OperaUnavailableError     the circuit breaker is open: failing fast for a cool-down
├── OperaLimiterTimeoutError  the local outbound limiter queue wait exceeded its bound
├── OperaTimeoutError         no answer in time (idempotent requests retried first)
├── OperaConnectionError      could not connect (retried first)
└── OperaOutcomeUnknownError  a non-idempotent request may have reached OHIP; deliberately not retried

Messages never contain credentials, tokens or request bodies.
"""

from __future__ import annotations

from typing import Any


class OperaError(Exception):
    """Base of every OHIP failure. `describe()` is safe to show to an agent."""

    def __init__(
        self,
        message: str,
        *,
        operation: str | None = None,
        status: int | None = None,
        detail: str | None = None,
        error_code: str | None = None,
        request_id: str | None = None,
        hotel_id: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.operation = operation
        self.status = status
        self.detail = detail
        self.error_code = error_code
        self.request_id = request_id
        self.hotel_id = hotel_id

    def describe(self) -> str:
        parts = [self.message]
        ohip = []
        if self.status is not None:
            ohip.append(f"HTTP {self.status}")
        if self.error_code:
            ohip.append(self.error_code)
        if ohip or self.detail:
            text = " ".join(ohip)
            if self.detail and self.detail not in self.message:
                text = f"{text}: {self.detail}" if text else self.detail
            parts.append(f"(OHIP {text})" if text else "")
        if self.request_id:
            parts.append(f"[x-request-id {self.request_id}]")
        return " ".join(p for p in parts if p)

    @classmethod
    def from_body(cls, message: str, body: Any, **kwargs: Any) -> OperaError:
        """Build from an OHIP exceptionDetailType body (RFC 7807 with o: extensions), tolerating anything."""
        detail = error_code = None
        if isinstance(body, dict):
            detail = body.get("detail") or body.get("title")
            error_code = body.get("o:errorCode")
            details = body.get("o:errorDetails")
            if not detail and isinstance(details, list) and details and isinstance(details[0], dict):
                detail = details[0].get("detail") or details[0].get("title")
        return cls(message, detail=_clip(detail), error_code=_clip(error_code), **kwargs)


def _clip(value: Any, limit: int = 500) -> str | None:
    if value is None:
        return None
    text = str(value)
    return text if len(text) <= limit else text[:limit] + "..."


class OperaAuthError(OperaError):
    pass


class OperaForbiddenError(OperaError):
    pass


class OperaNotFoundError(OperaError):
    pass


class OperaBadRequestError(OperaError):
    pass


class OperaConflictError(OperaError):
    pass


class OperaServerError(OperaError):
    pass


class OperaRateLimitedError(OperaError):
    pass


class OperaUnavailableError(OperaError):
    def __init__(self, message: str, *, retry_after: float, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class OperaLimiterTimeoutError(OperaError):
    pass


class OperaTimeoutError(OperaError):
    pass


class OperaConnectionError(OperaError):
    pass


class OperaOutcomeUnknownError(OperaError):
    def __init__(self, message: str, *, next_step: str | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.next_step = next_step


class OperaSharedStateError(OperaError):
    """The shared state store (Redis) did not answer: what must agree across replicas cannot be read or written."""
