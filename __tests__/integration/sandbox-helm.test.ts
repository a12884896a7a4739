/** The sandbox's helm is the real helm v3 CLI, and the real Karpenter chart renders with it. */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import type { V1Deployment } from '@kubernetes/client-node';
import { sandbox, E2E_RELEASES } from '../helpers/sandbox.ts';

const helm = (...args: string[]) =>
  execFileSync(join(sandbox().binDir, 'helm'), args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });

test('helm is the version-stamped v3 build', () => {
  expect(helm('version', '--short')).toMatch(/^v3\.22\.0/);
});

test.each(Object.values(E2E_RELEASES))(
  'helm template of the Karpenter %s chart with settings.clusterName renders the controller Deployment',
  (release) => {
    const chart = sandbox().karpenter[release]!.chartDir;
    const out = helm(
      'template',
      'karpenter',
      chart,
      '--namespace',
      'kube-system',
      '--set',
      'settings.clusterName=sandbox-eks',
      '--kube-version',
      '1.36.3',
      '--skip-crds',
    );
    const docs = parseAllDocuments(out).map((d) => d.toJS() as V1Deployment & { kind: string });
    const deploy = docs.find((d) => d.kind === 'Deployment');
    expect(deploy?.metadata?.name).toBe('karpenter');
    const container = deploy!.spec!.template.spec!.containers[0]!;
    expect(container.image).toBe(`public.ecr.aws/karpenter/controller:${release}`);
    expect(container.env).toEqual(expect.arrayContaining([{ name: 'CLUSTER_NAME', value: 'sandbox-eks' }]));
    expect(docs.map((d) => d.kind)).toEqual(
      expect.arrayContaining(['ServiceAccount', 'ClusterRole', 'Service', 'PodDisruptionBudget']),
    );
  },
);
