/**
 * The apply lock stolen while the bundled action applies, as another runner (or someone with the
 * admin kubeconfig) would take it: the apply notices at its next renewal, stops before anything else
 * reaches the cluster, and its result says the lock was lost. The apply runs the pools stage and then
 * verify, which waits for Karpenter to report the NodePool ready (the sandbox runs no Karpenter), so
 * the run is still going when the Lease is taken.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { APPLY_LEASE } from '../../src/adapters/apply-lock.ts';
import { KubeApiError, KubeHttp } from '../../src/adapters/kube-http.ts';
import { LEASES } from '../../src/adapters/kube-resources.ts';
import { watchUntil } from '../../src/adapters/kube-watch.ts';
import { KubeClient, type KubeResource } from '../../src/adapters/kube.ts';
import { readPlan, runAction } from '../helpers/run-action.ts';
import {
  actionEnv,
  adminKube,
  deleteCluster,
  installKarpenterCrds,
  localChartRepository,
  newCluster,
  type ClusterInfo,
  E2E_RELEASES,
} from '../helpers/sandbox.ts';

const PREVIOUS = E2E_RELEASES.previous;

let cluster: ClusterInfo;
let workspace: string;
let admin: KubeClient;
const NODEPOOLS: KubeResource = {
  group: 'karpenter.sh',
  version: 'v1',
  plural: 'nodepools',
  kind: 'NodePool',
  namespaced: false,
};

const NODEPOOL = `apiVersion: karpenter.sh/v1
kind: NodePool
metadata:
  name: default
spec:
  template:
    spec:
      requirements:
        - key: karpenter.sh/capacity-type
          operator: In
          values: ['on-demand']
      nodeClassRef:
        group: karpenter.k8s.aws
        kind: EC2NodeClass
        name: default
  limits:
    cpu: 100
`;

beforeAll(async () => {
  cluster = await newCluster();
  await installKarpenterCrds(cluster);
  admin = new KubeClient(new KubeHttp(adminKube(cluster)));
  workspace = mkdtempSync(join(tmpdir(), 'ka-ws-'));
  mkdirSync(join(workspace, 'karpenter'), { recursive: true });
  mkdirSync(join(workspace, '.github'), { recursive: true });
  writeFileSync(join(workspace, 'karpenter', 'nodepool.yaml'), NODEPOOL);
  writeFileSync(
    join(workspace, '.github', 'karpenter.yaml'),
    `cluster: ${cluster.name}
region: us-east-1
karpenter:
  version: ${PREVIOUS}
  chartRepository: ${localChartRepository()}
verify:
  timeoutSeconds: 120
manifests:
  - ../karpenter/*.yaml
`,
  );
});
afterAll(async () => {
  await deleteCluster(cluster.name);
  rmSync(workspace, { recursive: true, force: true });
});

const run = (inputs: Record<string, string>) =>
  runAction({ inputs: { stages: 'pools', ...inputs }, env: actionEnv(), workspace });

test('an apply whose lock is taken from it stops and says the lock was lost', async () => {
  const planned = await run({ command: 'plan' });
  expect(planned.code).toBe(0);
  expect(readPlan(planned.outputs['plan-path']!).counts.create).toBe(1);

  const applying = run({
    command: 'apply',
    stages: 'pools,verify',
    fingerprint: planned.outputs.fingerprint!,
  });
  // the pools stage has written the NodePool; verify now waits for Karpenter, holding the lock
  const written = await watchUntil(admin, NODEPOOLS, { name: 'default' }, (o) => !!o, 120_000);
  expect(written.ok).toBe(true);
  // The attacker's steps: take the Lease from the running apply with the admin kubeconfig
  for (;;) {
    const lease = (await admin.get(LEASES, APPLY_LEASE.name, APPLY_LEASE.namespace))!;
    expect((lease.spec as { holderIdentity?: string }).holderIdentity).toMatch(/^.+ run .+ by /);
    const taken = await admin
      .replace(LEASES, { ...lease, spec: { ...(lease.spec as object), holderIdentity: 'intruder' } })
      .then(
        () => true,
        (e: unknown) => {
          if (e instanceof KubeApiError && e.code === 409) return false;
          throw e;
        },
      );
    if (taken) break;
  }

  const applied = await applying;
  expect(applied.code).not.toBe(0);
  expect(applied.stdout).toContain('::error::the apply lock was taken by intruder while this apply ran');
  expect(applied.stdout).toContain('nothing was sent after the lock was lost');
  expect(applied.stdout).toContain(
    'the apply lock was taken by intruder while this apply ran; this apply stops before its next write',
  );
  // the release left the intruder's Lease alone
  const after = (await admin.get(LEASES, APPLY_LEASE.name, APPLY_LEASE.namespace))!;
  expect((after.spec as { holderIdentity?: string }).holderIdentity).toBe('intruder');
});
