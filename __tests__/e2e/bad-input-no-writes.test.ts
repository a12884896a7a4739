/**
 * Bad input through the bundled action: each bad-config case fails with its file:line message before
 * any AWS or Kubernetes call, and a repository with one valid and one invalid manifest writes nothing.
 */
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeHttp } from '../../src/adapters/kube-http.ts';
import { runAction } from '../helpers/run-action.ts';
import {
  adminKube,
  actionEnv,
  deleteCluster,
  installKarpenterCrds,
  newCluster,
  localChartRepository,
  type ClusterInfo,
  E2E_RELEASES,
} from '../helpers/sandbox.ts';

const PREVIOUS = E2E_RELEASES.previous;

const BAD = join(import.meta.dirname, '..', 'fixtures', 'bad-configs');
let cluster: ClusterInfo;

beforeAll(async () => {
  cluster = await newCluster({ withClusterAutoscaler: false });
  await installKarpenterCrds(cluster);
});
afterAll(async () => {
  await deleteCluster(cluster.name);
});

const env = () => actionEnv();
/** The config of a one-cluster repository whose manifests are karpenter/*.yaml. */
const repoConfig = () =>
  `cluster: ${cluster.name}\nregion: us-east-1\nkarpenter:\n  version: ${PREVIOUS}\n  chartRepository: ${localChartRepository()}\nmanifests:\n  - karpenter/*.yaml\n`;

test.each(readdirSync(BAD).sort())('%s fails with its message and never reaches AWS', async (name) => {
  const ws = mkdtempSync(join(tmpdir(), 'ka-bad-'));
  cpSync(join(BAD, name), ws, { recursive: true });
  // AWS points at a closed port: any AWS call would fail with a connection error instead.
  const r = await runAction({
    inputs: { command: 'apply', 'auto-approve': 'true', stages: 'pools' },
    env: { ...env(), AWS_ENDPOINT_URL: 'http://127.0.0.1:9' },
    workspace: ws,
  });
  expect(r.code).toBe(1);
  const expected = readFileSync(join(BAD, name, 'expected.txt'), 'utf8')
    .trim()
    .split('\n');
  for (const line of expected) expect(r.stdout).toContain(line);
  expect(r.stdout).toContain('nothing was changed');
  expect(r.stdout).not.toMatch(/ECONNREFUSED|127\.0\.0\.1:9/);
});

function repo(nodeClassSpec: string): string {
  const ws = mkdtempSync(join(tmpdir(), 'ka-mixed-'));
  mkdirSync(join(ws, 'karpenter'));
  writeFileSync(join(ws, 'karpenter.yaml'), repoConfig());
  writeFileSync(
    join(ws, 'karpenter', 'a-nodepool.yaml'),
    'apiVersion: karpenter.sh/v1\nkind: NodePool\nmetadata:\n  name: valid\nspec:\n  template:\n    spec:\n      requirements: []\n      nodeClassRef:\n        group: karpenter.k8s.aws\n        kind: EC2NodeClass\n        name: broken\n',
  );
  writeFileSync(
    join(ws, 'karpenter', 'b-nodeclass.yaml'),
    `apiVersion: karpenter.k8s.aws/v1\nkind: EC2NodeClass\nmetadata:\n  name: broken\nspec:\n${nodeClassSpec}`,
  );
  return ws;
}

const SELECTORS = `  amiSelectorTerms:\n    - alias: al2023@latest\n  subnetSelectorTerms:\n    - id: subnet-0123456789abcdef0\n  securityGroupSelectorTerms:\n    - id: sg-0123456789abcdef0\n`;

test('a schema error in one manifest stops the run offline: the valid NodePool is not created', async () => {
  const ws = repo(`  role: KarpenterNodeRole\n  amiFamly: AL2023\n${SELECTORS}`);
  const r = await runAction({
    inputs: { command: 'apply', 'auto-approve': 'true', stages: 'pools', config: 'karpenter.yaml' },
    env: env(),
    workspace: ws,
  });
  expect(r.code).toBe(1);
  expect(r.stdout).toContain('karpenter/b-nodeclass.yaml:7: spec.amiFamly: field not declared in schema');
  const admin = new KubeHttp(adminKube(cluster));
  await expect(admin.request('GET', '/apis/karpenter.sh/v1/nodepools/valid')).rejects.toMatchObject({
    code: 404,
  });
});

test('a CEL rule only the API server checks blocks apply: nothing is written', async () => {
  const ws = repo(`  role: KarpenterNodeRole\n  instanceProfile: KarpenterNodeInstanceProfile\n${SELECTORS}`);
  const plan = await runAction({
    inputs: { command: 'plan', stages: 'pools', config: 'karpenter.yaml' },
    env: env(),
    workspace: ws,
  });
  // a plan with an error fails its step, whichever check found it (here the API server's dry-run)
  expect(plan.code).toBe(1);
  expect(plan.stdout).toContain("must specify exactly one of ['role', 'instanceProfile']");
  const r = await runAction({
    inputs: { command: 'apply', 'auto-approve': 'true', stages: 'pools', config: 'karpenter.yaml' },
    env: env(),
    workspace: ws,
  });
  expect(r.code).toBe(1);
  expect(r.stdout).toContain('the plan has 1 error; nothing was applied');
  const admin = new KubeHttp(adminKube(cluster));
  await expect(admin.request('GET', '/apis/karpenter.sh/v1/nodepools/valid')).rejects.toMatchObject({
    code: 404,
  });
  await expect(
    admin.request('GET', '/apis/karpenter.k8s.aws/v1/ec2nodeclasses/broken'),
  ).rejects.toMatchObject({ code: 404 });
});

test('a v1beta1 manifest is explained with its v1 form in the plan, and apply refuses', async () => {
  const ws = mkdtempSync(join(tmpdir(), 'ka-v1beta1-'));
  cpSync(
    join(import.meta.dirname, '..', 'fixtures', 'v1beta1', 'getting-started-0.37.yaml'),
    join(ws, 'karpenter.yaml.d'),
    {},
  );
  mkdirSync(join(ws, 'karpenter'));
  cpSync(join(ws, 'karpenter.yaml.d'), join(ws, 'karpenter', 'default.yaml'));
  writeFileSync(join(ws, 'karpenter.yaml'), repoConfig());
  const plan = await runAction({
    inputs: { command: 'plan', stages: 'pools', config: 'karpenter.yaml' },
    env: env(),
    workspace: ws,
  });
  // the plan is published with the v1 form, and fails its step: the v1beta1 manifest is an error
  expect(plan.code).toBe(1);
  expect(plan.summary).toContain(`karpenter.sh/v1beta1, which Karpenter ${PREVIOUS} does not serve`);
  expect(plan.summary).toContain('WhenEmptyOrUnderutilized');
  expect(plan.summary).toContain('apiVersion: karpenter.sh/v1');
  const r = await runAction({
    inputs: { command: 'apply', 'auto-approve': 'true', stages: 'pools', config: 'karpenter.yaml' },
    env: env(),
    workspace: ws,
  });
  expect(r.code).toBe(1);
  expect(r.stdout).toContain('nothing was applied');
  const admin = new KubeHttp(adminKube(cluster));
  await expect(admin.request('GET', '/apis/karpenter.sh/v1/nodepools/default')).rejects.toMatchObject({
    code: 404,
  });
});
