/**
 * npm run demo: the whole migration, rehearsed on a sandbox EKS cluster that starts the way most teams
 * start (managed node groups, Cluster Autoscaler running) and runs Karpenter's real controller once
 * the action installs it. Every step goes through the bundled action (`dist/index.js`) with nothing
 * but a runner step's environment:
 *
 *   plan (all four stages) -> apply -> verify with a smoke-test node -> Cluster Autoscaler at zero
 *   -> a clean drift check -> a hand edit of the NodePool -> the drift check that catches it
 *
 * `--keep` leaves the sandbox and the demo's cluster running, with the commands to explore them.
 */
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AppsV1Api, CoreV1Api, CustomObjectsApi } from '@kubernetes/client-node';
import { sandboxDown, sandboxUp } from './lib/lifecycle.ts';
import { runAction } from './lib/action-run.ts';
import { adminKubeConfig } from './lib/kube-admin.ts';
import { ROOT, statePath } from './lib/paths.ts';
import { waitFor } from './lib/proc.ts';
import { adminKubeconfigFile, userKubeconfig, type ClusterInfo } from './lib/state.ts';
import { renderPlanText } from '../src/render/text.ts';
import type { Plan } from '../src/plan/model.ts';

const keep = process.argv.includes('--keep');
const t0 = Date.now();
const say = (line = ''): void => void process.stdout.write(`${line}\n`);
const section = (title: string): void => {
  say();
  say(`== ${title}  (${((Date.now() - t0) / 1000).toFixed(0)} s)`);
};
const indent = (text: string, by = '  '): string => text.replace(/^(?=.)/gm, by);

const { state, started } = await sandboxUp((line) => say(`  ${line}`));
say(`${started ? 'Started' : 'Using the running'} sandbox: AWS at ${state.motoUrl}.`);

// A cluster of the demo's own, so a sandbox kept from an earlier run or shared with tests is untouched.
const name = `demo-${Date.now().toString(36)}`;
const res = await fetch(`${state.controlUrl}/clusters`, {
  method: 'POST',
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify({ name, controllers: true }),
});
const cluster = (await res.json()) as ClusterInfo & { error?: string };
if (!res.ok) throw new Error(`creating the demo cluster failed: ${cluster.error ?? res.status}`);
const kc = adminKubeConfig({
  endpoint: cluster.endpoint,
  caPem: readFileSync(state.pki.caCert, 'utf8'),
  clientCertPem: readFileSync(state.pki.adminCert, 'utf8'),
  clientKeyPem: readFileSync(state.pki.adminKey, 'utf8'),
});
const core = kc.makeApiClient(CoreV1Api);
const apps = kc.makeApiClient(AppsV1Api);
const custom = kc.makeApiClient(CustomObjectsApi);

section(`The cluster before: EKS ${name}, managed node group, Cluster Autoscaler`);
const caPod = await waitFor(
  'the Cluster Autoscaler pod running',
  async () => {
    const pods = await core.listNamespacedPod({
      namespace: 'kube-system',
      labelSelector: 'app.kubernetes.io/name=cluster-autoscaler',
    });
    return pods.items.find((p) => p.status?.phase === 'Running');
  },
  { timeoutMs: 60000, intervalMs: 500 },
);
for (const n of (await core.listNode()).items) {
  const l = n.metadata?.labels ?? {};
  say(
    `  node ${n.metadata?.name}  ${l['node.kubernetes.io/instance-type']}  ${l['topology.kubernetes.io/zone']}  node group ${l['eks.amazonaws.com/nodegroup']}`,
  );
}
say(`  pod  kube-system/${caPod.metadata?.name}  Running on ${caPod.spec?.nodeName}`);

// The repository: Karpenter's getting-started NodePool and EC2NodeClass, the migration and a smoke test.
const ws = mkdtempSync(join(tmpdir(), 'karpenter-action-demo-'));
cpSync(join(ROOT, 'examples', 'basic'), ws, { recursive: true });
const release = state.karpenter[state.karpenterTarget]!;
writeFileSync(
  join(ws, '.github', 'karpenter.yaml'),
  readFileSync(join(ws, '.github', 'karpenter.yaml'), 'utf8')
    .replace('cluster: weasel-eks', `cluster: ${name}`)
    .replace(/^ {2}version: .*$/m, `  version: ${state.karpenterTarget}`)
    .replace(
      '  namespace: kube-system',
      `  namespace: kube-system\n  chartRepository: ${join(release.chartDir, '..')}`,
    ) +
    [
      'install:',
      '  migration:',
      '    enabled: true',
      'verify:',
      '  timeoutSeconds: 120',
      '  smokeTest:',
      '    enabled: true',
      '    nodePool: default',
      '',
    ].join('\n'),
);
const outDir = statePath('demo');
mkdirSync(outDir, { recursive: true });
const action = async (inputs: Record<string, string>) => {
  const r = await runAction({
    inputs: { config: '.github/karpenter.yaml', ...inputs },
    env: {
      PATH: `${state.binDir}:${process.env.PATH ?? ''}`,
      AWS_ENDPOINT_URL: state.motoUrl,
      AWS_ACCESS_KEY_ID: 'testing',
      AWS_SECRET_ACCESS_KEY: 'testing',
      AWS_REGION: state.region,
    },
    workspace: ws,
  });
  const comment = readdirSync(r.runnerTemp).find((f) => f.endsWith('.md'));
  return { ...r, comment: comment ? readFileSync(join(r.runnerTemp, comment), 'utf8') : '' };
};
const readPlan = (path: string | undefined): Plan => JSON.parse(readFileSync(path ?? '', 'utf8')) as Plan;
const failed = (step: string, r: { code: number | null; stdout: string; stderr: string }): never => {
  say(indent(`${r.stdout}${r.stderr}`));
  throw new Error(`${step} failed (exit ${r.code}); the sandbox's logs are in ${statePath('logs')}`);
};

