"""Serialize the requests of services whose moto backends are not thread-safe.

moto's IAM backend iterates its role and policy dicts without a lock, so with the threaded server a
CreateRole in one request and a GetRole in another fail with "dictionary changed size during
iteration" (a 500 that the SDK reads as an XML parse error). Tests seed clusters in parallel, so IAM
and STS (which reads IAM's roles) requests run one at a time; other services stay concurrent.
"""

from __future__ import annotations

import re
import threading
from typing import Any, Callable, Iterable

SERIAL_SERVICES = frozenset({"iam", "sts"})
_SCOPE = re.compile(r"Credential=[^/,\s]+/\d{8}/[^/,\s]+/([^/,\s]+)/aws4_request")


class SerializeServices:
    """WSGI middleware: one request at a time for SERIAL_SERVICES, the body read inside the lock."""

    def __init__(self, app: Callable[..., Iterable[bytes]], services: frozenset[str] = SERIAL_SERVICES) -> None:
        self.app = app
        self.services = services
        self.lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        m = _SCOPE.search(environ.get("HTTP_AUTHORIZATION") or "")
        if m is None or m.group(1) not in self.services:
            return self.app(environ, start_response)
        with self.lock:
            body = self.app(environ, start_response)
            try:
                return [b"".join(body)]
            finally:
                close = getattr(body, "close", None)
                if close is not None:
                    close()
