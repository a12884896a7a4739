import { execFileSync } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { cachePath } from './paths.ts';

/**
 * The releases the end-to-end tests run: the newest the action supports, and the previous minor's,
 * which most tests install and the upgrade tests start from. Tests take release numbers from here.
 */
export const E2E_RELEASES = { newest: '1.15.2', previous: '1.14.1' } as const;

/** Every release whose charts and CRDs the sandbox carries: the two above and the older ones the upgrade-path tests start from. */
export const KARPENTER_VERSIONS = [
  E2E_RELEASES.newest,
  E2E_RELEASES.previous,
  '1.13.1',
  '1.8.2',
  '1.0.8',
] as const;

/** The release the demo, the benchmark and `.sandbox/env` use. */
export const KARPENTER_TARGET = E2E_RELEASES.newest;

export interface KarpenterRelease {
  version: string;
  /** Writable copy of charts/karpenter, with crds/ restored (the module zip drops that symlinked folder). */
  chartDir: string;
  crdChartDir: string;
  /** pkg/apis/crds of the release: the CRDs Karpenter's own tests install. */
  crdsDir: string;
}

/**
 * Takes a Karpenter release's charts and CRDs from its Go module, as published to the module proxy.
 * Chart.yaml and the image tag at a release tag lag the release (they are bumped in a later commit),
 * so the copy is stamped with the release version, as the published OCI chart of that release is.
 */
export function ensureKarpenterRelease(version: string): KarpenterRelease {
  const root = cachePath('karpenter', version);
  const rel: KarpenterRelease = {
    version,
    chartDir: join(root, 'charts', 'karpenter'),
    crdChartDir: join(root, 'charts', 'karpenter-crd'),
    crdsDir: join(root, 'crds'),
  };
  if (existsSync(join(root, 'READY'))) return rel;
  const info = JSON.parse(
    execFileSync('go', ['mod', 'download', '-json', `github.com/aws/karpenter-provider-aws@v${version}`], {
      encoding: 'utf8',
      env: { ...process.env, GOTOOLCHAIN: 'auto', GOFLAGS: '-mod=mod' },
    }),
  ) as { Dir?: string; Error?: string };
  if (!info.Dir)
    throw new Error(`cannot download karpenter-provider-aws v${version}: ${info.Error ?? 'no Dir'}`);
  const tmp = `${root}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(join(tmp, 'charts'), { recursive: true });
  cpSync(join(info.Dir, 'charts', 'karpenter'), join(tmp, 'charts', 'karpenter'), { recursive: true });
  cpSync(join(info.Dir, 'charts', 'karpenter-crd'), join(tmp, 'charts', 'karpenter-crd'), {
    recursive: true,
  });
  cpSync(join(info.Dir, 'pkg', 'apis', 'crds'), join(tmp, 'crds'), { recursive: true });
  execFileSync('chmod', ['-R', 'u+w', tmp]);
  mkdirSync(join(tmp, 'charts', 'karpenter', 'crds'), { recursive: true });
  for (const f of readdirSync(join(tmp, 'crds'))) {
    cpSync(join(tmp, 'crds', f), join(tmp, 'charts', 'karpenter', 'crds', f));
  }
  for (const chart of ['karpenter', 'karpenter-crd']) {
    const file = join(tmp, 'charts', chart, 'Chart.yaml');
    writeFileSync(
      file,
      readFileSync(file, 'utf8')
        .replace(/^version: .*$/m, `version: ${version}`)
        .replace(/^appVersion: .*$/m, `appVersion: ${version}`),
    );
  }
  const values = join(tmp, 'charts', 'karpenter', 'values.yaml');
  writeFileSync(
    values,
    readFileSync(values, 'utf8').replace(
      /(controller:\n(?:.*\n)*?\s+image:\n(?:.*\n)*?\s+tag: ).*\n((?:.*\n)*?\s+digest: ).*\n/,
      `$1${version}\n$2""\n`,
    ),
  );
  writeFileSync(join(tmp, 'READY'), `karpenter-provider-aws v${version} from ${info.Dir}\n`);
  rmSync(root, { recursive: true, force: true });
  mkdirSync(join(root, '..'), { recursive: true });
  renameSync(tmp, root);
  return rel;
}
