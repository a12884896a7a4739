/**
 * Every tag the prereqs stage writes is part of the plan: a create shows the tags it writes (so two
 * configs that differ only in `prereqs.tags` have different fingerprints), and an owned role, policy,
 * queue or rule whose tags differ from the config is planned as an update of exactly those tags and
 * applied with the tag APIs. Tags someone else added are neither shown nor removed. Against moto.
 */
import {
  DeleteRuleCommand,
  DescribeRuleCommand,
  EventBridgeClient,
  ListTagsForResourceCommand,
  RemoveTargetsCommand,
  UntagResourceCommand,
} from '@aws-sdk/client-eventbridge';
import {
  IAMClient,
  ListPolicyTagsCommand,
  ListPolicyVersionsCommand,
  ListRoleTagsCommand,
  TagRoleCommand,
  UntagPolicyCommand,
} from '@aws-sdk/client-iam';
import { GetQueueUrlCommand, ListQueueTagsCommand, SQSClient, TagQueueCommand } from '@aws-sdk/client-sqs';
import { buildFingerprint } from '../../src/plan/fingerprint.ts';
import type { Change } from '../../src/plan/model.ts';
import {
  applyPolicy,
  applyRoleChange,
  planPolicy,
  planRole,
  type RoleSpec,
} from '../../src/stages/prereqs/iam.ts';
import { buildPodIdentityTrust } from '../../src/stages/prereqs/identity.ts';
import { applyQueue, planQueue, type QueueSpec } from '../../src/stages/prereqs/queue.ts';
import { applyRule, planRules, RULE_TARGET_ID, type RuleSpec } from '../../src/stages/prereqs/rules.ts';
import { sandbox, useAwsEnv, E2E_RELEASES } from '../helpers/sandbox.ts';

const PREVIOUS = E2E_RELEASES.previous;

let restore: () => void;
beforeAll(() => {
  restore = useAwsEnv();
});
afterAll(() => restore());

const OWNER = { 'karpenter-action/managed-by': 'karpenter-action' };
const own = {
  ownerTag: ['karpenter-action/managed-by', 'karpenter-action'] as [string, string],
  adopt: false,
};
const id = () => Math.random().toString(36).slice(2, 8);
const iam = () => new IAMClient({ maxAttempts: 1 });
const tagsV1 = { ...OWNER, 'karpenter-action/cluster': 'weasel-eks', team: 'platform' };
const tagsV2 = { ...tagsV1, team: 'infra', 'cost-center': '42' };

const fingerprintOf = (changes: Change[]) =>
  buildFingerprint('weasel-eks', PREVIOUS, [{ stage: 'prereqs', changes, findings: [], notes: [] }]);

test('a role: the create shows its tags, configs differing only in tags differ in fingerprint, tag drift is planned and applied', async () => {
  const suffix = id();
  const role = (tags: Record<string, string>): RoleSpec => ({
    name: `KarpenterNode-tags-${suffix}`,
    description: 'node role',
    trust: buildPodIdentityTrust(),
    attach: [],
    tags,
  });
  const a = await planRole(iam(), role(tagsV1), own);
  const b = await planRole(iam(), role(tagsV2), own);
  expect(a.changes[0]).toMatchObject({ action: 'create', after: { tags: tagsV1 } });
  expect(fingerprintOf(a.changes)).not.toBe(fingerprintOf(b.changes));

  await applyRoleChange(iam(), role(tagsV1), a.changes[0]!);
  await iam().send(
    new TagRoleCommand({ RoleName: role(tagsV1).name, Tags: [{ Key: 'added-by-someone', Value: 'x' }] }),
  );
  expect((await planRole(iam(), role(tagsV1), own)).changes[0]?.action).toBe('no-op');

  const drift = (await planRole(iam(), role(tagsV2), own)).changes[0]!;
  expect(drift).toMatchObject({ action: 'update', reason: 'its tags differ from the config' });
  expect(drift.fieldChanges).toEqual([
    { path: 'tags["cost-center"]', op: 'add', after: '42' },
    { path: 'tags.team', op: 'change', before: 'platform', after: 'infra' },
  ]);
  await applyRoleChange(iam(), role(tagsV2), drift);
  const live = (await iam().send(new ListRoleTagsCommand({ RoleName: role(tagsV2).name }))).Tags ?? [];
  expect(Object.fromEntries(live.map((t) => [t.Key, t.Value]))).toEqual({
    ...tagsV2,
    'added-by-someone': 'x',
  });
  expect((await planRole(iam(), role(tagsV2), own)).changes[0]?.action).toBe('no-op');
});

