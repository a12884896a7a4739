"""EKS extensions to moto 5.2.1.

moto 5.2.1 routes only clusters, node groups, Fargate profiles and tags. This adds access entries and
access policies, Pod Identity associations, add-ons, updates (DescribeUpdate/ListUpdates) and makes
CreateCluster/DescribeCluster/UpdateClusterConfig behave like EKS. All new state hangs off moto's
Cluster objects, so DeleteCluster and /moto-api/reset drop it with the cluster.
"""

from __future__ import annotations

import base64
import json
import re
from typing import Any
from urllib.parse import parse_qs, unquote

import yaml
from moto.core.responses import ActionResult, EmptyResult
from moto.core.utils import utcnow
from moto.eks import models as eks_models
from moto.eks import urls as eks_urls
from moto.eks.exceptions import (
    InvalidParameterException,
    InvalidRequestException,
    ResourceInUseException,
    ResourceNotFoundException,
)
from moto.eks.responses import EKSResponse
from moto.moto_api._internal import mock_random as random

import kube_auth

AUTH_MODES = ("CONFIG_MAP", "API_AND_CONFIG_MAP", "API")
# EKS only moves one step at a time towards access entries.
AUTH_MODE_NEXT = {"CONFIG_MAP": "API_AND_CONFIG_MAP", "API_AND_CONFIG_MAP": "API"}
MODE_REQUIRED_MSG = (
    "The cluster's authentication mode must be set to one of [API, API_AND_CONFIG_MAP] to perform this operation."
)
ENTRY_TYPES = ("STANDARD", "EC2_LINUX", "EC2_WINDOWS", "FARGATE_LINUX", "EC2", "HYBRID_LINUX", "HYPERPOD_LINUX")
NODE_ENTRY_DEFAULTS = {
    "EC2_LINUX": ("system:node:{{EC2PrivateDNSName}}", ["system:nodes"]),
    "EC2_WINDOWS": ("system:node:{{EC2PrivateDNSName}}", ["system:nodes", "eks:kube-proxy-windows"]),
    "EC2": ("system:node:{{EC2PrivateDNSName}}", ["system:nodes"]),
    "FARGATE_LINUX": ("system:node:{{SessionName}}", ["system:nodes", "system:node-proxier"]),
    "HYBRID_LINUX": ("system:node:{{SessionName}}", ["system:nodes"]),
    "HYPERPOD_LINUX": ("system:node:{{SessionName}}", ["system:nodes"]),
}
ACCESS_POLICIES = [
    "AmazonAIOpsAssistantPolicy",
    "AmazonEKSAdminPolicy",
    "AmazonEKSAdminViewPolicy",
    "AmazonEKSAutoNodePolicy",
    "AmazonEKSBlockStorageClusterPolicy",
    "AmazonEKSClusterAdminPolicy",
    "AmazonEKSClusterInsightsPolicy",
    "AmazonEKSComputeClusterPolicy",
    "AmazonEKSEditPolicy",
    "AmazonEKSHybridPolicy",
    "AmazonEKSLoadBalancingClusterPolicy",
    "AmazonEKSNetworkingClusterPolicy",
    "AmazonEKSViewPolicy",
    "AmazonEMRJobPolicy",
    "AmazonSagemakerHyperpodClusterPolicy",
    "AmazonSagemakerHyperpodControllerPolicy",
    "AmazonSagemakerHyperpodSystemNamespacePolicy",
]
ACCESS_POLICY_ARN = "arn:{partition}:eks::aws:cluster-access-policy/{name}"

# Versions per add-on; "k8s" limits the cluster minors an entry is offered for.
ADDONS: dict[str, dict[str, Any]] = {
    "vpc-cni": {
        "type": "networking",
        "versions": [
            {"v": "v1.20.4-eksbuild.1", "default": True},
            {"v": "v1.19.6-eksbuild.7"},
            {"v": "v1.18.6-eksbuild.1", "k8s": (28, 33)},
        ],
        "iam": True,
    },
    "coredns": {
        "type": "networking",
        "versions": [
            {"v": "v1.12.4-eksbuild.1", "default": True, "k8s": (33, 37)},
            {"v": "v1.11.4-eksbuild.24", "default": True, "k8s": (29, 32)},
            {"v": "v1.10.1-eksbuild.38", "default": True, "k8s": (28, 28)},
        ],
    },
    "kube-proxy": {"type": "networking", "versions": "per-k8s"},
    "eks-pod-identity-agent": {
        "type": "security",
        "versions": [
            {"v": "v1.3.10-eksbuild.1", "default": True},
            {"v": "v1.3.8-eksbuild.2"},
            {"v": "v1.3.4-eksbuild.1"},
        ],
    },
    "aws-ebs-csi-driver": {
        "type": "storage",
        "versions": [{"v": "v1.48.0-eksbuild.2", "default": True}, {"v": "v1.45.0-eksbuild.2"}],
        "iam": True,
    },
    "snapshot-controller": {"type": "storage", "versions": [{"v": "v8.3.0-eksbuild.1", "default": True}]},
    "metrics-server": {"type": "observability", "versions": [{"v": "v0.8.0-eksbuild.2", "default": True}]},
}


# ---------------------------------------------------------------- state


class ClusterExt:
    def __init__(self, account_id: str, region: str) -> None:
        self.account_id = account_id
        self.region = region
        self.access_entries: dict[str, dict[str, Any]] = {}
        self.associated_policies: dict[str, dict[str, dict[str, Any]]] = {}
        self.pod_identity: dict[str, dict[str, Any]] = {}
        self.addons: dict[str, dict[str, Any]] = {}
        self.updates: dict[str, dict[str, Any]] = {}
        self.creator_principal: str | None = None
        self.implicit_admin = False
        self.security_group_id: str | None = None


def _state(cluster: Any) -> ClusterExt:
    st = getattr(cluster, "ext", None)
    if st is None:
        m = re.match(r"^arn:[^:]+:eks:([^:]+):(\d+):", cluster.arn)
        st = ClusterExt(m.group(2) if m else "", m.group(1) if m else "")
        cluster.ext = st
    return st


# ---------------------------------------------------------------- errors and request helpers


def _clean(ids: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in ids.items() if v is not None}


def not_found(message: str, **ids: Any) -> ResourceNotFoundException:
    return ResourceNotFoundException(message=message, **_clean(ids))


def in_use(message: str, **ids: Any) -> ResourceInUseException:
    return ResourceInUseException(message=message, **_clean(ids))


def invalid_param(message: str, **ids: Any) -> InvalidParameterException:
    return InvalidParameterException(message=message, **_clean(ids))


def invalid_request(message: str, **ids: Any) -> InvalidRequestException:
    return InvalidRequestException(message=message, **_clean(ids))


def _body(resp: EKSResponse) -> dict[str, Any]:
    raw = resp.body
    if not raw:
        return {}
    try:
        value = json.loads(raw)
    except ValueError:
        raise invalid_param("Request body is not valid JSON")
    return value if isinstance(value, dict) else {}


