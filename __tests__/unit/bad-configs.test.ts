/**
 * Every directory under fixtures/bad-configs is a repository with one mistake a user makes; each must
 * produce its exact message (file, line, field, fix), and all problems of a case are reported at once.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig, selectCluster } from '../../src/config/load.ts';
import { loadManifests } from '../../src/config/manifests.ts';
import { renderIssue } from '../../src/config/issues.ts';
import { checkSmokeTestPool } from '../../src/commands/offline-validation.ts';

const ROOT = join(import.meta.dirname, '..', 'fixtures', 'bad-configs');
const cases = readdirSync(ROOT).sort();

/** All offline problems of a repository, as the action reports them. */
function offlineIssues(workspace: string): string[] {
  const loaded = loadConfig('.github/karpenter.yaml', workspace);
  if (!loaded.config) return loaded.issues.map(renderIssue);
  const out: string[] = [];
  for (const c of loaded.config.clusters) {
    const cluster = selectCluster(loaded.config, c.cluster);
    const m = loadManifests(loaded.config, cluster, workspace);
    out.push(...m.issues.map(renderIssue), ...checkSmokeTestPool(cluster, m.objects).map(renderIssue));
  }
  return out;
}

test('there are bad-config cases', () => {
  expect(cases.length).toBeGreaterThanOrEqual(10);
});

test.each(cases)('%s', (name) => {
  const dir = join(ROOT, name);
  const expected = readFileSync(join(dir, 'expected.txt'), 'utf8').trim().split('\n');
  const got = offlineIssues(dir);
  expect(got.length).toBe(expected.length);
  for (const line of expected) expect(got.some((g) => g.startsWith(line))).toBe(true);
});
