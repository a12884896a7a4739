import {
  AttachRolePolicyCommand,
  CreatePolicyCommand,
  CreatePolicyVersionCommand,
  CreateRoleCommand,
  DeletePolicyVersionCommand,
  GetPolicyCommand,
  GetPolicyVersionCommand,
  GetRoleCommand,
  ListAttachedRolePoliciesCommand,
  ListPolicyVersionsCommand,
  NoSuchEntityException,
  TagPolicyCommand,
  TagRoleCommand,
  UpdateAssumeRolePolicyCommand,
  type IAMClient,
  type Role,
} from '@aws-sdk/client-iam';
import { canonicalizePolicy, diffPolicyStatements, policiesEqual } from '../../plan/iam-policy.ts';
import type { Change, Finding } from '../../plan/model.ts';
import type { AppliedChange } from '../types.ts';
import { diffFields } from '../../plan/field-diff.ts';
import { buildLiveTags, evaluateTagDrift, readTagList, sortedTags } from './tags.ts';

export interface RoleSpec {
  name: string;
  description: string;
  trust: Record<string, unknown>;
  /** Policies that must be attached (AWS-managed or the action's own); others a person attached are left alone. */
  attach: string[];
  tags: Record<string, string>;
}

export interface PolicySpec {
  name: string;
  arn: string;
  description: string;
  document: Record<string, unknown>;
  tags: Record<string, string>;
}

export interface Ownership {
  ownerTag: [string, string];
  adopt: boolean;
}

const roleRef = (name: string) => `aws:iam:role/${name}`;
const attachRef = (role: string, arn: string) =>
  `aws:iam:role/${role}/policy/${arn.split(':policy/')[1] ?? arn}`;
const policyRef = (name: string) => `aws:iam:policy/${name}`;
const tagList = (tags: Record<string, string>) =>
  Object.entries(tags).map(([Key, Value]) => ({ Key, Value }));

/**
 * Plans a role: its trust policy (compared parsed) and each required attachment as its own change, so
 * a detached policy shows up as exactly that. A role karpenter-action did not create is only taken
 * over when adoption is allowed.
 */