def _path(resp: EKSResponse, key: str) -> str | None:
    if resp.uri_match is None:
        resp._get_action()
    try:
        value = resp.uri_match.group(key) if resp.uri_match else None
    except IndexError:
        return None
    return unquote(value) if value is not None else None


def _query(resp: EKSResponse) -> dict[str, list[str]]:
    return parse_qs(resp.parsed_url.query, keep_blank_values=True)


def _q1(resp: EKSResponse, key: str) -> str | None:
    values = _query(resp).get(key)
    return values[0] if values else None


def _max_results(resp: EKSResponse, limit: int) -> int:
    raw = _q1(resp, "maxResults")
    if raw is None:
        return limit
    try:
        value = int(raw)
    except ValueError:
        raise invalid_param("maxResults must be an integer")
    if value < 1 or value > limit:
        raise invalid_param(f"maxResults must be between 1 and {limit}")
    return value


def _paginate(resp: EKSResponse, items: list[Any], limit: int = 100) -> tuple[list[Any], str | None]:
    size = _max_results(resp, limit)
    token = _q1(resp, "nextToken")
    start = 0
    if token:
        try:
            start = int(base64.urlsafe_b64decode(token.encode()).decode().split(":", 1)[1])
        except (ValueError, IndexError):
            raise invalid_param("The nextToken provided is invalid")
    end = start + size
    nxt = base64.urlsafe_b64encode(f"page:{end}".encode()).decode() if end < len(items) else None
    return items[start:end], nxt


def _cluster(resp: EKSResponse, name: str | None) -> Any:
    cluster = resp.eks_backend.clusters.get(name or "")
    if cluster is None:
        raise not_found(f"No cluster found for name: {name}.", clusterName=name)
    return cluster


def _require_api_mode(cluster: Any) -> None:
    if (cluster.access_config or {}).get("authenticationMode") not in ("API", "API_AND_CONFIG_MAP"):
        raise invalid_request(MODE_REQUIRED_MSG, clusterName=cluster.name)


def _partition(resp: EKSResponse) -> str:
    return resp.eks_backend.partition


def _arn_base(resp: Any) -> str:
    backend = getattr(resp, "eks_backend", resp)
    return f"arn:{backend.partition}:eks:{backend.region_name}:{backend.account_id}"


def _new_update(cluster: Any, kind: str, params: list[tuple[str, Any]], nodegroup: str | None = None,
                addon: str | None = None) -> dict[str, Any]:
    rendered = []
    for ptype, value in params:
        if isinstance(value, (dict, list)):
            value = json.dumps(value)
        elif isinstance(value, bool):
            value = "true" if value else "false"
        rendered.append({"type": ptype, "value": "" if value is None else str(value)})
    update = {
        "id": str(random.uuid4()),
        "status": "Successful",
        "type": kind,
        "params": rendered,
        "createdAt": utcnow(),
        "errors": [],
    }
    _state(cluster).updates[update["id"]] = {"update": update, "nodegroup": nodegroup, "addon": addon}
    return update


def _minor(version: str | None) -> int:
    m = re.match(r"^1\.(\d+)", version or "")
    return int(m.group(1)) if m else 0


def caller_principal(resp: EKSResponse) -> str:
    from moto.sts.models import sts_backends

    _, arn, _ = sts_backends[resp.current_account][resp.partition].get_caller_identity(resp.access_key, resp.region)
    return kube_auth.principal_from_caller_arn(arn)[0]


# ---------------------------------------------------------------- clusters


def _cluster_security_group(account_id: str, region: str, name: str, subnet_ids: list[str]) -> tuple[str, str] | None:
    """Create the security group EKS makes for every cluster, in the VPC of its subnets."""
    if not subnet_ids:
        return None
    from moto.ec2.models import ec2_backends

    ec2 = ec2_backends[account_id][region]
    try:
        vpc_id = ec2.get_subnet(subnet_ids[0]).vpc_id
    except Exception:  # noqa: BLE001 - unknown subnets: no group, like moto before
        return None
    sg_name = f"eks-cluster-sg-{name}-{random.randint(1000000000, 9999999999)}"
    sg = ec2.create_security_group(
        sg_name,
        "EKS created security group applied to ENI that is attached to EKS Control Plane master nodes, "
        "as well as any managed workloads.",
        vpc_id=vpc_id,
        tags={"Name": sg_name, "aws:eks:cluster-name": name, f"kubernetes.io/cluster/{name}": "owned"},
    )
    try:
        ec2.authorize_security_group_ingress(sg.id, "-1", None, None, [], source_groups=[{"GroupId": sg.id}],
                                             vpc_id=vpc_id)
    except Exception:  # noqa: BLE001 - the self rule is cosmetic
        pass
    return sg.id, vpc_id


def _add_entry(resp: Any, cluster: Any, principal: str, entry_type: str, username: str | None,
               groups: list[str] | None, tags: dict[str, str] | None) -> dict[str, Any]:
    st = _state(cluster)
    if entry_type in NODE_ENTRY_DEFAULTS:
        default_user, default_groups = NODE_ENTRY_DEFAULTS[entry_type]
        username, groups = default_user, list(default_groups)
    else:
        if not username:
            m = re.match(r"^arn:([^:]+):iam::(\d{12}):role/(?:.*/)?([^/]+)$", principal)
            username = (
                f"arn:{m.group(1)}:sts::{m.group(2)}:assumed-role/{m.group(3)}/{{{{SessionName}}}}" if m else principal
            )
        groups = list(groups or [])
    kind, acct, pname = _principal_parts(principal)
    now = utcnow()
    entry = {
        "clusterName": cluster.name,
        "principalArn": principal,
        "kubernetesGroups": groups,
        "accessEntryArn": f"{_arn_base(resp)}:access-entry/{cluster.name}/{kind}/{acct}/{pname}/{random.uuid4()}",
        "createdAt": now,
        "modifiedAt": now,
        "tags": dict(tags or {}),
        "username": username,
        "type": entry_type,
    }
    st.access_entries[principal] = entry
    st.associated_policies.setdefault(principal, {})
    return entry


def _principal_parts(principal: str) -> tuple[str, str, str]:
    m = re.match(r"^arn:[^:]+:iam::(\d{12}):(role|user)/(?:.*/)?([^/]+)$", principal)
    if not m:
        return "principal", "", principal.rsplit("/", 1)[-1]
    return m.group(2), m.group(1), m.group(3)


def _associate(resp: Any, cluster: Any, principal: str, policy_arn: str, scope: dict[str, Any]) -> dict[str, Any]:
    assocs = _state(cluster).associated_policies.setdefault(principal, {})
    now = utcnow()
    current = assocs.get(policy_arn)
    assoc = {
        "policyArn": policy_arn,
        "accessScope": {"type": scope.get("type", "cluster"), "namespaces": list(scope.get("namespaces") or [])},
        "associatedAt": current["associatedAt"] if current else now,
        "modifiedAt": now,
    }
    assocs[policy_arn] = assoc
    return assoc


