/**
 * npm run bench: plan and apply wall time, Kubernetes and AWS API calls, and memory, for the pools
 * stage with 1, 10 and 100 NodePools and for the prereqs stage, against fresh sandbox clusters, side
 * by side in one run.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sandboxDown, sandboxUp } from './lib/lifecycle.ts';
import { installKarpenterCrds } from './lib/crds.ts';
import { buildPlan, runApply } from '../src/commands/plan.ts';
import { acquireApplyLock } from '../src/adapters/apply-lock.ts';
import type { RunEnv } from '../src/commands/prepare.ts';
import { readInputs } from '../src/inputs.ts';
import type { ClusterInfo } from './lib/state.ts';
import { readFileSync } from 'node:fs';
import { adminKubeConfig } from './lib/kube-admin.ts';
import { KubeHttp } from '../src/adapters/kube-http.ts';
import { KubeClient } from '../src/adapters/kube.ts';
import type { ClusterConfig } from '../src/config/load.ts';
import { runVerify } from '../src/stages/verify.ts';

const SIZES = (process.env.BENCH_SIZES ?? '1,10,100').split(',').map(Number);
const { state, started } = await sandboxUp();
Object.assign(process.env, {
  AWS_ENDPOINT_URL: state.motoUrl,
  AWS_ACCESS_KEY_ID: 'testing',
  AWS_SECRET_ACCESS_KEY: 'testing',
  AWS_REGION: state.region,
  PATH: `${state.binDir}:${process.env.PATH ?? ''}`,
});
const release = state.karpenter[state.karpenterTarget]!;
const quiet: Omit<RunEnv, 'workspace'> = {
  tempDir: tmpdir(),
  log: { info: () => {}, warn: () => {}, debug: () => {} },
  setOutput: () => {},
  writeSummary: () => Promise.resolve(),
  annotate: () => {},
};

function workspaceFor(cluster: string, pools: number): string {
  const ws = mkdtempSync(join(tmpdir(), 'ka-bench-'));
  mkdirSync(join(ws, '.github'));
  mkdirSync(join(ws, 'karpenter'));
  writeFileSync(
    join(ws, '.github', 'karpenter.yaml'),
    `cluster: ${cluster}\nregion: ${state.region}\nkarpenter:\n  version: ${state.karpenterTarget}\n  chartRepository: ${join(release.chartDir, '..')}\nmanifests:\n  - ../karpenter/*.yaml\n`,
  );
  writeFileSync(
    join(ws, 'karpenter', 'nodeclass.yaml'),
    `apiVersion: karpenter.k8s.aws/v1\nkind: EC2NodeClass\nmetadata:\n  name: default\nspec:\n  role: KarpenterNodeRole-\${CLUSTER_NAME}\n  amiSelectorTerms:\n    - alias: al2023@v20260101\n  subnetSelectorTerms:\n    - tags:\n        karpenter.sh/discovery: \${CLUSTER_NAME}\n  securityGroupSelectorTerms:\n    - tags:\n        karpenter.sh/discovery: \${CLUSTER_NAME}\n`,
  );
  const docs = Array.from(
    { length: pools },
    (_, i) =>
      `apiVersion: karpenter.sh/v1\nkind: NodePool\nmetadata:\n  name: pool-${i}\nspec:\n  weight: ${(i % 100) + 1}\n  template:\n    spec:\n      requirements:\n        - key: karpenter.sh/capacity-type\n          operator: In\n          values: ['on-demand']\n      nodeClassRef:\n        group: karpenter.k8s.aws\n        kind: EC2NodeClass\n        name: default\n  limits:\n    cpu: ${100 + i}\n`,
  );
  writeFileSync(join(ws, 'karpenter', 'nodepools.yaml'), docs.join('---\n'));
  return ws;
}

const total = (r: Record<string, number>) => Object.values(r).reduce((a, b) => a + b, 0);
const fmt = (r: Record<string, number>) =>
  Object.entries(r)
    .sort()
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');

interface Row {
  case: string;
  phase: string;
  seconds: number;
  kube: number;
  kubeDetail: string;
  aws: number;
  awsDetail: string;
  rssMb: number;
}
const CASES = [
  ...SIZES.map((n) => ({ label: `pools, ${n} NodePool${n === 1 ? '' : 's'}`, stages: 'pools', pools: n })),
  { label: 'prereqs (all AWS prerequisites)', stages: 'prereqs', pools: 1 },
];
const rows: Row[] = [];
for (const c of CASES) {
  const n = c.pools;
  const res = await fetch(`${state.controlUrl}/clusters`, {
    method: 'POST',
    body: JSON.stringify({ withClusterAutoscaler: false }),
  });
  const cluster = (await res.json()) as ClusterInfo;
  await installKarpenterCrds(state, cluster, state.karpenterTarget);
  const ws = workspaceFor(cluster.name, n);
  const env: RunEnv = { ...quiet, workspace: ws };
  const inputs = readInputs(
    (name) => ({ config: '.github/karpenter.yaml', stages: c.stages, command: 'plan' })[name] ?? '',
  );
  for (const phase of ['plan (all new)', 'apply', 'plan (no changes)']) {
    const t0 = performance.now();
    let kube: Record<string, number>;
    let aws: Record<string, number>;
    if (phase === 'apply') {
      const run = await runApplyMeasured(inputs, env);
      kube = run.kube;
      aws = run.aws;
    } else {
      const { prepared } = await buildPlan(inputs, env);
      kube = prepared.kube.http.calls;
      aws = prepared.aws.calls;
    }
    rows.push({
      case: c.label,
      phase,
      seconds: (performance.now() - t0) / 1000,
      kube: total(kube),
      kubeDetail: fmt(kube),
      aws: total(aws),
      awsDetail: fmt(aws),
      rssMb: Math.round(process.memoryUsage().rss / 1048576),
    });
  }
  rmSync(ws, { recursive: true, force: true });
  await fetch(`${state.controlUrl}/clusters/${cluster.name}`, { method: 'DELETE' });
}

/** Apply re-plans first; the counts cover the whole command. */
async function runApplyMeasured(inputs: ReturnType<typeof readInputs>, env: RunEnv) {
  const calls = { kube: {} as Record<string, number>, aws: {} as Record<string, number> };
  await runApply(inputs, env, {
    autoApprove: true,
    onPrepared: (p) => {
      calls.kube = p.kube.http.calls;
      calls.aws = p.aws.calls;
    },
  });
  return calls;
}

