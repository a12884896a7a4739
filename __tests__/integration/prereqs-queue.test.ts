/** The interruption queue against moto: created with its policy, drift in policy or attributes shown, foreign queues not taken. */
import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  SetQueueAttributesCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { applyQueue, planQueue, type QueueSpec } from '../../src/stages/prereqs/queue.ts';
import { sandbox, useAwsEnv } from '../helpers/sandbox.ts';

let restore: () => void;
beforeAll(() => {
  restore = useAwsEnv();
});
afterAll(() => restore());

const owner: [string, string] = ['karpenter-action/managed-by', 'karpenter-action'];
const spec = (name: string): QueueSpec => ({
  name,
  attributes: { MessageRetentionPeriod: '300', SqsManagedSseEnabled: 'true' },
  policy: {
    Version: '2012-10-17',
    Id: 'EC2InterruptionPolicy',
    Statement: [
      {
        Effect: 'Allow',
        Principal: { Service: ['events.amazonaws.com', 'sqs.amazonaws.com'] },
        Action: 'sqs:SendMessage',
        Resource: `arn:aws:sqs:us-east-1:123456789012:${name}`,
      },
      {
        Sid: 'DenyHTTP',
        Effect: 'Deny',
        Action: 'sqs:*',
        Resource: `arn:aws:sqs:us-east-1:123456789012:${name}`,
        Condition: { Bool: { 'aws:SecureTransport': false } },
        Principal: '*',
      },
    ],
  },
  tags: { [owner[0]]: owner[1] },
});
const sqs = () => new SQSClient({ endpoint: sandbox().motoUrl });

test('created once; an edited policy and retention are exactly those changes; apply converges', async () => {
  const s = spec(`q-${Math.random().toString(36).slice(2, 8)}`);
  const first = await planQueue(sqs(), s, { ownerTag: owner, adopt: false });
  expect(first.change.action).toBe('create');
  await applyQueue(sqs(), s, first.change);
  const again = await planQueue(sqs(), s, { ownerTag: owner, adopt: false });
  expect(again.change.action).toBe('no-op');

  const url = (await sqs().send(new GetQueueUrlCommand({ QueueName: s.name }))).QueueUrl!;
  const edited = structuredClone(s.policy) as { Statement: { Sid?: string }[] };
  edited.Statement = edited.Statement.filter((st) => st.Sid !== 'DenyHTTP');
  await sqs().send(
    new SetQueueAttributesCommand({
      QueueUrl: url,
      Attributes: { Policy: JSON.stringify(edited), MessageRetentionPeriod: '600' },
    }),
  );
  const drift = await planQueue(sqs(), s, { ownerTag: owner, adopt: false });
  expect(drift.change.action).toBe('update');
  expect(drift.change.fieldChanges.map((f) => f.path)).toEqual([
    'MessageRetentionPeriod',
    'Policy.Statement[DenyHTTP]',
  ]);
  await applyQueue(sqs(), s, drift.change);
  expect((await planQueue(sqs(), s, { ownerTag: owner, adopt: false })).change.action).toBe('no-op');
  const attrs = await sqs().send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['All'] }));
  expect(JSON.parse(attrs.Attributes!.Policy!)).toEqual(s.policy);
});

test('a queue the action did not create is an error unless adoption is allowed', async () => {
  const s = spec(`foreign-${Math.random().toString(36).slice(2, 8)}`);
  await sqs().send(new CreateQueueCommand({ QueueName: s.name }));
  const refused = await planQueue(sqs(), s, { ownerTag: owner, adopt: false });
  expect(refused.findings).toEqual([expect.objectContaining({ level: 'error', code: 'queue-not-owned' })]);
  const adopted = await planQueue(sqs(), s, { ownerTag: owner, adopt: true });
  expect(adopted.findings).toEqual([]);
  expect(adopted.change).toMatchObject({ action: 'update', reason: 'adopts an existing queue' });
  await applyQueue(sqs(), s, adopted.change);
  expect((await planQueue(sqs(), s, { ownerTag: owner, adopt: false })).change.action).toBe('no-op');
});
