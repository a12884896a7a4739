import { parse } from 'yaml';
import { buildNodeRoleMapping, mergeRoleMapping, stripRolePath } from '../../src/stages/prereqs/aws-auth.ts';

const NODE = 'arn:aws:iam::123456789012:role/KarpenterNodeRole-weasel';
const EXISTING = `- rolearn: arn:aws:iam::123456789012:role/weasel-nodegroup
  username: system:node:{{EC2PrivateDNSName}}
  groups:
    - system:bootstrappers
    - system:nodes
- rolearn: arn:aws:iam::123456789012:role/ci-admin
  username: ci
  groups: [system:masters]
  extraKey: kept
`;

test('adds the node role and keeps every other entry, keys included, in order', () => {
  const r = mergeRoleMapping(EXISTING, buildNodeRoleMapping(NODE));
  expect(r.reason).toBe('the node role is not mapped');
  const entries = parse(r.mapRoles!) as Record<string, unknown>[];
  expect(entries).toHaveLength(3);
  expect(entries[0]).toEqual((parse(EXISTING) as unknown[])[0]);
  expect(entries[1]).toEqual({
    rolearn: 'arn:aws:iam::123456789012:role/ci-admin',
    username: 'ci',
    groups: ['system:masters'],
    extraKey: 'kept',
  });
  expect(entries[2]).toEqual({
    rolearn: NODE,
    username: 'system:node:{{EC2PrivateDNSName}}',
    groups: ['system:bootstrappers', 'system:nodes'],
  });
});

test('is idempotent: merging into its own output changes nothing', () => {
  const once = mergeRoleMapping(EXISTING, buildNodeRoleMapping(NODE)).mapRoles!;
  expect(mergeRoleMapping(once, buildNodeRoleMapping(NODE))).toMatchObject({
    mapRoles: undefined,
    reason: 'already mapped',
  });
});

test('an empty or missing mapRoles gets just the node role', () => {
  for (const text of [undefined, '', '[]\n']) {
    expect(parse(mergeRoleMapping(text, buildNodeRoleMapping(NODE)).mapRoles!)).toHaveLength(1);
  }
});

test('a mapping that lacks a group gets it added, nothing else changes', () => {
  const text = `- rolearn: ${NODE}\n  username: system:node:{{EC2PrivateDNSName}}\n  groups: [system:nodes, custom:group]\n`;
  const r = mergeRoleMapping(text, buildNodeRoleMapping(NODE));
  expect(parse(r.mapRoles!)).toEqual([
    {
      rolearn: NODE,
      username: 'system:node:{{EC2PrivateDNSName}}',
      groups: ['system:nodes', 'custom:group', 'system:bootstrappers'],
    },
  ]);
});

test('a mapping with another username is reported, never overwritten', () => {
  const text = `- rolearn: ${NODE}\n  username: someone\n  groups: [system:nodes]\n`;
  const r = mergeRoleMapping(text, buildNodeRoleMapping(NODE));
  expect(r.mapRoles).toBeUndefined();
  expect(r.conflict).toContain('"someone"');
});

test('role ARNs with a path match their path-less aws-auth form', () => {
  expect(stripRolePath('arn:aws:iam::123456789012:role/team/x/KarpenterNodeRole')).toBe(
    'arn:aws:iam::123456789012:role/KarpenterNodeRole',
  );
  const r = mergeRoleMapping(
    EXISTING,
    buildNodeRoleMapping('arn:aws:iam::123456789012:role/team/KarpenterNodeRole-weasel'),
  );
  expect((parse(r.mapRoles!) as { rolearn: string }[])[2]!.rolearn).toBe(NODE);
});

test('content that is not a YAML list is refused, not overwritten', () => {
  expect(() => mergeRoleMapping('rolearn: x', buildNodeRoleMapping(NODE))).toThrow('not a YAML list');
  expect(() => mergeRoleMapping('- [unclosed', buildNodeRoleMapping(NODE))).toThrow('not valid YAML');
});

test('adding an entry keeps the existing text byte for byte, comments included', () => {
  const text = `# managed node groups\n${EXISTING}`;
  const r = mergeRoleMapping(text, buildNodeRoleMapping(NODE));
  expect(r.mapRoles!.startsWith(text)).toBe(true);
  expect(r.mapRoles!.slice(text.length)).toBe(
    `- rolearn: ${NODE}\n  username: system:node:{{EC2PrivateDNSName}}\n  groups:\n    - system:bootstrappers\n    - system:nodes\n`,
  );
});

test('an indented block list gets the entry at the same indentation', () => {
  const text = '  - rolearn: arn:aws:iam::123456789012:role/a\n    username: a\n    groups: []\n';
  const r = mergeRoleMapping(text, buildNodeRoleMapping(NODE));
  expect(parse(r.mapRoles!)).toHaveLength(2);
  expect(r.mapRoles!.startsWith(text)).toBe(true);
});