test('a policy: a removed tag comes back without a new policy version', async () => {
  const name = `KarpenterControllerPolicy-tags-${id()}`;
  const spec = {
    name,
    arn: `arn:aws:iam::123456789012:policy/${name}`,
    description: 'controller permissions',
    document: {
      Version: '2012-10-17',
      Statement: [{ Sid: 'Read', Effect: 'Allow', Action: ['ec2:DescribeImages'], Resource: '*' }],
    },
    tags: tagsV1,
  };
  const create = (await planPolicy(iam(), spec, own)).change;
  expect(create).toMatchObject({ action: 'create', after: { tags: tagsV1 } });
  await applyPolicy(iam(), spec, create);
  await iam().send(new UntagPolicyCommand({ PolicyArn: spec.arn, TagKeys: ['team'] }));

  const drift = (await planPolicy(iam(), spec, own)).change;
  expect(drift).toMatchObject({ action: 'update', reason: 'its tags differ from the config' });
  expect(drift.fieldChanges).toEqual([{ path: 'tags.team', op: 'add', after: 'platform' }]);
  await applyPolicy(iam(), spec, drift);
  const live = (await iam().send(new ListPolicyTagsCommand({ PolicyArn: spec.arn }))).Tags ?? [];
  expect(Object.fromEntries(live.map((t) => [t.Key, t.Value]))).toEqual(tagsV1);
  const versions = (await iam().send(new ListPolicyVersionsCommand({ PolicyArn: spec.arn }))).Versions ?? [];
  expect(versions).toHaveLength(1);
  expect((await planPolicy(iam(), spec, own)).change.action).toBe('no-op');
});

test('the interruption queue: tags in the create, a changed tag planned and applied', async () => {
  const sqs = new SQSClient({ endpoint: sandbox().motoUrl });
  const name = `Karpenter-tags-${id()}`;
  const spec = (tags: Record<string, string>): QueueSpec => ({
    name,
    attributes: { MessageRetentionPeriod: '300' },
    policy: {
      Version: '2012-10-17',
      Statement: [
        {
          Effect: 'Allow',
          Principal: { Service: ['events.amazonaws.com'] },
          Action: 'sqs:SendMessage',
          Resource: `arn:aws:sqs:us-east-1:123456789012:${name}`,
        },
      ],
    },
    tags,
  });
  const create = (await planQueue(sqs, spec(tagsV1), own)).change;
  expect(create).toMatchObject({ action: 'create', after: { tags: tagsV1 } });
  await applyQueue(sqs, spec(tagsV1), create);
  const url = (await sqs.send(new GetQueueUrlCommand({ QueueName: name }))).QueueUrl!;
  await sqs.send(new TagQueueCommand({ QueueUrl: url, Tags: { 'added-by-someone': 'x' } }));
  expect((await planQueue(sqs, spec(tagsV1), own)).change.action).toBe('no-op');

  const drift = (await planQueue(sqs, spec(tagsV2), own)).change;
  expect(drift).toMatchObject({ action: 'update', reason: 'its tags differ from the config' });
  expect(drift.fieldChanges).toEqual([
    { path: 'tags["cost-center"]', op: 'add', after: '42' },
    { path: 'tags.team', op: 'change', before: 'platform', after: 'infra' },
  ]);
  await applyQueue(sqs, spec(tagsV2), drift);
  expect((await sqs.send(new ListQueueTagsCommand({ QueueUrl: url }))).Tags).toEqual({
    ...tagsV2,
    'added-by-someone': 'x',
  });
  expect((await planQueue(sqs, spec(tagsV2), own)).change.action).toBe('no-op');
});

test('an interruption rule: a removed tag is planned and put back', async () => {
  const events = new EventBridgeClient({});
  const rule: RuleSpec = {
    name: `Karpenter-tags-${id()}`,
    description: 'test events',
    // a pattern no other test sends, so events other tests put never reach this rule's missing queue
    eventPattern: { source: ['karpenter-action.tests'], 'detail-type': [`tag drift ${id()}`] },
  };
  const queueArn = 'arn:aws:sqs:us-east-1:123456789012:Karpenter-tags';
  const [create] = (await planRules(events, [rule], queueArn, own, tagsV1)).changes;
  expect(create).toMatchObject({ action: 'create', after: { tags: tagsV1 } });
  await applyRule(events, rule, queueArn, tagsV1, create!);
  const arn = (await events.send(new DescribeRuleCommand({ Name: rule.name }))).Arn!;
  await events.send(new UntagResourceCommand({ ResourceARN: arn, TagKeys: ['team'] }));

  const [drift] = (await planRules(events, [rule], queueArn, own, tagsV1)).changes;
  expect(drift).toMatchObject({ action: 'update', reason: 'its tags differ from the config' });
  expect(drift!.fieldChanges).toEqual([{ path: 'tags.team', op: 'add', after: 'platform' }]);
  await applyRule(events, rule, queueArn, tagsV1, drift!);
  const live = (await events.send(new ListTagsForResourceCommand({ ResourceARN: arn }))).Tags ?? [];
  expect(Object.fromEntries(live.map((t) => [t.Key, t.Value]))).toEqual(tagsV1);
  expect((await planRules(events, [rule], queueArn, own, tagsV1)).changes[0]?.action).toBe('no-op');
  await events.send(new RemoveTargetsCommand({ Rule: rule.name, Ids: [RULE_TARGET_ID] }));
  await events.send(new DeleteRuleCommand({ Name: rule.name }));
});
