#!/usr/bin/env python3
"""Run moto 5.2.1 with the sandbox's AWS extensions and fault injection, plus the admin/TokenReview server.

    python3 sandbox/moto/launcher.py --host 127.0.0.1 --port P --admin-port Q \
        [--parent-pid PID] [--kubernetes-version 1.36] [--log-requests] [--warm]

Prints one line `READY moto=http://HOST:P admin=http://HOST:Q` on stdout once both servers listen;
everything else goes to stderr. Port 0 picks a free port (the READY line shows which).
"""

from __future__ import annotations

import argparse
import importlib.abc
import importlib.machinery
import logging
import os
import signal
import sys
import threading
import time
from typing import Any, Callable

HERE = os.path.dirname(os.path.abspath(__file__))
MOTO_VERSION = "5.2.1"


class _PostImportHook(importlib.abc.MetaPathFinder):
    """Patch heavy moto modules (EC2, SSM) when moto first imports them, not at start-up.

    Importing them eagerly would add ~1.3 s before READY; moto itself imports them lazily on the first
    request for those services.
    """

    def __init__(self, hooks: dict[str, Callable[[Any], None]]) -> None:
        self.hooks = hooks

    def find_spec(self, fullname: str, path: Any, target: Any = None) -> Any:
        hook = self.hooks.get(fullname)
        if hook is None:
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is None or spec.loader is None:
            return None
        del self.hooks[fullname]
        spec.loader = _HookLoader(spec.loader, hook)
        return spec


class _HookLoader(importlib.abc.Loader):
    def __init__(self, inner: Any, hook: Callable[[Any], None]) -> None:
        self.inner = inner
        self.hook = hook

    def create_module(self, spec: Any) -> Any:
        return self.inner.create_module(spec)

    def exec_module(self, module: Any) -> None:
        self.inner.exec_module(module)
        self.hook(module)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def install_patches(kubernetes_version: str) -> None:
    import moto

    if moto.__version__ != MOTO_VERSION:
        raise SystemExit(f"launcher patches moto internals and needs moto {MOTO_VERSION}, found {moto.__version__}")

    import ext_aws
    import ext_eks

    def ssm_hook(module: Any) -> None:
        ext_aws.patch_ssm(module)

    def amis_hook(module: Any) -> None:
        ext_aws.patch_ec2_amis(module)

    lazy = {"moto.ssm.models": ssm_hook, "moto.ec2.models.amis": amis_hook}
    for name in list(lazy):
        if name in sys.modules:
            lazy.pop(name)(sys.modules[name])
    if lazy:
        sys.meta_path.insert(0, _PostImportHook(lazy))

    import moto.iam.exceptions
    import moto.iam.models
    import moto.sqs.models
    import moto.sts.models

    ext_aws.patch_iam(moto.iam.models, moto.iam.exceptions)
    ext_aws.patch_sqs(moto.sqs.models)
    ext_aws.patch_sts(moto.sts.models)
    ext_eks.apply(kubernetes_version)


def warm() -> None:
    """Pay moto's lazy first-use costs up front (done before serving, so no request races it)."""
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.ec2.models import ec2_backends
    from moto.iam.models import iam_backends
    import moto.ssm.models  # noqa: F401

    iam_backends[DEFAULT_ACCOUNT_ID]["aws"]
    ec2_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].describe_images(ami_ids=None)


def parent_alive(pid: int, original_ppid: int) -> bool:
    if pid == original_ppid and os.getppid() != original_ppid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
        if state in ("Z", "X"):
            return False
    except (OSError, IndexError):
        pass
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--admin-port", type=int, required=True)
    parser.add_argument("--parent-pid", type=int)
    parser.add_argument("--kubernetes-version", default="1.36")
    parser.add_argument("--log-requests", action="store_true", help="log every moto request to stderr")
    parser.add_argument("--warm", action="store_true",
                        help="load EC2, SSM and IAM (managed policies) before READY instead of on first use")
    args = parser.parse_args(argv)

    started = time.monotonic()
    # Must be set before moto reads its settings.
    os.environ["MOTO_IAM_LOAD_MANAGED_POLICIES"] = "true"
    sys.path.insert(0, HERE)
    logging.getLogger("werkzeug").setLevel(logging.INFO if args.log_requests else logging.WARNING)

    install_patches(args.kubernetes_version)
    if args.warm:
        warm()

    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
    from werkzeug.serving import make_server

    import ext_pricing
    import faults
    import kube_auth

    from serialize import SerializeServices

    app = faults.FaultInjector(
        ext_pricing.PricingService(SerializeServices(DomainDispatcherApplication(create_backend_app)))
    )
    try:
        moto_server = make_server(args.host, args.port, app, threaded=True)
    except OSError as e:
        print(f"cannot listen on {args.host}:{args.port}: {e}", file=sys.stderr)
        return 2
    moto_port = moto_server.server_address[1]
    moto_url = f"http://{args.host}:{moto_port}"
    moto_ref = {"url": moto_url, "hosts": {f"{args.host}:{moto_port}", f"localhost:{moto_port}",
                                           f"127.0.0.1:{moto_port}"}}
    try:
        admin_server = kube_auth.make_admin_server(args.host, args.admin_port, moto_ref)
    except OSError as e:
        print(f"cannot listen on {args.host}:{args.admin_port}: {e}", file=sys.stderr)
        moto_server.server_close()
        return 2
    admin_url = f"http://{args.host}:{admin_server.server_address[1]}"

    threads = [
        threading.Thread(target=moto_server.serve_forever, name="moto", daemon=True),
        threading.Thread(target=admin_server.serve_forever, name="admin", daemon=True),
    ]
    for t in threads:
        t.start()

    stop = threading.Event()
    reason = {"why": "stopped"}

    def on_signal(signum: int, _frame: Any) -> None:
        reason["why"] = signal.Signals(signum).name
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    if args.parent_pid:
        original_ppid = os.getppid()

        def watch_parent() -> None:
            while not stop.wait(0.5):
                if not parent_alive(args.parent_pid, original_ppid):
                    reason["why"] = f"parent {args.parent_pid} exited"
                    stop.set()

        threading.Thread(target=watch_parent, name="parent-watch", daemon=True).start()

    sys.stdout.write(f"READY moto={moto_url} admin={admin_url}\n")
    sys.stdout.flush()
    # stdout carries only the READY line; stray prints from moto go to the log instead.
    sys.stdout = sys.stderr
    print(f"launcher: ready in {time.monotonic() - started:.2f} s (moto {MOTO_VERSION}, "
          f"kubernetes {args.kubernetes_version}, pid {os.getpid()})", file=sys.stderr, flush=True)

    while not stop.wait(0.5):
        pass
    print(f"launcher: shutting down ({reason['why']})", file=sys.stderr, flush=True)
    for server in (admin_server, moto_server):
        threading.Thread(target=server.shutdown, daemon=True).start()
    deadline = time.monotonic() + 1.5
    for t in threads:
        t.join(max(0.0, deadline - time.monotonic()))
    kube_auth.REGISTRY.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
