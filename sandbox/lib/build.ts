import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { cachePath, ROOT } from './paths.ts';

export const KUBERNETES_VERSION = 'v1.36.3';
export const HELM_VERSION = 'v3.22.0';

export interface BinarySpec {
  name: string;
  version: string;
  /** Module directory inside the repo, or undefined for `go install pkg@version`. */
  moduleDir?: string;
  installPackage?: string;
  /** Package to build inside moduleDir, when it is not the module's own main package. */
  buildPackage?: string;
  /** Go toolchain the module needs, fetched through the module proxy when newer than the local one. */
  toolchain?: string;
  ldflags: string;
  /** Names the binary also answers to (multi-call): created as symlinks next to it. */
  aliases?: string[];
}

const minor = KUBERNETES_VERSION.split('.')[1] ?? '';

export const KWOK_VERSION = 'v0.8.0';

export const ACTIONLINT_VERSION = 'v1.7.12';

export const BINARIES: Record<'kube' | 'etcd' | 'helm' | 'kwok' | 'actionlint', BinarySpec> = {
  kube: {
    name: 'kube',
    version: KUBERNETES_VERSION,
    moduleDir: join(ROOT, 'sandbox', 'go', 'kube'),
    ldflags: [
      '-s -w',
      ...['k8s.io/component-base/version', 'k8s.io/client-go/pkg/version'].flatMap((pkg) => [
        `-X ${pkg}.gitVersion=${KUBERNETES_VERSION}`,
        `-X ${pkg}.gitMajor=1`,
        `-X ${pkg}.gitMinor=${minor}`,
        `-X ${pkg}.gitTreeState=clean`,
      ]),
    ].join(' '),
    aliases: ['kube-apiserver', 'kube-scheduler', 'kube-controller-manager', 'kubectl'],
  },
  etcd: {
    name: 'etcd',
    version: 'v3.6.16',
    moduleDir: join(ROOT, 'sandbox', 'go', 'etcd'),
    ldflags: '-s -w',
  },
  helm: {
    name: 'helm',
    version: HELM_VERSION,
    installPackage: `helm.sh/helm/v3/cmd/helm@${HELM_VERSION}`,
    ldflags: [
      '-s -w',
      `-X helm.sh/helm/v3/internal/version.version=${HELM_VERSION}`,
      ...['helm.sh/helm/v3/pkg/chartutil', 'helm.sh/helm/v3/pkg/lint/rules'].flatMap((pkg) => [
        `-X ${pkg}.k8sVersionMajor=1`,
        `-X ${pkg}.k8sVersionMinor=${minor}`,
      ]),
    ].join(' '),
  },
  actionlint: {
    name: 'actionlint',
    version: ACTIONLINT_VERSION,
    installPackage: `github.com/rhysd/actionlint/cmd/actionlint@${ACTIONLINT_VERSION}`,
    ldflags: '-s -w',
  },
  kwok: {
    name: 'kwok',
    version: KWOK_VERSION,
    installPackage: `sigs.k8s.io/kwok/cmd/kwok@${KWOK_VERSION}`,
    ldflags: '-s -w',
  },
};

/**
 * Karpenter's controller for the sandbox: the `kwok` program of the aws/karpenter-provider-aws module
 * at that release, which runs the real AWS provider with only instance launch simulated. One module
 * per release under sandbox/go/karpenter/v<version>, built once per version like the API server.
 */
export function karpenterControllerSpec(version: string): BinarySpec | undefined {
  const moduleDir = join(ROOT, 'sandbox', 'go', 'karpenter', `v${version}`);
  if (!existsSync(join(moduleDir, 'go.mod'))) return undefined;
  const goLine = /^go (\d+\.\d+\.\d+)$/m.exec(readFileSync(join(moduleDir, 'go.mod'), 'utf8'))?.[1];
  return {
    name: 'karpenter-controller',
    version: `v${version}`,
    moduleDir,
    buildPackage: 'github.com/aws/karpenter-provider-aws/kwok',
    ...(goLine ? { toolchain: `go${goLine}` } : {}),
    ldflags: `-s -w -X sigs.k8s.io/karpenter/pkg/operator.Version=v${version}`,
  };
}

