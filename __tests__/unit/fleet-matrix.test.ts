import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { loadConfig, type LoadedConfig } from '../../src/config/load.ts';
import { buildFleetMatrix, readBaseConfig } from '../../src/fleet/matrix.ts';

const workspace = resolve(import.meta.dirname, '../fixtures/fleet');
const CONFIG = 'infra/karpenter.yaml';
const text = readFileSync(join(workspace, CONFIG), 'utf8');

function loadHead(): LoadedConfig {
  const r = loadConfig(CONFIG, workspace);
  expect(r.issues).toEqual([]);
  return r.config!;
}

const head = loadHead();

function base(edit: (t: string) => string): LoadedConfig | undefined {
  return readBaseConfig(edit(text), CONFIG);
}

const names = (m: ReturnType<typeof buildFleetMatrix>) => m.include.map((e) => e.cluster);

test('the fixture is a fleet of three clusters whose defaults are merged', () => {
  expect(head.fleet).toBe(true);
  expect(head.clusters.map((c) => [c.cluster, c.region, c.karpenter.namespace, c.manifests.length])).toEqual([
    ['dev-eks', 'us-east-1', 'karpenter', 2],
    ['staging-eks', 'us-east-1', 'karpenter', 1],
    ['prod-eks', 'eu-west-1', 'karpenter', 2],
  ]);
});

test('runs without a change set (schedule, push, dispatch) plan every cluster', () => {
  const m = buildFleetMatrix({ head, base: undefined, changedFiles: undefined, workspace });
  expect(m.include).toEqual([
    { cluster: 'dev-eks', region: 'us-east-1' },
    { cluster: 'staging-eks', region: 'us-east-1' },
    { cluster: 'prod-eks', region: 'eu-west-1' },
  ]);
  expect(m.reasons).toEqual({
    'dev-eks': 'all clusters',
    'staging-eks': 'all clusters',
    'prod-eks': 'all clusters',
  });
});

test('a manifest of one cluster touched plans that cluster only, including through a ** glob', () => {
  const m = buildFleetMatrix({
    head,
    base: head,
    changedFiles: ['infra/karpenter/prod/nodepool.yaml'],
    workspace,
  });
  expect(m.include).toEqual([{ cluster: 'prod-eks', region: 'eu-west-1' }]);
  expect(m.reasons['prod-eks']).toBe(
    'infra/karpenter/prod/nodepool.yaml changed (matches karpenter/prod/**/*.yaml)',
  );
  expect(m.reasons['dev-eks']).toBe('unchanged');
  const deep = buildFleetMatrix({
    head,
    base: head,
    changedFiles: ['infra/karpenter/prod/gpu/pool.yaml', './infra/karpenter/dev/nodepool.yaml'],
    workspace,
  });
  expect(names(deep)).toEqual(['dev-eks', 'prod-eks']);
});

test('a manifest every cluster shares plans them all', () => {
  const m = buildFleetMatrix({
    head,
    base: head,
    changedFiles: ['infra/karpenter/shared/nodeclass.yaml', 'infra/karpenter/dev/nodepool.yaml'],
    workspace,
  });
  expect(names(m)).toEqual(['dev-eks', 'staging-eks', 'prod-eks']);
  expect(m.reasons['dev-eks']).toBe(
    'infra/karpenter/shared/nodeclass.yaml changed (matches karpenter/shared/*.yaml); infra/karpenter/dev/nodepool.yaml changed (matches karpenter/dev/*.yaml)',
  );
});

test('a change of the shared defaults plans every cluster', () => {
  const old = base((t) => t.replace('version: 1.14.1', 'version: 1.13.2'));
  expect(old?.clusters[0]?.karpenter.version).toBe('1.13.2');
  const m = buildFleetMatrix({ head, base: old, changedFiles: [CONFIG], workspace });
  expect(names(m)).toEqual(['dev-eks', 'staging-eks', 'prod-eks']);
  expect(m.reasons['staging-eks']).toBe(`its settings in ${CONFIG} changed`);
});

test("a change of one cluster's entry plans that cluster only", () => {
  const old = base((t) => t.replace('replicas: 3', 'replicas: 2'));
  const m = buildFleetMatrix({ head, base: old, changedFiles: [CONFIG, 'README.md'], workspace });
  expect(m.include).toEqual([{ cluster: 'prod-eks', region: 'eu-west-1' }]);
  expect(m.reasons).toEqual({
    'dev-eks': 'unchanged',
    'staging-eks': 'unchanged',
    'prod-eks': `its settings in ${CONFIG} changed`,
  });
});

