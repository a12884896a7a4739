import { anyPoolMayUseSpot } from '../../src/stages/prereqs/spot-role.ts';

const pool = (reqs: unknown[]) => ({ spec: { template: { spec: { requirements: reqs } } } });
const ct = (operator: string, values?: string[]) => ({
  key: 'karpenter.sh/capacity-type',
  operator,
  ...(values ? { values } : {}),
});

test.each([
  ['no capacity-type requirement allows spot', [pool([])], true],
  ['In [spot]', [pool([ct('In', ['spot'])])], true],
  ['In [on-demand]', [pool([ct('In', ['on-demand'])])], false],
  ['NotIn [spot]', [pool([ct('NotIn', ['spot'])])], false],
  ['NotIn [on-demand]', [pool([ct('NotIn', ['on-demand'])])], true],
  ['Exists', [pool([ct('Exists')])], true],
  [
    'one on-demand pool and one spot pool',
    [pool([ct('In', ['on-demand'])]), pool([ct('In', ['spot', 'on-demand'])])],
    true,
  ],
  ['no NodePools', [], false],
])('%s', (_name, pools, expected) => {
  expect(anyPoolMayUseSpot(pools as Record<string, unknown>[])).toBe(expected);
});
