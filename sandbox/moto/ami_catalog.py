"""The EKS-optimized AMI catalog the sandbox publishes: public SSM parameters plus matching EC2 images.

Paths follow what Karpenter's AMI families query (al2.go, al2023.go, bottlerocket.go, windows.go in
aws/karpenter-provider-aws) and what `aws ssm get-parameter` shows on AWS. Ids are derived from the AMI
name, so a `recommended` parameter and the pinned release it points at resolve to the same image, the
way they do on AWS.
"""

from __future__ import annotations

import datetime
import hashlib
import json
from functools import lru_cache
from typing import Any

K8S_MINORS = range(28, 38)  # 1.28 .. 1.37
# AWS publishes no EKS-optimized AL2 AMIs after Kubernetes 1.32.
AL2_LAST_MINOR = 32

# Release tags, oldest first; the last one is what `recommended` / `latest` point at.
EKS_RELEASES = ["v20251201", "v20260101"]
BOTTLEROCKET_RELEASES = [("1.51.0", "7c3e2a19"), ("1.52.0", "b5e4d7a2")]
WINDOWS_RELEASES = ["2025.12.10", "2026.01.14"]
WINDOWS_YEARS = ["2019", "2022", "2025"]

# Owner ids are illustrative; consumers filter on the `amazon` owner alias.
LINUX_OWNER = "602401143452"
WINDOWS_OWNER = "801119661308"

SSM_ROOTS = (
    "/aws/service/eks/optimized-ami",
    "/aws/service/bottlerocket",
    "/aws/service/ami-windows-latest",
)


def ami_id_for(name: str) -> str:
    return "ami-" + hashlib.sha256(name.encode()).hexdigest()[:17]


def _release_date(tag: str) -> datetime.datetime:
    digits = tag.lstrip("v").replace(".", "")
    return datetime.datetime.strptime(digits[:8], "%Y%m%d").replace(tzinfo=datetime.timezone.utc)


def _k8s_versions() -> list[str]:
    return [f"1.{m}" for m in K8S_MINORS]


class Catalog:
    def __init__(self) -> None:
        # name -> (value, last-modified)
        self.params: dict[str, tuple[str, datetime.datetime]] = {}
        # ami id -> image attributes
        self.images: dict[str, dict[str, Any]] = {}

    def image(self, name: str, arch: str, description: str, created: datetime.datetime,
              owner: str = LINUX_OWNER, platform: str | None = None) -> str:
        ami = ami_id_for(name)
        self.images[ami] = {
            "name": name,
            "architecture": arch,
            "description": description,
            "creation_date": created,
            "owner_id": owner,
            "platform": platform,
        }
        return ami

    def param(self, name: str, value: str, when: datetime.datetime) -> None:
        self.params[name] = (value, when)


def _add_recommended(cat: Catalog, base: str, ami: str, image_name: str, release: str,
                     when: datetime.datetime) -> None:
    cat.param(f"{base}/image_id", ami, when)
    cat.param(f"{base}/image_name", image_name, when)
    cat.param(f"{base}/release_version", release, when)
    cat.param(base, json.dumps({"schema_version": "2", "image_id": ami, "image_name": image_name,
                                "release_version": release}), when)


def _al2(cat: Catalog, k8s: str) -> None:
    flavours = [
        ("amazon-linux-2", "amazon-eks-node", "x86_64", "EKS Kubernetes Worker AMI with AmazonLinux2 image"),
        ("amazon-linux-2-arm64", "amazon-eks-arm64-node", "arm64", "EKS Kubernetes Worker AMI with AmazonLinux2 image"),
        ("amazon-linux-2-gpu", "amazon-eks-gpu-node", "x86_64", "EKS Kubernetes Worker AMI with AmazonLinux2 image (GPU)"),
    ]
    for path, prefix, arch, desc in flavours:
        for tag in EKS_RELEASES:
            when = _release_date(tag)
            name = f"{prefix}-{k8s}-{tag}"
            ami = cat.image(name, arch, f"{desc}, (k8s: {k8s}.0)", when)
            release = f"{k8s}.0-{tag.lstrip('v')}"
            cat.param(f"/aws/service/eks/optimized-ami/{k8s}/{path}/{name}/image_id", ami, when)
            if tag == EKS_RELEASES[-1]:
                _add_recommended(cat, f"/aws/service/eks/optimized-ami/{k8s}/{path}/recommended",
                                 ami, name, release, when)


