#!/usr/bin/env python3
"""Self-test for sandbox/moto/launcher.py.

Starts the launcher on free ports (with --parent-pid of this process), exercises every extension with
boto3 and the TokenReview webhook with tokens presigned by botocore, then stops it and prints a
summary. Exits non-zero on any failure.

    python3 sandbox/moto/selftest.py [-v]
"""

from __future__ import annotations

import base64
import datetime
import json
import os
import queue
import re
import shutil
import signal
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable

import boto3
import botocore.auth
from botocore.config import Config
from botocore.exceptions import ClientError

HERE = os.path.dirname(os.path.abspath(__file__))
LAUNCHER = os.path.join(HERE, "launcher.py")
ACCOUNT = "123456789012"
OTHER_ACCOUNT = "210987654321"
REGION = "us-east-1"
K8S = "1.36"
VERBOSE = "-v" in sys.argv


# ---------------------------------------------------------------- harness


class Results:
    def __init__(self) -> None:
        self.passed: list[str] = []
        self.failed: list[tuple[str, str]] = []
        self.section = ""

    def check(self, name: str, fn: Callable[[], Any]) -> Any:
        label = f"{self.section}: {name}" if self.section else name
        try:
            out = fn()
        except Exception as e:  # noqa: BLE001 - every failure is reported, none aborts the run
            detail = f"{type(e).__name__}: {e}"
            if VERBOSE:
                detail += "\n" + traceback.format_exc()
            self.failed.append((label, detail))
            print(f"  FAIL {label}: {detail}", flush=True)
            return None
        self.passed.append(label)
        if VERBOSE:
            print(f"  ok   {label}", flush=True)
        return out


R = Results()


def ensure(cond: bool, msg: str = "assertion failed") -> None:
    if not cond:
        raise AssertionError(msg)


def eq(actual: Any, expected: Any, what: str = "") -> None:
    if actual != expected:
        raise AssertionError(f"{what} expected {expected!r}, got {actual!r}")


def expect_error(fn: Callable[[], Any], code: str, status: int | None = None, contains: str | None = None) -> ClientError:
    try:
        fn()
    except ClientError as e:
        got = e.response.get("Error", {}).get("Code")
        http = e.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        msg = e.response.get("Error", {}).get("Message", "")
        ensure(got == code, f"expected {code}, got {got} ({msg})")
        if status is not None:
            ensure(http == status, f"expected HTTP {status}, got {http}")
        if contains is not None:
            ensure(contains in msg, f"message {msg!r} lacks {contains!r}")
        return e
    raise AssertionError(f"expected {code}, call succeeded")


class Launcher:
    def __init__(self, parent_pid: int) -> None:
        self.log_path = tempfile.mktemp(prefix="sandbox-moto-selftest-", suffix=".log")
        self.log = open(self.log_path, "w")
        t0 = time.monotonic()
        self.proc = subprocess.Popen(
            [sys.executable, LAUNCHER, "--host", "127.0.0.1", "--port", "0", "--admin-port", "0",
             "--parent-pid", str(parent_pid), "--kubernetes-version", K8S],
            stdout=subprocess.PIPE, stderr=self.log, text=True,
        )
        lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=lambda: lines.put(self.proc.stdout.readline()), daemon=True).start()
        try:
            line = lines.get(timeout=30)
        except queue.Empty:
            self.proc.kill()
            raise RuntimeError("launcher did not print READY within 30 s")
        self.ready_seconds = time.monotonic() - t0
        m = re.match(r"^READY moto=(\S+) admin=(\S+)$", line.strip())
        if not m:
            self.proc.kill()
            raise RuntimeError(f"unexpected first line {line!r}; log {self.log_path}")
        self.moto, self.admin = m.group(1), m.group(2)

    def stop(self) -> int | None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                return None
        return self.proc.returncode

    def discard_log(self) -> None:
        self.log.close()
        try:
            os.unlink(self.log_path)
        except OSError:
            pass

    def log_text(self) -> str:
        self.log.flush()
        with open(self.log_path) as f:
            return f.read()


def client(service: str, moto: str, region: str = REGION, account: str | None = None,
           key: str = "testing", secret: str = "testing", token: str | None = None, attempts: int | None = None) -> Any:
    # Legacy max_attempts counts retries; `attempts` caps all tries, so an injected 5xx is not retried away.
    retries = {"total_max_attempts": attempts} if attempts else {"max_attempts": 1}
    c = boto3.client(
        service, endpoint_url=moto, region_name=region, aws_access_key_id=key, aws_secret_access_key=secret,
        aws_session_token=token, config=Config(retries=retries),
    )
    if account:
        def add_account(request: Any, **_: Any) -> None:
            request.headers["x-moto-account-id"] = account

        c.meta.events.register("before-sign", add_account)
    return c


def http(method: str, url: str, body: Any = None) -> tuple[int, Any]:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=15) as resp:
            raw = resp.read()
            return resp.status, json.loads(raw) if raw else None
    except urllib.error.HTTPError as e:
        raw = e.read()
        try:
            return e.code, json.loads(raw)
        except ValueError:
            return e.code, raw.decode(errors="replace")


def eks_token(moto: str, cluster: str, key: str = "testing", secret: str = "testing", token: str | None = None,
              region: str = REGION, at: datetime.datetime | None = None) -> str:
    """Presign sts:GetCallerIdentity with the x-k8s-aws-id header, as `aws eks get-token` does."""
    sts = client("sts", moto, region=region, key=key, secret=secret, token=token)

    def add_cluster_header(request: Any, **_: Any) -> None:
        request.headers["x-k8s-aws-id"] = cluster

    sts.meta.events.register("before-sign.sts.GetCallerIdentity", add_cluster_header)
    original = botocore.auth.get_current_datetime
    if at is not None:
        botocore.auth.get_current_datetime = lambda: at
    try:
        url = sts.generate_presigned_url("get_caller_identity", Params={}, ExpiresIn=60, HttpMethod="GET")
    finally:
        botocore.auth.get_current_datetime = original
    return "k8s-aws-v1." + base64.urlsafe_b64encode(url.encode()).decode().rstrip("=")


def review(admin: str, key: str, token: str) -> dict[str, Any]:
    status, body = http("POST", f"{admin}/tokenreview/{key}", {
        "apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview",
        "spec": {"token": token, "audiences": ["https://kubernetes.default.svc"]},
    })
    eq(status, 200, "tokenreview HTTP status")
    eq(body.get("kind"), "TokenReview", "kind")
    return body["status"]


def trust(service: str) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}]})


def account_trust(account: str) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{account}:root"}, "Action": "sts:AssumeRole"}]})


# ---------------------------------------------------------------- a stand-in kube-apiserver for aws-auth


class FakeApiServer:
    """HTTPS server with a private CA that requires a client certificate, serving kube-system/aws-auth."""

    def __init__(self) -> None:
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import NameOID
        import ipaddress

        now = datetime.datetime.now(datetime.timezone.utc)

        def name(cn: str, org: str | None = None) -> Any:
            attrs = [x509.NameAttribute(NameOID.COMMON_NAME, cn)]
            if org:
                attrs.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, org))
            return x509.Name(attrs)

        def pem_key(k: Any) -> str:
            return k.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                   serialization.NoEncryption()).decode()

        ca_key = ec.generate_private_key(ec.SECP256R1())
        ca = (x509.CertificateBuilder().subject_name(name("selftest-ca")).issuer_name(name("selftest-ca"))
              .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
              .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
              .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
              .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                           content_commitment=False, key_encipherment=False, data_encipherment=False,
                                           key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
              .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
              .sign(ca_key, hashes.SHA256()))

        def leaf(cn: str, org: str | None, server: bool) -> tuple[str, str]:
            key = ec.generate_private_key(ec.SECP256R1())
            b = (x509.CertificateBuilder().subject_name(name(cn, org)).issuer_name(ca.subject)
                 .public_key(key.public_key()).serial_number(x509.random_serial_number())
                 .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
                 .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
                 .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH if server
                                                       else x509.oid.ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False))
            if server:
                b = b.add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                                                                 x509.DNSName("localhost")]), critical=False)
            cert = b.sign(ca_key, hashes.SHA256())
            return cert.public_bytes(serialization.Encoding.PEM).decode(), pem_key(key)

        self.ca_pem = ca.public_bytes(serialization.Encoding.PEM).decode()
        server_cert, server_key = leaf("127.0.0.1", None, True)
        self.client_cert_pem, self.client_key_pem = leaf("selftest-admin", "system:masters", False)
        self.aws_auth: dict[str, Any] | None = None
        self.seen_clients: list[str] = []

        self.dir = tempfile.mkdtemp(prefix="sandbox-moto-selftest-pki-")
        paths = {}
        for fname, data in (("ca.crt", self.ca_pem), ("server.crt", server_cert), ("server.key", server_key)):
            paths[fname] = os.path.join(self.dir, fname)
            with open(paths[fname], "w") as f:
                f.write(data)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(paths["server.crt"], paths["server.key"])
        ctx.load_verify_locations(paths["ca.crt"])
        ctx.verify_mode = ssl.CERT_REQUIRED
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_: Any) -> None:
                return

            def do_GET(self) -> None:  # noqa: N802
                peer = self.connection.getpeercert() or {}
                cn = dict(x[0] for x in peer.get("subject", ())).get("commonName", "")
                outer.seen_clients.append(cn)
                if self.path == "/api/v1/namespaces/kube-system/configmaps/aws-auth" and outer.aws_auth is not None:
                    body, status = json.dumps(outer.aws_auth).encode(), 200
                else:
                    body, status = json.dumps({"kind": "Status", "status": "Failure", "reason": "NotFound",
                                               "code": 404}).encode(), 404
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.socket = ctx.wrap_socket(self.server.socket, server_side=True)
        self.endpoint = f"https://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def set_aws_auth(self, map_roles: list[dict[str, Any]] | None, map_users: list[dict[str, Any]] | None) -> None:
        import yaml

        data = {}
        if map_roles is not None:
            data["mapRoles"] = yaml.safe_dump(map_roles)
        if map_users is not None:
            data["mapUsers"] = yaml.safe_dump(map_users)
        self.aws_auth = {"apiVersion": "v1", "kind": "ConfigMap",
                         "metadata": {"name": "aws-auth", "namespace": "kube-system"}, "data": data}

    def registration(self, region: str = REGION, account: str = ACCOUNT, webhook_id: str | None = None) -> dict[str, Any]:
        body = {"endpoint": self.endpoint, "caPem": self.ca_pem, "clientCertPem": self.client_cert_pem,
                "clientKeyPem": self.client_key_pem, "region": region, "accountId": account}
        if webhook_id:
            body["webhookId"] = webhook_id
        return body

    def close(self) -> None:
        self.server.shutdown()
        shutil.rmtree(self.dir, ignore_errors=True)


