"""Admin HTTP server for the sandbox supervisor and an EKS-style TokenReview webhook.

The webhook does what aws-iam-authenticator does for EKS: it takes a `k8s-aws-v1.` bearer token (a
presigned STS GetCallerIdentity URL), checks it was signed for this cluster, asks moto's STS who the
caller is, and maps the caller through the cluster's access entries or the aws-auth ConfigMap.
The same server manages the fault injection rules of faults.py (/faults).
"""

from __future__ import annotations

import atexit
import base64
import datetime
import hashlib
import hmac
import json
import os
import re
import shutil
import ssl
import sys
import tempfile
import threading
import urllib.error
import urllib.request
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, urlsplit

import faults

TOKEN_PREFIX = "k8s-aws-v1."
TOKEN_MAX_AGE = datetime.timedelta(minutes=15)
# Tolerated clock skew for tokens dated in the future.
TOKEN_MAX_SKEW = datetime.timedelta(minutes=5)
DEFAULT_ACCOUNT = "123456789012"
DEFAULT_REGION = "us-east-1"
ALLOWED_QUERY_KEYS = {"action", "version"}
STS_HOST_RE = re.compile(r"^sts(\.[a-z0-9-]+)?\.amazonaws\.com(\.cn)?$")


def log(line: str) -> None:
    sys.stderr.write(line.rstrip("\n") + "\n")
    sys.stderr.flush()


# ---------------------------------------------------------------- kube registrations


@dataclass
class KubeRegistration:
    name: str
    endpoint: str
    ca_pem: str
    region: str
    account_id: str
    webhook_id: str | None = None
    cert_file: str | None = None
    key_file: str | None = None
    registered_at: str = field(default_factory=lambda: datetime.datetime.now(datetime.timezone.utc).isoformat())
    _tls: ssl.SSLContext | None = field(default=None, repr=False)

    def tls(self) -> ssl.SSLContext:
        # Built once per registration; the apiserver is called on every review (cache TTL may be 0).
        if self._tls is None:
            ctx = ssl.create_default_context(cadata=self.ca_pem)
            if self.cert_file and self.key_file:
                ctx.load_cert_chain(self.cert_file, self.key_file)
            self._tls = ctx
        return self._tls

    def public(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "endpoint": self.endpoint,
            "region": self.region,
            "accountId": self.account_id,
            "webhookId": self.webhook_id,
            "hasClientCredentials": bool(self.cert_file),
            "registeredAt": self.registered_at,
        }


class KubeRegistry:
    """Registrations live in the launcher, not in moto, so they survive /moto-api/reset."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_name: dict[str, KubeRegistration] = {}
        self._dir = tempfile.mkdtemp(prefix="sandbox-moto-kube-")
        os.chmod(self._dir, 0o700)

    def put(self, reg: KubeRegistration, cert_pem: str | None, key_pem: str | None) -> None:
        if cert_pem and key_pem:
            safe = re.sub(r"[^A-Za-z0-9_.-]", "_", reg.name)
            reg.cert_file = os.path.join(self._dir, f"{safe}.crt")
            reg.key_file = os.path.join(self._dir, f"{safe}.key")
            for path, data in ((reg.cert_file, cert_pem), (reg.key_file, key_pem)):
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
                with os.fdopen(fd, "w") as f:
                    f.write(data)
        with self._lock:
            self._by_name[reg.name] = reg

    def delete(self, name: str) -> bool:
        with self._lock:
            reg = self._by_name.pop(name, None)
        if reg:
            for path in (reg.cert_file, reg.key_file):
                if path:
                    try:
                        os.unlink(path)
                    except OSError:
                        pass
        return reg is not None

    def get(self, name: str) -> KubeRegistration | None:
        with self._lock:
            return self._by_name.get(name)

    def for_webhook(self, key: str) -> KubeRegistration | None:
        """The webhook path carries either the apiserver's webhook id or the cluster name."""
        with self._lock:
            for reg in self._by_name.values():
                if reg.webhook_id and reg.webhook_id == key:
                    return reg
            return self._by_name.get(key)

    def for_cluster(self, account_id: str | None, region: str | None, name: str) -> KubeRegistration | None:
        reg = self.get(name)
        if reg and reg.account_id == account_id and reg.region == region:
            return reg
        return None

    def close(self) -> None:
        shutil.rmtree(self._dir, ignore_errors=True)