test('comments, key order and moved entries are not changes', () => {
  const reordered = text
    .replace('# Three clusters', '# The fleet: three clusters')
    .replace(
      'karpenter:\n  version: 1.14.1\n  namespace: karpenter\n',
      'karpenter:\n  namespace: karpenter\n  version: 1.14.1\n',
    )
    .replace(/( {2}- cluster: dev-eks\n(?: {4}.*\n)+)( {2}- cluster: staging-eks\n(?: {4}.*\n)+)/, '$2$1');
  const old = readBaseConfig(reordered, CONFIG);
  expect(old?.clusters.map((c) => c.cluster)).toEqual(['staging-eks', 'dev-eks', 'prod-eks']);
  expect(old?.clusters[1]?.source.line).not.toBe(head.clusters[0]?.source.line);
  const m = buildFleetMatrix({ head, base: old, changedFiles: [CONFIG], workspace });
  expect(m.include).toEqual([]);
});

test('an unrelated file plans nothing', () => {
  const m = buildFleetMatrix({
    head,
    base: head,
    changedFiles: ['README.md', 'infra/other.yaml', 'karpenter/shared/nodeclass.yaml'],
    workspace,
  });
  expect(m.include).toEqual([]);
  expect(Object.values(m.reasons)).toEqual(['unchanged', 'unchanged', 'unchanged']);
});

test('a cluster new in head is planned', () => {
  const old = base((t) => t.replace(/ {2}- cluster: staging-eks\n {4}region: us-east-1\n/, ''));
  expect(old?.clusters.map((c) => c.cluster)).toEqual(['dev-eks', 'prod-eks']);
  const m = buildFleetMatrix({ head, base: old, changedFiles: [CONFIG], workspace });
  expect(m.include).toEqual([{ cluster: 'staging-eks', region: 'us-east-1' }]);
  expect(m.reasons['staging-eks']).toBe(`new in ${CONFIG}`);
});

test('a cluster removed in head is not planned but is reported', () => {
  const old = base((t) => `${t}  - cluster: legacy-eks\n    region: us-west-2\n`);
  expect(old?.clusters.map((c) => c.cluster)).toContain('legacy-eks');
  const m = buildFleetMatrix({ head, base: old, changedFiles: [CONFIG], workspace });
  expect(m.include).toEqual([]);
  expect(m.reasons['legacy-eks']).toBe(`removed from ${CONFIG}: nothing to plan`);
});

test('an invalid base config makes every cluster count as changed when the config changed', () => {
  expect(base(() => 'clusters: [')).toBeUndefined();
  expect(base((t) => t.replace('version: 1.14.1', 'version: latest'))).toBeUndefined();
  const m = buildFleetMatrix({ head, base: undefined, changedFiles: [CONFIG], workspace });
  expect(names(m)).toEqual(['dev-eks', 'staging-eks', 'prod-eks']);
  expect(m.reasons['dev-eks']).toMatch(/changed and the base branch's config could not be read/);
  const unrelated = buildFleetMatrix({ head, base: undefined, changedFiles: ['docs/x.md'], workspace });
  expect(unrelated.include).toEqual([]);
});

test('absolute changed paths under the workspace count too', () => {
  const m = buildFleetMatrix({
    head,
    base: head,
    changedFiles: [join(workspace, 'infra/karpenter/dev/nodepool.yaml')],
    workspace,
  });
  expect(names(m)).toEqual(['dev-eks']);
});

test('readBaseConfig leaves no scratch directory behind and refuses paths outside it', () => {
  const before = readdirSync(tmpdir()).filter((n) => n.startsWith('karpenter-base-'));
  const cfg = readBaseConfig(text, CONFIG);
  expect(cfg?.file).toBe(CONFIG);
  expect(cfg?.clusters).toHaveLength(3);
  const after = readdirSync(tmpdir()).filter((n) => n.startsWith('karpenter-base-'));
  expect(after.filter((n) => !before.includes(n))).toEqual([]);
  expect(existsSync(cfg!.dir)).toBe(false);
  expect(readBaseConfig(text, '../escape/karpenter.yaml')).toBeUndefined();
});