# ---------------------------------------------------------------- test sections


class Env:
    def __init__(self, launcher: Launcher) -> None:
        self.l = launcher
        m = launcher.moto
        self.ec2 = client("ec2", m)
        self.eks = client("eks", m)
        self.iam = client("iam", m)
        self.sts = client("sts", m)
        self.ssm = client("ssm", m)
        self.sqs = client("sqs", m)
        self.subnets: list[str] = []
        self.vpc = ""
        self.cluster_role = ""
        self.node_role = ""

    def network(self) -> None:
        self.vpc = self.ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
        for i, zone in enumerate("ab"):
            self.subnets.append(self.ec2.create_subnet(VpcId=self.vpc, CidrBlock=f"10.0.{i * 32}.0/19",
                                                       AvailabilityZone=f"{REGION}{zone}")["Subnet"]["SubnetId"])
        self.cluster_role = self.iam.create_role(RoleName="selftest-cluster",
                                                 AssumeRolePolicyDocument=trust("eks.amazonaws.com"))["Role"]["Arn"]
        self.node_role = self.iam.create_role(RoleName="selftest-node",
                                              AssumeRolePolicyDocument=trust("ec2.amazonaws.com"))["Role"]["Arn"]

    def cluster(self, name: str, mode: str | None = None, **extra: Any) -> dict[str, Any]:
        kwargs: dict[str, Any] = {"name": name, "roleArn": self.cluster_role,
                                  "resourcesVpcConfig": {"subnetIds": self.subnets}}
        if mode:
            kwargs["accessConfig"] = {"authenticationMode": mode}
        kwargs.update(extra)
        return self.eks.create_cluster(**kwargs)["cluster"]


def test_clusters(env: Env) -> None:
    R.section = "EKS cluster"
    eks, ec2 = env.eks, env.ec2
    R.check("network and roles", env.network)

    created = R.check("CreateCluster API mode", lambda: env.cluster("st-api", "API"))
    cm = R.check("CreateCluster default mode", lambda: env.cluster("st-cm"))

    def describe_api() -> None:
        c = eks.describe_cluster(name="st-api")["cluster"]
        eq(c["accessConfig"], {"authenticationMode": "API", "bootstrapClusterCreatorAdminPermissions": True},
           "accessConfig")
        eq(c["version"], K8S, "version")
        eq(c["status"], "ACTIVE", "status")
        ensure(re.match(r"^https://oidc\.eks\.us-east-1\.amazonaws\.com/id/[0-9A-F]{32}$", c["identity"]["oidc"]["issuer"]),
               f"issuer {c['identity']['oidc']['issuer']}")
        eq(c["resourcesVpcConfig"]["vpcId"], env.vpc, "vpcId")
        ensure(c["resourcesVpcConfig"]["clusterSecurityGroupId"].startswith("sg-"), "clusterSecurityGroupId")
        eq(eks.describe_cluster(name="st-api")["cluster"]["identity"], c["identity"], "stable issuer")

    R.check("DescribeCluster accessConfig/version/issuer/vpc", describe_api)

    def default_mode() -> None:
        c = eks.describe_cluster(name="st-cm")["cluster"]
        eq(c["accessConfig"]["authenticationMode"], "CONFIG_MAP", "default mode")
        eq(c["accessConfig"]["bootstrapClusterCreatorAdminPermissions"], True, "default bootstrap")
        other = eks.describe_cluster(name="st-api")["cluster"]["identity"]["oidc"]["issuer"]
        ensure(c["identity"]["oidc"]["issuer"] != other, "issuers differ per cluster")

    R.check("default CONFIG_MAP, distinct issuers", default_mode)

    def security_group() -> None:
        c = eks.describe_cluster(name="st-api")["cluster"]
        sg = ec2.describe_security_groups(GroupIds=[c["resourcesVpcConfig"]["clusterSecurityGroupId"]])["SecurityGroups"][0]
        ensure(re.match(r"^eks-cluster-sg-st-api-\d+$", sg["GroupName"]), sg["GroupName"])
        eq(sg["VpcId"], env.vpc, "sg vpc")
        tags = {t["Key"]: t["Value"] for t in sg.get("Tags", [])}
        eq(tags.get("aws:eks:cluster-name"), "st-api", "aws:eks:cluster-name tag")
        eq(tags.get("kubernetes.io/cluster/st-api"), "owned", "ownership tag")
        found = ec2.describe_security_groups(Filters=[{"Name": "tag:aws:eks:cluster-name", "Values": ["st-api"]}])
        eq(len(found["SecurityGroups"]), 1, "sg by tag filter")

    R.check("cluster security group", security_group)

    def bootstrap_entry() -> None:
        entries = eks.list_access_entries(clusterName="st-api")["accessEntries"]
        eq(entries, [f"arn:aws:iam::{ACCOUNT}:user/moto"], "bootstrap entry")
        pol = eks.list_associated_access_policies(clusterName="st-api", principalArn=entries[0])
        eq([p["policyArn"] for p in pol["associatedAccessPolicies"]],
           ["arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"], "bootstrap policy")
        eq(pol["associatedAccessPolicies"][0]["accessScope"]["type"], "cluster", "scope")

    R.check("bootstrap creator access entry", bootstrap_entry)

    def no_bootstrap() -> None:
        env.cluster("st-nobootstrap", "API_AND_CONFIG_MAP",
                    accessConfig={"authenticationMode": "API_AND_CONFIG_MAP",
                                  "bootstrapClusterCreatorAdminPermissions": False})
        eq(eks.list_access_entries(clusterName="st-nobootstrap")["accessEntries"], [], "no entries")

    R.check("bootstrapClusterCreatorAdminPermissions=false", no_bootstrap)

    def auto_mode() -> None:
        c = env.cluster("st-auto", "API", computeConfig={"enabled": True, "nodePools": ["general-purpose", "system"],
                                                         "nodeRoleArn": env.node_role},
                        storageConfig={"blockStorage": {"enabled": True}},
                        kubernetesNetworkConfig={"elasticLoadBalancing": {"enabled": True}})
        d = eks.describe_cluster(name="st-auto")["cluster"]
        eq(d["computeConfig"], {"enabled": True, "nodePools": ["general-purpose", "system"], "nodeRoleArn": env.node_role},
           "computeConfig")
        eq(d["storageConfig"], {"blockStorage": {"enabled": True}}, "storageConfig")
        eq(d["kubernetesNetworkConfig"]["elasticLoadBalancing"], {"enabled": True}, "elasticLoadBalancing")
        ensure(c["computeConfig"]["enabled"], "create response computeConfig")
        e = eks.describe_access_entry(clusterName="st-auto", principalArn=env.node_role)["accessEntry"]
        eq(e["type"], "EC2", "auto node entry type")

    R.check("Auto Mode configs pass through", auto_mode)

    def update_access_config() -> None:
        expect_error(lambda: eks.update_cluster_config(name="st-cm", accessConfig={"authenticationMode": "API"}),
                     "InvalidParameterException", 400, "Unsupported authentication mode update from CONFIG_MAP to API")
        u = eks.update_cluster_config(name="st-cm", accessConfig={"authenticationMode": "API_AND_CONFIG_MAP"})["update"]
        eq(u["status"], "Successful", "status")
        eq(u["type"], "AccessConfigUpdate", "type")
        eq(u["params"], [{"type": "AuthenticationMode", "value": "API_AND_CONFIG_MAP"}], "params")
        eq(u["errors"], [], "errors")
        ensure(isinstance(u["createdAt"], datetime.datetime), "createdAt")
        d = eks.describe_update(name="st-cm", updateId=u["id"])["update"]
        eq(d["id"], u["id"], "DescribeUpdate id")
        eq(d["type"], "AccessConfigUpdate", "DescribeUpdate type")
        eq(eks.describe_cluster(name="st-cm")["cluster"]["accessConfig"]["authenticationMode"], "API_AND_CONFIG_MAP",
           "mode after update")
        expect_error(lambda: eks.update_cluster_config(name="st-cm", accessConfig={"authenticationMode": "CONFIG_MAP"}),
                     "InvalidParameterException", 400)
        u2 = eks.update_cluster_config(name="st-cm", accessConfig={"authenticationMode": "API"})["update"]
        eq(u2["params"][0]["value"], "API", "second step")
        expect_error(lambda: eks.update_cluster_config(name="st-cm",
                                                       accessConfig={"authenticationMode": "API_AND_CONFIG_MAP"}),
                     "InvalidParameterException", 400, "from API to API_AND_CONFIG_MAP")
        expect_error(lambda: eks.update_cluster_config(name="st-cm", accessConfig={"authenticationMode": "API"}),
                     "InvalidParameterException", 400)
        expect_error(lambda: eks.describe_update(name="st-cm", updateId="nope"), "ResourceNotFoundException", 404)

    R.check("UpdateClusterConfig accessConfig forward-only + DescribeUpdate", update_access_config)

    def update_logging() -> None:
        logging_cfg = {"clusterLogging": [{"types": ["api", "audit"], "enabled": True}]}
        u = eks.update_cluster_config(name="st-api", logging=logging_cfg)["update"]
        eq(u["type"], "LoggingUpdate", "type")
        eq(eks.describe_cluster(name="st-api")["cluster"]["logging"], logging_cfg, "logging stored")
        u = eks.update_cluster_config(name="st-api", resourcesVpcConfig={"endpointPrivateAccess": True})["update"]
        eq(u["type"], "EndpointAccessUpdate", "endpoint update type")
        eq(eks.describe_cluster(name="st-api")["cluster"]["resourcesVpcConfig"]["endpointPrivateAccess"], True,
           "endpointPrivateAccess")
        ids = eks.list_updates(name="st-api")["updateIds"]
        ensure(u["id"] in ids, "ListUpdates has the update")
        expect_error(lambda: eks.update_cluster_config(name="missing", logging=logging_cfg), "ResourceNotFoundException", 404)

    R.check("UpdateClusterConfig logging/endpoint return update", update_logging)

    def version_update() -> None:
        u = eks.update_cluster_version(name="st-nobootstrap", version="1.37")["update"]
        eq((u["type"], u["status"]), ("VersionUpdate", "Successful"), "version update")
        eq(eks.describe_cluster(name="st-nobootstrap")["cluster"]["version"], "1.37", "new version")
        expect_error(lambda: eks.update_cluster_version(name="st-nobootstrap", version="1.39"),
                     "InvalidParameterException", 400)

    R.check("UpdateClusterVersion one minor at a time", version_update)

    def nodegroup() -> None:
        ng = eks.create_nodegroup(clusterName="st-api", nodegroupName="ng1", nodeRole=env.node_role,
                                  subnets=env.subnets, scalingConfig={"minSize": 1, "maxSize": 3, "desiredSize": 2})
        eq(ng["nodegroup"]["version"], K8S, "nodegroup version follows cluster")
        u = eks.update_nodegroup_config(clusterName="st-api", nodegroupName="ng1",
                                        scalingConfig={"minSize": 2, "maxSize": 5, "desiredSize": 4})["update"]
        eq(u["status"], "Successful", "status")
        eq({p["type"]: p["value"] for p in u["params"]}, {"MinSize": "2", "MaxSize": "5", "DesiredSize": "4"}, "params")
        d = eks.describe_update(name="st-api", updateId=u["id"], nodegroupName="ng1")["update"]
        eq(d["id"], u["id"], "DescribeUpdate nodegroup")
        expect_error(lambda: eks.describe_update(name="st-api", updateId=u["id"]), "ResourceNotFoundException")
        eq(eks.list_updates(name="st-api", nodegroupName="ng1")["updateIds"], [u["id"]], "ListUpdates nodegroupName")
        sc = eks.describe_nodegroup(clusterName="st-api", nodegroupName="ng1")["nodegroup"]["scalingConfig"]
        eq(sc, {"minSize": 2, "maxSize": 5, "desiredSize": 4}, "scalingConfig")
        ng2 = eks.create_nodegroup(clusterName="st-api", nodegroupName="ng2", nodeRole=env.node_role, subnets=env.subnets)
        eq(ng2["nodegroup"]["scalingConfig"], {"minSize": 2, "maxSize": 2, "desiredSize": 2}, "default scaling untouched")
        expect_error(lambda: eks.update_nodegroup_config(clusterName="st-api", nodegroupName="ng1",
                                                         scalingConfig={"minSize": 6}), "InvalidParameterException")
        auto = eks.describe_access_entry(clusterName="st-api", principalArn=env.node_role)["accessEntry"]
        eq((auto["type"], auto["kubernetesGroups"]), ("EC2_LINUX", ["system:nodes"]), "node group role entry")
        eks.delete_nodegroup(clusterName="st-api", nodegroupName="ng1")
        eks.delete_nodegroup(clusterName="st-api", nodegroupName="ng2")
        eks.create_nodegroup(clusterName="st-cm", nodegroupName="ng-cm", nodeRole=env.node_role, subnets=env.subnets)
        ensure(env.node_role in eks.list_access_entries(clusterName="st-cm")["accessEntries"], "API-mode node group entry")

    R.check("UpdateNodegroupConfig scalingConfig + DescribeUpdate", nodegroup)

    def fargate() -> None:
        pod_role = env.iam.create_role(RoleName="selftest-fargate",
                                       AssumeRolePolicyDocument=trust("eks-fargate-pods.amazonaws.com"))["Role"]["Arn"]
        eks.create_fargate_profile(fargateProfileName="fp", clusterName="st-api", podExecutionRoleArn=pod_role,
                                   selectors=[{"namespace": "karpenter"}])
        e = eks.describe_access_entry(clusterName="st-api", principalArn=pod_role)["accessEntry"]
        eq((e["type"], e["username"]), ("FARGATE_LINUX", "system:node:{{SessionName}}"), "fargate entry")
        eks.delete_fargate_profile(clusterName="st-api", fargateProfileName="fp")
        eks.delete_access_entry(clusterName="st-api", principalArn=pod_role)

    R.check("Fargate profile role gets an access entry", fargate)
    R.check("CreateCluster duplicate", lambda: expect_error(lambda: env.cluster("st-api", "API"), "ResourceInUseException", 409))
    _ = created, cm