export async function planRole(
  iam: IAMClient,
  spec: RoleSpec,
  own: Ownership,
): Promise<{ changes: Change[]; findings: Finding[] }> {
  const findings: Finding[] = [];
  let role: Role | undefined;
  try {
    role = (await iam.send(new GetRoleCommand({ RoleName: spec.name }))).Role;
  } catch (e) {
    if (!(e instanceof NoSuchEntityException)) throw e;
  }
  const changes: Change[] = [];
  const base = { stage: 'prereqs' as const, kind: 'IAM role', name: spec.name };
  if (!role) {
    changes.push({
      ...base,
      ref: roleRef(spec.name),
      action: 'create',
      after: { trust: canonicalizePolicy(spec.trust), tags: sortedTags(spec.tags) },
      fieldChanges: [],
      reason: spec.description,
    });
    for (const arn of spec.attach) {
      changes.push({
        ref: attachRef(spec.name, arn),
        stage: 'prereqs',
        kind: 'IAM role policy attachment',
        name: `${spec.name} ← ${arn}`,
        action: 'create',
        after: { policyArn: arn },
        fieldChanges: [],
        reason: 'attached at creation',
      });
    }
    return { changes, findings };
  }
  const owned = role.Tags?.some((t) => t.Key === own.ownerTag[0] && t.Value === own.ownerTag[1]) ?? false;
  if (!owned && !own.adopt) {
    findings.push({
      level: 'error',
      code: 'role-not-owned',
      message: `IAM role ${spec.name} exists and was not created by karpenter-action`,
      fix: 'set prereqs.adopt: true to let the action manage its trust and attachments (nothing is deleted), or choose another role name',
      ref: roleRef(spec.name),
    });
  }
  const trustChanged = !policiesEqual(role.AssumeRolePolicyDocument ?? '{}', spec.trust);
  const liveTags = readTagList(role.Tags);
  const tagsChanged = evaluateTagDrift(liveTags, spec.tags);
  if (trustChanged || !owned || tagsChanged) {
    const tags = { before: buildLiveTags(liveTags, spec.tags), after: sortedTags(spec.tags) };
    changes.push({
      ...base,
      ref: roleRef(spec.name),
      action: 'update',
      before: { trust: canonicalizePolicy(role.AssumeRolePolicyDocument ?? '{}'), tags: tags.before },
      after: { trust: canonicalizePolicy(spec.trust), tags: tags.after },
      fieldChanges: [
        ...(trustChanged
          ? diffPolicyStatements(role.AssumeRolePolicyDocument ?? '{}', spec.trust).map((f) => ({
              ...f,
              path: `trust.${f.path}`,
            }))
          : []),
        ...diffFields({ tags: tags.before }, { tags: tags.after }),
      ],
      reason: !owned
        ? 'adopts an existing role'
        : trustChanged
          ? 'its trust policy differs'
          : 'its tags differ from the config',
    });
  } else {
    changes.push({ ...base, ref: roleRef(spec.name), action: 'no-op', fieldChanges: [], reason: 'matches' });
  }
  const attached = new Set<string>();
  let marker: string | undefined;
  do {
    const page = await iam.send(new ListAttachedRolePoliciesCommand({ RoleName: spec.name, Marker: marker }));
    for (const p of page.AttachedPolicies ?? []) if (p.PolicyArn) attached.add(p.PolicyArn);
    marker = page.IsTruncated ? page.Marker : undefined;
  } while (marker);
  for (const arn of spec.attach) {
    const ref = attachRef(spec.name, arn);
    const name = `${spec.name} ← ${arn}`;
    changes.push(
      attached.has(arn)
        ? {
            ref,
            stage: 'prereqs',
            kind: 'IAM role policy attachment',
            name,
            action: 'no-op',
            fieldChanges: [],
            reason: 'attached',
          }
        : {
            ref,
            stage: 'prereqs',
            kind: 'IAM role policy attachment',
            name,
            action: 'create',
            after: { policyArn: arn },
            fieldChanges: [],
            reason: 'the policy is not attached',
          },
    );
  }
  return { changes, findings };
}

/** Plans a customer-managed policy; an update shows the statement-level diff against its default version. */
export async function planPolicy(
  iam: IAMClient,
  spec: PolicySpec,
  own: Ownership,
): Promise<{ change: Change; findings: Finding[] }> {
  const base = { ref: policyRef(spec.name), stage: 'prereqs' as const, kind: 'IAM policy', name: spec.name };
  let version: string | undefined;
  let owned: boolean;
  let liveTags: Record<string, string>;
  try {
    const p = (await iam.send(new GetPolicyCommand({ PolicyArn: spec.arn }))).Policy;
    version = p?.DefaultVersionId;
    owned = p?.Tags?.some((t) => t.Key === own.ownerTag[0] && t.Value === own.ownerTag[1]) ?? false;
    liveTags = readTagList(p?.Tags);
  } catch (e) {
    if (!(e instanceof NoSuchEntityException)) throw e;
    return {
      change: {
        ...base,
        action: 'create',
        after: { ...canonicalizePolicy(spec.document), tags: sortedTags(spec.tags) },
        fieldChanges: [],
        reason: spec.description,
      },
      findings: [],
    };
  }
  const findings: Finding[] = [];
  if (!owned && !own.adopt) {
    findings.push({
      level: 'error',
      code: 'policy-not-owned',
      message: `IAM policy ${spec.name} exists and was not created by karpenter-action`,
      fix: 'set prereqs.adopt: true to let the action manage its document, or remove it',
      ref: base.ref,
    });
  }
  const doc =
    (await iam.send(new GetPolicyVersionCommand({ PolicyArn: spec.arn, VersionId: version }))).PolicyVersion
      ?.Document ?? '{}';
  const same = policiesEqual(doc, spec.document);
  const tagsChanged = evaluateTagDrift(liveTags, spec.tags);
  if (same && owned && !tagsChanged)
    return { change: { ...base, action: 'no-op', fieldChanges: [], reason: 'matches' }, findings };
  const tags = { before: buildLiveTags(liveTags, spec.tags), after: sortedTags(spec.tags) };
  return {
    change: {
      ...base,
      action: 'update',
      before: { ...canonicalizePolicy(doc), tags: tags.before },
      after: { ...canonicalizePolicy(spec.document), tags: tags.after },
      fieldChanges: [
        ...(same ? [] : diffPolicyStatements(doc, spec.document)),
        ...diffFields({ tags: tags.before }, { tags: tags.after }),
      ],
      reason: !owned
        ? 'adopts an existing policy'
        : same
          ? 'its tags differ from the config'
          : "its document differs from the version's template",
    },
    findings,
  };
}

