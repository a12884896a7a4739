"""Fault injection for the sandbox's moto server: make chosen AWS API calls fail on purpose.

End-to-end tests use it to simulate an AWS failure between two writes of an apply. Rules are managed
through the admin server (POST/GET/DELETE /faults); `FaultInjector` wraps moto's WSGI application and
answers a matching request itself, before moto sees it, with an error in the service's own protocol so
that the AWS SDKs parse its code and HTTP status as they would a real AWS error.

A rule: {"operation": "CreateQueue", "count": 1, "status": 500, "code": "InternalFailure",
"message": "...", "accountId": "123456789012", "service": "sqs"}; only `operation` is required.
`accountId` limits the rule to calls made in that moto account, which keeps a test's fault away from
other tests sharing the sandbox. `service` is the signing name (sqs, iam, ec2, eks, events, ...).
"""

from __future__ import annotations

import datetime
import gzip
import http
import io
import itertools
import json
import os
import re
import sys
import threading
import uuid
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Iterable
from urllib.parse import parse_qs, urlsplit
from xml.sax.saxutils import escape

DEFAULT_ACCOUNT = "123456789012"
CODE_RE = re.compile(r"^[A-Za-z0-9_.:#-]{1,128}$")
CREDENTIAL_RE = re.compile(r"Credential=([^/,\s]+)/\d{8}/([^/,\s]+)/([^/,\s]+)/aws4_request")
EC2_API_VERSION = "2016-11-15"

# EKS speaks REST-JSON: the operation is only in the method and path. Segments are matched on the raw
# (still percent-encoded) path, where ARNs in a path stay one segment.
_SEG = r"[^/]+"
EKS_ROUTES: list[tuple[str, re.Pattern[str], str]] = [
    (method, re.compile(f"^{pattern}/?$"), op)
    for method, pattern, op in [
        ("POST", "/clusters", "CreateCluster"),
        ("GET", "/clusters", "ListClusters"),
        ("GET", f"/clusters/{_SEG}", "DescribeCluster"),
        ("DELETE", f"/clusters/{_SEG}", "DeleteCluster"),
        ("POST", f"/clusters/{_SEG}/update-config", "UpdateClusterConfig"),
        ("POST", f"/clusters/{_SEG}/updates", "UpdateClusterVersion"),
        ("GET", f"/clusters/{_SEG}/updates", "ListUpdates"),
        ("GET", f"/clusters/{_SEG}/updates/{_SEG}", "DescribeUpdate"),
        ("POST", f"/clusters/{_SEG}/access-entries", "CreateAccessEntry"),
        ("GET", f"/clusters/{_SEG}/access-entries", "ListAccessEntries"),
        ("GET", f"/clusters/{_SEG}/access-entries/{_SEG}", "DescribeAccessEntry"),
        ("POST", f"/clusters/{_SEG}/access-entries/{_SEG}", "UpdateAccessEntry"),
        ("DELETE", f"/clusters/{_SEG}/access-entries/{_SEG}", "DeleteAccessEntry"),
        ("POST", f"/clusters/{_SEG}/access-entries/{_SEG}/access-policies", "AssociateAccessPolicy"),
        ("GET", f"/clusters/{_SEG}/access-entries/{_SEG}/access-policies", "ListAssociatedAccessPolicies"),
        ("DELETE", f"/clusters/{_SEG}/access-entries/{_SEG}/access-policies/{_SEG}", "DisassociateAccessPolicy"),
        ("GET", "/access-policies", "ListAccessPolicies"),
        ("POST", f"/clusters/{_SEG}/pod-identity-associations", "CreatePodIdentityAssociation"),
        ("GET", f"/clusters/{_SEG}/pod-identity-associations", "ListPodIdentityAssociations"),
        ("GET", f"/clusters/{_SEG}/pod-identity-associations/{_SEG}", "DescribePodIdentityAssociation"),
        ("POST", f"/clusters/{_SEG}/pod-identity-associations/{_SEG}", "UpdatePodIdentityAssociation"),
        ("DELETE", f"/clusters/{_SEG}/pod-identity-associations/{_SEG}", "DeletePodIdentityAssociation"),
        ("POST", f"/clusters/{_SEG}/addons", "CreateAddon"),
        ("GET", f"/clusters/{_SEG}/addons", "ListAddons"),
        ("GET", f"/clusters/{_SEG}/addons/{_SEG}", "DescribeAddon"),
        ("DELETE", f"/clusters/{_SEG}/addons/{_SEG}", "DeleteAddon"),
        ("POST", f"/clusters/{_SEG}/addons/{_SEG}/update", "UpdateAddon"),
        ("GET", "/addons/supported-versions", "DescribeAddonVersions"),
        ("POST", f"/clusters/{_SEG}/node-groups", "CreateNodegroup"),
        ("GET", f"/clusters/{_SEG}/node-groups", "ListNodegroups"),
        ("GET", f"/clusters/{_SEG}/node-groups/{_SEG}", "DescribeNodegroup"),
        ("DELETE", f"/clusters/{_SEG}/node-groups/{_SEG}", "DeleteNodegroup"),
        ("POST", f"/clusters/{_SEG}/node-groups/{_SEG}/update-config", "UpdateNodegroupConfig"),
        ("POST", f"/clusters/{_SEG}/node-groups/{_SEG}/update-version", "UpdateNodegroupVersion"),
        ("GET", f"/tags/{_SEG}", "ListTagsForResource"),
        ("POST", f"/tags/{_SEG}", "TagResource"),
        ("DELETE", f"/tags/{_SEG}", "UntagResource"),
    ]
]