def test_access_entries(env: Env) -> None:
    R.section = "EKS access entries"
    eks = env.eks
    node_role = env.iam.create_role(RoleName="selftest-node2", AssumeRolePolicyDocument=trust("ec2.amazonaws.com"))["Role"]["Arn"]
    admin_role = env.iam.create_role(RoleName="selftest-admin", AssumeRolePolicyDocument=account_trust(ACCOUNT))["Role"]["Arn"]
    env.cluster("st-cm2")

    R.check("CONFIG_MAP cluster refuses CreateAccessEntry", lambda: expect_error(
        lambda: eks.create_access_entry(clusterName="st-cm2", principalArn=admin_role), "InvalidRequestException", 400,
        "The cluster's authentication mode must be set to one of [API, API_AND_CONFIG_MAP] to perform this operation."))
    R.check("CONFIG_MAP cluster refuses ListAccessEntries", lambda: expect_error(
        lambda: eks.list_access_entries(clusterName="st-cm2"), "InvalidRequestException", 400))
    R.check("missing cluster", lambda: expect_error(
        lambda: eks.create_access_entry(clusterName="nope", principalArn=admin_role), "ResourceNotFoundException", 404))

    def node_entry() -> None:
        e = eks.create_access_entry(clusterName="st-api", principalArn=node_role, type="EC2_LINUX")["accessEntry"]
        eq(e["type"], "EC2_LINUX", "type")
        eq(e["username"], "system:node:{{EC2PrivateDNSName}}", "username")
        eq(e["kubernetesGroups"], ["system:nodes"], "groups")
        ensure(e["accessEntryArn"].startswith(f"arn:aws:eks:{REGION}:{ACCOUNT}:access-entry/st-api/role/"), e["accessEntryArn"])
        ensure(isinstance(e["createdAt"], datetime.datetime) and isinstance(e["modifiedAt"], datetime.datetime), "dates")

    R.check("EC2_LINUX entry", node_entry)
    R.check("EC2_LINUX with kubernetesGroups refused", lambda: expect_error(
        lambda: eks.create_access_entry(clusterName="st-api", principalArn=admin_role, type="EC2_LINUX",
                                        kubernetesGroups=["x"]), "InvalidParameterException", 400))
    R.check("EC2_LINUX with username refused", lambda: expect_error(
        lambda: eks.create_access_entry(clusterName="st-api", principalArn=admin_role, type="EC2_LINUX",
                                        username="x"), "InvalidParameterException", 400))
    R.check("node entry for another account's role refused", lambda: expect_error(
        lambda: eks.create_access_entry(clusterName="st-api", principalArn=f"arn:aws:iam::{OTHER_ACCOUNT}:role/n",
                                        type="EC2_LINUX"), "InvalidParameterException", 400))
    R.check("bad principal ARN refused", lambda: expect_error(
        lambda: eks.create_access_entry(clusterName="st-api",
                                        principalArn=f"arn:aws:sts::{ACCOUNT}:assumed-role/x/y"),
        "InvalidParameterException", 400))

    def standard_entry() -> None:
        e = eks.create_access_entry(clusterName="st-api", principalArn=admin_role, kubernetesGroups=["team-a"],
                                    tags={"owner": "selftest"})["accessEntry"]
        eq(e["type"], "STANDARD", "default type")
        eq(e["username"], f"arn:aws:sts::{ACCOUNT}:assumed-role/selftest-admin/{{{{SessionName}}}}", "role username")
        eq(e["kubernetesGroups"], ["team-a"], "groups")
        eq(e["tags"], {"owner": "selftest"}, "tags")
        d = eks.describe_access_entry(clusterName="st-api", principalArn=admin_role)["accessEntry"]
        eq(d["accessEntryArn"], e["accessEntryArn"], "describe")
        eq(eks.list_tags_for_resource(resourceArn=e["accessEntryArn"])["tags"], {"owner": "selftest"}, "ListTags")

    R.check("STANDARD role entry", standard_entry)
    R.check("duplicate entry", lambda: expect_error(
        lambda: eks.create_access_entry(clusterName="st-api", principalArn=admin_role), "ResourceInUseException", 409))

    def paging() -> None:
        p1 = eks.list_access_entries(clusterName="st-api", maxResults=1)
        eq(len(p1["accessEntries"]), 1, "page size")
        ensure(p1.get("nextToken"), "nextToken")
        seen = list(p1["accessEntries"])
        token = p1["nextToken"]
        while token:
            p = eks.list_access_entries(clusterName="st-api", maxResults=1, nextToken=token)
            seen += p["accessEntries"]
            token = p.get("nextToken")
        eq(sorted(seen), sorted([admin_role, node_role, env.node_role, f"arn:aws:iam::{ACCOUNT}:user/moto"]),
           "all pages")

    R.check("ListAccessEntries paging", paging)

    def update_entry() -> None:
        e = eks.update_access_entry(clusterName="st-api", principalArn=admin_role, kubernetesGroups=["team-b"],
                                    username="admin:{{SessionName}}")["accessEntry"]
        eq(e["kubernetesGroups"], ["team-b"], "groups")
        eq(e["username"], "admin:{{SessionName}}", "username")
        ensure(e["modifiedAt"] >= e["createdAt"], "modifiedAt")
        expect_error(lambda: eks.update_access_entry(clusterName="st-api", principalArn=node_role, kubernetesGroups=["x"]),
                     "InvalidParameterException")

    R.check("UpdateAccessEntry", update_entry)

    def policies() -> None:
        names = {p["name"]: p["arn"] for p in eks.list_access_policies()["accessPolicies"]}
        for n in ("AmazonEKSClusterAdminPolicy", "AmazonEKSAdminPolicy", "AmazonEKSEditPolicy", "AmazonEKSViewPolicy"):
            eq(names.get(n), f"arn:aws:eks::aws:cluster-access-policy/{n}", n)
        view = names["AmazonEKSViewPolicy"]
        r = eks.associate_access_policy(clusterName="st-api", principalArn=admin_role, policyArn=view,
                                        accessScope={"type": "namespace", "namespaces": ["karpenter"]})
        eq(r["associatedAccessPolicy"]["accessScope"], {"type": "namespace", "namespaces": ["karpenter"]}, "scope")
        eq(r["principalArn"], admin_role, "principalArn")
        lst = eks.list_associated_access_policies(clusterName="st-api", principalArn=admin_role)["associatedAccessPolicies"]
        eq([p["policyArn"] for p in lst], [view], "listed")
        eq(eks.list_access_entries(clusterName="st-api", associatedPolicyArn=view)["accessEntries"], [admin_role],
           "filter by policy")
        eks.disassociate_access_policy(clusterName="st-api", principalArn=admin_role, policyArn=view)
        eq(eks.list_associated_access_policies(clusterName="st-api", principalArn=admin_role)["associatedAccessPolicies"],
           [], "after disassociate")
        expect_error(lambda: eks.disassociate_access_policy(clusterName="st-api", principalArn=admin_role, policyArn=view),
                     "ResourceNotFoundException", 404)
        expect_error(lambda: eks.associate_access_policy(clusterName="st-api", principalArn=admin_role, policyArn=view,
                                                         accessScope={"type": "namespace"}), "InvalidParameterException")
        expect_error(lambda: eks.associate_access_policy(clusterName="st-api", principalArn="arn:aws:iam::123456789012:role/none",
                                                         policyArn=view, accessScope={"type": "cluster"}),
                     "ResourceNotFoundException", 404)

    R.check("Associate/List/Disassociate access policies", policies)

    def delete_entry() -> None:
        eks.delete_access_entry(clusterName="st-api", principalArn=admin_role)
        expect_error(lambda: eks.describe_access_entry(clusterName="st-api", principalArn=admin_role),
                     "ResourceNotFoundException", 404)
        expect_error(lambda: eks.delete_access_entry(clusterName="st-api", principalArn=admin_role),
                     "ResourceNotFoundException", 404)

    R.check("DeleteAccessEntry", delete_entry)


