import { isSeq, parseDocument, stringify, type Document } from 'yaml';

/** One `mapRoles` entry of the aws-auth ConfigMap. */
export interface RoleMapping {
  rolearn: string;
  username: string;
  groups: string[];
  [extra: string]: unknown;
}

/** The entry Karpenter's nodes need: the guides' `iamIdentityMappings` for the node role. */
export function buildNodeRoleMapping(nodeRoleArn: string): RoleMapping {
  return {
    rolearn: nodeRoleArn,
    username: 'system:node:{{EC2PrivateDNSName}}',
    groups: ['system:bootstrappers', 'system:nodes'],
  };
}

/** aws-auth matches role ARNs without their path (`role/a/b/Name` is written `role/Name`). */
export function stripRolePath(arn: string): string {
  const m = /^(arn:[^:]+:iam::\d{12}:role\/)(?:.*\/)?([^/]+)$/.exec(arn);
  return m ? `${m[1]}${m[2]}` : arn;
}

export interface MergeResult {
  /** The new `mapRoles` text, or undefined when nothing needs to change (or may be changed). */
  mapRoles: string | undefined;
  /** Why the entry changes, for the plan. */
  reason: string;
  before?: RoleMapping;
  /** Set when the role is mapped in a way this action will not overwrite (another username). */
  conflict?: string;
}

/**
 * Adds one role mapping to aws-auth's `mapRoles` (or the groups it lacks) and keeps every other entry
 * exactly as it was, in order, including keys this action does not know. A mapping of the role with
 * another username is reported, never overwritten. Idempotent: merging an entry that is already there
 * returns no change. Unparseable content is refused rather than overwritten.
 */
export function mergeRoleMapping(mapRolesText: string | undefined, want: RoleMapping): MergeResult {
  const text = mapRolesText?.trim() ? mapRolesText : '[]';
  // Edit the document, not a re-serialized copy, so comments and formatting of other entries stay.
  const doc = parseDocument(text) as unknown as Document;
  if (doc.errors.length > 0) {
    throw new Error(
      `aws-auth mapRoles is not valid YAML (${doc.errors[0]!.message.split('\n')[0]}); fix it by hand first`,
    );
  }
  if (doc.contents === null) doc.contents = doc.createNode([]);
  if (!isSeq(doc.contents)) throw new Error('aws-auth mapRoles is not a YAML list; fix it by hand first');
  const entries = doc.toJS() as unknown[];
  const target = stripRolePath(want.rolearn);
  const idx = entries.findIndex(
    (e) =>
      typeof e === 'object' && e !== null && stripRolePath(String((e as RoleMapping).rolearn)) === target,
  );
  const desired: RoleMapping = { ...want, rolearn: target };
  if (idx >= 0) {
    const cur = entries[idx] as RoleMapping;
    if (cur.username !== desired.username) {
      return {
        mapRoles: undefined,
        reason: 'mapped with another username',
        before: cur,
        conflict: `aws-auth maps ${target} as "${String(cur.username)}"; Karpenter's nodes need "${desired.username}"`,
      };
    }
    const groups = Array.isArray(cur.groups) ? cur.groups.map(String) : [];
    const missing = desired.groups.filter((g) => !groups.includes(g));
    if (missing.length === 0) return { mapRoles: undefined, reason: 'already mapped', before: cur };
    const groupsNode = doc.getIn([idx, 'groups'], true);
    if (isSeq(groupsNode)) for (const g of missing) groupsNode.add(doc.createNode(g));
    else doc.setIn([idx, 'groups'], doc.createNode([...groups, ...missing]));
    return {
      mapRoles: doc.toString({ lineWidth: 0 }),
      reason: `the node role mapping lacks the groups ${missing.join(', ')}`,
      before: cur,
    };
  }
  const seq = doc.contents;
  const firstItem = /^([ \t]*)- /m.exec(text);
  if (!seq.flow && entries.length > 0 && firstItem) {
    // A block list: append the entry as text, so every existing byte stays as it was.
    const indent = firstItem[1] ?? '';
    const item = stringify([desired], { lineWidth: 0 })
      .trimEnd()
      .split('\n')
      .map((l) => `${indent}${l}`)
      .join('\n');
    return {
      mapRoles: `${text.endsWith('\n') ? text : `${text}\n`}${item}\n`,
      reason: 'the node role is not mapped',
    };
  }
  seq.add(doc.createNode(desired));
  return { mapRoles: doc.toString({ lineWidth: 0 }), reason: 'the node role is not mapped' };
}
