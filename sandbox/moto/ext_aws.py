"""Non-EKS patches to moto 5.2.1: AMI catalog in SSM and EC2, IAM, SQS and STS fixes."""

from __future__ import annotations

import json
import re
import threading
from typing import Any

from werkzeug.exceptions import HTTPException

import ami_catalog

_catalog_lock = threading.Lock()


# ---------------------------------------------------------------- SSM public parameters


def patch_ssm(ssm_models: Any) -> None:
    """Publish the EKS/Bottlerocket/Windows AMI parameters in every account and region.

    moto loads its own /aws/service trees lazily per ParameterDict; this hooks the same place so the
    parameters appear (and survive /moto-api/reset, which rebuilds the dicts) without a PutParameter,
    which AWS and moto both refuse for /aws/ names.
    """
    param_dict = ssm_models.ParameterDict
    parameter_cls = ssm_models.Parameter
    original = param_dict._check_loading_status

    def _check_loading_status(self: Any, key: str) -> None:
        original(self, key)
        if getattr(self, "_sandbox_amis_loaded", False) or not ami_catalog.wants_catalog(str(key or "")):
            return
        with _catalog_lock:
            if getattr(self, "_sandbox_amis_loaded", False):
                return
            for name, (value, when) in ami_catalog.catalog().params.items():
                # Public parameters carry no account in their ARN on AWS.
                defaultdict_getitem(self, name).append(
                    parameter_cls(
                        account_id="",
                        name=name,
                        value=value,
                        parameter_type="String",
                        description=None,
                        allowed_pattern=None,
                        keyid=None,
                        last_modified_date=when,
                        version=1,
                        data_type="text",
                    )
                )
            self._sandbox_amis_loaded = True

    def defaultdict_getitem(d: Any, name: str) -> list[Any]:
        # Bypass ParameterDict.__getitem__, which would re-enter the loader.
        return dict.setdefault(d, name, [])

    param_dict._check_loading_status = _check_loading_status


# ---------------------------------------------------------------- EC2 images for the catalog


def patch_ec2_amis(amis_module: Any) -> None:
    """Make every catalog AMI visible to DescribeImages (and RunInstances/CreateFleet lookups)."""
    backend_cls = amis_module.AmiBackend
    ami_cls = amis_module.Ami
    original = backend_cls.describe_images

    def ensure(backend: Any) -> None:
        if getattr(backend, "_sandbox_amis_loaded", False):
            return
        with _catalog_lock:
            if getattr(backend, "_sandbox_amis_loaded", False):
                return
            zone = f"{backend.region_name}a"
            for ami_id, img in ami_catalog.catalog().images.items():
                if ami_id in backend.amis:
                    continue
                windows = img["platform"] == "windows"
                backend.amis[ami_id] = ami_cls(
                    backend,
                    ami_id,
                    name=img["name"],
                    description=img["description"],
                    owner_id=img["owner_id"],
                    owner_alias="amazon",
                    public=True,
                    virtualization_type="hvm",
                    architecture=img["architecture"],
                    state="available",
                    creation_date=img["creation_date"],
                    platform=img["platform"],
                    image_location=f"amazon/{img['name']}",
                    hypervisor="xen",
                    root_device_type="ebs",
                    root_device_name="/dev/sda1" if windows else "/dev/xvda",
                    region_name=zone,
                    boot_mode="uefi-preferred" if not windows else "legacy-bios",
                )
            backend._sandbox_amis_loaded = True

    def describe_images(self: Any, *args: Any, **kwargs: Any) -> Any:
        ensure(self)
        return original(self, *args, **kwargs)

    backend_cls.describe_images = describe_images


# ---------------------------------------------------------------- IAM


SPOT_SERVICE = "spot.amazonaws.com"
SPOT_ROLE = "AWSServiceRoleForEC2Spot"