REGISTRY = KubeRegistry()
# Client keys are written under a private temp dir; remove it however the process ends normally.
atexit.register(REGISTRY.close)


# ---------------------------------------------------------------- ARN helpers


def principal_from_caller_arn(arn: str) -> tuple[str, str | None]:
    """Map a GetCallerIdentity ARN to the IAM principal access entries and aws-auth refer to."""
    m = re.match(r"^arn:([^:]+):sts::(\d{12}):assumed-role/([^/]+)/(.+)$", arn)
    if m:
        return f"arn:{m.group(1)}:iam::{m.group(2)}:role/{m.group(3)}", m.group(4)
    m = re.match(r"^arn:([^:]+):(?:sts|iam)::(\d{12}):user/(.+)$", arn)
    if m:
        return f"arn:{m.group(1)}:iam::{m.group(2)}:user/{m.group(3)}", None
    return arn, None


def strip_role_path(arn: str) -> str:
    m = re.match(r"^(arn:[^:]+:iam::\d{12}:role/)(?:.*/)?([^/]+)$", arn)
    return m.group(1) + m.group(2) if m else arn


def same_principal(entry_arn: str, principal: str) -> bool:
    if entry_arn == principal:
        return True
    return strip_role_path(entry_arn) == strip_role_path(principal) and ":role/" in principal


# ---------------------------------------------------------------- SigV4 presigned URL check


def _hmac(key: bytes, msg: str) -> bytes:
    return hmac.new(key, msg.encode(), hashlib.sha256).digest()


def _uri_encode(s: str) -> str:
    return quote(s, safe="-_.~")


def _canonical_host(parts: Any) -> str:
    host = (parts.hostname or "").lower()
    if parts.port and not ((parts.scheme == "http" and parts.port == 80) or (parts.scheme == "https" and parts.port == 443)):
        host = f"{host}:{parts.port}"
    return host


