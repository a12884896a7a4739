/** The terminal entry runs the same bundle: `npx karpenter-action plan --config ...` prints the plan as text. */
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import {
  actionEnv,
  deleteCluster,
  installKarpenterCrds,
  newCluster,
  localChartRepository,
  E2E_RELEASES,
  type ClusterInfo,
} from '../helpers/sandbox.ts';

let cluster: ClusterInfo;
beforeAll(async () => {
  cluster = await newCluster({ withClusterAutoscaler: false });
  await installKarpenterCrds(cluster, E2E_RELEASES.newest);
});
afterAll(async () => {
  await deleteCluster(cluster.name);
});

test('plan from the terminal on the example repository', () => {
  const ws = mkdtempSync(join(tmpdir(), 'ka-cli-'));
  cpSync(resolve(import.meta.dirname, '..', '..', 'examples', 'basic'), ws, { recursive: true });
  const cfg = join(ws, '.github', 'karpenter.yaml');
  writeFileSync(
    cfg,
    readFileSync(cfg, 'utf8')
      .replace('cluster: weasel-eks', `cluster: ${cluster.name}`)
      .replace(
        '  namespace: kube-system',
        `  namespace: kube-system\n  chartRepository: ${localChartRepository(E2E_RELEASES.newest)}`,
      ),
  );
  const bin = resolve(import.meta.dirname, '..', '..', 'bin', 'karpenter-action.js');
  const r = spawnSync(
    process.execPath,
    [bin, 'plan', '--config', '.github/karpenter.yaml', '--stages', 'pools'],
    {
      cwd: ws,
      encoding: 'utf8',
      env: { ...actionEnv(), HOME: process.env.HOME ?? ws },
    },
  );
  expect(r.status).toBe(0);
  expect(r.stdout).toContain('NodePool');
  expect(r.stdout).toContain('EC2NodeClass');
  expect(r.stdout).toMatch(/\+2 ~0 -0/);
  // ${ALIAS_VERSION} was resolved through SSM and EC2 for the cluster's Kubernetes version
  expect(r.stdout).toMatch(/al2023@v\d{8}/);
  expect(r.stderr).toMatch(/^fingerprint=[0-9a-f]{64}$/m);
});
