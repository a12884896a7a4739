/**
 * The verify stage's checks in the states Karpenter's real controller cannot be held in on demand. A
 * passing verify and a NodeClass failing with the controller's own SubnetsReady=False are proven with
 * the real controller in e2e/karpenter-live.test.ts. Here no controller runs and the test writes the
 * controller Deployment's status, the leader lease and the NodePool and EC2NodeClass conditions: each
 * check is driven to time out (a lease no replica ever takes, a Deployment that never becomes
 * available), and a condition is turned true at a moment the test chooses, to measure how soon the
 * stage reports it.
 */
import { KubeHttp } from '../../src/adapters/kube-http.ts';
import { KubeClient } from '../../src/adapters/kube.ts';
import type { ClusterConfig } from '../../src/config/load.ts';
import type { ManifestObject } from '../../src/config/manifests.ts';
import { runVerify } from '../../src/stages/verify.ts';
import { maskSecrets } from '../../src/render/sensitive.ts';
import * as play from '../helpers/play-karpenter.ts';
import { CONTROLLER_PATH, NC, NP } from '../helpers/play-karpenter.ts';
import {
  adminKube,
  deleteCluster,
  installKarpenterCrds,
  newCluster,
  type ClusterInfo,
  E2E_RELEASES,
} from '../helpers/sandbox.ts';

const PREVIOUS = E2E_RELEASES.previous;

let cluster: ClusterInfo;
let admin: KubeHttp;
beforeAll(async () => {
  cluster = await newCluster({ withClusterAutoscaler: false });
  await installKarpenterCrds(cluster);
  admin = new KubeHttp(adminKube(cluster));
});
afterAll(() => deleteCluster(cluster.name));

const config = {
  cluster: 'c',
  region: 'us-east-1',
  karpenter: { version: PREVIOUS, namespace: 'kube-system', chartRepository: '' },
  verify: { timeoutSeconds: 1, smokeTest: undefined },
} as ClusterConfig;
const log = { info: () => undefined, warn: () => undefined, debug: () => undefined };
const manifest = (kind: string, name: string): ManifestObject => ({
  obj: { kind, metadata: { name } },
  file: 'k.yaml',
  line: 1,
  locate: () => undefined,
  legacy: false,
});
const verify = (manifests: ManifestObject[], timeoutSeconds: number) =>
  runVerify({ cluster: config, log, kube: new KubeClient(admin), manifests, timeoutSeconds });

const DEPLOYMENT = CONTROLLER_PATH;
const createController = (v: string) => play.createController(admin, v);
const controllerAvailable = () => play.controllerAvailable(admin);
const holdLease = () => play.holdLease(admin);
const createNodeClass = (n: string) => play.createNodeClass(admin, n);
const createNodePool = (n: string) => play.createNodePool(admin, n);
const setConditions = (path: string, c: Parameters<typeof play.setConditions>[2]) =>
  play.setConditions(admin, path, c);