def log(line: str) -> None:
    sys.stderr.write(line.rstrip("\n") + "\n")
    sys.stderr.flush()


def _now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat()


# ---------------------------------------------------------------- rules


@dataclass
class FaultRule:
    id: str
    operation: str
    count: int
    status: int
    code: str
    message: str
    account_id: str | None
    service: str | None
    remaining: int
    created_at: str = field(default_factory=_now)
    hits: list[dict[str, Any]] = field(default_factory=list)

    def matches(self, operation: str, service: str | None) -> bool:
        return self.remaining > 0 and self.operation == operation and (
            self.service is None or self.service == service)

    def public(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "operation": self.operation,
            "count": self.count,
            "status": self.status,
            "code": self.code,
            "message": self.message,
            "accountId": self.account_id,
            "service": self.service,
            "remaining": self.remaining,
            "hits": [dict(h) for h in self.hits],
            "createdAt": self.created_at,
        }


def parse_rule(body: dict[str, Any], rule_id: str) -> FaultRule:
    def opt_str(key: str) -> str | None:
        value = body.get(key)
        if value is None:
            return None
        if not isinstance(value, str) or not value:
            raise ValueError(f"{key} must be a non-empty string")
        return value

    def opt_int(key: str, default: int, lo: int, hi: int) -> int:
        value = body.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
            raise ValueError(f"{key} must be an integer from {lo} to {hi}")
        return value

    unknown = set(body) - {"operation", "count", "status", "code", "message", "accountId", "service"}
    if unknown:
        raise ValueError(f"unknown rule fields: {', '.join(sorted(unknown))}")
    operation = opt_str("operation")
    if operation is None or not re.match(r"^[A-Za-z0-9]+$", operation):
        raise ValueError("operation is required: the API operation as the AWS SDK names it, e.g. CreateQueue")
    code = opt_str("code") or "InternalFailure"
    if not CODE_RE.match(code):
        raise ValueError("code may hold only letters, digits and _.:#-")
    count = opt_int("count", 1, 1, 1_000_000)
    message = body.get("message")
    if message is None:
        message = f"fault injected by the sandbox for {operation}"
    elif not isinstance(message, str):
        raise ValueError("message must be a string")
    service = opt_str("service")
    return FaultRule(
        id=rule_id,
        operation=operation,
        count=count,
        status=opt_int("status", 500, 400, 599),
        code=code,
        message=message,
        account_id=opt_str("accountId"),
        service=service.lower() if service else None,
        remaining=count,
    )