def signature_matches(url: str, cluster_id: str, secret: str) -> bool:
    parts = urlsplit(url)
    raw_pairs = [p.partition("=") for p in parts.query.split("&") if p]
    decoded = parse_qsl(parts.query, keep_blank_values=True)
    params = dict(decoded)
    signature = params.get("X-Amz-Signature", "")
    signed = [h.strip().lower() for h in params.get("X-Amz-SignedHeaders", "").split(";") if h.strip()]
    headers = {"host": _canonical_host(parts), "x-k8s-aws-id": cluster_id}
    if not signature or any(h not in headers for h in signed):
        return False
    canonical_headers = "".join(f"{h}:{headers[h]}\n" for h in sorted(signed))
    signed_headers = ";".join(sorted(signed))
    cred = params.get("X-Amz-Credential", "").split("/")
    if len(cred) != 5:
        return False
    _, date, region, service, terminator = cred
    scope = f"{date}/{region}/{service}/{terminator}"
    amz_date = params.get("X-Amz-Date", "")
    path = quote(parts.path or "/", safe="/~")

    # Canonical query per the SigV4 spec, and the raw form botocore reuses from its own URL.
    queries = {
        "&".join(f"{_uri_encode(k)}={_uri_encode(v)}" for k, v in sorted(decoded) if k != "X-Amz-Signature"),
        "&".join(f"{k}={v}" for k, v in sorted((k, v) for k, _, v in raw_pairs) if k != "X-Amz-Signature"),
    }
    key = _hmac(_hmac(_hmac(_hmac(f"AWS4{secret}".encode(), date), region), service), terminator)
    for query in queries:
        for payload in (hashlib.sha256(b"").hexdigest(), "UNSIGNED-PAYLOAD"):
            creq = "\n".join(["GET", path, query, canonical_headers, signed_headers, payload])
            to_sign = "\n".join(
                ["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(creq.encode()).hexdigest()]
            )
            expected = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
            if hmac.compare_digest(expected, signature):
                return True
    return False


# ---------------------------------------------------------------- credentials known to moto


@dataclass
class KeyInfo:
    secret: str
    account_id: str | None  # None: moto's default test key, which has no account of its own
    session_token: str | None = None
    expired: bool = False


def lookup_key(access_key_id: str) -> KeyInfo | None:
    from moto.iam.models import iam_backends
    from moto.sts.models import sts_backends

    for account_id, account in list(iam_backends.items()):
        for partition in list(account.keys()):
            key = account[partition].access_keys.get(access_key_id)
            if key is None:
                continue
            if getattr(key, "status", "Active") != "Active":
                return None
            info = KeyInfo(secret=key.secret_access_key, account_id=account_id)
            # Temporary keys belong to an assumed-role session in some account's STS backend.
            for sts_account in list(sts_backends.values()):
                for sts in list(sts_account.values()):
                    for role in list(getattr(sts, "assumed_roles", [])):
                        if role.access_key_id == access_key_id:
                            info.session_token = role.session_token
                            info.expired = role.expiration < datetime.datetime.now(datetime.timezone.utc).replace(
                                tzinfo=role.expiration.tzinfo
                            )
            return info
    if access_key_id == "testing":
        return KeyInfo(secret="testing", account_id=None)
    return None


def resolve_caller(moto_url: str, key_id: str, region: str, amz_date: str, session_token: str | None,
                   account_hint: str | None) -> str:
    """Ask moto's STS for the caller ARN the way an SDK would: a signed-looking query POST."""
    headers = {
        "Content-Type": "application/x-www-form-urlencoded; charset=utf-8",
        "Authorization": (
            f"AWS4-HMAC-SHA256 Credential={key_id}/{amz_date[:8]}/{region}/sts/aws4_request, "
            "SignedHeaders=host, Signature=x"
        ),
        "X-Amz-Date": amz_date,
    }
    if session_token:
        headers["X-Amz-Security-Token"] = session_token
    if account_hint:
        headers["x-moto-account-id"] = account_hint
    req = urllib.request.Request(
        moto_url.rstrip("/") + "/",
        data=b"Action=GetCallerIdentity&Version=2011-06-15",
        headers=headers,
        method="POST",
    )
    with urllib.request.urlopen(req, timeout=10) as resp:
        body = resp.read()
    for el in ET.fromstring(body).iter():
        if el.tag.endswith("}Arn") or el.tag == "Arn":
            return (el.text or "").strip()
    raise ValueError("no Arn in GetCallerIdentity response")


# ---------------------------------------------------------------- identity mapping


class Denied(Exception):
    pass


@dataclass
class Caller:
    arn: str
    principal: str
    session_name: str | None
    account_id: str
    access_key_id: str
    region: str


def _ec2_private_dns(account_id: str, region: str, instance_id: str) -> str | None:
    if "moto.ec2.models" not in sys.modules or not instance_id.startswith("i-"):
        return None
    try:
        from moto.ec2.models import ec2_backends

        backend = ec2_backends[account_id][region]
        for reservation in backend.reservations.values():
            for inst in reservation.instances:
                if inst.id == instance_id:
                    return inst.private_dns_name
    except Exception:  # noqa: BLE001 - best effort, falls back to the session name
        return None
    return None


def render(template: str, caller: Caller) -> str:
    session = caller.session_name or ""
    private_dns = _ec2_private_dns(caller.account_id, caller.region, session) or session
    values = {
        "{{AccountID}}": caller.account_id,
        "{{SessionName}}": session.replace("@", "-"),
        "{{SessionNameRaw}}": session,
        "{{AccessKeyID}}": caller.access_key_id,
        "{{EC2PrivateDNSName}}": private_dns,
    }
    for k, v in values.items():
        template = template.replace(k, v)
    return template


def _policy_groups(policies: list[dict[str, Any]]) -> list[str]:
    return ["eks-access-policy:" + p["policyArn"].rsplit("/", 1)[-1] for p in policies]


def map_via_access_entries(cluster: Any, caller: Caller) -> tuple[str, list[str]] | None:
    state = getattr(cluster, "ext", None)
    if state is None:
        return None
    for arn, entry in list(state.access_entries.items()):
        if same_principal(arn, caller.principal):
            groups = [render(g, caller) for g in entry["kubernetesGroups"]]
            groups += _policy_groups(list(state.associated_policies.get(arn, {}).values()))
            return render(entry["username"], caller), groups
    return None


def fetch_aws_auth(reg: KubeRegistration) -> dict[str, Any] | None:
    if not (reg.cert_file and reg.key_file):
        raise Denied("no admin client credentials registered to read aws-auth")
    url = reg.endpoint.rstrip("/") + "/api/v1/namespaces/kube-system/configmaps/aws-auth"
    req = urllib.request.Request(url, headers={"Accept": "application/json"})
    try:
        with urllib.request.urlopen(req, context=reg.tls(), timeout=10) as resp:
            return json.loads(resp.read())
    except urllib.error.HTTPError as e:
        if e.code == 404:
            return None
        raise Denied(f"reading aws-auth: HTTP {e.code}")
    except (urllib.error.URLError, OSError, ValueError) as e:
        raise Denied(f"reading aws-auth: {e}")


def map_via_aws_auth(cm: dict[str, Any] | None, caller: Caller) -> tuple[str, list[str]] | None:
    import yaml

    data = (cm or {}).get("data") or {}

    def load(key: str) -> list[Any]:
        try:
            value = yaml.safe_load(data.get(key) or "[]")
        except yaml.YAMLError:
            log(f"tokenreview: aws-auth {key} is not valid YAML, ignored")
            return []
        return value if isinstance(value, list) else []

    is_role = ":role/" in caller.principal
    if is_role:
        # EKS compares the path-free role ARN; a mapping that spells a path never matches.
        want = strip_role_path(caller.principal).lower()
        for item in load("mapRoles"):
            if isinstance(item, dict) and str(item.get("rolearn", "")).lower() == want:
                return render(str(item.get("username") or caller.arn), caller), [
                    render(str(g), caller) for g in item.get("groups") or []
                ]
    else:
        for item in load("mapUsers"):
            if isinstance(item, dict) and str(item.get("userarn", "")).lower() == caller.principal.lower():
                return render(str(item.get("username") or caller.principal), caller), [
                    render(str(g), caller) for g in item.get("groups") or []
                ]
    if caller.account_id in [str(a) for a in load("mapAccounts")]:
        return caller.arn, []
    return None


def find_cluster(reg: KubeRegistration) -> Any:
    from moto.eks.models import eks_backends

    try:
        return eks_backends[reg.account_id][reg.region].clusters.get(reg.name)
    except KeyError:
        return None


# ---------------------------------------------------------------- TokenReview


def review(webhook_key: str, body: dict[str, Any], moto_url: str, moto_hosts: set[str]) -> dict[str, Any]:
    out: dict[str, Any] = {
        "apiVersion": body.get("apiVersion") or "authentication.k8s.io/v1",
        "kind": "TokenReview",
        "status": {"authenticated": False},
    }
    who = {"cluster": "-", "principal": "-", "key": "-"}
    try:
        reg = REGISTRY.for_webhook(webhook_key)
        if reg is None:
            raise Denied(f"no cluster registered for {webhook_key}")
        who["cluster"] = reg.name
        token = ((body.get("spec") or {}).get("token")) or ""
        caller = verify_token(token, reg, moto_url, moto_hosts, who)
        who["principal"] = caller.principal
        user = authorize(reg, caller)
        if user is None:
            raise Denied("no access entry or aws-auth mapping")
        username, groups = user
        out["status"] = {
            "authenticated": True,
            "user": {
                "username": username,
                "uid": f"aws-iam-authenticator:{caller.account_id}:{caller.access_key_id}",
                "groups": groups,
                "extra": {
                    "arn": [caller.arn],
                    "canonicalArn": [caller.principal],
                    "accessKeyId": [caller.access_key_id],
                    "sessionName": [caller.session_name or ""],
                },
            },
        }
        log(f"tokenreview webhook={webhook_key} cluster={reg.name} key={caller.access_key_id} "
            f"principal={caller.principal} result=allowed username={username} groups={','.join(groups)}")
    except Denied as e:
        out["status"] = {"authenticated": False, "error": str(e)}
        log(f"tokenreview webhook={webhook_key} cluster={who['cluster']} key={who['key']} "
            f"principal={who['principal']} result=denied reason={e}")
    except Exception as e:  # noqa: BLE001 - a webhook must answer, never crash the apiserver call
        out["status"] = {"authenticated": False, "error": "internal error"}
        log(f"tokenreview webhook={webhook_key} cluster={who['cluster']} key={who['key']} "
            f"principal={who['principal']} result=error {type(e).__name__}: {e}")
    return out


def verify_token(token: str, reg: KubeRegistration, moto_url: str, moto_hosts: set[str],
                 who: dict[str, str] | None = None) -> Caller:
    if not token.startswith(TOKEN_PREFIX):
        raise Denied("token is not a k8s-aws-v1 token")
    encoded = token[len(TOKEN_PREFIX):]
    try:
        url = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)).decode()
    except (ValueError, UnicodeDecodeError):
        raise Denied("token is not valid base64url")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise Denied("token URL scheme not allowed")
    host = _canonical_host(parts)
    if not (STS_HOST_RE.match(parts.hostname or "") or host in moto_hosts):
        raise Denied(f"token host {host} is not an STS endpoint")
    if (parts.path or "/") != "/":
        raise Denied("token URL path must be /")
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    keys = [k.lower() for k, _ in pairs]
    if len(keys) != len(set(keys)):
        raise Denied("duplicate query parameters")
    for k in keys:
        if k not in ALLOWED_QUERY_KEYS and not k.startswith("x-amz-"):
            raise Denied(f"query parameter {k} not allowed")
    params = dict(pairs)
    if params.get("Action") != "GetCallerIdentity":
        raise Denied("token is not for sts:GetCallerIdentity")
    if params.get("X-Amz-Algorithm") != "AWS4-HMAC-SHA256":
        raise Denied("unsupported signing algorithm")
    signed = [h.strip().lower() for h in params.get("X-Amz-SignedHeaders", "").split(";")]
    if "x-k8s-aws-id" not in signed:
        raise Denied("x-k8s-aws-id is not a signed header")
    try:
        date = datetime.datetime.strptime(params.get("X-Amz-Date", ""), "%Y%m%dT%H%M%SZ").replace(
            tzinfo=datetime.timezone.utc
        )
    except ValueError:
        raise Denied("X-Amz-Date missing or malformed")
    now = datetime.datetime.now(datetime.timezone.utc)
    if now - date > TOKEN_MAX_AGE:
        raise Denied("token expired (X-Amz-Date older than 15 minutes)")
    if date - now > TOKEN_MAX_SKEW:
        raise Denied("token X-Amz-Date is in the future")
    cred = params.get("X-Amz-Credential", "").split("/")
    if len(cred) != 5 or cred[3] != "sts" or cred[4] != "aws4_request":
        raise Denied("malformed X-Amz-Credential")
    key_id, region = cred[0], cred[2]
    if who is not None:
        who["key"] = key_id

    info = lookup_key(key_id)
    if info is None:
        raise Denied(f"unknown access key {key_id}")
    if info.expired:
        raise Denied("temporary credentials expired")
    token_session = params.get("X-Amz-Security-Token")
    if info.session_token and token_session != info.session_token:
        raise Denied("security token does not match the temporary credentials")
    if not signature_matches(url, reg.name, info.secret):
        raise Denied("signature does not match (wrong cluster or wrong secret)")

    # The default test key has no account; it acts in the account of the cluster, as the SDK clients
    # that created it did with their x-moto-account-id header.
    arn = resolve_caller(moto_url, key_id, region, params["X-Amz-Date"], token_session,
                         None if info.account_id else reg.account_id)
    principal, session = principal_from_caller_arn(arn)
    account = arn.split(":")[4] if arn.count(":") >= 5 else reg.account_id
    return Caller(arn=arn, principal=principal, session_name=session, account_id=account,
                  access_key_id=key_id, region=reg.region)