def create_cluster(self: EKSResponse) -> ActionResult:
    b = _body(self)
    access = b.get("accessConfig") or {}
    mode = access.get("authenticationMode") or "CONFIG_MAP"
    if mode not in AUTH_MODES:
        raise invalid_param(f"Unsupported authentication mode {mode}")
    bootstrap = access.get("bootstrapClusterCreatorAdminPermissions")
    bootstrap = True if bootstrap is None else bool(bootstrap)
    creator = caller_principal(self)

    cluster = self.eks_backend.create_cluster(
        name=b.get("name"),
        version=b.get("version"),
        role_arn=b.get("roleArn"),
        resources_vpc_config=dict(b.get("resourcesVpcConfig") or {}),
        kubernetes_network_config=b.get("kubernetesNetworkConfig"),
        logging=b.get("logging"),
        client_request_token=b.get("clientRequestToken"),
        tags=b.get("tags"),
        encryption_config=b.get("encryptionConfig"),
        remote_network_config=b.get("remoteNetworkConfig"),
    )
    backend = self.eks_backend
    st = ClusterExt(backend.account_id, backend.region_name)
    cluster.ext = st
    st.creator_principal = creator
    # In CONFIG_MAP mode EKS maps the creator to system:masters outside aws-auth; in the API modes the
    # creator's admin access is the bootstrap access entry instead, and goes away with it.
    st.implicit_admin = bootstrap and mode == "CONFIG_MAP"
    cluster.access_config = {"authenticationMode": mode, "bootstrapClusterCreatorAdminPermissions": bootstrap}
    cluster.identity = {
        "oidc": {"issuer": f"https://oidc.eks.{backend.region_name}.amazonaws.com/id/{random.uuid4().hex.upper()}"}
    }
    vpc = cluster.resources_vpc_config
    vpc.setdefault("subnetIds", [])
    vpc.setdefault("securityGroupIds", [])
    vpc.setdefault("endpointPublicAccess", True)
    vpc.setdefault("endpointPrivateAccess", False)
    vpc.setdefault("publicAccessCidrs", ["0.0.0.0/0"])
    sg = _cluster_security_group(backend.account_id, backend.region_name, cluster.name, vpc["subnetIds"])
    if sg:
        st.security_group_id = sg[0]
        vpc["clusterSecurityGroupId"], vpc["vpcId"] = sg
    knc = {"serviceIpv4Cidr": "172.20.0.0/16", "ipFamily": "ipv4"}
    knc.update(b.get("kubernetesNetworkConfig") or {})
    cluster.kubernetes_network_config = knc
    for attr, key in (
        ("compute_config", "computeConfig"),
        ("storage_config", "storageConfig"),
        ("zonal_shift_config", "zonalShiftConfig"),
        ("outpost_config", "outpostConfig"),
        ("control_plane_scaling_config", "controlPlaneScalingConfig"),
    ):
        setattr(cluster, attr, b.get(key))
    cluster.upgrade_policy = b.get("upgradePolicy") or {"supportType": "EXTENDED"}
    cluster.deletion_protection = bool(b.get("deletionProtection", False))
    cluster.health = {"issues": []}

    if mode != "CONFIG_MAP" and bootstrap:
        _add_entry(self, cluster, creator, "STANDARD", None, None, None)
        _associate(self, cluster, creator, ACCESS_POLICY_ARN.format(partition=_partition(self),
                                                                    name="AmazonEKSClusterAdminPolicy"),
                   {"type": "cluster"})
    compute = cluster.compute_config or {}
    if compute.get("enabled") and compute.get("nodeRoleArn") and mode != "CONFIG_MAP":
        # Auto Mode gives its node role an EC2 access entry with the Auto node policy.
        role = compute["nodeRoleArn"]
        _add_entry(self, cluster, role, "EC2", None, None, None)
        _associate(self, cluster, role, ACCESS_POLICY_ARN.format(partition=_partition(self),
                                                                 name="AmazonEKSAutoNodePolicy"),
                   {"type": "cluster"})
    return ActionResult({"cluster": cluster})


def delete_cluster(self: EKSResponse) -> ActionResult:
    name = _path(self, "name")
    cluster = self.eks_backend.delete_cluster(name=name)
    st = _state(cluster)
    if st.security_group_id:
        try:
            from moto.ec2.models import ec2_backends

            ec2_backends[st.account_id][st.region].delete_security_group(group_id=st.security_group_id)
        except Exception:  # noqa: BLE001 - the group may already be gone or in use
            pass
    cluster.status = "DELETING"
    return ActionResult({"cluster": cluster})


def _update_kind(body: dict[str, Any]) -> list[str]:
    kinds = []
    vpc = body.get("resourcesVpcConfig")
    if vpc:
        kinds.append("VpcConfigUpdate" if ("subnetIds" in vpc or "securityGroupIds" in vpc) else "EndpointAccessUpdate")
    for key, kind in (
        ("logging", "LoggingUpdate"),
        ("accessConfig", "AccessConfigUpdate"),
        ("upgradePolicy", "UpgradePolicyUpdate"),
        ("zonalShiftConfig", "ZonalShiftConfigUpdate"),
        ("remoteNetworkConfig", "RemoteNetworkConfigUpdate"),
        ("deletionProtection", "DeletionProtectionUpdate"),
        ("controlPlaneScalingConfig", "ConfigUpdate"),
    ):
        if key in body and body[key] is not None:
            kinds.append(kind)
    if any(body.get(k) is not None for k in ("computeConfig", "storageConfig", "kubernetesNetworkConfig")):
        kinds.append("AutoModeUpdate")
    return kinds


