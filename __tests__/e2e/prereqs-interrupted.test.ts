/**
 * Faults in the middle of a prereqs apply, through the bundled action, in a moto account of its own.
 * The sandbox's moto fails chosen calls (sandbox/moto/faults.py): throttling that the SDK's retries
 * absorb does not stop the apply; a hard failure between two writes of one resource (the first rule
 * created, its queue target refused) stops it, and the next run completes exactly the rest, with
 * nothing duplicated and nothing lost.
 */
import { rmSync } from 'node:fs';
import { EKSClient, ListAccessEntriesCommand, ListPodIdentityAssociationsCommand } from '@aws-sdk/client-eks';
import { EventBridgeClient, ListRulesCommand, ListTargetsByRuleCommand } from '@aws-sdk/client-eventbridge';
import { GetAccountAuthorizationDetailsCommand, IAMClient } from '@aws-sdk/client-iam';
import { ListQueuesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { injectFault, listFaults, removeFault } from '../../sandbox/lib/faults.ts';
import { NODECLASS, NODEPOOL } from '../helpers/karpenter-manifests.ts';
import { readPlan, actionable, runAction } from '../helpers/run-action.ts';
import { deleteCluster, type ClusterInfo } from '../helpers/sandbox.ts';
import { createWorkspace, newAccountCluster, writeClusterConfig } from '../helpers/workspace.ts';

let cluster: ClusterInfo;
let workspace: string;
let env: Record<string, string>;
let account: string;
const faultIds: string[] = [];

const run = (inputs: Record<string, string>) =>
  runAction({ inputs: { stages: 'prereqs', ...inputs }, env, workspace });
const clientConfig = () => ({
  region: cluster.region,
  endpoint: env.AWS_ENDPOINT_URL,
  credentials: {
    accessKeyId: env.AWS_ACCESS_KEY_ID!,
    secretAccessKey: env.AWS_SECRET_ACCESS_KEY!,
    sessionToken: env.AWS_SESSION_TOKEN!,
  },
});

beforeAll(async () => {
  ({ cluster, env, account } = await newAccountCluster());
  workspace = createWorkspace({ 'nodepool.yaml': NODEPOOL, 'nodeclass.yaml': NODECLASS });
  writeClusterConfig(workspace, cluster);
});
afterAll(async () => {
  await Promise.all(faultIds.map((id) => removeFault(id)));
  await deleteCluster(cluster.name);
  rmSync(workspace, { recursive: true, force: true });
});

test('a failure between two writes stops apply; the next run completes the rest, once', async () => {
  const name = cluster.name;
  const first = await run({ command: 'plan' });
  expect(first.code).toBe(0);
  const plan1 = readPlan(first.outputs['plan-path']!);
  const refs = actionable(plan1).map((c) => c.ref);
  const firstRule = `aws:events:rule/Karpenter-${name}-ScheduledChangeRule`;
  expect(refs).toContain(firstRule);

  // Throttled twice on CreateQueue: the SDK's retries absorb it. Refused once on PutTargets, which is
  // not retried: the first rule exists, its target does not.
  const throttled = await injectFault({
    operation: 'CreateQueue',
    count: 2,
    status: 400,
    code: 'RequestThrottled',
    accountId: account,
    service: 'sqs',
  });
  const refused = await injectFault({
    operation: 'PutTargets',
    count: 1,
    status: 400,
    code: 'AccessDeniedException',
    message: 'not authorized to perform events:PutTargets',
    accountId: account,
    service: 'events',
  });
  faultIds.push(throttled.id, refused.id);

  const broken = await run({ command: 'apply', fingerprint: first.outputs.fingerprint! });
  expect(broken.code).toBe(1);
  expect(broken.stdout).toContain('apply of stage prereqs failed');
  expect(broken.stdout).toContain('AccessDeniedException: not authorized to perform events:PutTargets');
  const faults = await listFaults();
  expect(faults.find((f) => f.id === throttled.id)?.hits).toHaveLength(2);
  expect(faults.find((f) => f.id === refused.id)?.hits).toHaveLength(1);

  // The next plan is exactly what is left: the first rule lacks its target, the rest is not there yet.
  const resumed = await run({ command: 'plan' });
  const left = actionable(readPlan(resumed.outputs['plan-path']!));
  const rest = refs.slice(refs.indexOf(firstRule));
  expect(left.map((c) => c.ref)).toEqual(rest);
  expect(left[0]).toMatchObject({ action: 'update' });
  expect(left[0]!.fieldChanges).toEqual([
    {
      path: 'targetArn',
      op: 'add',
      after: `arn:aws:sqs:${cluster.region}:${account}:${name}`,
    },
  ]);
  expect(left.slice(1).every((c) => c.action === 'create')).toBe(true);

  const completed = await run({ command: 'apply', fingerprint: resumed.outputs.fingerprint! });
  expect(completed.stdout).not.toContain('::error::');
  expect(completed.code).toBe(0);
  const clean = await run({ command: 'plan' });
  expect(actionable(readPlan(clean.outputs['plan-path']!))).toEqual([]);

  // Nothing duplicated: one version per policy, each attachment once, one queue, one target per rule,
  // one association, one access entry for the node role.
  const iam = new IAMClient(clientConfig());
  const details = await iam.send(
    new GetAccountAuthorizationDetailsCommand({ Filter: ['Role', 'LocalManagedPolicy'] }),
  );
  const ours = (details.Policies ?? []).filter((p) => p.Arn?.includes(`:policy/KarpenterController`));
  expect(ours).toHaveLength(6);
  for (const p of ours) expect(p.PolicyVersionList).toHaveLength(1);
  const ctrl = details.RoleDetailList?.find((r) => r.RoleName === `${name}-karpenter`);
  expect(ctrl?.AttachedManagedPolicies).toHaveLength(6);
  const queues = await new SQSClient(clientConfig()).send(new ListQueuesCommand({ QueueNamePrefix: name }));
  expect(queues.QueueUrls).toHaveLength(1);
  const events = new EventBridgeClient(clientConfig());
  const rules = (await events.send(new ListRulesCommand({ NamePrefix: `Karpenter-${name}-` }))).Rules ?? [];
  expect(rules).toHaveLength(5);
  for (const r of rules) {
    const t = await events.send(new ListTargetsByRuleCommand({ Rule: r.Name }));
    expect(t.Targets).toHaveLength(1);
  }
  const eks = new EKSClient(clientConfig());
  const assoc = await eks.send(new ListPodIdentityAssociationsCommand({ clusterName: name }));
  expect(assoc.associations).toHaveLength(1);
  const entries = await eks.send(new ListAccessEntriesCommand({ clusterName: name }));
  expect(entries.accessEntries?.filter((a) => a.endsWith(`:role/KarpenterNodeRole-${name}`))).toHaveLength(1);
});
