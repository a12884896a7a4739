/**
 * Helm release operations through the real helm CLI against a sandbox cluster, reached the way the action
 * reaches EKS: a bearer token that helm gets only through a private temp kubeconfig and that never shows
 * up in logs or errors. Nothing here waits for workloads (the sandbox runs no controllers); the CRD
 * chart is used because its objects need only the API server.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EKSClient } from '@aws-sdk/client-eks';
import {
  ApiextensionsV1Api,
  CoreV1Api,
  KubeConfig,
  RbacAuthorizationV1Api,
  type V1CustomResourceDefinition,
} from '@kubernetes/client-node';
import { defaultCredentials } from '../../src/adapters/aws-credentials.ts';
import { HelmCommandError, HelmReleases, writeKubeconfig } from '../../src/adapters/helm-release.ts';
import { buildEksKubeConfig, readEksCluster } from '../../src/adapters/kube-connect.ts';
import type { Logger } from '../../src/stages/types.ts';
import {
  adminKube,
  deleteCluster,
  newCluster,
  sandbox,
  useAwsEnv,
  type ClusterInfo,
} from '../helpers/sandbox.ts';

const HELM = join(sandbox().binDir, 'helm');
const RELEASE = 'karpenter-crd';
const NS = 'karpenter';
const ANNOTATION = 'karpenter-action.test/chart';
const crdChart = (version: string) => sandbox().karpenter[version]!.crdChartDir;

let cluster: ClusterInfo;
let admin: KubeConfig;
let eksKube: KubeConfig;
let restoreEnv: () => void;
const lines: string[] = [];
const log: Logger = {
  info: (l) => lines.push(l),
  warn: (l) => lines.push(l),
  debug: (l) => lines.push(l),
};

beforeAll(async () => {
  restoreEnv = useAwsEnv();
  cluster = await newCluster();
  admin = adminKube(cluster);
  const info = await readEksCluster(new EKSClient({}), cluster.name);
  eksKube = buildEksKubeConfig(info, sandbox().region, defaultCredentials(sandbox().region));
});
afterAll(async () => {
  await deleteCluster(cluster.name);
  restoreEnv();
});

function tokenIn(path: string): string {
  const kc = JSON.parse(readFileSync(path, 'utf8')) as { users: { user: { token?: string } }[] };
  const token = kc.users[0]?.user.token;
  if (!token) throw new Error(`no token in ${path}`);
  return token;
}

async function readCrd(name: string): Promise<V1CustomResourceDefinition | undefined> {
  try {
    return await admin.makeApiClient(ApiextensionsV1Api).readCustomResourceDefinition({ name });
  } catch (e) {
    if ((e as { code?: number }).code === 404) return undefined;
    throw e;
  }
}

const install = (releases: HelmReleases, version: string, extra: { wait?: boolean } = {}) =>
  releases.upgradeInstall({
    release: RELEASE,
    chart: crdChart(version),
    namespace: NS,
    createNamespace: true,
    values: { additionalAnnotations: { [ANNOTATION]: `karpenter-crd-${version}` } },
    skipCrds: false,
    wait: extra.wait ?? false,
    timeoutSeconds: 120,
  });

describe('the karpenter-crd release with the EKS token', () => {
  let releases: HelmReleases;
  let token: string;
  beforeAll(async () => {
    releases = await HelmReleases.open(HELM, eksKube, { log });
    token = tokenIn(releases.kubeconfig.path);
  });
  afterAll(async () => {
    await releases.dispose();
  });

  test('the kubeconfig is private and carries the EKS bearer token for helm', () => {
    expect(token).toMatch(/^k8s-aws-v1\./);
    expect(statSync(releases.kubeconfig.path).mode & 0o777).toBe(0o600);
    expect(statSync(releases.kubeconfig.dir).mode & 0o777).toBe(0o700);
  });

  test('a release that does not exist has no status and no history', async () => {
    await expect(releases.status(RELEASE, NS)).resolves.toBeUndefined();
    await expect(releases.history(RELEASE, NS)).resolves.toEqual([]);
    await expect(releases.list(NS)).resolves.toEqual([]);
  });

  test('upgradeInstall installs 1.13.1 and upgrades to 1.14.1, with values from a file', async () => {
    const first = await install(releases, '1.13.1');
    expect(first).toMatchObject({
      name: RELEASE,
      namespace: NS,
      revision: 1,
      status: 'deployed',
      chart: 'karpenter-crd-1.13.1',
      chartVersion: '1.13.1',
      appVersion: '1.13.1',
    });
    const nodepools = await readCrd('nodepools.karpenter.sh');
    expect(nodepools?.metadata?.annotations?.[ANNOTATION]).toBe('karpenter-crd-1.13.1');
    expect(nodepools?.metadata?.labels?.['app.kubernetes.io/managed-by']).toBe('Helm');
    expect(await readCrd('capacitybuffers.autoscaling.x-k8s.io')).toBeUndefined();

    const second = await install(releases, '1.14.1', { wait: true });
    expect(second).toMatchObject({ revision: 2, status: 'deployed', chart: 'karpenter-crd-1.14.1' });
    expect((await readCrd('nodepools.karpenter.sh'))?.metadata?.annotations?.[ANNOTATION]).toBe(
      'karpenter-crd-1.14.1',
    );
    expect(await readCrd('capacitybuffers.autoscaling.x-k8s.io')).toBeDefined();
    expect(JSON.stringify((await readCrd('nodepools.karpenter.sh'))?.spec)).toContain('Balanced');

    const commands = lines.filter((l) => l.startsWith('helm upgrade'));
    expect(commands).toHaveLength(2);
    expect(commands.join('\n')).not.toContain(ANNOTATION);
    expect(commands.join('\n')).not.toMatch(/--set/);
    expect(readdirSync(releases.kubeconfig.dir)).toEqual(['kubeconfig']);
  });

  test('list shows the release at karpenter-crd-1.14.1, in its namespace and across all namespaces', async () => {
    const expected = {
      name: RELEASE,
      namespace: NS,
      revision: 2,
      status: 'deployed',
      chart: 'karpenter-crd-1.14.1',
      appVersion: '1.14.1',
      updated: expect.any(String) as string,
    };
    expect(await releases.list(NS)).toEqual([expected]);
    expect(await releases.list()).toEqual([expected]);
    expect(await releases.list('default')).toEqual([]);
  });

  test('history has the two revisions, oldest first', async () => {
    const history = await releases.history(RELEASE, NS);
    expect(history.map(({ revision, status, chart }) => ({ revision, status, chart }))).toEqual([
      { revision: 1, status: 'superseded', chart: 'karpenter-crd-1.13.1' },
      { revision: 2, status: 'deployed', chart: 'karpenter-crd-1.14.1' },
    ]);
  });

  test('rollback to revision 1 brings back the 1.13.1 CRDs as revision 3', async () => {
    await releases.rollback(RELEASE, 1, NS, { wait: true, timeoutSeconds: 120 });
    const nodepools = await readCrd('nodepools.karpenter.sh');
    expect(nodepools?.metadata?.annotations?.[ANNOTATION]).toBe('karpenter-crd-1.13.1');
    expect(JSON.stringify(nodepools?.spec)).not.toContain('Balanced');
    const buffers = await readCrd('capacitybuffers.autoscaling.x-k8s.io');
    expect(buffers === undefined || buffers.metadata?.deletionTimestamp !== undefined).toBe(true);

    const history = await releases.history(RELEASE, NS);
    expect(history).toHaveLength(3);
    expect(history[2]).toMatchObject({ revision: 3, status: 'deployed', chart: 'karpenter-crd-1.13.1' });
    expect(history[2]?.description).toMatch(/Rollback to 1/);
    expect(await releases.status(RELEASE, NS)).toMatchObject({
      revision: 3,
      status: 'deployed',
      chartVersion: '1.13.1',
    });
  });

  test('a failing helm command carries the command and helm stderr', async () => {
    const err = (await releases
      .upgradeInstall({
        release: 'karpenter',
        chart: sandbox().karpenter['1.14.1']!.chartDir,
        namespace: 'no-such-namespace',
        createNamespace: false,
        values: { settings: { clusterName: cluster.name } },
        skipCrds: true,
        wait: false,
        timeoutSeconds: 60,
      })
      .catch((e: unknown) => e)) as HelmCommandError;
    expect(err).toBeInstanceOf(HelmCommandError);
    expect(err.command).toMatch(
      /^helm upgrade karpenter \S+\/karpenter --install --namespace no-such-namespace/,
    );
    expect(err.stderr).toMatch(/namespaces "no-such-namespace" not found/);
    expect(err.message).toContain(err.stderr);
    expect(err.exitCode).toBe(1);
  });

  test('uninstall with keepHistory leaves the release listed as uninstalled', async () => {
    await releases.uninstall(RELEASE, NS, { keepHistory: true });
    expect(await releases.list(NS)).toEqual([
      expect.objectContaining({ name: RELEASE, revision: 3, status: 'uninstalled' }),
    ]);
    expect(await releases.status(RELEASE, NS)).toMatchObject({ status: 'uninstalled' });
    const crd = await readCrd('nodepools.karpenter.sh');
    expect(crd === undefined || crd.metadata?.deletionTimestamp !== undefined).toBe(true);
  });

  test('nothing logged carries the token, and dispose removes the kubeconfig', async () => {
    expect(lines.length).toBeGreaterThan(5);
    expect(lines.join('\n')).not.toContain(token);
    const { path, dir } = releases.kubeconfig;
    expect(existsSync(path)).toBe(true);
    await releases.dispose();
    expect(existsSync(path)).toBe(false);
    expect(existsSync(dir)).toBe(false);
    await releases.dispose();
  });
});

describe('a ServiceAccount token user', () => {
  let tokenKube: KubeConfig;
  let token: string;
  beforeAll(async () => {
    const core = admin.makeApiClient(CoreV1Api);
    await core.createNamespacedServiceAccount({
      namespace: 'default',
      body: { metadata: { name: 'helm-user' } },
    });
    await admin.makeApiClient(RbacAuthorizationV1Api).createClusterRoleBinding({
      body: {
        metadata: { name: 'helm-user-admin' },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cluster-admin' },
        subjects: [{ kind: 'ServiceAccount', name: 'helm-user', namespace: 'default' }],
      },
    });
    const req = await core.createNamespacedServiceAccountToken({
      name: 'helm-user',
      namespace: 'default',
      body: { spec: { audiences: [], expirationSeconds: 3600 } },
    });
    token = req.status!.token!;
    const server = admin.getCurrentCluster()!;
    tokenKube = new KubeConfig();
    tokenKube.loadFromOptions({
      clusters: [{ name: 'c', server: server.server, caData: server.caData, skipTLSVerify: false }],
      users: [{ name: 'helm-user', token }],
      contexts: [{ name: 'c', cluster: 'c', user: 'helm-user' }],
      currentContext: 'c',
    });
  });

  test('reaches the cluster through helm, and a helm failure names the command without the token', async () => {
    await using releases = await HelmReleases.open(HELM, tokenKube, { log });
    expect(tokenIn(releases.kubeconfig.path)).toBe(token);
    await expect(releases.list('default')).resolves.toEqual([]);

    const err = (await releases
      .upgradeInstall({
        release: 'broken',
        chart: '/nonexistent/karpenter-action/chart',
        namespace: 'default',
        createNamespace: false,
        values: { secretish: 'value' },
        skipCrds: false,
        wait: false,
        timeoutSeconds: 30,
      })
      .catch((e: unknown) => e)) as HelmCommandError;
    expect(err).toBeInstanceOf(HelmCommandError);
    expect(err.message).toMatch(/^helm upgrade broken \/nonexistent\/karpenter-action\/chart --install/);
    expect(err.message).toMatch(/nonexistent\/karpenter-action\/chart.*not found/);
    expect(err.message).not.toContain(token);
    expect(err.message).not.toContain('secretish');
  });

  test('helm output that echoes the kubeconfig is scrubbed of the token and the file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'leaky-helm-'));
    try {
      const leaky = join(dir, 'helm');
      writeFileSync(
        leaky,
        '#!/bin/sh\ncat "$KUBECONFIG" >&2\necho "token was $(grep token "$KUBECONFIG")" >&2\nexit 3\n',
        {
          mode: 0o755,
        },
      );
      const file = await writeKubeconfig(tokenKube);
      const releases = new HelmReleases(leaky, file, log);
      const err = (await releases.history('x', 'default').catch((e: unknown) => e)) as HelmCommandError;
      expect(err).toBeInstanceOf(HelmCommandError);
      expect(err.exitCode).toBe(3);
      expect(err.command).toBe('helm history x --namespace default --output json');
      expect(err.message).not.toContain(token);
      expect(err.stderr).toMatch(/^\*\*\*\s*token was\s+"token": "\*\*\*"/);
      await releases.dispose();
      expect(existsSync(file.dir)).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('writeKubeconfig hands each secret to mask', async () => {
    const masked: string[] = [];
    await using file = await writeKubeconfig(tokenKube, { mask: (s) => masked.push(s) });
    expect(masked).toEqual([token]);
    expect(file.scrub(`Bearer ${token}`)).toBe('Bearer ***');
  });
});