def update_cluster_config(self: EKSResponse) -> ActionResult:
    name = _path(self, "name")
    cluster = _cluster(self, name)
    b = _body(self)
    kinds = _update_kind(b)
    if not kinds:
        raise invalid_param("No changes needed", clusterName=name)
    if len(kinds) > 1:
        raise invalid_param("Only one type of update can be allowed.", clusterName=name)
    kind = kinds[0]
    params: list[tuple[str, Any]] = []
    if kind == "AccessConfigUpdate":
        current = (cluster.access_config or {}).get("authenticationMode", "CONFIG_MAP")
        wanted = (b["accessConfig"] or {}).get("authenticationMode")
        if wanted not in AUTH_MODES or AUTH_MODE_NEXT.get(current) != wanted:
            raise invalid_param(f"Unsupported authentication mode update from {current} to {wanted}", clusterName=name)
        cluster.access_config = dict(cluster.access_config or {}, authenticationMode=wanted)
        params.append(("AuthenticationMode", wanted))
    elif kind in ("VpcConfigUpdate", "EndpointAccessUpdate"):
        vpc = b["resourcesVpcConfig"]
        cluster.resources_vpc_config.update(vpc)
        for key, ptype in (
            ("subnetIds", "Subnets"),
            ("securityGroupIds", "SecurityGroups"),
            ("endpointPublicAccess", "EndpointPublicAccess"),
            ("endpointPrivateAccess", "EndpointPrivateAccess"),
            ("publicAccessCidrs", "PublicAccessCidrs"),
        ):
            if key in vpc:
                params.append((ptype, vpc[key]))
    elif kind == "LoggingUpdate":
        cluster.logging = b["logging"]
        params.append(("ClusterLogging", b["logging"].get("clusterLogging", [])))
    elif kind == "AutoModeUpdate":
        for attr, key, ptype in (
            ("compute_config", "computeConfig", "ComputeConfig"),
            ("storage_config", "storageConfig", "StorageConfig"),
            ("kubernetes_network_config", "kubernetesNetworkConfig", "KubernetesNetworkConfig"),
        ):
            if b.get(key) is not None:
                merged = dict(getattr(cluster, attr, None) or {})
                merged.update(b[key])
                setattr(cluster, attr, merged)
                params.append((ptype, b[key]))
    elif kind == "DeletionProtectionUpdate":
        cluster.deletion_protection = bool(b["deletionProtection"])
        params.append(("DeletionProtection", cluster.deletion_protection))
    else:
        key = {
            "UpgradePolicyUpdate": ("upgradePolicy", "upgrade_policy", "UpgradePolicy"),
            "ZonalShiftConfigUpdate": ("zonalShiftConfig", "zonal_shift_config", "ZonalShiftConfig"),
            "RemoteNetworkConfigUpdate": ("remoteNetworkConfig", "remote_network_config", "RemoteNetworkConfig"),
            "ConfigUpdate": ("controlPlaneScalingConfig", "control_plane_scaling_config", "ComputeConfig"),
        }[kind]
        setattr(cluster, key[1], b[key[0]])
        params.append((key[2], b[key[0]]))
    return ActionResult({"update": _new_update(cluster, kind, params)})


def update_cluster_version(self: EKSResponse) -> ActionResult:
    name = _path(self, "name")
    cluster = _cluster(self, name)
    wanted = _body(self).get("version")
    if _minor(wanted) != _minor(cluster.version) + 1 or not str(wanted).startswith("1."):
        raise invalid_param(f"Unsupported Kubernetes minor version update from {cluster.version} to {wanted}",
                            clusterName=name)
    cluster.version = wanted
    return ActionResult({"update": _new_update(cluster, "VersionUpdate",
                                               [("Version", wanted), ("PlatformVersion", cluster.platformVersion)])})


def describe_update(self: EKSResponse) -> ActionResult:
    name = _path(self, "name")
    update_id = _path(self, "updateId")
    cluster = _cluster(self, name)
    nodegroup = _q1(self, "nodegroupName")
    addon = _q1(self, "addonName")
    if nodegroup and nodegroup not in cluster.nodegroups:
        raise not_found(f"No node group found for name: {nodegroup}.", clusterName=name, nodegroupName=nodegroup)
    if addon and addon not in _state(cluster).addons:
        raise not_found(f"No addon: {addon} found in cluster: {name}", clusterName=name, addonName=addon)
    rec = _state(cluster).updates.get(update_id or "")
    if rec is None or rec["nodegroup"] != (nodegroup or None) or rec["addon"] != (addon or None):
        raise not_found(f"No update found for ID: {update_id}", clusterName=name, updateId=update_id)
    return ActionResult({"update": rec["update"]})


def list_updates(self: EKSResponse) -> ActionResult:
    name = _path(self, "name")
    cluster = _cluster(self, name)
    nodegroup = _q1(self, "nodegroupName") or None
    addon = _q1(self, "addonName") or None
    ids = [uid for uid, rec in _state(cluster).updates.items() if rec["nodegroup"] == nodegroup and rec["addon"] == addon]
    page, nxt = _paginate(self, ids)
    return ActionResult({"updateIds": page, "nextToken": nxt})


# ---------------------------------------------------------------- node groups


def _check_scaling(cfg: dict[str, Any]) -> None:
    lo, hi, want = cfg.get("minSize"), cfg.get("maxSize"), cfg.get("desiredSize")
    if lo is not None and lo < 0:
        raise invalid_param("Minimum capacity can't be negative")
    if hi is not None and hi < 1:
        raise invalid_param("Maximum capacity must be at least 1")
    if lo is not None and hi is not None and lo > hi:
        raise invalid_param(f"Minimum capacity {lo} can't be greater than max size {hi}")
    if want is not None and lo is not None and want < lo:
        raise invalid_param(f"Minimum capacity {lo} can't be greater than desired size {want}")
    if want is not None and hi is not None and want > hi:
        raise invalid_param(f"Desired capacity {want} can't be greater than max size {hi}")


def patch_nodegroup_backend() -> None:
    backend_cls = eks_models.EKSBackend
    original = backend_cls.create_nodegroup

    def create_nodegroup(self: Any, **kwargs: Any) -> Any:
        cluster = self.clusters.get(kwargs.get("cluster_name"))
        if cluster is not None:
            version = kwargs.get("version") or cluster.version
            kwargs["version"] = version
            if not kwargs.get("release_version"):
                kwargs["release_version"] = f"{version}.0-20260101"
            if not kwargs.get("ami_type") and _minor(version) >= 30:
                kwargs["ami_type"] = "AL2023_x86_64_STANDARD"
        if kwargs.get("scaling_config"):
            kwargs["scaling_config"] = dict(kwargs["scaling_config"])
            _check_scaling(kwargs["scaling_config"])
        nodegroup = original(self, **kwargs)
        # moto hands every node group the same module-level default dict.
        nodegroup.scaling_config = dict(nodegroup.scaling_config)
        entry_type = "EC2_WINDOWS" if str(nodegroup.ami_type).startswith("WINDOWS") else "EC2_LINUX"
        _auto_node_entry(self, cluster, nodegroup.node_role, entry_type)
        return nodegroup

    backend_cls.create_nodegroup = create_nodegroup

    original_fargate = backend_cls.create_fargate_profile

    def create_fargate_profile(self: Any, **kwargs: Any) -> Any:
        profile = original_fargate(self, **kwargs)
        _auto_node_entry(self, self.clusters.get(kwargs.get("cluster_name")), profile.pod_execution_role_arn,
                         "FARGATE_LINUX")
        return profile

    backend_cls.create_fargate_profile = create_fargate_profile


def _auto_node_entry(backend: Any, cluster: Any, role_arn: str | None, entry_type: str) -> None:
    """EKS adds an access entry for a managed node group's or Fargate profile's role in API modes."""
    if cluster is None or not role_arn:
        return
    if (cluster.access_config or {}).get("authenticationMode") not in ("API", "API_AND_CONFIG_MAP"):
        return
    if role_arn in _state(cluster).access_entries:
        return
    _add_entry(backend, cluster, role_arn, entry_type, None, None, None)