def _al2023(cat: Catalog, k8s: str) -> None:
    variants = {"x86_64": ["standard", "nvidia", "neuron"], "arm64": ["standard", "nvidia"]}
    for arch, kinds in variants.items():
        for variant in kinds:
            base = f"/aws/service/eks/optimized-ami/{k8s}/amazon-linux-2023/{arch}/{variant}"
            for tag in EKS_RELEASES:
                when = _release_date(tag)
                name = f"amazon-eks-node-al2023-{arch}-{variant}-{k8s}-{tag}"
                desc = f"EKS-optimized Kubernetes node based on Amazon Linux 2023, ({variant}, k8s: {k8s}.0)"
                ami = cat.image(name, arch, desc, when)
                cat.param(f"{base}/{name}/image_id", ami, when)
                if tag == EKS_RELEASES[-1]:
                    _add_recommended(cat, f"{base}/recommended", ami, name,
                                     f"{k8s}.0-{tag.lstrip('v')}", when)


def _bottlerocket(cat: Catalog, k8s: str) -> None:
    for flavour in ("", "-nvidia"):
        for arch in ("x86_64", "arm64"):
            base = f"/aws/service/bottlerocket/aws-k8s-{k8s}{flavour}/{arch}"
            for version, commit in BOTTLEROCKET_RELEASES:
                when = _release_date("20260101" if version == BOTTLEROCKET_RELEASES[-1][0] else "20251201")
                name = f"bottlerocket-aws-k8s-{k8s}{flavour}-{arch}-v{version}-{commit}"
                ami = cat.image(name, arch, f"bottlerocket-aws-k8s-{k8s}{flavour}-{arch}-v{version}-{commit}", when)
                image_version = f"{version}-{commit}"
                cat.param(f"{base}/{version}/image_id", ami, when)
                cat.param(f"{base}/{version}/image_version", image_version, when)
                if version == BOTTLEROCKET_RELEASES[-1][0]:
                    cat.param(f"{base}/latest/image_id", ami, when)
                    cat.param(f"{base}/latest/image_version", image_version, when)


def _windows(cat: Catalog, k8s: str) -> None:
    for year in WINDOWS_YEARS:
        for edition in ("Core", "Full"):
            family = f"Windows_Server-{year}-English-{edition}-EKS_Optimized-{k8s}"
            for release in WINDOWS_RELEASES:
                when = _release_date(release)
                name = f"{family}-{release}"
                ami = cat.image(name, "x86_64", f"Microsoft Windows Server {year} {edition} EKS Optimized (k8s: {k8s})",
                                when, owner=WINDOWS_OWNER, platform="windows")
                if release == WINDOWS_RELEASES[-1]:
                    cat.param(f"/aws/service/ami-windows-latest/{family}/image_id", ami, when)
                    cat.param(f"/aws/service/ami-windows-latest/{family}/image_version", release, when)


@lru_cache(maxsize=1)
def catalog() -> Catalog:
    cat = Catalog()
    for k8s in _k8s_versions():
        if int(k8s.split(".")[1]) <= AL2_LAST_MINOR:
            _al2(cat, k8s)
        _al2023(cat, k8s)
        _bottlerocket(cat, k8s)
        _windows(cat, k8s)
    return cat


def wants_catalog(key: str) -> bool:
    """True when an SSM lookup (a name or a by-path prefix) touches the published trees."""
    key = key or ""
    for root in SSM_ROOTS:
        if key.startswith(root):
            return True
        # A by-path query on an ancestor such as /aws/service/eks/ must see the tree too.
        if key.startswith("/aws/service/") and root.startswith(key.rstrip("/") + "/"):
            return True
    return False