def authorize(reg: KubeRegistration, caller: Caller) -> tuple[str, list[str]] | None:
    cluster = find_cluster(reg)
    mode = "CONFIG_MAP"
    state = None
    if cluster is not None:
        state = getattr(cluster, "ext", None)
        mode = (getattr(cluster, "access_config", None) or {}).get("authenticationMode", "CONFIG_MAP")
    if mode in ("API", "API_AND_CONFIG_MAP"):
        mapped = map_via_access_entries(cluster, caller)
        if mapped:
            return mapped
    if mode in ("CONFIG_MAP", "API_AND_CONFIG_MAP"):
        # EKS grants the creator of a CONFIG_MAP-mode cluster admin outside aws-auth.
        if state is not None and state.implicit_admin and same_principal(state.creator_principal or "", caller.principal):
            return "kubernetes-admin", ["system:masters"]
        return map_via_aws_auth(fetch_aws_auth(reg), caller)
    return None


# ---------------------------------------------------------------- admin HTTP server


def _parse_registration(name: str, body: dict[str, Any]) -> tuple[KubeRegistration, str | None, str | None]:
    from cryptography import x509

    endpoint = body.get("endpoint")
    ca_pem = body.get("caPem")
    if not isinstance(endpoint, str) or not endpoint.startswith("https://"):
        raise ValueError("endpoint must be an https:// URL")
    if not isinstance(ca_pem, str):
        raise ValueError("caPem is required")
    x509.load_pem_x509_certificate(ca_pem.encode())
    cert, key = body.get("clientCertPem"), body.get("clientKeyPem")
    if bool(cert) != bool(key):
        raise ValueError("clientCertPem and clientKeyPem go together")
    if cert:
        x509.load_pem_x509_certificate(cert.encode())
    reg = KubeRegistration(
        name=name,
        endpoint=endpoint.rstrip("/"),
        ca_pem=ca_pem,
        region=str(body.get("region") or DEFAULT_REGION),
        account_id=str(body.get("accountId") or DEFAULT_ACCOUNT),
        webhook_id=body.get("webhookId") or None,
    )
    return reg, cert, key