/**
 * How soon the verify stage reports a condition after it turns true: an EC2NodeClass is written Ready
 * (the test plays Karpenter's controller) while the stage watches it.
 */
async function measureVerifyLatency(): Promise<{ verify: number[]; handovers: number[] }> {
  const res = await fetch(`${state.controlUrl}/clusters`, {
    method: 'POST',
    body: JSON.stringify({ withClusterAutoscaler: false }),
  });
  const cluster = (await res.json()) as ClusterInfo;
  await installKarpenterCrds(state, cluster, state.karpenterTarget);
  const http = new KubeHttp(
    adminKubeConfig(
      {
        endpoint: cluster.endpoint,
        caPem: readFileSync(state.pki.caCert, 'utf8'),
        clientCertPem: readFileSync(state.pki.adminCert, 'utf8'),
        clientKeyPem: readFileSync(state.pki.adminKey, 'utf8'),
      },
      cluster.name,
    ),
  );
  const kube = new KubeClient(http);
  const samples: number[] = [];
  for (let i = 0; i < 5; i++) {
    const name = `latency-${i}`;
    const path = `/apis/karpenter.k8s.aws/v1/ec2nodeclasses/${name}`;
    await http.request('POST', '/apis/karpenter.k8s.aws/v1/ec2nodeclasses', {
      body: {
        apiVersion: 'karpenter.k8s.aws/v1',
        kind: 'EC2NodeClass',
        metadata: { name },
        spec: {
          role: 'r',
          amiSelectorTerms: [{ alias: 'al2023@latest' }],
          subnetSelectorTerms: [{ tags: { a: 'b' } }],
          securityGroupSelectorTerms: [{ tags: { a: 'b' } }],
        },
      },
    });
    const started = Date.now();
    const verifying = runVerify({
      cluster: {
        cluster: cluster.name,
        karpenter: { version: state.karpenterTarget, namespace: 'kube-system' },
        verify: { timeoutSeconds: 3, smokeTest: undefined },
      } as ClusterConfig,
      log: quiet.log,
      kube,
      manifests: [
        {
          obj: { kind: 'EC2NodeClass', metadata: { name } },
          file: 'x',
          line: 1,
          locate: () => undefined,
          legacy: false,
        },
      ],
      timeoutSeconds: 3,
    });
    await new Promise((r) => setTimeout(r, 500));
    const obj = await http.request<{ metadata: { generation: number } }>('GET', path);
    const written = Date.now();
    await http.request('PATCH', `${path}/status`, {
      contentType: 'application/merge-patch+json',
      body: {
        status: {
          conditions: [
            {
              type: 'Ready',
              status: 'True',
              reason: 'Ready',
              message: '',
              lastTransitionTime: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
              observedGeneration: obj.metadata.generation,
            },
          ],
        },
      },
    });
    const { checks } = await verifying;
    const check = checks.find((c) => c.name === `EC2NodeClass ${name}`)!;
    samples.push(started + check.elapsedMs - written);
  }
  // The apply lock: how soon a waiting apply holds the Lease after the running one releases it.
  const handovers: number[] = [];
  for (let i = 0; i < 5; i++) {
    const first = await acquireApplyLock(kube, { holder: `bench-${i}-a`, waitSeconds: 0, log: quiet.log });
    let acquiredAt = 0;
    const second = acquireApplyLock(kube, { holder: `bench-${i}-b`, waitSeconds: 30, log: quiet.log }).then(
      (l) => {
        acquiredAt = Date.now();
        return l;
      },
    );
    await new Promise((r) => setTimeout(r, 500));
    const released = Date.now();
    await first.release();
    await (await second).release();
    handovers.push(acquiredAt - released);
  }
  await fetch(`${state.controlUrl}/clusters/${cluster.name}`, { method: 'DELETE' });
  return { verify: samples, handovers };
}

const { verify: latencies, handovers } = await measureVerifyLatency();

const header = [
  'case',
  'phase',
  'wall s',
  'k8s calls',
  'AWS calls',
  'RSS MB',
  'k8s by method',
  'AWS by operation',
];
const lines = rows.map((r) => [
  r.case,
  r.phase,
  r.seconds.toFixed(2),
  String(r.kube),
  String(r.aws),
  String(r.rssMb),
  r.kubeDetail,
  r.awsDetail,
]);
const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
const print = (cells: string[]) =>
  process.stdout.write(`${cells.map((c, i) => c.padEnd(widths[i]!)).join('  ')}\n`);
print(header);
print(widths.map((w) => '-'.repeat(w)));
for (const l of lines) print(l);
process.stdout.write(
  `\nverify: a condition turning true is reported after ${latencies.map((l) => `${l} ms`).join(', ')} (5 samples, watched)\n`,
);
process.stdout.write(
  `apply lock: a waiting apply holds the Lease ${handovers.map((l) => `${l} ms`).join(', ')} after the other releases it (5 samples, watched)\n`,
);
if (started) await sandboxDown();
