import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  ListQueueTagsCommand,
  QueueDoesNotExist,
  SetQueueAttributesCommand,
  TagQueueCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { diffFields } from '../../plan/field-diff.ts';
import { canonicalizePolicy, diffPolicyStatements } from '../../plan/iam-policy.ts';
import type { Change, Finding } from '../../plan/model.ts';
import type { AppliedChange } from '../types.ts';
import { buildLiveTags, sortedTags } from './tags.ts';

export interface QueueSpec {
  name: string;
  /** MessageRetentionPeriod, SqsManagedSseEnabled, ... as SQS attribute strings. */
  attributes: Record<string, string>;
  policy: Record<string, unknown>;
  tags: Record<string, string>;
}

/** What the plan compares: the attributes the spec sets and the policy, parsed and canonical. */
function comparable(attributes: Record<string, string>, keys: string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of keys) if (attributes[k] !== undefined) out[k] = attributes[k];
  if (attributes.Policy) out.Policy = canonicalizePolicy(attributes.Policy);
  return out;
}

/** Attribute changes as they are; the policy's changes per statement, as for IAM documents. */
function diffQueue(before: Record<string, unknown>, after: Record<string, unknown>) {
  const { Policy: bp, ...battrs } = before;
  const { Policy: ap, ...aattrs } = after;
  const changes = diffFields(battrs, aattrs);
  if (bp === undefined) {
    if (ap !== undefined) changes.push({ path: 'Policy', op: 'add', after: ap });
  } else {
    changes.push(...diffPolicyStatements(bp, ap ?? {}).map((f) => ({ ...f, path: `Policy.${f.path}` })));
  }
  return changes;
}

/**
 * Plans the interruption queue. A queue of that name that karpenter-action did not create is taken over
 * only when adoption is allowed; otherwise the plan says so as an error, because the action would
 * rewrite its policy.
 */
export async function planQueue(
  sqs: SQSClient,
  spec: QueueSpec,
  opts: { ownerTag: [string, string]; adopt: boolean },
): Promise<{ change: Change; findings: Finding[]; url?: string }> {
  const ref = `aws:sqs:queue/${spec.name}`;
  const desired = { ...spec.attributes, Policy: JSON.stringify(spec.policy) };
  const after = { ...comparable(desired, Object.keys(spec.attributes)), tags: sortedTags(spec.tags) };
  const base = { ref, stage: 'prereqs' as const, kind: 'SQS queue', name: spec.name };
  let url: string;
  try {
    url = (await sqs.send(new GetQueueUrlCommand({ QueueName: spec.name }))).QueueUrl!;
  } catch (e) {
    if (!(e instanceof QueueDoesNotExist)) throw e;
    return {
      change: {
        ...base,
        action: 'create',
        after,
        fieldChanges: [],
        reason: 'Karpenter reads interruption events from it',
      },
      findings: [],
    };
  }
  const [attrs, tags] = await Promise.all([
    sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['All'] })),
    sqs.send(new ListQueueTagsCommand({ QueueUrl: url })),
  ]);
  const owned = tags.Tags?.[opts.ownerTag[0]] === opts.ownerTag[1];
  const findings: Finding[] = [];
  if (!owned && !opts.adopt) {
    findings.push({
      level: 'error',
      code: 'queue-not-owned',
      message: `SQS queue ${spec.name} exists and was not created by karpenter-action`,
      fix: 'set prereqs.adopt: true to let the action take it over (its policy and attributes are then managed), or choose another prereqs.interruptionQueue',
      ref,
    });
  }
  const before = {
    ...comparable(attrs.Attributes ?? {}, Object.keys(spec.attributes)),
    tags: buildLiveTags(tags.Tags ?? {}, spec.tags),
  };
  const fieldChanges = diffQueue(before, after);
  if (fieldChanges.length === 0 && owned) {
    return {
      change: {
        ...base,
        action: 'no-op',
        fieldChanges: [],
        reason: 'matches',
      },
      findings,
      url,
    };
  }
  return {
    change: {
      ...base,
      action: 'update',
      before,
      after,
      fieldChanges,
      reason: !owned
        ? 'adopts an existing queue'
        : fieldChanges.every((f) => f.path.startsWith('tags'))
          ? 'its tags differ from the config'
          : "the queue differs from the version's template",
    },
    findings,
    url,
  };
}

/** CreateQueue, then SetQueueAttributes and TagQueue, each an idempotent upsert. */
export async function applyQueue(sqs: SQSClient, spec: QueueSpec, change: Change): Promise<AppliedChange> {
  if (change.action === 'no-op') return { ref: change.ref, action: change.action, outcome: 'skipped' };
  const attributes = { ...spec.attributes, Policy: JSON.stringify(spec.policy) };
  let url: string;
  try {
    url = (await sqs.send(new GetQueueUrlCommand({ QueueName: spec.name }))).QueueUrl!;
  } catch (e) {
    if (!(e instanceof QueueDoesNotExist)) throw e;
    await sqs.send(new CreateQueueCommand({ QueueName: spec.name, Attributes: attributes, tags: spec.tags }));
    return { ref: change.ref, action: change.action, outcome: 'done' };
  }
  await sqs.send(new SetQueueAttributesCommand({ QueueUrl: url, Attributes: attributes }));
  await sqs.send(new TagQueueCommand({ QueueUrl: url, Tags: spec.tags }));
  return { ref: change.ref, action: change.action, outcome: 'done' };
}