class FaultRegistry:
    """Rules live in the launcher, not in moto, so they survive /moto-api/reset."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rules: list[FaultRule] = []
        self._seq = itertools.count(1)

    def add(self, body: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            rule = parse_rule(body, f"fault-{next(self._seq)}")
            self._rules.append(rule)
            return rule.public()

    def list(self) -> list[dict[str, Any]]:
        with self._lock:
            return [r.public() for r in self._rules]

    def remove(self, rule_id: str) -> bool:
        with self._lock:
            before = len(self._rules)
            self._rules = [r for r in self._rules if r.id != rule_id]
            return len(self._rules) != before

    def clear(self) -> int:
        with self._lock:
            n = len(self._rules)
            self._rules = []
            return n

    def armed(self) -> bool:
        with self._lock:
            return any(r.remaining > 0 for r in self._rules)

    def take(self, operation: str, service: str | None, account_of: Callable[[], str],
             request: dict[str, Any]) -> FaultRule | None:
        """Consume one failure of the first rule matching this request, if any."""
        with self._lock:
            if not any(r.matches(operation, service) for r in self._rules):
                return None
        # Resolving the account may consult moto's IAM state; do it outside the registry lock.
        account = account_of()
        with self._lock:
            for rule in self._rules:
                if rule.matches(operation, service) and rule.account_id in (None, account):
                    rule.remaining -= 1
                    rule.hits.append({"at": _now(), "service": service, "accountId": account, **request})
                    return replace(rule, hits=list(rule.hits))
        return None


REGISTRY = FaultRegistry()


# ---------------------------------------------------------------- request inspection


def _credential(environ: dict[str, Any]) -> tuple[str | None, str | None]:
    """The access key id and signing service of a SigV4 request (header or presigned query)."""
    m = CREDENTIAL_RE.search(environ.get("HTTP_AUTHORIZATION", ""))
    if m:
        return m.group(1), m.group(3).lower()
    cred = (parse_qs(environ.get("QUERY_STRING", "")).get("X-Amz-Credential") or [""])[0].split("/")
    if len(cred) == 5:
        return cred[0], cred[3].lower()
    return None, None


def _request_account(environ: dict[str, Any], access_key: str | None) -> str:
    """The moto account a request acts in, decided as moto's BaseResponse.get_current_account does."""
    if os.environ.get("MOTO_ACCOUNT_ID"):
        return os.environ["MOTO_ACCOUNT_ID"]
    if environ.get("HTTP_X_MOTO_ACCOUNT_ID"):
        return environ["HTTP_X_MOTO_ACCOUNT_ID"]
    if not access_key:
        return DEFAULT_ACCOUNT
    from moto.iam.models import get_account_id_from

    return get_account_id_from(access_key)


def _read_body(environ: dict[str, Any]) -> bytes:
    """Read the request body and put it back, so moto still finds it in wsgi.input."""
    stream = environ.get("wsgi.input")
    if stream is None:
        return b""
    try:
        length = int(environ.get("CONTENT_LENGTH") or -1)
    except ValueError:
        length = -1
    if length >= 0:
        data = stream.read(length) if length else b""
    elif environ.get("wsgi.input_terminated"):
        data = stream.read()
    else:
        return b""
    environ["wsgi.input"] = io.BytesIO(data)
    return data


def _form_action(environ: dict[str, Any]) -> tuple[str | None, dict[str, list[str]]]:
    if not (environ.get("CONTENT_TYPE") or "").lower().startswith("application/x-www-form-urlencoded"):
        return None, {}
    data = _read_body(environ)
    if "gzip" in (environ.get("HTTP_CONTENT_ENCODING") or "").lower():
        try:
            data = gzip.decompress(data)
        except OSError:
            return None, {}
    form = parse_qs(data.decode("utf-8", errors="replace"))
    return (form.get("Action") or [None])[0], form


def _raw_path(environ: dict[str, Any]) -> str:
    raw = environ.get("RAW_URI") or environ.get("REQUEST_URI")
    if raw:
        path = urlsplit(raw).path if "://" in raw else raw.split("?", 1)[0]
        return path or "/"
    return environ.get("PATH_INFO") or "/"


def identify(environ: dict[str, Any]) -> tuple[str, str] | None:
    """(operation, protocol) of an AWS request; protocol is json, rest-json, query or ec2."""
    target = environ.get("HTTP_X_AMZ_TARGET")
    if target:
        return target.rsplit(".", 1)[-1], "json"
    _, service = _credential(environ)
    query = parse_qs(environ.get("QUERY_STRING", ""))
    action = (query.get("Action") or [None])[0]
    params = query
    if action is None and service in (None, "eks"):
        method = environ.get("REQUEST_METHOD", "GET").upper()
        path = _raw_path(environ)
        for route_method, pattern, op in EKS_ROUTES:
            if route_method == method and pattern.match(path):
                return op, "rest-json"
    if action is None:
        action, params = _form_action(environ)
    if action is None:
        return None
    is_ec2 = service == "ec2" or (service is None and (params.get("Version") or [""])[0] == EC2_API_VERSION)
    return action, "ec2" if is_ec2 else "query"


# ---------------------------------------------------------------- error responses