def test_pod_identity(env: Env) -> None:
    R.section = "EKS Pod Identity"
    eks = env.eks
    role = env.iam.create_role(RoleName="selftest-karpenter", AssumeRolePolicyDocument=trust("pods.eks.amazonaws.com"))["Role"]["Arn"]
    role2 = env.iam.create_role(RoleName="selftest-karpenter2", AssumeRolePolicyDocument=trust("pods.eks.amazonaws.com"))["Role"]["Arn"]
    state: dict[str, Any] = {}

    def create() -> None:
        a = eks.create_pod_identity_association(clusterName="st-api", namespace="kube-system", serviceAccount="karpenter",
                                                roleArn=role, tags={"app": "karpenter"})["association"]
        ensure(re.match(r"^a-[a-z0-9]{17}$", a["associationId"]), a["associationId"])
        eq(a["associationArn"], f"arn:aws:eks:{REGION}:{ACCOUNT}:podidentityassociation/st-api/{a['associationId']}", "arn")
        eq(a["tags"], {"app": "karpenter"}, "tags")
        state["id"] = a["associationId"]
        eks.create_pod_identity_association(clusterName="st-api", namespace="other", serviceAccount="sa1", roleArn=role)
        eks.create_pod_identity_association(clusterName="st-api", namespace="other", serviceAccount="sa2", roleArn=role)

    R.check("CreatePodIdentityAssociation", create)
    R.check("duplicate namespace+serviceAccount", lambda: expect_error(
        lambda: eks.create_pod_identity_association(clusterName="st-api", namespace="kube-system",
                                                    serviceAccount="karpenter", roleArn=role2),
        "ResourceInUseException", 409))

    def listing() -> None:
        eq(len(eks.list_pod_identity_associations(clusterName="st-api")["associations"]), 3, "all")
        only = eks.list_pod_identity_associations(clusterName="st-api", namespace="kube-system")["associations"]
        eq([a["serviceAccount"] for a in only], ["karpenter"], "namespace filter")
        only = eks.list_pod_identity_associations(clusterName="st-api", serviceAccount="sa2")["associations"]
        eq([a["namespace"] for a in only], ["other"], "serviceAccount filter")
        p1 = eks.list_pod_identity_associations(clusterName="st-api", maxResults=2)
        eq(len(p1["associations"]), 2, "page 1")
        p2 = eks.list_pod_identity_associations(clusterName="st-api", maxResults=2, nextToken=p1["nextToken"])
        eq(len(p2["associations"]), 1, "page 2")
        ensure("nextToken" not in p2, "last page")

    R.check("ListPodIdentityAssociations filters and paging", listing)

    def describe_update_delete() -> None:
        d = eks.describe_pod_identity_association(clusterName="st-api", associationId=state["id"])["association"]
        eq(d["roleArn"], role, "describe")
        u = eks.update_pod_identity_association(clusterName="st-api", associationId=state["id"], roleArn=role2)["association"]
        eq(u["roleArn"], role2, "updated role")
        gone = eks.delete_pod_identity_association(clusterName="st-api", associationId=state["id"])["association"]
        eq(gone["associationId"], state["id"], "delete returns association")
        expect_error(lambda: eks.describe_pod_identity_association(clusterName="st-api", associationId=state["id"]),
                     "ResourceNotFoundException", 404)
        expect_error(lambda: eks.delete_pod_identity_association(clusterName="st-api", associationId="a-00000000000000000"),
                     "ResourceNotFoundException", 404)
        expect_error(lambda: eks.create_pod_identity_association(clusterName="nope", namespace="a", serviceAccount="b",
                                                                 roleArn=role), "ResourceNotFoundException", 404)

    R.check("Describe/Update/Delete association", describe_update_delete)


def test_addons(env: Env) -> None:
    R.section = "EKS add-ons"
    eks = env.eks

    def versions() -> None:
        addons = {a["addonName"]: a for a in eks.describe_addon_versions(kubernetesVersion=K8S)["addons"]}
        for n in ("eks-pod-identity-agent", "vpc-cni", "coredns", "kube-proxy"):
            ensure(n in addons, f"{n} offered")
        versions_ = [v["addonVersion"] for v in addons["eks-pod-identity-agent"]["addonVersions"]]
        ensure("v1.3.10-eksbuild.1" in versions_, str(versions_))
        kp = addons["kube-proxy"]["addonVersions"][0]["compatibilities"][0]
        eq(kp["clusterVersion"], K8S, "compatibility")
        one = eks.describe_addon_versions(addonName="coredns")["addons"]
        eq([a["addonName"] for a in one], ["coredns"], "addonName filter")

    R.check("DescribeAddonVersions", versions)

    def lifecycle() -> None:
        a = eks.create_addon(clusterName="st-api", addonName="eks-pod-identity-agent")["addon"]
        eq(a["status"], "ACTIVE", "status")
        eq(a["health"], {"issues": []}, "health")
        eq(a["addonVersion"], "v1.3.10-eksbuild.1", "default version")
        ensure(a["addonArn"].startswith(f"arn:aws:eks:{REGION}:{ACCOUNT}:addon/st-api/eks-pod-identity-agent/"), a["addonArn"])
        eks.create_addon(clusterName="st-api", addonName="vpc-cni", addonVersion="v1.19.6-eksbuild.7")
        expect_error(lambda: eks.create_addon(clusterName="st-api", addonName="vpc-cni"), "ResourceInUseException", 409)
        expect_error(lambda: eks.create_addon(clusterName="st-api", addonName="coredns", addonVersion="v0.0.1"),
                     "InvalidParameterException", 400)
        eq(eks.list_addons(clusterName="st-api")["addons"], ["eks-pod-identity-agent", "vpc-cni"], "ListAddons")
        d = eks.describe_addon(clusterName="st-api", addonName="vpc-cni")["addon"]
        eq(d["addonVersion"], "v1.19.6-eksbuild.7", "describe")
        u = eks.update_addon(clusterName="st-api", addonName="vpc-cni", addonVersion="v1.20.4-eksbuild.1",
                             resolveConflicts="OVERWRITE")["update"]
        eq(u["type"], "AddonUpdate", "update type")
        eq(eks.describe_update(name="st-api", updateId=u["id"], addonName="vpc-cni")["update"]["id"], u["id"],
           "DescribeUpdate addonName")
        eq(eks.describe_addon(clusterName="st-api", addonName="vpc-cni")["addon"]["addonVersion"], "v1.20.4-eksbuild.1",
           "updated version")
        deleted = eks.delete_addon(clusterName="st-api", addonName="vpc-cni")["addon"]
        eq(deleted["addonName"], "vpc-cni", "delete returns addon")
        expect_error(lambda: eks.describe_addon(clusterName="st-api", addonName="vpc-cni"), "ResourceNotFoundException", 404)
        expect_error(lambda: eks.delete_addon(clusterName="st-api", addonName="vpc-cni"), "ResourceNotFoundException", 404)
        expect_error(lambda: eks.create_addon(clusterName="nope", addonName="vpc-cni"), "ResourceNotFoundException", 404)

    R.check("Create/Describe/List/Update/Delete add-ons", lifecycle)


