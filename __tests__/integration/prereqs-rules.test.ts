/** Interruption rules against moto: created with their queue target, and each kind of drift shown precisely. */
import {
  DeleteRuleCommand,
  DisableRuleCommand,
  EventBridgeClient,
  ListTargetsByRuleCommand,
  PutEventsCommand,
  PutRuleCommand,
  RemoveTargetsCommand,
} from '@aws-sdk/client-eventbridge';
import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { applyRule, planRules, RULE_TARGET_ID, type RuleSpec } from '../../src/stages/prereqs/rules.ts';
import { sandbox, useAwsEnv } from '../helpers/sandbox.ts';

let restore: () => void;
beforeAll(() => {
  restore = useAwsEnv();
});
afterAll(() => restore());

const suffix = Math.random().toString(36).slice(2, 8);
const spec = (name: string, source: string, detailType: string): RuleSpec => ({
  name: `Karpenter-${suffix}-${name}`,
  description: `${detailType} events for Karpenter`,
  eventPattern: { source: [source], 'detail-type': [detailType] },
});
const RULES = [
  spec('ScheduledChange', 'aws.health', 'AWS Health Event'),
  spec('SpotInterruption', 'aws.ec2', 'EC2 Spot Instance Interruption Warning'),
  spec('Rebalance', 'aws.ec2', 'EC2 Instance Rebalance Recommendation'),
  spec('InstanceStateChange', 'aws.ec2', 'EC2 Instance State-change Notification'),
];
const tags = { 'karpenter-action/managed-by': 'karpenter-action' };
const own = {
  ownerTag: ['karpenter-action/managed-by', 'karpenter-action'] as [string, string],
  adopt: false,
};
const plan = async (events: EventBridgeClient, arn: string, o = own) =>
  (await planRules(events, RULES, arn, o, tags)).changes;

test('rules are created, deliver to the queue, and each drift is exactly one change', async () => {
  const events = new EventBridgeClient({});
  const sqs = new SQSClient({ endpoint: sandbox().motoUrl });
  const q = await sqs.send(new CreateQueueCommand({ QueueName: `rules-${suffix}` }));
  const arn = (
    await sqs.send(new GetQueueAttributesCommand({ QueueUrl: q.QueueUrl!, AttributeNames: ['QueueArn'] }))
  ).Attributes!.QueueArn!;

  const first = await plan(events, arn);
  expect(first.map((c) => c.action)).toEqual(['create', 'create', 'create', 'create']);
  for (const [i, c] of first.entries()) await applyRule(events, RULES[i]!, arn, tags, c);
  expect((await plan(events, arn)).every((c) => c.action === 'no-op')).toBe(true);
  expect((await planRules(events, RULES, arn, own, tags)).findings).toEqual([]);

  // the plumbing works: a Spot interruption warning lands in the queue
  await events.send(
    new PutEventsCommand({
      Entries: [
        {
          Source: 'aws.ec2',
          DetailType: 'EC2 Spot Instance Interruption Warning',
          Detail: '{"instance-id":"i-1"}',
        },
      ],
    }),
  );
  const msg = await sqs.send(new ReceiveMessageCommand({ QueueUrl: q.QueueUrl!, WaitTimeSeconds: 1 }));
  expect(msg.Messages?.[0]?.Body).toContain('EC2 Spot Instance Interruption Warning');

  // drift: a deleted rule, an edited pattern, a removed target, a disabled rule
  await events.send(new RemoveTargetsCommand({ Rule: RULES[0]!.name, Ids: [RULE_TARGET_ID] }));
  await events.send(new DeleteRuleCommand({ Name: RULES[0]!.name }));
  await events.send(
    new PutRuleCommand({ Name: RULES[1]!.name, EventPattern: JSON.stringify({ source: ['aws.ec2'] }) }),
  );
  await events.send(new RemoveTargetsCommand({ Rule: RULES[2]!.name, Ids: [RULE_TARGET_ID] }));
  await events.send(new DisableRuleCommand({ Name: RULES[3]!.name }));
  const drift = await plan(events, arn);
  expect(drift.map((c) => c.action)).toEqual(['create', 'update', 'update', 'update']);
  expect(drift[1]!.fieldChanges.map((f) => f.path)).toEqual(['eventPattern["detail-type"]']);
  expect(drift[2]!.fieldChanges).toEqual([{ path: 'targetArn', op: 'add', after: arn }]);
  expect(drift[3]!.fieldChanges).toEqual([
    { path: 'state', op: 'change', before: 'DISABLED', after: 'ENABLED' },
  ]);
  for (const [i, c] of drift.entries()) await applyRule(events, RULES[i]!, arn, tags, c);
  expect((await plan(events, arn)).every((c) => c.action === 'no-op')).toBe(true);
  expect((await events.send(new ListTargetsByRuleCommand({ Rule: RULES[2]!.name }))).Targets).toEqual([
    expect.objectContaining({ Id: RULE_TARGET_ID, Arn: arn }),
  ]);
});

test('a rule of that name the action did not create is an error unless adoption is allowed', async () => {
  const events = new EventBridgeClient({});
  const foreign = spec('Foreign', 'aws.ec2', 'EC2 Instance Rebalance Recommendation');
  foreign.name = `Karpenter-${suffix}-foreign-${Math.random().toString(36).slice(2, 6)}`;
  await events.send(
    new PutRuleCommand({ Name: foreign.name, EventPattern: JSON.stringify(foreign.eventPattern) }),
  );
  const arn = 'arn:aws:sqs:us-east-1:123456789012:nowhere';
  const refused = await planRules(events, [foreign], arn, own, tags);
  expect(refused.findings.map((f) => [f.level, f.code])).toEqual([['error', 'rule-not-owned']]);
  expect((await planRules(events, [foreign], arn, { ...own, adopt: true }, tags)).findings).toEqual([]);
});