section('plan: prereqs, install, pools, verify (as on a pull request)');
const planned = await action({ command: 'plan' });
if (planned.code !== 0) failed('plan', planned);
say(
  indent(
    renderPlanText(readPlan(planned.outputs['plan-path']), {
      color: process.stdout.isTTY === true,
      compact: true,
    }),
  ),
);
const commentFile = join(outDir, 'plan-comment.md');
writeFileSync(commentFile, planned.comment);
say(`  The pull-request comment for this plan is in ${commentFile}`);

section('apply (after approval, with the approved fingerprint), then verify with a smoke-test node');
const applied = await action({ command: 'apply', fingerprint: planned.outputs.fingerprint ?? '' });
if (applied.code !== 0) failed('apply', applied);
say(
  indent(
    applied.stdout
      .split('\n')
      .filter((l) => /^(done|created|updated|deleted|applied|verify )/.test(l))
      .join('\n'),
  ),
);

section('what Karpenter itself says: the smoke test node, in the controller’s own log');
const controllerPod = (
  await core.listNamespacedPod({
    namespace: 'kube-system',
    labelSelector: 'app.kubernetes.io/name=karpenter',
  })
).items[0];
const log = controllerPod
  ? await core.readNamespacedPodLog({
      name: controllerPod.metadata!.name!,
      namespace: 'kube-system',
      container: 'controller',
    })
  : '';
const wanted =
  /found provisionable pod|computed new nodeclaim|created nodeclaim|launched nodeclaim|registered nodeclaim|initialized nodeclaim|deleted node|deleted nodeclaim/;
for (const line of String(log).split('\n')) {
  try {
    const j = JSON.parse(line) as Record<string, unknown>;
    if (typeof j.message === 'string' && wanted.test(j.message)) {
      const nc = (j.NodeClaim as { name?: string } | undefined)?.name ?? '';
      const field = (v: unknown): string =>
        typeof v === 'string' ? v : ((v as { name?: string } | undefined)?.name ?? '');
      const extra = ['instance-type', 'zone', 'capacity-type', 'provider-id', 'Node']
        .map((k) => (j[k] === undefined ? '' : ` ${k}=${field(j[k])}`))
        .join('');
      say(`  ${field(j.time).slice(11, 23)}  ${j.message}${nc ? ` nodeclaim=${nc}` : ''}${extra}`);
    }
  } catch {
    // not a JSON log line
  }
}

section('Cluster Autoscaler after verification');
const ca = await apps.readNamespacedDeployment({ name: 'cluster-autoscaler', namespace: 'kube-system' });
say(
  `  deployment kube-system/cluster-autoscaler: ${ca.spec?.replicas} replicas, ${ca.status?.replicas ?? 0} running`,
);

section('drift check (as the nightly schedule runs it)');
const clean = await action({ command: 'drift' });
say(`  drift=${clean.outputs.drift}  summary=${clean.outputs.summary}`);

section('someone edits the NodePool by hand: kubectl patch nodepool default (limits.cpu 1000 -> 8)');
await custom.patchClusterCustomObject({
  group: 'karpenter.sh',
  version: 'v1',
  plural: 'nodepools',
  name: 'default',
  body: [{ op: 'replace', path: '/spec/limits/cpu', value: '8' }],
});
const drifted = await action({ command: 'drift' });
say(`  drift=${drifted.outputs.drift}  summary=${drifted.outputs.summary}`);
const driftPlan = readPlan(drifted.outputs['plan-path']);
say(indent(renderPlanText(driftPlan, { color: process.stdout.isTTY === true })));

rmSync(ws, { recursive: true, force: true });
section(`done in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
if (keep || !started) {
  writeFileSync(statePath('demo', 'kubeconfig'), userKubeconfig(state, cluster), { mode: 0o600 });
  writeFileSync(statePath('demo', 'admin.kubeconfig'), adminKubeconfigFile(state, cluster), { mode: 0o600 });
  say(`The sandbox and the demo cluster ${name} are still running. To explore them:`);
  say('  source .sandbox/env');
  say(`  export CLUSTER_NAME=${name} KUBECONFIG=${statePath('demo', 'kubeconfig')}`);
  say('  kubectl get nodepools,ec2nodeclasses,nodeclaims,nodes');
  say('  kubectl logs -n kube-system -l app.kubernetes.io/name=karpenter');
  say(`  aws iam list-instance-profiles-for-role --role-name KarpenterNodeRole-${name}`);
  say('Stop everything with: npm run sandbox -- down');
} else {
  await fetch(`${state.controlUrl}/clusters/${name}`, { method: 'DELETE' });
  await sandboxDown();
  say('Stopped the sandbox this demo started (`npm run demo -- --keep` keeps it running to explore).');
}