/**
 * Releases whose own controller cannot be built from the Go module proxy, and the release built in
 * their place. Their charts and CRDs are still their own; only the controller process is the stand-in's,
 * and its pod log says so.
 */
export const CONTROLLER_STAND_INS: Readonly<Record<string, { build: string; reason: string }>> = {
  '1.15.1': {
    build: '1.15.0',
    reason:
      'the module proxy refuses sigs.k8s.io/karpenter v1.15.1 (403), the core module 1.15.1 and 1.15.2 are built on',
  },
  '1.15.2': {
    build: '1.15.0',
    reason:
      'the module proxy refuses sigs.k8s.io/karpenter v1.15.1 (403), the core module 1.15.1 and 1.15.2 are built on',
  },
};

/** The controller build a release runs: its own when the sandbox builds it, else its stand-in's, with why. */
export function controllerBuildFor(
  version: string,
  built: ReadonlySet<string>,
): { build: string; reason?: string } | undefined {
  if (built.has(version)) return { build: version };
  const standIn = CONTROLLER_STAND_INS[version];
  return standIn && built.has(standIn.build) ? standIn : undefined;
}

/** The Karpenter releases the sandbox can run a controller for. */
export function karpenterControllerVersions(): string[] {
  const dir = join(ROOT, 'sandbox', 'go', 'karpenter');
  return existsSync(dir)
    ? readdirSync(dir)
        .filter((d) => d.startsWith('v'))
        .map((d) => d.slice(1))
    : [];
}

const goEnv = { ...process.env, GOTOOLCHAIN: 'local', GOFLAGS: '-buildvcs=false -mod=readonly' };

function goVersion(): string {
  return execFileSync('go', ['env', 'GOVERSION'], { env: goEnv, encoding: 'utf8' }).trim();
}

/** The toolchain a spec builds with: the local Go unless its module needs a newer one. */
function toolchainFor(spec: BinarySpec): string {
  const local = goVersion();
  if (!spec.toolchain) return local;
  const num = (v: string) => v.replace(/^go/, '').split('.').map(Number);
  const [a, b] = [num(local), num(spec.toolchain)];
  for (let i = 0; i < 3; i++) {
    if ((a[i] ?? 0) !== (b[i] ?? 0)) return (a[i] ?? 0) > (b[i] ?? 0) ? local : spec.toolchain;
  }
  return local;
}

/** A key over everything that changes the binary: Go version, module files, ldflags, target. */
export function buildKey(spec: BinarySpec): string {
  const h = createHash('sha256');
  h.update(
    `${toolchainFor(spec)}\n${process.arch}\n${spec.ldflags}\n${spec.installPackage ?? ''}\n${spec.buildPackage ?? ''}\n`,
  );
  if (spec.moduleDir) {
    for (const f of readdirSync(spec.moduleDir).sort()) {
      if (f === 'go.mod' || f === 'go.sum' || f.endsWith('.go')) {
        h.update(`${f}\n`).update(readFileSync(join(spec.moduleDir, f)));
      }
    }
  }
  return h.digest('hex').slice(0, 12);
}

export interface BuiltBinary {
  path: string;
  dir: string;
  built: boolean;
  seconds: number;
}

/**
 * Returns the cached binary for spec, building it only when no binary exists for the current inputs.
 * Builds go to a temporary directory and are renamed into place, so an interrupted build never
 * leaves a half-written binary that a later run would trust.
 */