def test_kube_registration(env: Env, api: FakeApiServer) -> None:
    R.section = "admin kube registration"
    admin = env.l.admin

    def register() -> None:
        st, _ = http("GET", f"{admin}/healthz")
        eq(st, 200, "healthz")
        st, body = http("PUT", f"{admin}/clusters/st-api/kube", api.registration())
        eq(st, 200, f"PUT {body}")
        c = env.eks.describe_cluster(name="st-api")["cluster"]
        eq(c["endpoint"], api.endpoint, "endpoint")
        eq(base64.b64decode(c["certificateAuthority"]["data"]).decode(), api.ca_pem, "CA data")
        st, _ = http("PUT", f"{admin}/clusters/st-api/kube", {"endpoint": "http://x", "caPem": "nope"})
        eq(st, 400, "bad registration refused")
        st, _ = http("DELETE", f"{admin}/clusters/st-api/kube")
        eq(st, 200, "DELETE")
        c = env.eks.describe_cluster(name="st-api")["cluster"]
        ensure(c["endpoint"] != api.endpoint and c["endpoint"].startswith("https://"), "moto endpoint back")
        st, _ = http("PUT", f"{admin}/clusters/st-api/kube", api.registration(region="eu-west-1"))
        c = env.eks.describe_cluster(name="st-api")["cluster"]
        ensure(c["endpoint"] != api.endpoint, "registration for another region does not apply")
        http("DELETE", f"{admin}/clusters/st-api/kube")

    R.check("PUT/DELETE /clusters/<name>/kube drive DescribeCluster", register)


def test_ssm_amis(env: Env) -> None:
    R.section = "SSM AMI parameters"
    m = env.l.moto
    ssm, ec2 = env.ssm, env.ec2
    al2023 = f"/aws/service/eks/optimized-ami/{K8S}/amazon-linux-2023/x86_64/standard/recommended/image_id"

    def al2023_everywhere() -> None:
        v = ssm.get_parameter(Name=al2023)["Parameter"]
        ensure(re.match(r"^ami-[0-9a-f]{17}$", v["Value"]), v["Value"])
        eq(v["Type"], "String", "type")
        other = client("ssm", m, region="eu-west-1", account=OTHER_ACCOUNT).get_parameter(Name=al2023)["Parameter"]
        eq(other["Value"], v["Value"], "same id in another account/region")
        pinned = (f"/aws/service/eks/optimized-ami/{K8S}/amazon-linux-2023/x86_64/standard/"
                  f"amazon-eks-node-al2023-x86_64-standard-{K8S}-v20260101/image_id")
        eq(ssm.get_parameter(Name=pinned)["Parameter"]["Value"], v["Value"], "al2023@v20260101 == recommended")

    R.check("AL2023 recommended and pinned in every account/region", al2023_everywhere)

    def families() -> None:
        names = [
            f"/aws/service/eks/optimized-ami/{K8S}/amazon-linux-2023/arm64/standard/recommended/image_id",
            f"/aws/service/eks/optimized-ami/{K8S}/amazon-linux-2023/x86_64/nvidia/recommended/image_id",
            f"/aws/service/eks/optimized-ami/{K8S}/amazon-linux-2023/x86_64/neuron/recommended/image_id",
            "/aws/service/eks/optimized-ami/1.32/amazon-linux-2/recommended/image_id",
            "/aws/service/eks/optimized-ami/1.32/amazon-linux-2-arm64/recommended/image_id",
            "/aws/service/eks/optimized-ami/1.32/amazon-linux-2-gpu/recommended/image_id",
            f"/aws/service/bottlerocket/aws-k8s-{K8S}/x86_64/latest/image_id",
            f"/aws/service/bottlerocket/aws-k8s-{K8S}/arm64/1.52.0/image_id",
            f"/aws/service/bottlerocket/aws-k8s-{K8S}-nvidia/x86_64/latest/image_id",
            f"/aws/service/ami-windows-latest/Windows_Server-2022-English-Core-EKS_Optimized-{K8S}/image_id",
        ]
        got = ssm.get_parameters(Names=names)
        eq(got["InvalidParameters"], [], "all found")
        eq(len(got["Parameters"]), len(names), "count")
        for k in ("1.28", "1.37"):
            ssm.get_parameter(Name=f"/aws/service/eks/optimized-ami/{k}/amazon-linux-2023/x86_64/standard/recommended/image_id")

    R.check("AL2 (<=1.32), AL2023 variants, Bottlerocket, Windows via GetParameters", families)

    def by_path() -> None:
        params, token = [], None
        while True:
            kw = {"Path": f"/aws/service/eks/optimized-ami/{K8S}/amazon-linux-2023/", "Recursive": True, "MaxResults": 10}
            if token:
                kw["NextToken"] = token
            page = ssm.get_parameters_by_path(**kw)
            params += page["Parameters"]
            token = page.get("NextToken")
            if not token:
                break
        names = {p["Name"] for p in params}
        ensure(al2023 in names, "recommended image_id under path")
        ensure(all(n.startswith(f"/aws/service/eks/optimized-ami/{K8S}/amazon-linux-2023/") for n in names), "scoped")
        shallow = ssm.get_parameters_by_path(Path=f"/aws/service/bottlerocket/aws-k8s-{K8S}/x86_64/latest")["Parameters"]
        eq(sorted(p["Name"].rsplit("/", 1)[1] for p in shallow), ["image_id", "image_version"], "bottlerocket latest")

    R.check("GetParametersByPath", by_path)

    def not_found() -> None:
        expect_error(lambda: ssm.get_parameter(Name="/aws/service/eks/optimized-ami/1.20/amazon-linux-2023/x86_64/standard/recommended/image_id"),
                     "ParameterNotFound", 400)
        expect_error(lambda: ssm.get_parameter(Name=f"/aws/service/eks/optimized-ami/{K8S}/amazon-linux-2/recommended/image_id"),
                     "ParameterNotFound", 400)
        expect_error(lambda: ssm.put_parameter(Name=al2023, Value="ami-0123", Type="String", Overwrite=True),
                     "AccessDeniedException")

    R.check("unknown versions ParameterNotFound, PutParameter denied", not_found)

    def images() -> None:
        ids = {
            "al2023": ssm.get_parameter(Name=al2023)["Parameter"]["Value"],
            "arm": ssm.get_parameter(Name=f"/aws/service/eks/optimized-ami/{K8S}/amazon-linux-2023/arm64/standard/recommended/image_id")["Parameter"]["Value"],
            "br": ssm.get_parameter(Name=f"/aws/service/bottlerocket/aws-k8s-{K8S}/x86_64/latest/image_id")["Parameter"]["Value"],
            "win": ssm.get_parameter(Name=f"/aws/service/ami-windows-latest/Windows_Server-2022-English-Core-EKS_Optimized-{K8S}/image_id")["Parameter"]["Value"],
        }
        imgs = {i["ImageId"]: i for i in ec2.describe_images(ImageIds=list(ids.values()))["Images"]}
        eq(len(imgs), 4, "all images")
        a = imgs[ids["al2023"]]
        eq(a["Name"], f"amazon-eks-node-al2023-x86_64-standard-{K8S}-v20260101", "al2023 name")
        eq(a["Architecture"], "x86_64", "arch")
        eq(a["State"], "available", "state")
        eq(a["ImageOwnerAlias"], "amazon", "owner alias")
        eq(imgs[ids["arm"]]["Architecture"], "arm64", "arm64")
        ensure(imgs[ids["br"]]["Name"].startswith(f"bottlerocket-aws-k8s-{K8S}-x86_64-v1.52.0-"), imgs[ids["br"]]["Name"])
        eq(imgs[ids["win"]].get("Platform"), "windows", "windows platform")
        eq(re.sub(r".*-(v\d{8})$", r"\1", a["Name"]), "v20260101", "alias version derivable from name")
        owned = ec2.describe_images(Owners=["amazon"], Filters=[{"Name": "image-id", "Values": [ids["al2023"]]}])["Images"]
        eq(len(owned), 1, "Owners=amazon + image-id filter")
        west = client("ec2", m, region="us-west-2").describe_images(ImageIds=[ids["al2023"]])["Images"]
        eq(len(west), 1, "visible in us-west-2")

    R.check("catalog AMIs exist in EC2", images)