def make_admin_server(host: str, port: int, moto_url_ref: dict[str, Any]) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "sandbox-moto-admin"

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
            return  # reviews log their own line; paths carry nothing worth logging

        def _send(self, status: int, payload: Any) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _read(self) -> bytes:
            if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
                chunks = []
                while True:
                    size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                    if size == 0:
                        while self.rfile.readline().strip():
                            pass
                        return b"".join(chunks)
                    chunks.append(self.rfile.read(size))
                    self.rfile.readline()
            length = int(self.headers.get("Content-Length") or 0)
            return self.rfile.read(length) if length else b""

        def _body(self) -> dict[str, Any]:
            raw = self._read()
            if not raw:
                return {}
            value = json.loads(raw)
            if not isinstance(value, dict):
                raise ValueError("body must be a JSON object")
            return value

        def _route(self) -> tuple[str, str | None]:
            path = urlsplit(self.path).path
            m = re.match(r"^/clusters/([^/]+)/kube/?$", path)
            if m:
                return "kube", unquote(m.group(1))
            m = re.match(r"^/tokenreview/([^/]+)/?$", path)
            if m:
                return "tokenreview", unquote(m.group(1))
            return path, None

        def _faults(self) -> bool:
            """Serve /faults (fault injection rules, see faults.py); False when the path is another's."""
            try:
                out = faults.admin_route(self.command, urlsplit(self.path).path, self._body)
            except ValueError as e:
                out = (400, {"error": str(e)})
            if out is None:
                return False
            self._send(*out)
            return True

        def do_GET(self) -> None:  # noqa: N802 - stdlib naming
            if self._faults():
                return
            route, name = self._route()
            if route == "/healthz":
                self._send(200, {"ok": True})
            elif route == "kube" and name:
                reg = REGISTRY.get(name)
                self._send(200, reg.public()) if reg else self._send(404, {"error": f"no registration for {name}"})
            else:
                self._send(404, {"error": "not found"})

        def do_PUT(self) -> None:  # noqa: N802
            route, name = self._route()
            if route != "kube" or not name:
                self._send(404, {"error": "not found"})
                return
            try:
                reg, cert, key = _parse_registration(name, self._body())
            except (ValueError, TypeError, AttributeError) as e:
                self._send(400, {"error": str(e)})
                return
            REGISTRY.put(reg, cert, key)
            log(f"kube registration cluster={name} endpoint={reg.endpoint} region={reg.region} "
                f"account={reg.account_id} webhookId={reg.webhook_id or '-'}")
            self._send(200, reg.public())

        def do_DELETE(self) -> None:  # noqa: N802
            if self._faults():
                return
            route, name = self._route()
            if route != "kube" or not name:
                self._send(404, {"error": "not found"})
                return
            existed = REGISTRY.delete(name)
            if existed:
                log(f"kube registration cluster={name} removed")
            self._send(200 if existed else 404, {"deleted": existed})

        def do_POST(self) -> None:  # noqa: N802
            if self._faults():
                return
            route, key = self._route()
            if route != "tokenreview" or not key:
                self._send(404, {"error": "not found"})
                return
            try:
                body = self._body()
            except ValueError as e:
                self._send(400, {"error": str(e)})
                return
            self._send(200, review(key, body, moto_url_ref["url"], moto_url_ref["hosts"]))

    server = ThreadingHTTPServer((host, port), Handler)
    server.daemon_threads = True
    return server