def patch_iam(iam_models: Any, iam_exceptions: Any) -> None:
    backend_cls = iam_models.IAMBackend
    malformed = iam_exceptions.MalformedPolicyDocument
    invalid_input = iam_exceptions.InvalidInput

    original_create_role = backend_cls.create_role

    def create_role(self: Any, role_name: str, assume_role_policy_document: str, *args: Any, **kwargs: Any) -> Any:
        # moto stores any trust policy string; AWS parses it first.
        try:
            json.loads(assume_role_policy_document)
        except (TypeError, ValueError):
            raise malformed("This policy contains invalid Json")
        return original_create_role(self, role_name, assume_role_policy_document, *args, **kwargs)

    backend_cls.create_role = create_role

    original_update_trust = backend_cls.update_assume_role_policy

    def update_assume_role_policy(self: Any, role_name: str, policy_document: str) -> None:
        try:
            json.loads(policy_document)
        except (TypeError, ValueError):
            raise malformed("This policy contains invalid Json")
        return original_update_trust(self, role_name, policy_document)

    backend_cls.update_assume_role_policy = update_assume_role_policy

    # PutRolePolicy and CreatePolicy already run moto's policy validator, which rejects non-JSON.

    original_slr = backend_cls.create_service_linked_role

    def create_service_linked_role(self: Any, service_name: str, description: str, suffix: str) -> Any:
        if service_name != SPOT_SERVICE:
            return original_slr(self, service_name, description, suffix)
        if suffix:
            raise invalid_input(f"Custom suffix is not allowed for {SPOT_SERVICE}")
        if any(r.name == SPOT_ROLE for r in self.get_roles()):
            raise invalid_input(
                f"Service role name {SPOT_ROLE} has been taken in this account, please try a different suffix."
            )
        trust = {
            "Version": "2012-10-17",
            "Statement": [
                {"Action": ["sts:AssumeRole"], "Effect": "Allow", "Principal": {"Service": [SPOT_SERVICE]}}
            ],
        }
        role = original_create_role(
            self,
            SPOT_ROLE,
            json.dumps(trust),
            f"/aws-service-role/{SPOT_SERVICE}/",
            permissions_boundary=None,
            description=description or "Default EC2 Spot Service Linked Role",
            tags=[],
            max_session_duration="3600",
            linked_service=SPOT_SERVICE,
        )
        try:
            self.attach_role_policy(
                f"arn:{self.partition}:iam::aws:policy/aws-service-role/AWSEC2SpotServiceRolePolicy", SPOT_ROLE
            )
        except Exception:  # noqa: BLE001 - only present when managed policies are loaded
            pass
        return role

    backend_cls.create_service_linked_role = create_service_linked_role


# ---------------------------------------------------------------- SQS


def patch_sqs(sqs_models: Any) -> None:
    queue_cls = sqs_models.Queue
    original = queue_cls._set_attributes

    def _set_attributes(self: Any, attributes: dict[str, Any], now: float | None = None) -> None:
        # moto resets the policy whenever a call omits it; AWS only changes what is sent.
        keep = "Policy" not in attributes and "_policy_json" in self.__dict__
        saved = self.__dict__.get("_policy_json")
        original(self, attributes, now)
        if keep:
            self._policy_json = saved

    queue_cls._set_attributes = _set_attributes


# ---------------------------------------------------------------- STS


class StsAccessDenied(HTTPException):
    code = 403

    def __init__(self, message: str) -> None:
        super().__init__()
        self.message = message
        self.description = (
            '<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">'
            "<Error><Type>Sender</Type><Code>AccessDenied</Code>"
            f"<Message>{message}</Message></Error>"
            "<RequestId>c6104cbe-af31-11e0-8154-cbc7ccf896c7</RequestId></ErrorResponse>"
        )

    def get_headers(self, *args: Any, **kwargs: Any) -> list[tuple[str, str]]:
        return [("Content-Type", "text/xml"), ("X-Amzn-ErrorType", "AccessDenied")]

    def get_body(self, *args: Any, **kwargs: Any) -> str:
        return self.description


class StsInvalidToken(StsAccessDenied):
    code = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.description = self.description.replace("<Code>AccessDenied</Code>", "<Code>InvalidIdentityToken</Code>")

    def get_headers(self, *args: Any, **kwargs: Any) -> list[tuple[str, str]]:
        return [("Content-Type", "text/xml"), ("X-Amzn-ErrorType", "InvalidIdentityToken")]


def _jwt_claims(token: str) -> dict[str, Any]:
    """The claims of a JWT, unverified: nothing in the sandbox holds the issuer's keys."""
    import base64

    parts = (token or "").split(".")
    if len(parts) != 3:
        raise StsInvalidToken("The ID Token provided is not a valid JWT")
    try:
        payload = parts[1] + "=" * (-len(parts[1]) % 4)
        claims = json.loads(base64.urlsafe_b64decode(payload))
    except (ValueError, TypeError):
        raise StsInvalidToken("The ID Token provided is not a valid JWT")
    if not isinstance(claims, dict):
        raise StsInvalidToken("The ID Token provided is not a valid JWT")
    return claims


def _as_list(v: Any) -> list[Any]:
    return v if isinstance(v, list) else [v]


def _glob(pattern: str, value: str) -> bool:
    rx = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(rx, value, flags=re.S) is not None