def update_nodegroup_config(self: EKSResponse) -> ActionResult:
    cluster_name = _path(self, "name")
    nodegroup_name = _path(self, "nodegroupName")
    b = _body(self)
    nodegroup = self.eks_backend.describe_nodegroup(cluster_name=cluster_name, nodegroup_name=nodegroup_name)
    scaling = b.get("scalingConfig")
    if scaling:
        merged = dict(nodegroup.scaling_config)
        merged.update(scaling)
        _check_scaling(merged)
    update = self.eks_backend.update_nodegroup_config(
        cluster_name=cluster_name,
        nodegroup_name=nodegroup_name,
        labels=b.get("labels"),
        taints=b.get("taints"),
        scaling_config=scaling,
        update_config=b.get("updateConfig"),
        node_repair_config=b.get("nodeRepairConfig"),
        client_request_token=b.get("clientRequestToken"),
    )
    params: list[tuple[str, Any]] = []
    labels, taints = b.get("labels") or {}, b.get("taints") or {}
    for key, ptype, src in (
        ("addOrUpdateLabels", "LabelsToAdd", labels),
        ("removeLabels", "LabelsToRemove", labels),
        ("addOrUpdateTaints", "TaintsToAdd", taints),
        ("removeTaints", "TaintsToRemove", taints),
    ):
        if src.get(key):
            params.append((ptype, src[key]))
    for key, ptype in (("minSize", "MinSize"), ("maxSize", "MaxSize"), ("desiredSize", "DesiredSize")):
        if scaling and key in scaling:
            params.append((ptype, scaling[key]))
    for key, ptype in (("maxUnavailable", "MaxUnavailable"), ("maxUnavailablePercentage", "MaxUnavailablePercentage"),
                       ("updateStrategy", "UpdateStrategy")):
        if (b.get("updateConfig") or {}).get(key) is not None:
            params.append((ptype, b["updateConfig"][key]))
    if b.get("nodeRepairConfig") is not None:
        params.append(("NodeRepairEnabled", bool(b["nodeRepairConfig"].get("enabled"))))
    cluster = self.eks_backend.clusters[cluster_name]
    kind = update.get("type", "ConfigUpdate")
    return ActionResult({"update": _new_update(cluster, kind, params, nodegroup=nodegroup_name)})


# ---------------------------------------------------------------- access entries


PRINCIPAL_RE = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:(role|user)/.+$")


def _entry(resp: EKSResponse, cluster: Any, principal: str | None) -> dict[str, Any]:
    entry = _state(cluster).access_entries.get(principal or "")
    if entry is None:
        raise not_found(
            "The specified principalArn could not be found. You can view your available access entries with "
            "'list-access-entries'.",
            clusterName=cluster.name,
            principalArn=principal,
        )
    return entry


def create_access_entry(self: EKSResponse) -> ActionResult:
    cluster = _cluster(self, _path(self, "name"))
    _require_api_mode(cluster)
    b = _body(self)
    principal = b.get("principalArn") or ""
    entry_type = b.get("type") or "STANDARD"
    if not PRINCIPAL_RE.match(principal):
        raise invalid_param("The principalArn parameter format is not valid", clusterName=cluster.name)
    if entry_type not in ENTRY_TYPES:
        raise invalid_param(f"The type {entry_type} is not a valid access entry type", clusterName=cluster.name)
    if entry_type in NODE_ENTRY_DEFAULTS:
        if ":role/" not in principal:
            raise invalid_param(f"The principalArn for an access entry of type {entry_type} must be an IAM role",
                                clusterName=cluster.name)
        if principal.split(":")[4] != _state(cluster).account_id:
            raise invalid_param(
                f"The principalArn for an access entry of type {entry_type} must be in the cluster's account",
                clusterName=cluster.name,
            )
        if b.get("kubernetesGroups") or b.get("username"):
            raise invalid_param(
                f"kubernetesGroups and username cannot be specified for an access entry of type {entry_type}",
                clusterName=cluster.name,
            )
    if principal in _state(cluster).access_entries:
        raise in_use("The specified access entry resource is already in use on this cluster.",
                     clusterName=cluster.name, principalArn=principal)
    entry = _add_entry(self, cluster, principal, entry_type, b.get("username"), b.get("kubernetesGroups"),
                       b.get("tags"))
    return ActionResult({"accessEntry": entry})


def describe_access_entry(self: EKSResponse) -> ActionResult:
    cluster = _cluster(self, _path(self, "name"))
    _require_api_mode(cluster)
    return ActionResult({"accessEntry": _entry(self, cluster, _path(self, "principalArn"))})


def list_access_entries(self: EKSResponse) -> ActionResult:
    cluster = _cluster(self, _path(self, "name"))
    _require_api_mode(cluster)
    st = _state(cluster)
    policy = _q1(self, "associatedPolicyArn")
    arns = sorted(a for a in st.access_entries if not policy or policy in st.associated_policies.get(a, {}))
    page, nxt = _paginate(self, arns)
    return ActionResult({"accessEntries": page, "nextToken": nxt})


def update_access_entry(self: EKSResponse) -> ActionResult:
    cluster = _cluster(self, _path(self, "name"))
    _require_api_mode(cluster)
    entry = _entry(self, cluster, _path(self, "principalArn"))
    b = _body(self)
    if entry["type"] in NODE_ENTRY_DEFAULTS and (b.get("kubernetesGroups") is not None or b.get("username")):
        raise invalid_param(
            f"kubernetesGroups and username cannot be specified for an access entry of type {entry['type']}",
            clusterName=cluster.name,
        )
    if b.get("kubernetesGroups") is not None:
        entry["kubernetesGroups"] = list(b["kubernetesGroups"])
    if b.get("username"):
        entry["username"] = b["username"]
    entry["modifiedAt"] = utcnow()
    return ActionResult({"accessEntry": entry})


def delete_access_entry(self: EKSResponse) -> EmptyResult:
    cluster = _cluster(self, _path(self, "name"))
    _require_api_mode(cluster)
    principal = _path(self, "principalArn")
    _entry(self, cluster, principal)
    st = _state(cluster)
    del st.access_entries[principal]
    st.associated_policies.pop(principal, None)
    return EmptyResult()


def _known_policy(resp: EKSResponse, policy_arn: str | None, cluster: Any) -> str:
    names = {ACCESS_POLICY_ARN.format(partition=_partition(resp), name=n) for n in ACCESS_POLICIES}
    if policy_arn not in names:
        raise invalid_param(f"The policyArn {policy_arn} is not a valid access policy", clusterName=cluster.name)
    return policy_arn


def associate_access_policy(self: EKSResponse) -> ActionResult:
    cluster = _cluster(self, _path(self, "name"))
    _require_api_mode(cluster)
    principal = _path(self, "principalArn")
    entry = _entry(self, cluster, principal)
    b = _body(self)
    policy_arn = _known_policy(self, b.get("policyArn"), cluster)
    scope = b.get("accessScope") or {}
    scope_type = scope.get("type")
    namespaces = scope.get("namespaces") or []
    if scope_type not in ("cluster", "namespace"):
        raise invalid_param("accessScope.type must be cluster or namespace", clusterName=cluster.name)
    if scope_type == "cluster" and namespaces:
        raise invalid_param("namespaces can only be specified with an accessScope of type namespace",
                            clusterName=cluster.name)
    if scope_type == "namespace" and not namespaces:
        raise invalid_param("At least one namespace is required for an accessScope of type namespace",
                            clusterName=cluster.name)
    if entry["type"] != "STANDARD" and not (entry["type"] == "EC2" and policy_arn.endswith("/AmazonEKSAutoNodePolicy")):
        raise invalid_param(f"Access policies can't be associated with an access entry of type {entry['type']}",
                            clusterName=cluster.name)
    assoc = _associate(self, cluster, principal, policy_arn, {"type": scope_type, "namespaces": namespaces})
    return ActionResult({"clusterName": cluster.name, "principalArn": principal, "associatedAccessPolicy": assoc})