export async function applyPolicy(iam: IAMClient, spec: PolicySpec, change: Change): Promise<AppliedChange> {
  if (change.action === 'no-op') return { ref: change.ref, action: change.action, outcome: 'skipped' };
  const document = JSON.stringify(spec.document);
  if (change.action === 'create') {
    try {
      await iam.send(
        new CreatePolicyCommand({
          PolicyName: spec.name,
          PolicyDocument: document,
          Description: spec.description,
          Tags: tagList(spec.tags),
        }),
      );
      return { ref: change.ref, action: change.action, outcome: 'done' };
    } catch (e) {
      // A run interrupted after CreatePolicy: bring the existing one up to date instead.
      if ((e as Error).name !== 'EntityAlreadyExistsException') throw e;
    }
  }
  if (change.action === 'update' && change.fieldChanges.every((f) => f.path.startsWith('tags'))) {
    // The document already matches (adoption, or tags changed in the config): only the tags change.
    await iam.send(new TagPolicyCommand({ PolicyArn: spec.arn, Tags: tagList(spec.tags) }));
    return { ref: change.ref, action: change.action, outcome: 'done' };
  }
  // IAM keeps at most five versions: drop the oldest non-default one first.
  const versions = (await iam.send(new ListPolicyVersionsCommand({ PolicyArn: spec.arn }))).Versions ?? [];
  if (versions.length >= 5) {
    const oldest = versions
      .filter((v) => !v.IsDefaultVersion)
      .sort((a, b) => (a.CreateDate?.getTime() ?? 0) - (b.CreateDate?.getTime() ?? 0))[0];
    if (oldest?.VersionId)
      await iam.send(new DeletePolicyVersionCommand({ PolicyArn: spec.arn, VersionId: oldest.VersionId }));
  }
  await iam.send(
    new CreatePolicyVersionCommand({ PolicyArn: spec.arn, PolicyDocument: document, SetAsDefault: true }),
  );
  await iam.send(new TagPolicyCommand({ PolicyArn: spec.arn, Tags: tagList(spec.tags) }));
  return { ref: change.ref, action: change.action, outcome: 'done' };
}

/** Applies one role change or attachment; each call is safe to repeat after an interrupted run. */
export async function applyRoleChange(
  iam: IAMClient,
  spec: RoleSpec,
  change: Change,
): Promise<AppliedChange> {
  const done: AppliedChange = { ref: change.ref, action: change.action, outcome: 'done' };
  if (change.action === 'no-op') return { ...done, outcome: 'skipped' };
  if (change.kind === 'IAM role policy attachment') {
    const arn = (change.after as { policyArn: string }).policyArn;
    await iam.send(new AttachRolePolicyCommand({ RoleName: spec.name, PolicyArn: arn }));
    return done;
  }
  const trust = JSON.stringify(spec.trust);
  if (change.action === 'create') {
    try {
      await iam.send(
        new CreateRoleCommand({
          RoleName: spec.name,
          AssumeRolePolicyDocument: trust,
          Description: spec.description,
          Tags: tagList(spec.tags),
        }),
      );
      return done;
    } catch (e) {
      if ((e as Error).name !== 'EntityAlreadyExistsException') throw e;
    }
  }
  await iam.send(new UpdateAssumeRolePolicyCommand({ RoleName: spec.name, PolicyDocument: trust }));
  await iam.send(new TagRoleCommand({ RoleName: spec.name, Tags: tagList(spec.tags) }));
  return done;
}