def test_pricing(env: Env) -> None:
    R.section = "Pricing"
    pricing = client("pricing", env.l.moto)
    ec2 = env.ec2
    common = [{"Type": "TERM_MATCH", "Field": f, "Value": v} for f, v in [
        ("regionCode", REGION), ("serviceCode", "AmazonEC2"), ("preInstalledSw", "NA"),
        ("operatingSystem", "Linux"), ("capacitystatus", "Used"), ("marketoption", "OnDemand")]]

    def products(tenancy: str, family: str) -> dict[str, float]:
        filters = common + [{"Type": "TERM_MATCH", "Field": "tenancy", "Value": tenancy},
                            {"Type": "TERM_MATCH", "Field": "productFamily", "Value": family}]
        out: dict[str, float] = {}
        for page in pricing.get_paginator("get_products").paginate(
                ServiceCode="AmazonEC2", Filters=filters, PaginationConfig={"PageSize": 100}):
            for raw in page["PriceList"]:
                item = json.loads(raw)
                name = item["product"]["attributes"]["instanceType"]
                for term in item["terms"]["OnDemand"].values():
                    for dim in term["priceDimensions"].values():
                        out[name] = float(dim["pricePerUnit"]["USD"])
        return out

    def every_type_priced() -> None:
        shared = products("Shared", "Compute Instance")
        metal = products("Dedicated", "Compute Instance (bare metal)")
        listed = {t["InstanceType"]: t for p in ec2.get_paginator("describe_instance_types").paginate()
                  for t in p["InstanceTypes"]}
        ensure(len(shared) > 500, f"{len(shared)} shared products")
        ensure(len(metal) > 50, f"{len(metal)} bare-metal products")
        eq(set(shared) | set(metal), set(listed), "priced types == DescribeInstanceTypes")
        ensure(all(listed[n].get("BareMetal") for n in metal), "bare-metal query returns metal types only")
        ensure(all(p > 0 for p in [*shared.values(), *metal.values()]), "every price positive")
        ensure(shared["m5.large"] < shared["m5.xlarge"] < shared["m5.2xlarge"], "prices grow with size")

    def unknown_filter_matches_nothing() -> None:
        page = pricing.get_products(ServiceCode="AmazonEC2", Filters=[
            {"Type": "TERM_MATCH", "Field": "operatingSystem", "Value": "Windows"}])
        eq(page["PriceList"], [], "Windows products")

    R.check("GetProducts prices every instance type, shared and bare metal, paged", every_type_priced)
    R.check("GetProducts filters by value", unknown_filter_matches_nothing)


def test_iam_sqs_sts(env: Env) -> None:
    R.section = "IAM/SQS/STS"
    iam, sqs, sts = env.iam, env.sqs, env.sts

    def spot_role() -> None:
        r = iam.create_service_linked_role(AWSServiceName="spot.amazonaws.com")["Role"]
        eq(r["RoleName"], "AWSServiceRoleForEC2Spot", "name")
        eq(r["Path"], "/aws-service-role/spot.amazonaws.com/", "path")
        expect_error(lambda: iam.create_service_linked_role(AWSServiceName="spot.amazonaws.com"), "InvalidInput", 400,
                     "Service role name AWSServiceRoleForEC2Spot has been taken in this account, please try a different suffix.")
        other = iam.create_service_linked_role(AWSServiceName="autoscaling.amazonaws.com")["Role"]
        eq(other["RoleName"], "AWSServiceRoleForAutoScaling", "other services unchanged")
        expect_error(lambda: iam.create_service_linked_role(AWSServiceName="autoscaling.amazonaws.com"),
                     "EntityAlreadyExists", 409)

    R.check("spot service-linked role", spot_role)

    def malformed() -> None:
        bad = "{not json"
        expect_error(lambda: iam.create_role(RoleName="bad", AssumeRolePolicyDocument=bad), "MalformedPolicyDocument", 400)
        iam.create_role(RoleName="good", AssumeRolePolicyDocument=trust("ec2.amazonaws.com"))
        expect_error(lambda: iam.update_assume_role_policy(RoleName="good", PolicyDocument=bad), "MalformedPolicyDocument", 400)
        expect_error(lambda: iam.put_role_policy(RoleName="good", PolicyName="p", PolicyDocument=bad),
                     "MalformedPolicyDocument", 400)
        expect_error(lambda: iam.create_policy(PolicyName="p", PolicyDocument=bad), "MalformedPolicyDocument", 400)
        expect_error(lambda: iam.get_role(RoleName="bad"), "NoSuchEntity", 404)

    R.check("non-JSON policy documents", malformed)

    def sqs_policy() -> None:
        url = sqs.create_queue(QueueName="selftest-interruption")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        policy = {"Version": "2012-10-17", "Id": "EC2InterruptionPolicy", "Statement": [
            {"Sid": "EC2", "Effect": "Allow", "Principal": {"Service": ["events.amazonaws.com", "sqs.amazonaws.com"]},
             "Action": "sqs:SendMessage", "Resource": arn}]}
        sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps(policy)})
        sqs.set_queue_attributes(QueueUrl=url, Attributes={"MessageRetentionPeriod": "300"})
        got = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
        eq(json.loads(got["Policy"]), policy, "policy kept")
        eq(got["MessageRetentionPeriod"], "300", "other attribute set")
        sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": ""})
        got = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
        ensure("Policy" not in got, f"policy cleared, got {got.get('Policy')}")

    R.check("SQS Policy survives SetQueueAttributes without Policy", sqs_policy)

    def web_identity() -> None:
        import base64

        def jwt(claims: dict[str, Any]) -> str:
            enc = lambda o: base64.urlsafe_b64encode(json.dumps(o).encode()).decode().rstrip("=")
            return f"{enc({'alg': 'RS256'})}.{enc(claims)}.c2lnbmF0dXJl"

        anon = client("sts", env.l.moto)
        issuer = "https://selftest-oidc.example.test"
        good = {"iss": issuer, "aud": "sts.amazonaws.com", "sub": "repo:acme/infra:pull_request"}
        assume = lambda role, token: anon.assume_role_with_web_identity(
            RoleArn=role, RoleSessionName="web", WebIdentityToken=token)
        expect_error(lambda: assume(f"arn:aws:iam::{ACCOUNT}:role/does-not-exist", jwt(good)),
                     "AccessDenied", 403, "Not authorized to perform sts:AssumeRoleWithWebIdentity")
        provider = f"arn:aws:iam::{ACCOUNT}:oidc-provider/selftest-oidc.example.test"
        web_trust = {"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"Federated": provider}, "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {"StringEquals": {"selftest-oidc.example.test:aud": "sts.amazonaws.com"},
                          "StringLike": {"selftest-oidc.example.test:sub": ["repo:acme/infra:pull_request",
                                                                            "repo:acme/infra:ref:refs/heads/*"]}}}]}
        role = iam.create_role(RoleName="selftest-web", AssumeRolePolicyDocument=json.dumps(web_trust))["Role"]["Arn"]
        expect_error(lambda: assume(role, jwt(good)), "InvalidIdentityToken", 400,
                     f"No OpenIDConnect provider found in your account for {issuer}")
        iam.create_open_id_connect_provider(Url=issuer, ClientIDList=["sts.amazonaws.com"], ThumbprintList=["a" * 40])
        expect_error(lambda: assume(role, "not-a-jwt"), "InvalidIdentityToken", 400, "not a valid JWT")
        creds = assume(role, jwt(good))["Credentials"]
        ensure(creds["AccessKeyId"].startswith("ASIA"), "credentials issued for a matching subject")
        assume(role, jwt({**good, "sub": "repo:acme/infra:ref:refs/heads/main"}))
        for sub in ["repo:acme/infra:environment:prod", "repo:acme@1/infra@2:pull_request", "repo:evil/infra:pull_request"]:
            expect_error(lambda: assume(role, jwt({**good, "sub": sub})),
                         "AccessDenied", 403, "Not authorized to perform sts:AssumeRoleWithWebIdentity")
        expect_error(lambda: assume(role, jwt({**good, "aud": "other"})), "InvalidIdentityToken", 400,
                     "Incorrect token audience")
        ec2_role = iam.create_role(RoleName="selftest-web-ec2",
                                   AssumeRolePolicyDocument=trust("ec2.amazonaws.com"))["Role"]["Arn"]
        expect_error(lambda: assume(ec2_role, jwt(good)),
                     "AccessDenied", 403, "Not authorized to perform sts:AssumeRoleWithWebIdentity")
        ensure(sts.get_caller_identity()["Arn"].endswith(":user/moto"), "default caller")

    R.check("AssumeRoleWithWebIdentity judges the issuer, the audience and the trust policy", web_identity)