def disassociate_access_policy(self: EKSResponse) -> EmptyResult:
    cluster = _cluster(self, _path(self, "name"))
    _require_api_mode(cluster)
    principal = _path(self, "principalArn")
    _entry(self, cluster, principal)
    policy_arn = _path(self, "policyArn")
    assocs = _state(cluster).associated_policies.get(principal, {})
    if policy_arn not in assocs:
        raise not_found(f"The policy {policy_arn} is not associated with the access entry for {principal}",
                        clusterName=cluster.name, principalArn=principal)
    del assocs[policy_arn]
    return EmptyResult()


def list_associated_access_policies(self: EKSResponse) -> ActionResult:
    cluster = _cluster(self, _path(self, "name"))
    _require_api_mode(cluster)
    principal = _path(self, "principalArn")
    _entry(self, cluster, principal)
    items = list(_state(cluster).associated_policies.get(principal, {}).values())
    page, nxt = _paginate(self, items)
    return ActionResult({"clusterName": cluster.name, "principalArn": principal, "associatedAccessPolicies": page,
                         "nextToken": nxt})


def list_access_policies(self: EKSResponse) -> ActionResult:
    items = [{"name": n, "arn": ACCESS_POLICY_ARN.format(partition=_partition(self), name=n)} for n in ACCESS_POLICIES]
    page, nxt = _paginate(self, items)
    return ActionResult({"accessPolicies": page, "nextToken": nxt})


# ---------------------------------------------------------------- Pod Identity


def _association_id() -> str:
    alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
    return "a-" + "".join(random.choice(alphabet) for _ in range(17))


def _role_arn_ok(arn: str | None, cluster: Any, field: str = "roleArn") -> None:
    if not arn or not re.match(r"^arn:aws[a-z-]*:iam::\d{12}:role/.+$", arn):
        raise invalid_param(f"Invalid {field}: '{arn}'", clusterName=cluster.name)


def _new_association(resp: EKSResponse, cluster: Any, namespace: str, service_account: str, role_arn: str,
                     tags: dict[str, str] | None, owner: str | None = None, **extra: Any) -> dict[str, Any]:
    st = _state(cluster)
    for existing in st.pod_identity.values():
        if existing["namespace"] == namespace and existing["serviceAccount"] == service_account:
            raise in_use(f"Association already exists: {existing['associationId']}", clusterName=cluster.name)
    assoc_id = _association_id()
    now = utcnow()
    assoc = {
        "clusterName": cluster.name,
        "namespace": namespace,
        "serviceAccount": service_account,
        "roleArn": role_arn,
        "associationArn": f"{_arn_base(resp)}:podidentityassociation/{cluster.name}/{assoc_id}",
        "associationId": assoc_id,
        "tags": dict(tags or {}),
        "createdAt": now,
        "modifiedAt": now,
        "disableSessionTags": bool(extra.get("disableSessionTags") or False),
    }
    if owner:
        assoc["ownerArn"] = owner
    if extra.get("targetRoleArn"):
        assoc["targetRoleArn"] = extra["targetRoleArn"]
        assoc["externalId"] = str(random.uuid4())
    if extra.get("policy"):
        assoc["policy"] = extra["policy"]
    st.pod_identity[assoc_id] = assoc
    return assoc


def _association(cluster: Any, assoc_id: str | None) -> dict[str, Any]:
    assoc = _state(cluster).pod_identity.get(assoc_id or "")
    if assoc is None:
        raise not_found(f"No Pod Identity Association found with id: {assoc_id}", clusterName=cluster.name)
    return assoc


def create_pod_identity_association(self: EKSResponse) -> ActionResult:
    cluster = _cluster(self, _path(self, "name"))
    b = _body(self)
    for key in ("namespace", "serviceAccount"):
        if not b.get(key):
            raise invalid_param(f"{key} is required", clusterName=cluster.name)
    _role_arn_ok(b.get("roleArn"), cluster)
    if b.get("targetRoleArn"):
        _role_arn_ok(b["targetRoleArn"], cluster, "targetRoleArn")
    assoc = _new_association(self, cluster, b["namespace"], b["serviceAccount"], b["roleArn"], b.get("tags"),
                             disableSessionTags=b.get("disableSessionTags"), targetRoleArn=b.get("targetRoleArn"),
                             policy=b.get("policy"))
    return ActionResult({"association": assoc})


def describe_pod_identity_association(self: EKSResponse) -> ActionResult:
    cluster = _cluster(self, _path(self, "name"))
    return ActionResult({"association": _association(cluster, _path(self, "associationId"))})


def list_pod_identity_associations(self: EKSResponse) -> ActionResult:
    cluster = _cluster(self, _path(self, "name"))
    namespace = _q1(self, "namespace")
    service_account = _q1(self, "serviceAccount")
    items = [
        {k: a[k] for k in ("clusterName", "namespace", "serviceAccount", "associationArn", "associationId", "ownerArn")
         if k in a}
        for a in sorted(_state(cluster).pod_identity.values(), key=lambda a: a["createdAt"])
        if (not namespace or a["namespace"] == namespace) and (not service_account or a["serviceAccount"] == service_account)
    ]
    page, nxt = _paginate(self, items)
    return ActionResult({"associations": page, "nextToken": nxt})


def update_pod_identity_association(self: EKSResponse) -> ActionResult:
    cluster = _cluster(self, _path(self, "name"))
    assoc = _association(cluster, _path(self, "associationId"))
    b = _body(self)
    if b.get("roleArn") is not None:
        _role_arn_ok(b["roleArn"], cluster)
        assoc["roleArn"] = b["roleArn"]
    if b.get("disableSessionTags") is not None:
        assoc["disableSessionTags"] = bool(b["disableSessionTags"])
    if b.get("targetRoleArn") is not None:
        if b["targetRoleArn"]:
            _role_arn_ok(b["targetRoleArn"], cluster, "targetRoleArn")
            assoc["targetRoleArn"] = b["targetRoleArn"]
            assoc.setdefault("externalId", str(random.uuid4()))
        else:
            assoc.pop("targetRoleArn", None)
            assoc.pop("externalId", None)
    if b.get("policy") is not None:
        assoc["policy"] = b["policy"]
    assoc["modifiedAt"] = utcnow()
    return ActionResult({"association": assoc})


def delete_pod_identity_association(self: EKSResponse) -> ActionResult:
    cluster = _cluster(self, _path(self, "name"))
    assoc = _association(cluster, _path(self, "associationId"))
    del _state(cluster).pod_identity[assoc["associationId"]]
    return ActionResult({"association": assoc})


