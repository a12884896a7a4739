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
  ldflags: string;
  /** Names the binary also answers to (multi-call): created as symlinks next to it. */
  aliases?: string[];
}

const minor = KUBERNETES_VERSION.split('.')[1] ?? '';

export const BINARIES: Record<'kube' | 'etcd' | 'helm', BinarySpec> = {
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
    aliases: ['kube-apiserver', 'kubectl'],
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
};

const goEnv = { ...process.env, GOTOOLCHAIN: 'local', GOFLAGS: '-buildvcs=false -mod=readonly' };

function goVersion(): string {
  return execFileSync('go', ['env', 'GOVERSION'], { env: goEnv, encoding: 'utf8' }).trim();
}

/** A key over everything that changes the binary: Go version, module files, ldflags, target. */
export function buildKey(spec: BinarySpec): string {
  const h = createHash('sha256');
  h.update(`${goVersion()}\n${process.arch}\n${spec.ldflags}\n${spec.installPackage ?? ''}\n`);
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
  log(`building ${spec.name} ${spec.version} (first time only; the Kubernetes build takes several minutes)`);
  const args = spec.moduleDir
    ? ['build', '-trimpath', '-ldflags', spec.ldflags, '-o', join(tmp, spec.name), '.']
    : ['install', '-trimpath', '-ldflags', spec.ldflags, spec.installPackage ?? ''];
  const res = spawnSync('go', args, {
    cwd: spec.moduleDir ?? tmp,
    env: spec.moduleDir ? goEnv : { ...goEnv, GOFLAGS: '-buildvcs=false', GOBIN: tmp },
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
