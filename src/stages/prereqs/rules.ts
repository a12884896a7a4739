import {
  DescribeRuleCommand,
  ListTagsForResourceCommand,
  ListTargetsByRuleCommand,
  PutRuleCommand,
  PutTargetsCommand,
  ResourceNotFoundException,
  TagResourceCommand,
  type EventBridgeClient,
} from '@aws-sdk/client-eventbridge';
import { diffFields } from '../../plan/field-diff.ts';
import type { Change, Finding } from '../../plan/model.ts';
import type { AppliedChange } from '../types.ts';
import { buildLiveTags, readTagList, sortedTags } from './tags.ts';

import { INTERRUPTION_RULE_TARGET_ID } from '../../versions/index.ts';

/** The target id the official template gives every interruption rule. */
export const RULE_TARGET_ID = INTERRUPTION_RULE_TARGET_ID;

export interface RuleSpec {
  name: string;
  description: string;
  eventPattern: Record<string, unknown>;
}

interface RuleState {
  eventPattern: unknown;
  state: string;
  targetArn: string | undefined;
  tags: Record<string, string>;
}

const ruleRef = (name: string) => `aws:events:rule/${name}`;

/**
 * Plans the interruption rules of the target version, each sending its events to the queue. Patterns
 * are compared parsed, so formatting differences are not changes; a deleted rule, an edited pattern, a
 * disabled rule or a removed target each show up as that change.
 */
export async function planRules(
  events: EventBridgeClient,
  rules: readonly RuleSpec[],
  queueArn: string,
  own: { ownerTag: [string, string]; adopt: boolean },
  tags: Record<string, string>,
): Promise<{ changes: Change[]; findings: Finding[] }> {
  const changes: Change[] = [];
  const findings: Finding[] = [];
  for (const r of rules) {
    const after: RuleState = {
      eventPattern: r.eventPattern,
      state: 'ENABLED',
      targetArn: queueArn,
      tags: sortedTags(tags),
    };
    let before: RuleState;
    try {
      const d = await events.send(new DescribeRuleCommand({ Name: r.name }));
      const targets = await events.send(new ListTargetsByRuleCommand({ Rule: r.name }));
      const live = d.Arn
        ? await events.send(new ListTagsForResourceCommand({ ResourceARN: d.Arn }))
        : undefined;
      const owned =
        live?.Tags?.some((t) => t.Key === own.ownerTag[0] && t.Value === own.ownerTag[1]) ?? false;
      if (!owned && !own.adopt) {
        findings.push({
          level: 'error',
          code: 'rule-not-owned',
          message: `EventBridge rule ${r.name} exists and was not created by karpenter-action`,
          fix: 'set prereqs.adopt: true to let the action manage its pattern and target (nothing is deleted), or remove the rule',
          ref: ruleRef(r.name),
        });
      }
      before = {
        eventPattern: d.EventPattern ? (JSON.parse(d.EventPattern) as unknown) : undefined,
        state: d.State ?? 'ENABLED',
        targetArn: targets.Targets?.find((t) => t.Id === RULE_TARGET_ID)?.Arn,
        tags: buildLiveTags(readTagList(live?.Tags), tags),
      };
    } catch (e) {
      if (!(e instanceof ResourceNotFoundException)) throw e;
      changes.push({
        ref: ruleRef(r.name),
        stage: 'prereqs',
        kind: 'EventBridge rule',
        name: r.name,
        action: 'create',
        after,
        fieldChanges: [],
        reason: r.description,
      });
      continue;
    }
    const fieldChanges = diffFields(before, after);
    changes.push(
      fieldChanges.length === 0
        ? {
            ref: ruleRef(r.name),
            stage: 'prereqs',
            kind: 'EventBridge rule',
            name: r.name,
            action: 'no-op',
            fieldChanges: [],
            reason: 'matches',
          }
        : {
            ref: ruleRef(r.name),
            stage: 'prereqs',
            kind: 'EventBridge rule',
            name: r.name,
            action: 'update',
            before,
            after,
            fieldChanges,
            reason: fieldChanges.every((f) => f.path.startsWith('tags'))
              ? 'its tags differ from the config'
              : "the rule differs from the version's template",
          },
    );
  }
  return { changes, findings };
}

/** PutRule and PutTargets are idempotent upserts, so a repeated or resumed apply converges. */
export async function applyRule(
  events: EventBridgeClient,
  spec: RuleSpec,
  queueArn: string,
  tags: Record<string, string>,
  change: Change,
): Promise<AppliedChange> {
  if (change.action === 'no-op') return { ref: change.ref, action: change.action, outcome: 'skipped' };
  const rule = await events.send(
    new PutRuleCommand({
      Name: spec.name,
      Description: spec.description,
      EventPattern: JSON.stringify(spec.eventPattern),
      State: 'ENABLED',
      Tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })),
    }),
  );
  if (rule.RuleArn && change.action === 'update') {
    const have = await events.send(new ListTagsForResourceCommand({ ResourceARN: rule.RuleArn }));
    const missing = Object.entries(tags).filter(
      ([k, v]) => !have.Tags?.some((t) => t.Key === k && t.Value === v),
    );
    if (missing.length > 0) {
      await events.send(
        new TagResourceCommand({
          ResourceARN: rule.RuleArn,
          Tags: missing.map(([Key, Value]) => ({ Key, Value })),
        }),
      );
    }
  }
  const put = await events.send(
    new PutTargetsCommand({ Rule: spec.name, Targets: [{ Id: RULE_TARGET_ID, Arn: queueArn }] }),
  );
  if ((put.FailedEntryCount ?? 0) > 0) {
    throw new Error(
      `PutTargets for ${spec.name} failed: ${put.FailedEntries?.map((f) => f.ErrorMessage).join('; ')}`,
    );
  }
  return { ref: change.ref, action: change.action, outcome: 'done' };
}
