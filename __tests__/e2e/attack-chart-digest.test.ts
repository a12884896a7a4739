/**
 * Attack: the chart repository serves different content at apply than at plan. The reviewer approved a
 * plan of the karpenter charts with their digests; before the apply, someone with write access to the
 * chart repository changes it: one byte of a local chart directory (as a mirror or vendored copy would
 * be), in a file the rendered objects do not even show, or the same version pushed again to an OCI
 * registry. The apply re-plans, sees another digest, and refuses as stale: nothing is installed. With
 * the approved bytes back, the approved fingerprint applies again.
 *
 * The sandbox has no OCI registry, so a small one of the test's own (__tests__/helpers/oci-registry.ts,
 * HTTPS with the sandbox CA's serving certificate) holds what the real helm pushes and pulls.
 */
import { execFile } from 'node:child_process';
import { cpSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { KubeHttp } from '../../src/adapters/kube-http.ts';
import type { Change } from '../../src/plan/model.ts';
import { actionable, readPlan, runAction } from '../helpers/run-action.ts';
import {
  actionEnv,
  adminKube,
  deleteCluster,
  newCluster,
  sandbox,
  type ClusterInfo,
  E2E_RELEASES,
} from '../helpers/sandbox.ts';
import { startOciRegistry, type OciRegistry } from '../helpers/oci-registry.ts';
import { createWorkspace } from '../helpers/workspace.ts';

const PREVIOUS = E2E_RELEASES.previous;

const exec = promisify(execFile);
const clusters: ClusterInfo[] = [];
let cluster: ClusterInfo;
let workspace: string;
let charts: string;
let admin: KubeHttp;
let kubeconfig: string;

beforeAll(async () => {
  cluster = await newCluster({ withClusterAutoscaler: false });
  clusters.push(cluster);
  const kc = adminKube(cluster);
  admin = new KubeHttp(kc);
  workspace = createWorkspace();
  kubeconfig = join(workspace, 'admin.kubeconfig');
  writeFileSync(kubeconfig, kc.exportConfig(), { mode: 0o600 });
  charts = join(workspace, 'charts');
  cpSync(dirname(sandbox().karpenter[PREVIOUS]!.chartDir), charts, { recursive: true });
  writeFileSync(
    join(workspace, '.github', 'karpenter.yaml'),
    `cluster: ${cluster.name}
region: ${cluster.region}
karpenter:
  version: ${PREVIOUS}
  chartRepository: ../charts
manifests: []
`,
  );
});
afterAll(async () => {
  await Promise.all(clusters.map((c) => deleteCluster(c.name)));
  rmSync(workspace, { recursive: true, force: true });
});

const run = (inputs: Record<string, string>) =>
  runAction({ inputs: { stages: 'install', ...inputs }, env: actionEnv(), workspace });
const helmReleases = async () =>
  (
    JSON.parse(
      (await exec(join(sandbox().binDir, 'helm'), ['list', '-A', '-o', 'json', '--kubeconfig', kubeconfig]))
        .stdout,
    ) as { name: string; chart: string }[]
  )
    .map((r) => [r.name, r.chart])
    .sort();
const exists = (path: string) =>
  admin.request('GET', path).then(
    () => true,
    (e: { code?: number }) => (e.code === 404 ? false : Promise.reject(e as Error)),
  );
const releaseChanges = (changes: Change[]) => changes.filter((c) => c.kind === 'Helm release');

test('one changed byte in the chart between plan and apply: refused as stale, nothing installed', async () => {
  const planned = await run({ command: 'plan' });
  expect({ code: planned.code, out: planned.code === 0 ? '' : planned.stdout }).toEqual({ code: 0, out: '' });
  const plan = readPlan(planned.outputs['plan-path']!);
  const pinned = releaseChanges(actionable(plan)).map((c) => c.after as { chart: string; digest: string });
  expect(pinned.map((a) => a.chart)).toEqual(['karpenter-crd', 'karpenter']);
  for (const a of pinned) {
    expect(a.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    // the reviewer sees the digests in the PR comment's text and in the stage notes
    expect(planned.summary).toContain(a.digest);
  }
  expect(plan.stages[0]!.notes.join('\n')).toContain(
    `karpenter ${PREVIOUS} ${pinned[1]!.digest} (content hash of`,
  );

  // the attacker's step: one byte of the controller chart's README, which no rendered object shows
  const readme = join(charts, 'karpenter', 'README.md');
  const original = readFileSync(readme);
  const tampered = Buffer.from(original);
  tampered[0] = tampered[0] === 0x23 ? 0x24 : 0x23;
  writeFileSync(readme, tampered);

  const refused = await run({ command: 'apply', fingerprint: planned.outputs.fingerprint! });
  expect(refused.code).toBe(1);
  expect(refused.stdout).toContain(`plan is stale: the approved plan was ${planned.outputs.fingerprint!}`);
  expect(await helmReleases()).toEqual([]);
  expect(await exists('/apis/apiextensions.k8s.io/v1/customresourcedefinitions/nodepools.karpenter.sh')).toBe(
    false,
  );
  expect(await exists('/apis/apps/v1/namespaces/kube-system/deployments/karpenter')).toBe(false);
  // the re-plan shows what changed: the controller chart's digest, and nothing in its objects
  const replanned = readPlan((await run({ command: 'plan' })).outputs['plan-path']!);
  const after = releaseChanges(actionable(replanned)).map((c) => (c.after as { digest: string }).digest);
  expect(after[0]).toBe(pinned[0]!.digest);
  expect(after[1]).not.toBe(pinned[1]!.digest);
  expect(actionable(replanned).filter((c) => c.kind !== 'Helm release')).toEqual(
    actionable(plan).filter((c) => c.kind !== 'Helm release'),
  );

  // with the approved bytes back, the approved fingerprint applies exactly those charts
  writeFileSync(readme, original);
  const applied = await run({ command: 'apply', fingerprint: planned.outputs.fingerprint! });
  expect({ code: applied.code, out: applied.code === 0 ? '' : applied.stdout }).toEqual({ code: 0, out: '' });
  expect(await helmReleases()).toEqual([
    ['karpenter', `karpenter-${PREVIOUS}`],
    ['karpenter-crd', `karpenter-crd-${PREVIOUS}`],
  ]);
  expect(applied.stdout).toContain(
    `installing karpenter ${PREVIOUS} ${pinned[1]!.digest.slice(7, 19)} as karpenter`,
  );
}, 600_000);

describe('an OCI registry', () => {
  let registry: OciRegistry;
  let ociWorkspace: string;
  let ociCluster: ClusterInfo;
  let ociKubeconfig: string;
  /** helm trusts the registry's certificate through the sandbox CA, as Go reads SSL_CERT_FILE. */
  const tlsEnv = () => ({ SSL_CERT_FILE: sandbox().pki.caCert });

  beforeAll(async () => {
    registry = await startOciRegistry({ cert: sandbox().pki.serverCert, key: sandbox().pki.serverKey });
    ociCluster = await newCluster({ withClusterAutoscaler: false });
    clusters.push(ociCluster);
    ociWorkspace = createWorkspace();
    ociKubeconfig = join(ociWorkspace, 'admin.kubeconfig');
    writeFileSync(ociKubeconfig, adminKube(ociCluster).exportConfig(), { mode: 0o600 });
    writeFileSync(
      join(ociWorkspace, '.github', 'karpenter.yaml'),
      `cluster: ${ociCluster.name}
region: ${ociCluster.region}
karpenter:
  version: ${PREVIOUS}
  chartRepository: oci://${registry.host}/karpenter
manifests: []
`,
    );
  });
  afterAll(async () => {
    await registry.close();
    rmSync(ociWorkspace, { recursive: true, force: true });
  });

  const helm = async (...args: string[]) =>
    exec(join(sandbox().binDir, 'helm'), args, { env: { ...process.env, ...tlsEnv() } });
  /** `helm package` and `helm push` of a chart directory; returns the manifest digest helm reports. */
  async function push(chartDir: string): Promise<string> {
    const out = join(ociWorkspace, 'packaged');
    rmSync(out, { recursive: true, force: true });
    await helm('package', chartDir, '--destination', out);
    const name = chartDir.split('/').at(-1)!;
    const pushed = await helm(
      'push',
      join(out, `${name}-${PREVIOUS}.tgz`),
      `oci://${registry.host}/karpenter`,
    );
    const digest = /Digest: (sha256:[0-9a-f]{64})/.exec(`${pushed.stdout}\n${pushed.stderr}`)?.[1];
    if (!digest) throw new Error(`helm push printed no digest: ${pushed.stdout} ${pushed.stderr}`);
    return digest;
  }
  const runOci = (inputs: Record<string, string>) =>
    runAction({
      inputs: { stages: 'install', ...inputs },
      env: { ...actionEnv(), ...tlsEnv() },
      workspace: ociWorkspace,
    });

  test('the same version pushed again with other content between plan and apply: refused as stale, nothing installed', async () => {
    const crdDigest = await push(join(charts, 'karpenter-crd'));
    const ctrlDigest = await push(join(charts, 'karpenter'));
    const pulls = () =>
      registry.requests.filter((r) => /^GET \/v2\/karpenter\/karpenter\/blobs\//.test(r)).length;

    const before = pulls();
    const planned = await runOci({ command: 'plan' });
    expect({ code: planned.code, out: planned.code === 0 ? '' : planned.stdout }).toEqual({
      code: 0,
      out: '',
    });
    // pulled once in the run: the chart's config and content blobs, one request each
    expect(pulls() - before).toBe(2);
    const plan = readPlan(planned.outputs['plan-path']!);
    expect(releaseChanges(actionable(plan)).map((c) => c.after)).toEqual([
      { chart: 'karpenter-crd', version: PREVIOUS, digest: crdDigest },
      { chart: 'karpenter', version: PREVIOUS, digest: ctrlDigest },
    ]);
    expect(plan.stages[0]!.notes.join('\n')).toContain(
      `karpenter ${PREVIOUS} ${ctrlDigest} (OCI manifest digest of oci://${registry.host}/karpenter/karpenter)`,
    );

    // the attacker pushes karpenter 1.14.1 again, its controller now pulling another image
    const evil = join(ociWorkspace, 'evil', 'karpenter');
    cpSync(join(charts, 'karpenter'), evil, { recursive: true });
    const values = join(evil, 'values.yaml');
    writeFileSync(
      values,
      readFileSync(values, 'utf8').replace(
        /repository: public\.ecr\.aws\/karpenter\/controller/,
        'repository: attacker.example/controller',
      ),
    );
    const evilDigest = await push(evil);
    expect(evilDigest).not.toBe(ctrlDigest);

    const refused = await runOci({ command: 'apply', fingerprint: planned.outputs.fingerprint! });
    expect(refused.code).toBe(1);
    expect(refused.stdout).toContain(`plan is stale: the approved plan was ${planned.outputs.fingerprint!}`);
    expect(
      JSON.parse((await helm('list', '-A', '-o', 'json', '--kubeconfig', ociKubeconfig)).stdout) as unknown[],
    ).toEqual([]);
    const ociAdmin = new KubeHttp(adminKube(ociCluster));
    await expect(
      ociAdmin.request(
        'GET',
        '/apis/apiextensions.k8s.io/v1/customresourcedefinitions/nodepools.karpenter.sh',
      ),
    ).rejects.toMatchObject({ code: 404 });

    // the tag moved back to the approved manifest: the approved fingerprint applies it
    registry.retag('karpenter/karpenter', PREVIOUS, ctrlDigest);
    const applied = await runOci({ command: 'apply', fingerprint: planned.outputs.fingerprint! });
    expect({ code: applied.code, out: applied.code === 0 ? '' : applied.stdout }).toEqual({
      code: 0,
      out: '',
    });
    const dep = await ociAdmin.request<{ spec: { template: { spec: { containers: { image: string }[] } } } }>(
      'GET',
      '/apis/apps/v1/namespaces/kube-system/deployments/karpenter',
    );
    expect(dep.spec.template.spec.containers[0]!.image).toMatch(
      /^public\.ecr\.aws\/karpenter\/controller:1\.14\.1/,
    );
  }, 600_000);
});
