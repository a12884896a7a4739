/**
 * The whole migration against Karpenter itself, through the bundled action: the sandbox cluster runs
 * kube-scheduler, kube-controller-manager and kwok, and once the action installs the chart the sandbox
 * runs that release's real controller (the kwok build of karpenter-provider-aws, with AWS calls going to
 * moto). Nothing in this file writes a status, a condition, a Lease or a Node: every state checked here
 * is the controller's or Kubernetes' own.
 */
import { execFile } from 'node:child_process';
import { cpSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { IAMClient, ListInstanceProfilesForRoleCommand } from '@aws-sdk/client-iam';
import { GetQueueUrlCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { KubeHttp } from '../../src/adapters/kube-http.ts';
import { readPlan, runAction } from '../helpers/run-action.ts';
import {
  actionEnv,
  adminKube,
  awsEnv,
  deleteCluster,
  newCluster,
  sandbox,
  type ClusterInfo,
} from '../helpers/sandbox.ts';
import { createWorkspace, writeClusterConfig } from '../helpers/workspace.ts';
import { CONTROLLER_STAND_INS } from '../../sandbox/lib/build.ts';
import { E2E_RELEASES } from '../../sandbox/lib/karpenter.ts';
import { waitFor } from '../../sandbox/lib/proc.ts';

/** Each apply launches, registers and removes a simulated node: about a minute of the real controller. */
const LIVE_TIMEOUT = 600_000;

let cluster: ClusterInfo;
let workspace: string;
let admin: KubeHttp;

type Obj = {
  metadata: { name: string; uid?: string; labels?: Record<string, string> };
  spec?: Record<string, unknown>;
  status?: { conditions?: { type: string; status: string; reason?: string; message?: string }[] };
};

const CA = '/apis/apps/v1/namespaces/kube-system/deployments/cluster-autoscaler';
const NODECLAIMS = '/apis/karpenter.sh/v1/nodeclaims';
const awsClientConfig = () => ({
  region: cluster.region,
  endpoint: awsEnv().AWS_ENDPOINT_URL,
  credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
});

/** Polls every half second for up to three minutes: the controller's pace, not a test's. */
const until = <T>(what: string, f: () => Promise<T | undefined>): Promise<T> =>
  waitFor(what, f, { timeoutMs: 180_000, intervalMs: 500 });

type Pod = Obj & { spec: { nodeName?: string }; status: { phase?: string } };
type Claim = Obj & { status: Obj['status'] & { nodeName?: string; providerID?: string } };

/** The running pod of a Deployment and the Initialized NodeClaim of the node it runs on. */
async function podAndClaim(app: string, notClaim?: string): Promise<{ pod: Pod; claim: Claim }> {
  return until(`a running ${app} pod on a new initialized node`, async () => {
    const pods = await admin.request<{ items: Pod[] }>('GET', '/api/v1/namespaces/default/pods', {
      query: { labelSelector: `app=${app}` },
    });
    const pod = pods.items.find((p) => p.status.phase === 'Running' && p.spec.nodeName);
    if (!pod) return undefined;
    const claims = await admin.request<{ items: Claim[] }>('GET', NODECLAIMS);
    const claim = claims.items.find(
      (c) =>
        c.status.nodeName === pod.spec.nodeName &&
        c.metadata.name !== notClaim &&
        condition(c, 'Initialized')?.status === 'True',
    );
    return claim ? { pod, claim } : undefined;
  });
}
const run = (inputs: Record<string, string>) => runAction({ inputs, env: actionEnv(), workspace });
const { newest: NEWEST, previous: PREVIOUS } = E2E_RELEASES;

/** `helm list` with the sandbox's helm as an admin: each release's name and chart. */
async function helmList(): Promise<[string, string][]> {
  const kubeconfig = join(workspace, 'admin.kubeconfig');
  writeFileSync(kubeconfig, adminKube(cluster).exportConfig(), { mode: 0o600 });
  const { stdout } = await promisify(execFile)(join(sandbox().binDir, 'helm'), [
    'list',
    '-A',
    '-o',
    'json',
    '--kubeconfig',
    kubeconfig,
  ]);
  return (JSON.parse(stdout) as { name: string; chart: string }[])
    .map((r): [string, string] => [r.name, r.chart])
    .sort();
}
const condition = (o: Obj, type: string) => o.status?.conditions?.find((c) => c.type === type);

function writeConfig(
  verify = 'verify:\n  timeoutSeconds: 120\n  smokeTest:\n    enabled: true\n    nodePool: default\n',
): void {
  writeClusterConfig(workspace, cluster, {
    extra: `install:\n  migration:\n    enabled: true\n${verify}`,
  });
}

/** The controller pod's log as `kubectl logs` reads it: through the API server and the node's kubelet. */
async function controllerLog(): Promise<string> {
  const pods = await admin.request<{ items: Obj[] }>('GET', '/api/v1/namespaces/kube-system/pods', {
    query: { labelSelector: 'app.kubernetes.io/name=karpenter' },
  });
  const texts = await Promise.all(
    pods.items.map((p) =>
      admin.request<string>('GET', `/api/v1/namespaces/kube-system/pods/${p.metadata.name}/log`, {
        query: { container: 'controller' },
        raw: true,
      }),
    ),
  );
  return texts.join('\n');
}

beforeAll(async () => {
  cluster = await newCluster({ controllers: true });
  admin = new KubeHttp(adminKube(cluster));
  workspace = createWorkspace();
  cpSync(
    join(process.cwd(), 'examples', 'basic', 'karpenter', 'default.yaml'),
    join(workspace, 'karpenter', 'default.yaml'),
  );
  writeConfig();
});
afterAll(async () => {
  await deleteCluster(cluster.name);
  rmSync(workspace, { recursive: true, force: true });
}, LIVE_TIMEOUT);

test(
  'apply of all four stages with the smoke test passes, and the evidence is the controller’s own',
  async () => {
    expect((await admin.request<{ spec: { replicas: number } }>('GET', CA)).spec.replicas).toBe(1);
    const planned = await run({ command: 'plan' });
    expect(planned.code).toBe(0);
    const applied = await run({ command: 'apply', fingerprint: planned.outputs.fingerprint! });
    expect({ code: applied.code, log: applied.code === 0 ? '' : applied.stdout }).toEqual({
      code: 0,
      log: '',
    });

    // The smoke test's node went through every step of Karpenter's lifecycle.
    const report = readPlan(applied.outputs['verify-path']!);
    const findings = report.stages.flatMap((s) => s.findings);
    const smoke = findings.filter((f) => f.message.startsWith('smoke test: '));
    expect(smoke.map((f) => [f.message.replace(/ \(.*/s, '').replace(/: passed$/, ''), f.code])).toEqual(
      [
        'create the test Deployment',
        'NodeClaim created',
        'NodeClaim Launched',
        'NodeClaim Registered',
        'NodeClaim Initialized',
        'pod running',
        'clean up',
      ].map((step) => [`smoke test: ${step}`, 'verify-passed']),
    );
    expect(smoke.find((f) => f.message.includes('NodeClaim Launched'))!.message).toMatch(
      /passed \(\d+\.\d s, step \d+\.\d s\): kwok-aws:\/\/\/us-east-1[abc]\/i-\w+ \([a-z0-9]+\.[a-z0-9]+\)/,
    );
    expect(smoke.at(-1)!.message).toMatch(/Deployment deleted; NodeClaim default-\w+ drained and gone/);
    expect(findings.filter((f) => f.level === 'error')).toEqual([]);
    // Nothing of the smoke test is left: no Deployment, and its NodeClaim terminated by Karpenter.
    const left = await admin.request<{ items: Obj[] }>(
      'GET',
      '/apis/apps/v1/namespaces/default/deployments',
      {
        query: { labelSelector: 'app.kubernetes.io/name=karpenter-action-smoke' },
      },
    );
    expect(left.items).toEqual([]);
    expect((await admin.request<{ items: Obj[] }>('GET', NODECLAIMS)).items).toEqual([]);

    // The leader Lease is held by the controller, renewed within its duration.
    const lease = await admin.request<{ spec: { holderIdentity?: string; renewTime?: string } }>(
      'GET',
      '/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/karpenter-leader-election',
    );
    expect(lease.spec.holderIdentity).toBeTruthy();
    expect(Date.now() - Date.parse(lease.spec.renewTime!)).toBeLessThan(15000);

    // The node role's instance profile exists: the controller created it (the action never does).
    const iam = new IAMClient(awsClientConfig());
    const profiles = await iam.send(
      new ListInstanceProfilesForRoleCommand({ RoleName: `KarpenterNodeRole-${cluster.name}` }),
    );
    expect(profiles.InstanceProfiles?.length).toBe(1);
    expect(profiles.InstanceProfiles![0]!.Tags ?? []).toEqual(
      expect.arrayContaining([{ Key: 'karpenter.k8s.aws/ec2nodeclass', Value: 'default' }]),
    );
    const nodeClass = await admin.request<Obj>('GET', '/apis/karpenter.k8s.aws/v1/ec2nodeclasses/default');
    expect(condition(nodeClass, 'InstanceProfileReady')?.status).toBe('True');

    // The controller's own log, read as kubectl reads it, tells the same story.
    const log = await controllerLog();
    for (const line of [
      'created nodeclaim',
      'launched nodeclaim',
      'registered nodeclaim',
      'initialized nodeclaim',
    ])
      expect(log).toContain(line);

    // Cluster Autoscaler went to zero only after the controller was verified, and its pod is gone.
    expect((await admin.request<{ spec: { replicas: number } }>('GET', CA)).spec.replicas).toBe(0);
    const caPods = await admin.request<{ items: Obj[] }>('GET', '/api/v1/namespaces/kube-system/pods', {
      query: { labelSelector: 'app.kubernetes.io/name=cluster-autoscaler' },
    });
    expect(caPods.items).toEqual([]);
  },
  LIVE_TIMEOUT,
);

test(
  'an interruption notice makes the controller replace the node, and the drift report notes it',
  async () => {
    // A workload of the test's own that only a node of the NodePool can run.
    await admin.request('POST', '/apis/apps/v1/namespaces/default/deployments', {
      body: {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: 'interrupted', namespace: 'default' },
        spec: {
          replicas: 1,
          selector: { matchLabels: { app: 'interrupted' } },
          template: {
            metadata: { labels: { app: 'interrupted' } },
            spec: {
              nodeSelector: { 'karpenter.sh/nodepool': 'default' },
              containers: [
                { name: 'pause', image: 'registry.k8s.io/pause:3.10', resources: { requests: { cpu: '1' } } },
              ],
            },
          },
        },
      },
    });
    const first = await podAndClaim('interrupted');
    const instanceId = first.claim.status.providerID!.split('/').pop()!;

    // EC2 says the instance is stopping, through the queue and rules the prereqs stage made.
    const karpenter = await admin.request<{
      spec: {
        template: { spec: { containers: { name: string; env?: { name: string; value?: string }[] }[] } };
      };
    }>('GET', '/apis/apps/v1/namespaces/kube-system/deployments/karpenter');
    const queueName = karpenter.spec.template.spec.containers
      .find((c) => c.name === 'controller')
      ?.env?.find((e) => e.name === 'INTERRUPTION_QUEUE')?.value;
    expect(queueName).toBe(cluster.name);
    const sqs = new SQSClient(awsClientConfig());
    const { QueueUrl } = await sqs.send(new GetQueueUrlCommand({ QueueName: queueName }));
    await sqs.send(
      new SendMessageCommand({
        QueueUrl,
        MessageBody: JSON.stringify({
          version: '0',
          id: 'interruption-e2e',
          'detail-type': 'EC2 Instance State-change Notification',
          source: 'aws.ec2',
          account: cluster.accountId,
          time: new Date().toISOString(),
          region: cluster.region,
          resources: [`arn:aws:ec2:${cluster.region}:${cluster.accountId}:instance/${instanceId}`],
          detail: { 'instance-id': instanceId, state: 'stopping' },
        }),
      }),
    );

    // The controller deletes the interrupted NodeClaim and the pod moves to a node it launches for it.
    await until(`NodeClaim ${first.claim.metadata.name} deleted`, async () =>
      admin.request('GET', `${NODECLAIMS}/${first.claim.metadata.name}`).then(
        () => undefined,
        (e: { code?: number }) => (e.code === 404 ? true : undefined),
      ),
    );
    const second = await podAndClaim('interrupted', first.claim.metadata.name);
    expect(second.claim.metadata.name).not.toBe(first.claim.metadata.name);

    // The drift check tells the node churn apart from configuration drift.
    const drift = await run({ command: 'drift' });
    expect(drift.outputs.drift).toBe('false');
    const notes = readPlan(drift.outputs['plan-path']!).stages.flatMap((s) => s.notes);
    expect(notes.join('\n')).toContain(
      `Karpenter replaced a node on AWS interruption notices (${first.claim.metadata.name}: InstanceStopping, TerminatingOnInterruption)`,
    );
    // The test removes its workload and its node; Karpenter drains and terminates the NodeClaim.
    await admin.request('DELETE', '/apis/apps/v1/namespaces/default/deployments/interrupted');
    await admin.request('DELETE', `${NODECLAIMS}/${second.claim.metadata.name}`);
    await until('every NodeClaim gone', async () =>
      (await admin.request<{ items: Obj[] }>('GET', NODECLAIMS)).items.length === 0 ? true : undefined,
    );
  },
  LIVE_TIMEOUT,
);

test(
  'a node class whose selector finds no subnet fails verify with Karpenter’s own reason',
  async () => {
    const file = join(workspace, 'karpenter', 'default.yaml');
    const good = readFileSync(file, 'utf8');
    writeFileSync(
      file,
      good.replace(
        /subnetSelectorTerms:\n\s+- tags:\n\s+karpenter.sh\/discovery: .*\n/,
        'subnetSelectorTerms:\n    - tags:\n        no-such-tag: anywhere\n',
      ),
    );
    try {
      // Karpenter reconciles conditions back and forth, so verify reports a failure at its deadline.
      writeConfig('verify:\n  timeoutSeconds: 20\n');
      const planned = await run({ command: 'plan', stages: 'pools,verify' });
      const applied = await run({
        command: 'apply',
        stages: 'pools,verify',
        fingerprint: planned.outputs.fingerprint!,
      });
      expect(applied.code).toBe(1);
      const report = readPlan(applied.outputs['verify-path']!);
      const failed = report.stages.flatMap((s) => s.findings).filter((f) => f.code === 'verify-failed');
      expect(failed.map((f) => f.message).join('\n')).toMatch(/SubnetsReady=False|SubnetsNotFound/);
      const nodeClass = await admin.request<Obj>('GET', '/apis/karpenter.k8s.aws/v1/ec2nodeclasses/default');
      expect(condition(nodeClass, 'SubnetsReady')?.status).toBe('False');
    } finally {
      writeFileSync(file, good);
      writeConfig();
    }
    const planned = await run({ command: 'plan', stages: 'pools,verify' });
    const fixed = await run({
      command: 'apply',
      stages: 'pools,verify',
      fingerprint: planned.outputs.fingerprint!,
    });
    expect({ code: fixed.code, log: fixed.code === 0 ? '' : fixed.stdout }).toEqual({ code: 0, log: '' });
  },
  LIVE_TIMEOUT,
);

test(
  `an upgrade to the newest release (${NEWEST}): the plan names it with its notes, the apply restarts the controller at it, the re-plan is empty and verify passes at that version`,
  async () => {
    const lease = () =>
      admin.request<{ spec: { holderIdentity?: string } }>(
        'GET',
        '/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/karpenter-leader-election',
      );
    const before = (await lease()).spec.holderIdentity;
    writeClusterConfig(workspace, cluster, {
      version: NEWEST,
      extra: 'verify:\n  timeoutSeconds: 120\n  smokeTest:\n    enabled: true\n    nodePool: default\n',
    });
    const planned = await run({ command: 'plan' });
    expect(planned.code).toBe(0);
    const plan = readPlan(planned.outputs['plan-path']!);
    const install = plan.stages.find((s) => s.stage === 'install')!;
    const release = install.changes.find((c) => c.ref === 'helm:release/kube-system/karpenter');
    expect([
      release?.action,
      release?.before,
      (release?.after as { version?: string } | undefined)?.version,
    ]).toEqual(['update', { chart: 'karpenter', version: PREVIOUS }, NEWEST]);
    // the upgrade guide's notes for the minors crossed
    expect(install.notes.join('\n')).toContain('NodePool disruption budgets gain the reason `Unhealthy`');
    // the newer release's controller policy has one more EC2 action: planned as an update
    const policyUpdates = plan.stages
      .find((s) => s.stage === 'prereqs')!
      .changes.filter((c) => c.action === 'update' && JSON.stringify(c).includes('ec2:RebootInstances'));
    expect(policyUpdates).toHaveLength(1);

    const applied = await run({ command: 'apply', fingerprint: planned.outputs.fingerprint! });
    expect({ code: applied.code, log: applied.code === 0 ? '' : applied.stdout }).toEqual({
      code: 0,
      log: '',
    });
    // Helm's own record of the releases
    expect(await helmList()).toEqual([
      ['karpenter', `karpenter-${NEWEST}`],
      ['karpenter-crd', `karpenter-crd-${NEWEST}`],
    ]);

    // The old controller stops with its pods and the new release's controller takes the leader Lease.
    await until(`the ${NEWEST} controller leading`, async () => {
      const status = (await (await fetch(`${sandbox().controlUrl}/status`)).json()) as {
        controllers: Record<string, { version: string }[] | null>;
      };
      const versions = status.controllers[cluster.name]?.map((c) => c.version);
      const holder = (await lease()).spec.holderIdentity;
      return versions?.join() === NEWEST && holder && holder !== before ? true : undefined;
    });
    const standIn = CONTROLLER_STAND_INS[NEWEST];
    expect(await controllerLog()).toContain(
      standIn
        ? `sandbox: Karpenter controller v${standIn.build} stands in for release ${NEWEST}`
        : `sandbox: Karpenter controller v${NEWEST}`,
    );

    const replanned = await run({ command: 'plan' });
    expect(replanned.code).toBe(0);
    expect(
      readPlan(replanned.outputs['plan-path']!)
        .stages.flatMap((s) => s.changes)
        .filter((c) => c.action !== 'no-op')
        .map((c) => `${c.kind} ${c.ref} ${c.action}`),
    ).toEqual([]);
    expect(replanned.outputs['has-changes']).toBe('false');

    const verified = await run({ command: 'verify' });
    expect({ code: verified.code, log: verified.code === 0 ? '' : verified.stdout }).toEqual({
      code: 0,
      log: '',
    });
    const findings = readPlan(verified.outputs['verify-path']!).stages.flatMap((s) => s.findings);
    expect(findings.find((f) => f.message.startsWith('controller Deployment'))?.message).toContain(
      `at ${NEWEST}`,
    );
    expect(findings.some((f) => f.code === 'verify-passed' && f.message.includes('Initialized'))).toBe(true);
  },
  LIVE_TIMEOUT,
);