test('each check passes, fails with the sub-condition, or times out', async () => {
  // nothing there yet: the controller and the lease time out; the CRDs pass
  const empty = await verify([], 1);
  expect(empty.checks.map((c) => [c.name, c.status])).toEqual([
    ['controller Deployment kube-system/karpenter', 'timed-out'],
    ['leader lease kube-system/karpenter-leader-election', 'timed-out'],
    ['CRD nodepools.karpenter.sh', 'passed'],
    ['CRD nodeclaims.karpenter.sh', 'passed'],
    ['CRD ec2nodeclasses.karpenter.k8s.aws', 'passed'],
  ]);
  expect(empty.checks[0]!.detail).toBe('after 1 s: the karpenter Deployment does not exist');
  expect(empty.plan.notes[0]).toContain('no controller pods');

  await createController(PREVIOUS);
  await controllerAvailable();
  await holdLease();
  await createNodeClass('default');
  await setConditions(NC('default'), [
    { type: 'SubnetsReady', status: 'True', reason: 'SubnetsReady' },
    { type: 'Ready', status: 'True', reason: 'Ready' },
  ]);
  await createNodeClass('broken');
  await setConditions(NC('broken'), [
    {
      type: 'SubnetsReady',
      status: 'False',
      reason: 'SubnetsNotFound',
      message: 'SubnetSelector did not match any Subnets',
    },
    { type: 'Ready', status: 'False', reason: 'UnhealthyDependents', message: 'SubnetsReady=False' },
  ]);
  await createNodePool('default');
  await setConditions(NP('default'), [{ type: 'Ready', status: 'True', reason: 'Ready' }]);
  await createNodePool('pending');

  const r = await verify(
    [
      manifest('EC2NodeClass', 'default'),
      manifest('EC2NodeClass', 'broken'),
      manifest('NodePool', 'default'),
      manifest('NodePool', 'pending'),
    ],
    2,
  );
  const byName = Object.fromEntries(r.checks.map((c) => [c.name, c]));
  expect(byName['controller Deployment kube-system/karpenter']).toMatchObject({
    status: 'passed',
    detail: `2/2 replicas available at ${PREVIOUS}`,
  });
  expect(byName['leader lease kube-system/karpenter-leader-election']).toMatchObject({
    status: 'passed',
    detail: 'karpenter-7d9f-abcde leads',
  });
  expect(byName['EC2NodeClass default']!.status).toBe('passed');
  expect(byName['NodePool default']!.status).toBe('passed');
  expect(byName['EC2NodeClass broken']).toMatchObject({
    status: 'failed',
    detail:
      'EC2NodeClass broken: SubnetsReady=False SubnetsNotFound: SubnetSelector did not match any Subnets',
    fix: expect.stringContaining('karpenter.sh/discovery') as unknown,
  });
  expect(byName['NodePool pending']).toMatchObject({ status: 'timed-out' });
  expect(byName['NodePool pending']!.detail).toContain('after 2 s');
  expect(
    r.plan.findings
      .filter((f) => f.level === 'error')
      .map((f) => f.code)
      .sort(),
  ).toEqual(['verify-failed', 'verify-timed-out']);

  // a controller at another version is not verified
  await admin.request('PATCH', DEPLOYMENT, {
    contentType: 'application/merge-patch+json',
    body: {
      spec: {
        template: {
          spec: { containers: [{ name: 'controller', image: 'public.ecr.aws/karpenter/controller:1.13.1' }] },
        },
      },
    },
  });
  await controllerAvailable();
  const old = await verify([], 1);
  expect(old.checks[0]).toMatchObject({ status: 'timed-out' });
  expect(old.checks[0]!.detail).toContain(`not ${PREVIOUS}`);
});

test('a condition turning true is reported within a second, by watch', async () => {
  await createNodeClass('late');
  const t0 = Date.now();
  const pending = verify([manifest('EC2NodeClass', 'late')], 5);
  await new Promise((r) => setTimeout(r, 1500));
  const written = Date.now();
  await setConditions(NC('late'), [{ type: 'Ready', status: 'True', reason: 'Ready' }]);
  const r = await pending;
  const check = r.checks.find((c) => c.name === 'EC2NodeClass late')!;
  expect(check.status).toBe('passed');
  const latencyMs = t0 + check.elapsedMs - written;
  process.stdout.write(`verify latency: ${latencyMs} ms from the condition write to the report\n`);
  expect(latencyMs).toBeGreaterThanOrEqual(0);
  expect(latencyMs).toBeLessThan(1000);
});

test('controller log lines are masked', () => {
  const line =
    '{"level":"ERROR","message":"failed","aws_access_key_id":"AKIAABCDEFGHIJKLMNOP","token":"k8s-aws-v1.aHR0cHM6Ly9zdHM","sessionToken":"abc"}';
  const masked = maskSecrets(line);
  expect(masked).not.toContain('AKIAABCDEFGHIJKLMNOP');
  expect(masked).not.toContain('aHR0cHM6Ly9zdHM');
  expect(masked).not.toContain('"abc"');
  expect(masked).toContain('"level":"ERROR"');
});