def test_faults(env: Env) -> None:
    R.section = "fault injection"
    m, admin = env.l.moto, env.l.admin

    def once(service: str, account: str | None = None) -> Any:
        return client(service, m, account=account, attempts=1)

    def arm(rule: dict[str, Any]) -> str:
        st, body = http("POST", f"{admin}/faults", rule)
        eq(st, 200, f"POST /faults {body}")
        return body["id"]

    def fault(rule_id: str) -> dict[str, Any]:
        st, body = http("GET", f"{admin}/faults")
        eq(st, 200, "GET /faults")
        return next(f for f in body["faults"] if f["id"] == rule_id)

    def sqs_json() -> None:
        sqs = once("sqs")
        rid = arm({"operation": "CreateQueue", "code": "QueueDeletedRecently", "status": 400})
        expect_error(lambda: sqs.create_queue(QueueName="selftest-faults"), "QueueDeletedRecently", 400)
        ensure(sqs.create_queue(QueueName="selftest-faults")["QueueUrl"].endswith("/selftest-faults"), "then succeeds")
        f = fault(rid)
        eq((f["remaining"], len(f["hits"]), f["hits"][0]["service"]), (0, 1, "sqs"), "remaining, hits, service")

    R.check("SQS JSON protocol: code from x-amzn-query-error, then the call succeeds", sqs_json)

    def iam_query() -> None:
        iam = once("iam")
        arm({"operation": "CreateRole"})
        other = arm({"operation": "CreateRole", "accountId": OTHER_ACCOUNT})
        expect_error(lambda: iam.create_role(RoleName="selftest-fault-role", AssumeRolePolicyDocument=trust("ec2.amazonaws.com")),
                     "InternalFailure", 500)
        # The other account's rule is still armed, so this form body is read and must reach moto intact.
        iam.create_role(RoleName="selftest-fault-role", AssumeRolePolicyDocument=trust("ec2.amazonaws.com"))
        eq(iam.get_role(RoleName="selftest-fault-role")["Role"]["RoleName"], "selftest-fault-role", "role created")
        eq(fault(other)["remaining"], 1, "rule for another account untouched")
        expect_error(lambda: once("iam", OTHER_ACCOUNT).create_role(
            RoleName="selftest-fault-role", AssumeRolePolicyDocument=trust("ec2.amazonaws.com")), "InternalFailure", 500)
        eq(fault(other)["hits"][0]["accountId"], OTHER_ACCOUNT, "hit records the account")

    R.check("IAM query protocol (form body), scoped by account", iam_query)

    def ec2_query() -> None:
        ec2 = once("ec2")
        arm({"operation": "CreateTags", "code": "RequestLimitExceeded", "status": 503, "message": "slow <down>"})
        tag = {"Resources": [env.vpc], "Tags": [{"Key": "selftest", "Value": "fault"}]}
        expect_error(lambda: ec2.create_tags(**tag), "RequestLimitExceeded", 503, "slow <down>")
        ec2.create_tags(**tag)

    R.check("EC2 query protocol", ec2_query)

    def eks_rest() -> None:
        eks = once("eks")
        env.cluster("st-faults", "API")
        role = env.iam.create_role(RoleName="selftest-fault-entry", AssumeRolePolicyDocument=trust("ec2.amazonaws.com"))
        arn = role["Role"]["Arn"]
        for op, code in (("CreateAccessEntry", "ResourceInUseException"), ("CreatePodIdentityAssociation", "ServerException"),
                         ("CreateAddon", "ServerException")):
            arm({"operation": op, "code": code, "status": 409 if code == "ResourceInUseException" else 500})
        expect_error(lambda: eks.create_access_entry(clusterName="st-faults", principalArn=arn), "ResourceInUseException", 409)
        eks.create_access_entry(clusterName="st-faults", principalArn=arn)
        expect_error(lambda: eks.create_pod_identity_association(
            clusterName="st-faults", namespace="kube-system", serviceAccount="karpenter", roleArn=arn), "ServerException", 500)
        expect_error(lambda: eks.create_addon(clusterName="st-faults", addonName="eks-pod-identity-agent"),
                     "ServerException", 500)
        env.eks.delete_cluster(name="st-faults")

    R.check("EKS REST-JSON: CreateAccessEntry, CreatePodIdentityAssociation, CreateAddon", eks_rest)

    def admin_api() -> None:
        for bad in ({}, {"operation": "CreateQueue", "count": 0}, {"operation": "CreateQueue", "status": 200},
                    {"operation": "CreateQueue", "colour": "red"}):
            st, _ = http("POST", f"{admin}/faults", bad)
            eq(st, 400, f"rule {bad} refused")
        rid = arm({"operation": "GetCallerIdentity", "count": 2, "accountId": "000000000000"})
        eq(http("DELETE", f"{admin}/faults/{rid}")[0], 200, "DELETE one")
        eq(http("DELETE", f"{admin}/faults/{rid}")[0], 404, "DELETE one again")
        arm({"operation": "GetCallerIdentity", "accountId": "000000000000"})
        st, body = http("DELETE", f"{admin}/faults")
        ensure(st == 200 and body["cleared"] >= 1, f"DELETE /faults {st} {body}")
        eq(http("GET", f"{admin}/faults")[1], {"faults": []}, "all cleared")

    R.check("POST/GET/DELETE /faults validate, list and clear", admin_api)
    http("DELETE", f"{admin}/faults")


def test_webhook(env: Env, api: FakeApiServer) -> None:
    R.section = "TokenReview webhook"
    m, admin, eks, iam = env.l.moto, env.l.admin, env.eks, env.iam
    moto_arn = f"arn:aws:iam::{ACCOUNT}:user/moto"

    env.cluster("wh-api", "API")
    env.cluster("wh-cm")
    env.cluster("wh-both", "API_AND_CONFIG_MAP")
    for name, hook in (("wh-api", "kube-1"), ("wh-cm", "kube-2"), ("wh-both", "kube-3")):
        st, body = http("PUT", f"{admin}/clusters/{name}/kube", api.registration(webhook_id=hook))
        ensure(st == 200, f"register {name}: {body}")

    alice = iam.create_user(UserName="alice")["User"]["Arn"]
    alice_key = iam.create_access_key(UserName="alice")["AccessKey"]
    bob = iam.create_user(UserName="bob")["User"]["Arn"]
    bob_key = iam.create_access_key(UserName="bob")["AccessKey"]
    ci_role = iam.create_role(RoleName="ci-role", AssumeRolePolicyDocument=account_trust(ACCOUNT))["Role"]["Arn"]
    creds = env.sts.assume_role(RoleArn=ci_role, RoleSessionName="ci-session")["Credentials"]
    ci = {"key": creds["AccessKeyId"], "secret": creds["SecretAccessKey"], "token": creds["SessionToken"]}
    api.set_aws_auth(
        map_roles=[{"rolearn": ci_role, "username": "cm:{{SessionName}}", "groups": ["cm-group"]},
                   {"rolearn": env.node_role, "username": "system:node:{{EC2PrivateDNSName}}",
                    "groups": ["system:bootstrappers", "system:nodes"]}],
        map_users=[{"userarn": alice, "username": "alice", "groups": ["viewers"]}],
    )

    def creator() -> None:
        s = review(admin, "kube-1", eks_token(m, "wh-api"))
        ensure(s["authenticated"], f"authenticated: {s}")
        u = s["user"]
        eq(u["username"], moto_arn, "username")
        eq(u["groups"], ["eks-access-policy:AmazonEKSClusterAdminPolicy"], "groups")
        eq(u["uid"], f"aws-iam-authenticator:{ACCOUNT}:testing", "uid")
        eq(u["extra"]["arn"], [f"arn:aws:sts::{ACCOUNT}:user/moto"], "extra.arn")
        eq(u["extra"]["accessKeyId"], ["testing"], "extra.accessKeyId")
        s2 = review(admin, "wh-api", eks_token(m, "wh-api"))
        ensure(s2["authenticated"], "webhook path may name the cluster too")

    R.check("creator token with access entry -> cluster admin", creator)

    R.check("token for another cluster refused", lambda: ensure(
        not review(admin, "kube-1", eks_token(m, "wh-cm"))["authenticated"], "wrong cluster accepted"))
    R.check("unknown access key refused", lambda: ensure(
        not review(admin, "kube-1", eks_token(m, "wh-api", key="AKIAUNKNOWNKEY000000", secret="x"))["authenticated"],
        "unknown key accepted"))
    R.check("known key with wrong secret refused", lambda: ensure(
        not review(admin, "kube-1", eks_token(m, "wh-api", key=alice_key["AccessKeyId"], secret="wrong"))["authenticated"],
        "bad signature accepted"))
    R.check("IAM user without entry or mapping refused (API mode)", lambda: ensure(
        not review(admin, "kube-1", eks_token(m, "wh-api", key=alice_key["AccessKeyId"],
                                              secret=alice_key["SecretAccessKey"]))["authenticated"], "alice accepted"))
    R.check("aws-auth ignored in API mode", lambda: ensure(
        not review(admin, "kube-1", eks_token(m, "wh-api", ci["key"], ci["secret"], ci["token"]))["authenticated"],
        "aws-auth mapping used in API mode"))

    def user_entry() -> None:
        eks.create_access_entry(clusterName="wh-api", principalArn=alice)
        eks.associate_access_policy(clusterName="wh-api", principalArn=alice,
                                    policyArn="arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy",
                                    accessScope={"type": "cluster"})
        s = review(admin, "kube-1", eks_token(m, "wh-api", key=alice_key["AccessKeyId"], secret=alice_key["SecretAccessKey"]))
        ensure(s["authenticated"], f"alice: {s}")
        eq(s["user"]["username"], alice, "username")
        eq(s["user"]["groups"], ["eks-access-policy:AmazonEKSViewPolicy"], "groups")

    R.check("IAM user with access entry", user_entry)

    def role_entry() -> None:
        eks.create_access_entry(clusterName="wh-api", principalArn=ci_role, username="ci:{{SessionName}}:{{AccountID}}",
                                kubernetesGroups=["ci-group"])
        eks.associate_access_policy(clusterName="wh-api", principalArn=ci_role,
                                    policyArn="arn:aws:eks::aws:cluster-access-policy/AmazonEKSEditPolicy",
                                    accessScope={"type": "namespace", "namespaces": ["karpenter"]})
        s = review(admin, "kube-1", eks_token(m, "wh-api", ci["key"], ci["secret"], ci["token"]))
        ensure(s["authenticated"], f"role: {s}")
        eq(s["user"]["username"], f"ci:ci-session:{ACCOUNT}", "username")
        eq(s["user"]["groups"], ["ci-group", "eks-access-policy:AmazonEKSEditPolicy"], "groups")
        eq(s["user"]["extra"]["arn"], [f"arn:aws:sts::{ACCOUNT}:assumed-role/ci-role/ci-session"], "extra.arn")
        eq(s["user"]["extra"]["sessionName"], ["ci-session"], "extra.sessionName")

    R.check("assumed-role caller with access entry -> role mapping", role_entry)
    def node_identity() -> None:
        role = iam.create_role(RoleName="wh-node", AssumeRolePolicyDocument=trust("ec2.amazonaws.com"))["Role"]["Arn"]
        eks.create_access_entry(clusterName="wh-api", principalArn=role, type="EC2_LINUX")
        ami = env.ssm.get_parameter(
            Name=f"/aws/service/eks/optimized-ami/{K8S}/amazon-linux-2023/x86_64/standard/recommended/image_id")
        inst = env.ec2.run_instances(ImageId=ami["Parameter"]["Value"], MinCount=1, MaxCount=1,
                                     InstanceType="m5.large")["Instances"][0]
        node = env.sts.assume_role(RoleArn=role, RoleSessionName=inst["InstanceId"])["Credentials"]
        s = review(admin, "kube-1", eks_token(m, "wh-api", node["AccessKeyId"], node["SecretAccessKey"],
                                              node["SessionToken"]))
        ensure(s["authenticated"], f"node: {s}")
        eq(s["user"]["username"], f"system:node:{inst['PrivateDnsName']}", "EC2PrivateDNSName from the instance")
        eq(s["user"]["groups"], ["system:nodes"], "node groups")

    R.check("EC2_LINUX entry maps an instance session to system:node:<private DNS>", node_identity)
    R.check("assumed-role key without its session token refused", lambda: ensure(
        not review(admin, "kube-1", eks_token(m, "wh-api", ci["key"], ci["secret"]))["authenticated"],
        "token without X-Amz-Security-Token accepted"))

    def expired() -> None:
        old = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(minutes=16)
        ensure(not review(admin, "kube-1", eks_token(m, "wh-api", at=old))["authenticated"], "16 min old token accepted")
        fresh = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(minutes=14)
        ensure(review(admin, "kube-1", eks_token(m, "wh-api", at=fresh))["authenticated"], "14 min old token refused")

    R.check("tokens older than 15 minutes refused", expired)

    def malformed_tokens() -> None:
        for tok in ("Bearer-x", "k8s-aws-v1.!!!notbase64", "k8s-aws-v1." +
                    base64.urlsafe_b64encode(b"https://evil.example.com/?Action=GetCallerIdentity").decode()):
            s = review(admin, "kube-1", tok)
            ensure(not s["authenticated"], f"{tok[:20]} accepted")
        ensure(not review(admin, "kube-unknown", eks_token(m, "wh-api"))["authenticated"], "unregistered webhook id")

    R.check("malformed tokens and unknown webhook id refused", malformed_tokens)

    def aws_auth() -> None:
        api.seen_clients.clear()
        s = review(admin, "kube-2", eks_token(m, "wh-cm", ci["key"], ci["secret"], ci["token"]))
        ensure(s["authenticated"], f"mapRoles: {s}")
        eq(s["user"]["username"], "cm:ci-session", "mapRoles username")
        eq(s["user"]["groups"], ["cm-group"], "mapRoles groups")
        ensure("selftest-admin" in api.seen_clients, f"apiserver saw client cert: {api.seen_clients}")
        s = review(admin, "kube-2", eks_token(m, "wh-cm", key=alice_key["AccessKeyId"], secret=alice_key["SecretAccessKey"]))
        ensure(s["authenticated"], f"mapUsers: {s}")
        eq((s["user"]["username"], s["user"]["groups"]), ("alice", ["viewers"]), "mapUsers")
        s = review(admin, "kube-2", eks_token(m, "wh-cm", key=bob_key["AccessKeyId"], secret=bob_key["SecretAccessKey"]))
        ensure(not s["authenticated"], "unmapped user accepted")
        s = review(admin, "kube-2", eks_token(m, "wh-cm"))
        ensure(s["authenticated"], f"creator: {s}")
        eq((s["user"]["username"], s["user"]["groups"]), ("kubernetes-admin", ["system:masters"]), "implicit creator admin")

    R.check("aws-auth mapRoles/mapUsers over mTLS (CONFIG_MAP)", aws_auth)

    def both() -> None:
        eks.create_access_entry(clusterName="wh-both", principalArn=alice)
        eks.associate_access_policy(clusterName="wh-both", principalArn=alice,
                                    policyArn="arn:aws:eks::aws:cluster-access-policy/AmazonEKSAdminPolicy",
                                    accessScope={"type": "cluster"})
        s = review(admin, "kube-3", eks_token(m, "wh-both", key=alice_key["AccessKeyId"], secret=alice_key["SecretAccessKey"]))
        eq((s["user"]["username"], s["user"]["groups"]), (alice, ["eks-access-policy:AmazonEKSAdminPolicy"]),
           "access entry wins over aws-auth")
        s = review(admin, "kube-3", eks_token(m, "wh-both", ci["key"], ci["secret"], ci["token"]))
        eq((s["user"]["username"], s["user"]["groups"]), ("cm:ci-session", ["cm-group"]), "falls back to aws-auth")

    R.check("API_AND_CONFIG_MAP: entries first, then aws-auth", both)

    def no_configmap() -> None:
        saved = api.aws_auth
        api.aws_auth = None
        try:
            s = review(admin, "kube-2", eks_token(m, "wh-cm", key=alice_key["AccessKeyId"], secret=alice_key["SecretAccessKey"]))
            ensure(not s["authenticated"], "accepted without aws-auth")
        finally:
            api.aws_auth = saved

    R.check("missing aws-auth ConfigMap refuses", no_configmap)

    def other_account() -> None:
        c = client("eks", m, account=OTHER_ACCOUNT)
        c.create_cluster(name="wh-other", roleArn=f"arn:aws:iam::{OTHER_ACCOUNT}:role/x",
                         resourcesVpcConfig={"subnetIds": []}, accessConfig={"authenticationMode": "API"})
        http("PUT", f"{admin}/clusters/wh-other/kube", api.registration(account=OTHER_ACCOUNT, webhook_id="kube-4"))
        s = review(admin, "kube-4", eks_token(m, "wh-other"))
        ensure(s["authenticated"], f"other account: {s}")
        eq(s["user"]["username"], f"arn:aws:iam::{OTHER_ACCOUNT}:user/moto", "default key acts in the cluster's account")
        eq(c.describe_cluster(name="wh-other")["cluster"]["endpoint"], api.endpoint, "endpoint in other account")

    R.check("cluster in another account (x-moto-account-id)", other_account)

    def logs() -> None:
        text = env.l.log_text()
        ensure("tokenreview" in text and "result=allowed" in text and "result=denied" in text, "review log lines")
        ensure(ci["secret"] not in text and alice_key["SecretAccessKey"] not in text, "secret in log")
        ensure("k8s-aws-v1." not in text, "token in log")

    R.check("one log line per review, no secrets", logs)