export function ensureBinary(spec: BinarySpec, log: (line: string) => void = () => {}): BuiltBinary {
  const dir = cachePath('bin', `${spec.name}-${spec.version}-${buildKey(spec)}`);
  const path = join(dir, spec.name);
  if (existsSync(path)) return { path, dir, built: false, seconds: 0 };
  const started = Date.now();
  const tmp = `${dir}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  log(`building ${spec.name} ${spec.version} (first time only; this takes several minutes)`);
  const args = spec.moduleDir
    ? ['build', '-trimpath', '-ldflags', spec.ldflags, '-o', join(tmp, spec.name), spec.buildPackage ?? '.']
    : ['install', '-trimpath', '-ldflags', spec.ldflags, spec.installPackage ?? ''];
  const env = {
    ...(spec.moduleDir ? goEnv : { ...goEnv, GOFLAGS: '-buildvcs=false', GOBIN: tmp }),
    GOTOOLCHAIN: toolchainFor(spec) === goVersion() ? 'local' : toolchainFor(spec),
  };
  const res = spawnSync('go', args, {
    cwd: spec.moduleDir ?? tmp,
    env,
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  if (res.status !== 0) {
    rmSync(tmp, { recursive: true, force: true });
    throw new Error(
      `go ${args[0]} of ${spec.name} ${spec.version} failed (exit ${res.status ?? res.signal})`,
    );
  }
  for (const alias of spec.aliases ?? []) symlinkSync(spec.name, join(tmp, alias));
  writeFileSync(join(tmp, 'BUILD'), `${spec.name} ${spec.version}\n${spec.ldflags}\n`);
  rmSync(dir, { recursive: true, force: true });
  renameSync(tmp, dir);
  return { path, dir, built: true, seconds: (Date.now() - started) / 1000 };
}

/**
 * kwok's own stage files of the pinned release, read from its module (node initialize, node heartbeat
 * with a Lease, the pod lifecycle), so simulated nodes and pods behave as kwok's maintainers define.
 */
export function kwokStageFiles(): string[] {
  const info = JSON.parse(
    execFileSync('go', ['mod', 'download', '-json', `sigs.k8s.io/kwok@${KWOK_VERSION}`], {
      encoding: 'utf8',
      env: { ...goEnv, GOFLAGS: '-mod=mod' },
    }),
  ) as { Dir?: string; Error?: string };
  if (!info.Dir) throw new Error(`cannot download kwok ${KWOK_VERSION}: ${info.Error ?? 'no Dir'}`);
  const stage = join(info.Dir, 'kustomize', 'stage');
  const pods = join(stage, 'pod', 'fast');
  return [
    join(stage, 'node', 'fast', 'node-initialize.yaml'),
    join(stage, 'node', 'heartbeat-with-lease', 'node-heartbeat-with-lease.yaml'),
    ...readdirSync(pods)
      .filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml')
      .sort()
      .map((f) => join(pods, f)),
  ];
}

/** Every binary the sandbox and its tests run, and kwok's stage files. */
export interface SandboxBinaries {
  kube: BuiltBinary;
  etcd: BuiltBinary;
  helm: BuiltBinary;
  kwok: BuiltBinary;
  actionlint: BuiltBinary;
  /** Karpenter's controller per release. */
  controllers: Map<string, BuiltBinary>;
  kwokStages: string[];
}

/**
 * Builds every binary the sandbox and its tests run, or takes it from the cache: the supervisor at
 * start and `npm run sandbox -- build` share this one list. `built` hears of each as it is ready.
 */
export function ensureSandboxBinaries(
  log: (line: string) => void,
  built: (spec: BinarySpec, b: BuiltBinary) => void = () => {},
): SandboxBinaries {
  const ensure = (spec: BinarySpec): BuiltBinary => {
    const b = ensureBinary(spec, log);
    built(spec, b);
    return b;
  };
  const [kube, etcd, helm, kwok, actionlint] = (['kube', 'etcd', 'helm', 'kwok', 'actionlint'] as const).map(
    (name) => ensure(BINARIES[name]),
  ) as [BuiltBinary, BuiltBinary, BuiltBinary, BuiltBinary, BuiltBinary];
  const controllers = new Map(
    karpenterControllerVersions().map((v) => [v, ensure(karpenterControllerSpec(v)!)]),
  );
  return { kube, etcd, helm, kwok, actionlint, controllers, kwokStages: kwokStageFiles() };
}
