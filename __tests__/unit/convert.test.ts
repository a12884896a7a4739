/** `karpenter-action convert`: v1beta1 manifests from a repository become their v1 form, file by file. */
import { cpSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runConvert } from '../../src/commands/convert.ts';
import { loadConfig } from '../../src/config/load.ts';
import { loadManifests } from '../../src/config/manifests.ts';

const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'v1beta1');

function repo(): string {
  const ws = mkdtempSync(join(tmpdir(), 'ka-convert-'));
  mkdirSync(join(ws, 'karpenter'));
  cpSync(join(FIXTURES, 'getting-started-0.37.yaml'), join(ws, 'karpenter', 'default.yaml'));
  writeFileSync(
    join(ws, 'karpenter.yaml'),
    'cluster: weasel-eks\nregion: us-east-1\nkarpenter:\n  version: 1.14.1\nmanifests:\n  - karpenter/*.yaml\n',
  );
  return ws;
}

test('without --write it reports every required change and returns the v1 text', () => {
  const ws = repo();
  const r = runConvert({ config: 'karpenter.yaml', workspace: ws, write: false });
  expect(r.errors).toBe(0);
  expect([...r.files.keys()]).toEqual(['karpenter/default.yaml']);
  expect(r.files.get('karpenter/default.yaml')).toBe(
    readFileSync(join(FIXTURES, 'getting-started-0.37.v1.yaml'), 'utf8'),
  );
  expect(r.report.some((l) => l.includes('WhenEmptyOrUnderutilized'))).toBe(true);
  expect(r.report.some((l) => l.includes('nodeClassRef'))).toBe(true);
  // nothing was written
  expect(readFileSync(join(ws, 'karpenter', 'default.yaml'), 'utf8')).toContain('karpenter.sh/v1beta1');
});

test('with --write the files hold v1 manifests that load without legacy objects', () => {
  const ws = repo();
  const r = runConvert({ config: 'karpenter.yaml', workspace: ws, write: true });
  expect(r.report.at(-1)).toContain('wrote karpenter/default.yaml');
  const loaded = loadConfig('karpenter.yaml', ws);
  const m = loadManifests(loaded.config!, loaded.config!.clusters[0]!, ws);
  expect(m.issues).toEqual([]);
  expect(m.objects.map((o) => [o.obj.apiVersion, o.legacy])).toEqual([
    ['karpenter.sh/v1', false],
    ['karpenter.k8s.aws/v1', false],
  ]);
});