# ---------------------------------------------------------------- add-ons


def _addon_versions(name: str, k8s: str) -> list[dict[str, Any]]:
    spec = ADDONS[name]
    minor = _minor(k8s)
    if spec["versions"] == "per-k8s":
        return [
            {"v": f"v{k8s}.0-eksbuild.2", "default": True},
            {"v": f"v{k8s}.0-eksbuild.1"},
            {"v": f"v{k8s}.0-minimal-eksbuild.2"},
        ] if minor else []
    out = []
    for item in spec["versions"]:
        lo, hi = item.get("k8s", (0, 99))
        if lo <= minor <= hi:
            out.append(item)
    return out


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(int(n) for n in re.findall(r"\d+", version))


def _addon(cluster: Any, name: str | None) -> dict[str, Any]:
    addon = _state(cluster).addons.get(name or "")
    if addon is None:
        raise not_found(f"No addon: {name} found in cluster: {cluster.name}", clusterName=cluster.name, addonName=name)
    return addon


def _check_addon_version(cluster: Any, name: str, version: str | None) -> str:
    versions = _addon_versions(name, cluster.version)
    if not versions:
        raise invalid_param(f"Addon {name} specified is not supported in {cluster.version} cluster version",
                            clusterName=cluster.name, addonName=name)
    if version is None:
        return next((v["v"] for v in versions if v.get("default")), versions[0]["v"])
    if version not in [v["v"] for v in versions]:
        raise invalid_param("Addon version specified is not supported", clusterName=cluster.name, addonName=name)
    return version


def _check_configuration(cluster: Any, name: str, values: str | None) -> None:
    if values is None:
        return
    try:
        parsed = yaml.safe_load(values) if values.strip() else {}
    except yaml.YAMLError:
        parsed = None
    if not isinstance(parsed, dict):
        raise invalid_param(f"ConfigurationValue provided in request is not supported: {values!r} is not an object",
                            clusterName=cluster.name, addonName=name)


def _addon_associations(resp: EKSResponse, cluster: Any, addon: dict[str, Any], wanted: list[dict[str, Any]]) -> None:
    st = _state(cluster)
    namespace = (addon.get("namespaceConfig") or {}).get("namespace") or "kube-system"
    for assoc_id in [i for i, a in st.pod_identity.items() if a.get("ownerArn") == addon["addonArn"]]:
        del st.pod_identity[assoc_id]
    arns = []
    for item in wanted:
        _role_arn_ok(item.get("roleArn"), cluster)
        assoc = _new_association(resp, cluster, namespace, item.get("serviceAccount") or "", item["roleArn"], None,
                                 owner=addon["addonArn"])
        arns.append(assoc["associationArn"])
    addon["podIdentityAssociations"] = arns


def create_addon(self: EKSResponse) -> ActionResult:
    cluster = _cluster(self, _path(self, "name"))
    b = _body(self)
    name = b.get("addonName")
    if name not in ADDONS:
        raise invalid_param(f"Addon {name} specified is not supported", clusterName=cluster.name, addonName=name)
    st = _state(cluster)
    if name in st.addons:
        raise in_use("Addon already exists.", clusterName=cluster.name, addonName=name)
    version = _check_addon_version(cluster, name, b.get("addonVersion"))
    _check_configuration(cluster, name, b.get("configurationValues"))
    if b.get("serviceAccountRoleArn"):
        _role_arn_ok(b["serviceAccountRoleArn"], cluster, "serviceAccountRoleArn")
    now = utcnow()
    addon: dict[str, Any] = {
        "addonName": name,
        "clusterName": cluster.name,
        "status": "ACTIVE",
        "addonVersion": version,
        "health": {"issues": []},
        "addonArn": f"{_arn_base(self)}:addon/{cluster.name}/{name}/{random.uuid4()}",
        "createdAt": now,
        "modifiedAt": now,
        "tags": dict(b.get("tags") or {}),
        "publisher": "eks",
        "owner": "aws",
        "podIdentityAssociations": [],
    }
    if b.get("serviceAccountRoleArn"):
        addon["serviceAccountRoleArn"] = b["serviceAccountRoleArn"]
    if b.get("configurationValues") is not None:
        addon["configurationValues"] = b["configurationValues"]
    if b.get("namespaceConfig"):
        addon["namespaceConfig"] = {"namespace": b["namespaceConfig"].get("namespace")}
    if b.get("podIdentityAssociations"):
        _addon_associations(self, cluster, addon, b["podIdentityAssociations"])
    st.addons[name] = addon
    return ActionResult({"addon": addon})


def describe_addon(self: EKSResponse) -> ActionResult:
    cluster = _cluster(self, _path(self, "name"))
    return ActionResult({"addon": _addon(cluster, _path(self, "addonName"))})


def list_addons(self: EKSResponse) -> ActionResult:
    cluster = _cluster(self, _path(self, "name"))
    page, nxt = _paginate(self, sorted(_state(cluster).addons))
    return ActionResult({"addons": page, "nextToken": nxt})


def update_addon(self: EKSResponse) -> ActionResult:
    cluster = _cluster(self, _path(self, "name"))
    name = _path(self, "addonName")
    addon = _addon(cluster, name)
    b = _body(self)
    params: list[tuple[str, Any]] = []
    if b.get("addonVersion"):
        addon["addonVersion"] = _check_addon_version(cluster, name, b["addonVersion"])
        params.append(("AddonVersion", addon["addonVersion"]))
    if b.get("serviceAccountRoleArn") is not None:
        if b["serviceAccountRoleArn"]:
            _role_arn_ok(b["serviceAccountRoleArn"], cluster, "serviceAccountRoleArn")
            addon["serviceAccountRoleArn"] = b["serviceAccountRoleArn"]
        else:
            addon.pop("serviceAccountRoleArn", None)
        params.append(("ServiceAccountRoleArn", b["serviceAccountRoleArn"]))
    if b.get("resolveConflicts"):
        params.append(("ResolveConflicts", b["resolveConflicts"]))
    if b.get("configurationValues") is not None:
        _check_configuration(cluster, name, b["configurationValues"])
        addon["configurationValues"] = b["configurationValues"]
        params.append(("ConfigurationValues", b["configurationValues"]))
    if b.get("podIdentityAssociations") is not None:
        _addon_associations(self, cluster, addon, b["podIdentityAssociations"])
        params.append(("PodIdentityAssociations", addon["podIdentityAssociations"]))
    addon["modifiedAt"] = utcnow()
    return ActionResult({"update": _new_update(cluster, "AddonUpdate", params, addon=name)})


def delete_addon(self: EKSResponse) -> ActionResult:
    cluster = _cluster(self, _path(self, "name"))
    name = _path(self, "addonName")
    addon = _addon(cluster, name)
    st = _state(cluster)
    del st.addons[name]
    for assoc_id in [i for i, a in st.pod_identity.items() if a.get("ownerArn") == addon["addonArn"]]:
        del st.pod_identity[assoc_id]
    return ActionResult({"addon": dict(addon, status="DELETING")})


