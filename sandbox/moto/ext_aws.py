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


def role_exists(role_arn: str) -> bool:
    from moto.iam.exceptions import NotFoundException
    from moto.iam.models import iam_backends

    m = re.match(r"^arn:([^:]+):iam::(\d{12}):role/.+$", role_arn or "")
    if not m:
        return False
    try:
        iam_backends[m.group(2)][m.group(1)].get_role_by_arn(role_arn)
        return True
    except NotFoundException:
        return False


def patch_sts(sts_models: Any) -> None:
    backend_cls = sts_models.STSBackend
    original = backend_cls.assume_role_with_web_identity

    def assume_role_with_web_identity(self: Any, **kwargs: Any) -> Any:
        if not role_exists(kwargs.get("role_arn", "")):
            raise StsAccessDenied("Not authorized to perform sts:AssumeRoleWithWebIdentity")
        return original(self, **kwargs)

    backend_cls.assume_role_with_web_identity = assume_role_with_web_identity