def test_reset(env: Env, api: FakeApiServer) -> None:
    R.section = "reset"
    m, admin, eks = env.l.moto, env.l.admin, env.eks

    def reset() -> None:
        req = urllib.request.Request(f"{m}/moto-api/reset", data=b"", method="POST")
        with urllib.request.urlopen(req, timeout=30) as resp:
            eq(resp.status, 200, "reset")
        eq(eks.list_clusters()["clusters"], [], "clusters gone")
        st, _ = http("GET", f"{admin}/clusters/wh-api/kube")
        eq(st, 200, "kube registration survives reset")
        ensure(not review(admin, "kube-1", eks_token(m, "wh-api"))["authenticated"], "no cluster after reset")
        env.subnets.clear()
        env.network()
        env.cluster("wh-api", "API")
        eq(eks.list_access_entries(clusterName="wh-api")["accessEntries"], [f"arn:aws:iam::{ACCOUNT}:user/moto"],
           "only the bootstrap entry after re-create")
        eq(eks.describe_cluster(name="wh-api")["cluster"]["endpoint"], api.endpoint, "registration applies again")
        ensure(review(admin, "kube-1", eks_token(m, "wh-api"))["authenticated"], "review works after reset")
        ami = env.ssm.get_parameter(
            Name=f"/aws/service/eks/optimized-ami/{K8S}/amazon-linux-2023/x86_64/standard/recommended/image_id")
        eq(len(env.ec2.describe_images(ImageIds=[ami["Parameter"]["Value"]])["Images"]), 1, "catalog AMI after reset")

    R.check("POST /moto-api/reset clears extension state", reset)


def test_process(first_ready: float) -> list[float]:
    R.section = "process"
    times = [first_ready]

    def parent_exit() -> None:
        parent = subprocess.Popen(["sleep", "60"])
        l2 = Launcher(parent.pid)
        times.append(l2.ready_seconds)
        parent.kill()
        parent.wait()
        t0 = time.monotonic()
        try:
            l2.proc.wait(30)
        except subprocess.TimeoutExpired:
            l2.proc.kill()
            raise AssertionError("launcher outlived its parent by 30 s")
        took = time.monotonic() - t0
        print(f"  launcher exited {took:.2f} s after its parent was killed", flush=True)
        eq(l2.proc.returncode, 0, "exit code")
        l2.discard_log()

    R.check("exits when --parent-pid disappears", parent_exit)

    def sigterm() -> None:
        l3 = Launcher(os.getpid())
        times.append(l3.ready_seconds)
        rc = l3.stop()
        eq(rc, 0, "exit code after SIGTERM")
        l3.discard_log()

    R.check("clean exit on SIGTERM", sigterm)
    return times


def main() -> int:
    started = time.monotonic()
    print("sandbox/moto selftest: starting launcher", flush=True)
    launcher = Launcher(os.getpid())
    print(f"  READY after {launcher.ready_seconds:.2f} s: moto={launcher.moto} admin={launcher.admin}", flush=True)
    api = FakeApiServer()
    env = Env(launcher)
    try:
        test_clusters(env)
        test_access_entries(env)
        test_pod_identity(env)
        test_addons(env)
        test_kube_registration(env, api)
        test_ssm_amis(env)
        test_iam_sqs_sts(env)
        test_pricing(env)
        test_faults(env)
        test_webhook(env, api)
        test_reset(env, api)
    finally:
        rc = launcher.stop()
        api.close()
    R.section = "process"
    R.check("main launcher exits 0 on SIGTERM", lambda: eq(rc, 0, "exit code"))
    times = test_process(launcher.ready_seconds)

    sections: dict[str, list[int]] = {}
    for label in R.passed:
        sections.setdefault(label.split(":", 1)[0], [0, 0])[0] += 1
    for label, _ in R.failed:
        sections.setdefault(label.split(":", 1)[0], [0, 0])[1] += 1
    print("\nsummary")
    for name, (ok, bad) in sections.items():
        print(f"  {name:<28} {ok:>3} passed {bad:>3} failed")
    print(f"  launcher READY times: {', '.join(f'{t:.2f} s' for t in times)}")
    print(f"  total: {len(R.passed)} passed, {len(R.failed)} failed in {time.monotonic() - started:.1f} s")
    if R.failed:
        print("failures:")
        for label, detail in R.failed:
            print(f"  - {label}: {detail.splitlines()[0]}")
        print(f"launcher log: {launcher.log_path}")
        return 1
    launcher.discard_log()
    return 0


if __name__ == "__main__":
    sys.exit(main())