def describe_addon_versions(self: EKSResponse) -> ActionResult:
    q = _query(self)
    name = _q1(self, "addonName")
    k8s = _q1(self, "kubernetesVersion")
    types = set(q.get("types", []))
    publishers = set(q.get("publishers", []))
    owners = set(q.get("owners", []))
    k8s_list = [k8s] if k8s else [f"1.{m}" for m in range(28, 38)]
    items = []
    for addon_name in sorted(ADDONS):
        spec = ADDONS[addon_name]
        if name and addon_name != name:
            continue
        if (types and spec["type"] not in types) or (publishers and "eks" not in publishers) or (owners and "aws" not in owners):
            continue
        versions: dict[str, dict[str, Any]] = {}
        for kv in k8s_list:
            for item in _addon_versions(addon_name, kv):
                info = versions.setdefault(item["v"], {
                    "addonVersion": item["v"],
                    "architecture": ["amd64", "arm64"],
                    "computeTypes": ["ec2", "hybrid"],
                    "compatibilities": [],
                    "requiresConfiguration": False,
                    "requiresIamPermissions": bool(spec.get("iam")),
                })
                info["compatibilities"].append(
                    {"clusterVersion": kv, "platformVersions": ["*"], "defaultVersion": bool(item.get("default"))}
                )
        if not versions:
            continue
        items.append({
            "addonName": addon_name,
            "type": spec["type"],
            "addonVersions": sorted(versions.values(), key=lambda v: _version_key(v["addonVersion"]), reverse=True),
            "publisher": "eks",
            "owner": "aws",
            "defaultNamespace": "kube-system",
        })
    page, nxt = _paginate(self, items)
    return ActionResult({"addons": page, "nextToken": nxt})


# ---------------------------------------------------------------- tags on the new resources


def patch_tagging() -> None:
    backend_cls = eks_models.EKSBackend

    def find_tags(backend: Any, arn: str) -> dict[str, str] | None:
        for cluster in backend.clusters.values():
            for ng in cluster.nodegroups.values():
                if ng.arn == arn:
                    return ng.tags
            st = getattr(cluster, "ext", None)
            if st is None:
                continue
            for obj in list(st.access_entries.values()):
                if obj["accessEntryArn"] == arn:
                    return obj["tags"]
            for obj in list(st.pod_identity.values()):
                if obj["associationArn"] == arn:
                    return obj["tags"]
            for obj in list(st.addons.values()):
                if obj["addonArn"] == arn:
                    return obj["tags"]
        return None

    original_tag = backend_cls.tag_resource
    original_untag = backend_cls.untag_resource
    original_list = backend_cls.list_tags_for_resource

    def tag_resource(self: Any, resource_arn: str, tags: dict[str, str]) -> None:
        found = find_tags(self, resource_arn)
        if found is None:
            return original_tag(self, resource_arn, tags)
        found.update(tags)

    def untag_resource(self: Any, resource_arn: str, tag_keys: list[str]) -> None:
        found = find_tags(self, resource_arn)
        if found is None:
            return original_untag(self, resource_arn, tag_keys)
        for key in tag_keys if isinstance(tag_keys, list) else [tag_keys]:
            found.pop(key, None)

    def list_tags_for_resource(self: Any, resource_arn: str) -> dict[str, str]:
        found = find_tags(self, resource_arn)
        return original_list(self, resource_arn) if found is None else found

    backend_cls.tag_resource = tag_resource
    backend_cls.untag_resource = untag_resource
    backend_cls.list_tags_for_resource = list_tags_for_resource


# ---------------------------------------------------------------- endpoint and CA from the kube registry


def patch_cluster_model() -> None:
    cluster_cls = eks_models.Cluster

    def _registration(self: Any) -> kube_auth.KubeRegistration | None:
        st = self.__dict__.get("ext")
        if st is None:
            return None
        return kube_auth.REGISTRY.for_cluster(st.account_id, st.region, self.name)

    def get_endpoint(self: Any) -> str | None:
        reg = _registration(self)
        return reg.endpoint if reg else self.__dict__.get("_moto_endpoint")

    def set_endpoint(self: Any, value: str) -> None:
        self.__dict__["_moto_endpoint"] = value

    def get_ca(self: Any) -> dict[str, str] | None:
        reg = _registration(self)
        if reg:
            return {"data": base64.b64encode(reg.ca_pem.encode()).decode()}
        return self.__dict__.get("_moto_ca")

    def set_ca(self: Any, value: dict[str, str]) -> None:
        self.__dict__["_moto_ca"] = value

    cluster_cls.endpoint = property(get_endpoint, set_endpoint)
    cluster_cls.certificate_authority = property(get_ca, set_ca)


# ---------------------------------------------------------------- wiring

NEW_ROUTES = {
    "{0}/clusters/(?P<name>[^/]+)/access-entries$": None,
    "{0}/clusters/(?P<name>[^/]+)/access-entries/(?P<principalArn>.+)$": None,
    "{0}/clusters/(?P<name>[^/]+)/pod-identity-associations$": None,
    "{0}/clusters/(?P<name>[^/]+)/pod-identity-associations/(?P<associationId>[^/]+)$": None,
    "{0}/clusters/(?P<name>[^/]+)/addons$": None,
    "{0}/clusters/(?P<name>[^/]+)/addons/(?P<addonName>[^/]+)$": None,
    "{0}/clusters/(?P<name>[^/]+)/addons/(?P<addonName>[^/]+)/update$": None,
    "{0}/clusters/(?P<name>[^/]+)/updates$": None,
    "{0}/clusters/(?P<name>[^/]+)/updates/(?P<updateId>[^/]+)$": None,
    "{0}/access-policies$": None,
    "{0}/addons/supported-versions$": None,
}

HANDLERS = [
    create_cluster,
    delete_cluster,
    update_cluster_config,
    update_cluster_version,
    describe_update,
    list_updates,
    update_nodegroup_config,
    create_access_entry,
    describe_access_entry,
    list_access_entries,
    update_access_entry,
    delete_access_entry,
    associate_access_policy,
    disassociate_access_policy,
    list_associated_access_policies,
    list_access_policies,
    create_pod_identity_association,
    describe_pod_identity_association,
    list_pod_identity_associations,
    update_pod_identity_association,
    delete_pod_identity_association,
    create_addon,
    describe_addon,
    list_addons,
    update_addon,
    delete_addon,
    describe_addon_versions,
]


def apply(kubernetes_version: str) -> None:
    # Read at call time by Cluster.__init__, so new clusters default to the sandbox's version.
    eks_models.DEFAULT_KUBERNETES_VERSION = kubernetes_version
    for fn in HANDLERS:
        setattr(EKSResponse, fn.__name__, fn)
    dispatch = eks_urls.response.dispatch
    for route in NEW_ROUTES:
        eks_urls.url_paths.setdefault(route, dispatch)
    patch_nodegroup_backend()
    patch_tagging()
    patch_cluster_model()