def _condition_holds(operator: str, key_values: dict[str, Any], claims: dict[str, Any], host: str) -> bool:
    """One condition block of a trust statement, for the string operators trust policies use on OIDC claims.

    An operator the sandbox does not evaluate never holds, so a policy it cannot judge admits nobody."""
    qualifier = ""
    if ":" in operator:
        qualifier, operator = operator.split(":", 1)
    if_exists = operator.endswith("IfExists")
    base = operator[: -len("IfExists")] if if_exists else operator
    tests = {
        "StringEquals": lambda p, v: p == v,
        "StringNotEquals": lambda p, v: p != v,
        "StringEqualsIgnoreCase": lambda p, v: p.lower() == v.lower(),
        "StringNotEqualsIgnoreCase": lambda p, v: p.lower() != v.lower(),
        "StringLike": _glob,
        "StringNotLike": lambda p, v: not _glob(p, v),
    }
    test = tests.get(base)
    if test is None or qualifier not in ("", "ForAnyValue", "ForAllValues"):
        return False
    negated = base.startswith("StringNot")
    for key, patterns in key_values.items():
        prefix, _, claim = key.partition(":")
        present = prefix == host and claim in claims
        if not present:
            if if_exists or negated or qualifier == "ForAllValues":
                continue
            return False
        values = [str(v) for v in _as_list(claims[claim])]
        patterns = [str(p) for p in _as_list(patterns)]
        if negated:
            ok = all(test(p, v) for p in patterns for v in values)
        elif qualifier == "ForAllValues":
            ok = all(any(test(p, v) for p in patterns) for v in values)
        else:
            ok = any(test(p, v) for p in patterns for v in values)
        if not ok:
            return False
    return True


def _action_matches(actions: Any, wanted: str) -> bool:
    return any(_glob(str(a).lower(), wanted.lower()) for a in _as_list(actions))


def check_web_identity(role_arn: str, token: str) -> None:
    """AssumeRoleWithWebIdentity as IAM judges it: the issuer must be an OIDC provider of the role's account
    with the token's audience among its client IDs, and the role's trust policy must allow the federated
    principal with conditions that hold for the token's claims (a matching Deny wins)."""
    from moto.iam.exceptions import NotFoundException
    from moto.iam.models import iam_backends

    m = re.match(r"^arn:([^:]+):iam::(\d{12}):role/.+$", role_arn or "")
    if not m:
        raise StsAccessDenied("Not authorized to perform sts:AssumeRoleWithWebIdentity")
    partition, account = m.group(1), m.group(2)
    backend = iam_backends[account][partition]
    try:
        role = backend.get_role_by_arn(role_arn)
    except NotFoundException:
        raise StsAccessDenied("Not authorized to perform sts:AssumeRoleWithWebIdentity")
    claims = _jwt_claims(token)
    issuer = str(claims.get("iss", ""))
    host = re.sub(r"^https://", "", issuer).rstrip("/")
    provider_arn = f"arn:{partition}:iam::{account}:oidc-provider/{host}"
    try:
        provider = backend.get_open_id_connect_provider(provider_arn)
    except NotFoundException:
        raise StsInvalidToken(f"No OpenIDConnect provider found in your account for {issuer}")
    if not any(str(a) in provider.client_id_list for a in _as_list(claims.get("aud"))):
        raise StsInvalidToken("Incorrect token audience")
    try:
        trust = json.loads(role.assume_role_policy_document)
    except (TypeError, ValueError):
        trust = {}
    allowed = False
    for st in _as_list(trust.get("Statement", [])):
        if not isinstance(st, dict) or not _action_matches(st.get("Action", []), "sts:AssumeRoleWithWebIdentity"):
            continue
        principal = st.get("Principal", {})
        federated = _as_list(principal.get("Federated", [])) if isinstance(principal, dict) else []
        if provider_arn not in federated:
            continue
        conditions = st.get("Condition", {}) or {}
        if all(_condition_holds(op, kv, claims, host) for op, kv in conditions.items()):
            if st.get("Effect") == "Deny":
                raise StsAccessDenied("Not authorized to perform sts:AssumeRoleWithWebIdentity")
            if st.get("Effect") == "Allow":
                allowed = True
    if not allowed:
        raise StsAccessDenied("Not authorized to perform sts:AssumeRoleWithWebIdentity")


def patch_sts(sts_models: Any) -> None:
    import moto.sts.responses as sts_responses

    response_cls = sts_responses.TokenResponse
    original = response_cls.assume_role_with_web_identity

    def assume_role_with_web_identity(self: Any) -> Any:
        check_web_identity(self._get_param("RoleArn") or "", self._get_param("WebIdentityToken") or "")
        return original(self)

    response_cls.assume_role_with_web_identity = assume_role_with_web_identity
