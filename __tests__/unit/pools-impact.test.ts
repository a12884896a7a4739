import { evaluatePoolImpact } from '../../src/stages/pools.ts';
import type { FieldChange } from '../../src/plan/model.ts';

const change = (path: string): FieldChange => ({ path, op: 'change', before: 1, after: 2 });
const users = (map: Record<string, string[]>) => (cls: string) => map[cls] ?? [];

test.each([
  ['spec.limits.cpu', false],
  ['spec.weight', false],
  ['spec.disruption.consolidateAfter', false],
  ['spec.disruption.budgets', false],
  ['spec.template.spec.expireAfter', true],
  ['spec.template.spec.nodeClassRef.name', true],
  ['spec.template.metadata.labels.team', true],
  ['spec.template.spec.taints', true],
  ['spec.template.spec.requirements', true],
])('a NodePool change of %s replaces nodes: %s', (path, replaces) => {
  const impact = evaluatePoolImpact('NodePool', 'default', 'update', [change(path)], users({}));
  expect(impact?.replacesNodes).toBe(replaces);
  expect(impact?.detail).toContain(path);
});

test('a requirements-only change says only non-matching nodes are replaced', () => {
  const impact = evaluatePoolImpact(
    'NodePool',
    'gpu',
    'update',
    [change('spec.template.spec.requirements')],
    users({}),
  );
  expect(impact?.detail).toContain('that no longer satisfy the requirements');
});

test('an EC2NodeClass spec change replaces the nodes of the NodePools that use it, and names them', () => {
  const impact = evaluatePoolImpact(
    'EC2NodeClass',
    'default',
    'update',
    [change('spec.amiSelectorTerms')],
    users({ default: ['a', 'b'] }),
  );
  expect(impact).toEqual({
    replacesNodes: true,
    detail: expect.stringContaining('used by NodePools a, b') as unknown,
  });
});

test('an EC2NodeClass no NodePool uses replaces nothing; metadata-only changes replace nothing', () => {
  expect(
    evaluatePoolImpact('EC2NodeClass', 'spare', 'update', [change('spec.tags.team')], users({}))
      ?.replacesNodes,
  ).toBe(false);
  expect(
    evaluatePoolImpact(
      'EC2NodeClass',
      'default',
      'update',
      [change('metadata.labels.team')],
      users({ default: ['a'] }),
    )?.replacesNodes,
  ).toBe(false);
});

test('deleting a NodePool terminates its nodes; a create has no impact on running nodes', () => {
  expect(evaluatePoolImpact('NodePool', 'old', 'delete', [], users({}))?.replacesNodes).toBe(true);
  expect(evaluatePoolImpact('NodePool', 'new', 'create', [], users({}))).toBeUndefined();
});