def error_response(rule: FaultRule, protocol: str, environ: dict[str, Any]) -> tuple[str, list[tuple[str, str]], bytes]:
    request_id = str(uuid.uuid4())
    fault = "Sender" if rule.status < 500 else "Receiver"
    headers = [("x-amzn-RequestId", request_id)]
    if protocol == "json":
        request_type = environ.get("CONTENT_TYPE") or ""
        json_1_1 = request_type.startswith("application/x-amz-json-1.1")
        content_type = "application/x-amz-json-1.1" if json_1_1 else "application/x-amz-json-1.0"
        body = json.dumps({"__type": rule.code, "message": rule.message}).encode()
        if (environ.get("HTTP_X_AMZ_TARGET") or "").startswith("AmazonSQS."):
            # SQS's JSON protocol is query-compatible: SDKs take the code from this header.
            headers.append(("x-amzn-query-error", f"{rule.code};{fault}"))
    elif protocol == "rest-json":
        content_type = "application/json"
        body = json.dumps({"message": rule.message}).encode()
        headers.append(("x-amzn-ErrorType", rule.code))
    elif protocol == "ec2":
        content_type = "text/xml"
        body = (f'<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error><Code>{escape(rule.code)}</Code>'
                f"<Message>{escape(rule.message)}</Message></Error></Errors>"
                f"<RequestID>{request_id}</RequestID></Response>").encode()
    else:
        content_type = "text/xml"
        body = (f"<ErrorResponse><Error><Type>{fault}</Type><Code>{escape(rule.code)}</Code>"
                f"<Message>{escape(rule.message)}</Message></Error>"
                f"<RequestId>{request_id}</RequestId></ErrorResponse>").encode()
    headers += [("Content-Type", content_type), ("Content-Length", str(len(body)))]
    try:
        phrase = http.HTTPStatus(rule.status).phrase
    except ValueError:
        phrase = "Error"
    return f"{rule.status} {phrase}", headers, body


class FaultInjector:
    """WSGI middleware in front of moto's DomainDispatcherApplication."""

    def __init__(self, app: Callable[..., Iterable[bytes]], registry: FaultRegistry = REGISTRY) -> None:
        self.app = app
        self.registry = registry

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if self.registry.armed() and not (environ.get("PATH_INFO") or "").startswith("/moto-api"):
            try:
                hit = self._match(environ)
            except Exception as e:  # noqa: BLE001 - a broken rule lookup must not take moto down
                log(f"fault: lookup failed, request passed to moto: {type(e).__name__}: {e}")
                hit = None
            if hit is not None:
                rule, protocol = hit
                status, headers, body = error_response(rule, protocol, environ)
                start_response(status, headers)
                return [body]
        return self.app(environ, start_response)

    def _match(self, environ: dict[str, Any]) -> tuple[FaultRule, str] | None:
        found = identify(environ)
        if found is None:
            return None
        operation, protocol = found
        access_key, service = _credential(environ)
        request = {"method": environ.get("REQUEST_METHOD"), "path": environ.get("PATH_INFO")}
        rule = self.registry.take(operation, service, lambda: _request_account(environ, access_key), request)
        if rule is None:
            return None
        hit = rule.hits[-1]
        log(f"fault {rule.id}: {operation} service={service or '-'} account={hit['accountId']} "
            f"-> {rule.status} {rule.code} ({rule.remaining} left)")
        return rule, protocol


# ---------------------------------------------------------------- admin routes


def admin_route(method: str, path: str, body: Callable[[], dict[str, Any]]) -> tuple[int, Any] | None:
    """Handle /faults on the admin server; None when the path is not ours."""
    m = re.match(r"^/faults(?:/([^/]+))?/?$", path)
    if not m:
        return None
    rule_id = m.group(1)
    if rule_id is None and method == "GET":
        return 200, {"faults": REGISTRY.list()}
    if rule_id is None and method == "POST":
        try:
            rule = REGISTRY.add(body())
        except (ValueError, TypeError) as e:
            return 400, {"error": str(e)}
        log(f"fault {rule['id']} armed: {rule['operation']} x{rule['count']} -> {rule['status']} {rule['code']}"
            f" account={rule['accountId'] or '*'} service={rule['service'] or '*'}")
        return 200, rule
    if rule_id is None and method == "DELETE":
        n = REGISTRY.clear()
        if n:
            log(f"faults cleared ({n})")
        return 200, {"cleared": n}
    if rule_id is not None and method == "DELETE":
        removed = REGISTRY.remove(rule_id)
        return (200 if removed else 404), {"deleted": removed}
    return 405, {"error": f"{method} not allowed on {path}"}
