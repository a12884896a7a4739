/**
 * The content hash that pins a local chart: one changed, added or renamed file changes it; the order
 * files are listed in and their times do not. The private copy is what helm is given, and a change to
 * it is refused before install.
 */
import { mkdtempSync, rmSync, writeFileSync, mkdirSync, symlinkSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Refusal } from '../../src/errors.ts';
import { buildChartDigest, readChartSource, verifyChartSource } from '../../src/adapters/helm-chart.ts';

const file = (path: string, text: string) => ({ path, data: Buffer.from(text) });
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function chartDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'chart-digest-'));
  dirs.push(dir);
  mkdirSync(join(dir, 'templates'));
  writeFileSync(join(dir, 'Chart.yaml'), 'name: karpenter\nversion: 1.14.1\n');
  writeFileSync(join(dir, 'values.yaml'), 'replicas: 2\n');
  writeFileSync(join(dir, 'templates', 'deployment.yaml'), 'kind: Deployment\n');
  return dir;
}

test('buildChartDigest depends on paths and bytes, not on listing order', () => {
  const a = [file('Chart.yaml', 'name: x'), file('templates/a.yaml', 'kind: A')];
  const digest = buildChartDigest(a);
  expect(digest).toMatch(/^sha256:[0-9a-f]{64}$/);
  expect(buildChartDigest([...a].reverse())).toBe(digest);
  expect(buildChartDigest([file('Chart.yaml', 'name: y'), a[1]!])).not.toBe(digest);
  expect(buildChartDigest([a[0]!, file('templates/b.yaml', 'kind: A')])).not.toBe(digest);
  expect(buildChartDigest([...a, file('README.md', '')])).not.toBe(digest);
  // a path boundary cannot be moved into the content
  expect(buildChartDigest([file('ab', 'c')])).not.toBe(buildChartDigest([file('a', 'bc')]));
});

test('a local chart is read once into a private copy with its content hash; one changed byte is a new digest', async () => {
  const dir = chartDir();
  const helm = { path: '/nonexistent/helm', version: '3.22.0' };
  const first = await readChartSource(helm, { chart: dir }, 'karpenter', '1.14.1');
  expect(first).toMatchObject({ name: 'karpenter', version: '1.14.1', kind: 'local', origin: dir });
  expect(first.path).not.toBe(dir);
  expect(first.copyDigest).toBe(first.digest);
  utimesSync(join(dir, 'values.yaml'), new Date(0), new Date(0));
  expect((await readChartSource(helm, { chart: dir }, 'karpenter', '1.14.1')).digest).toBe(first.digest);
  writeFileSync(join(dir, 'values.yaml'), 'replicas: 3\n');
  expect((await readChartSource(helm, { chart: dir }, 'karpenter', '1.14.1')).digest).not.toBe(first.digest);
  // the copy the plan rendered is unaffected by the change to the source
  await expect(verifyChartSource(first)).resolves.toBeUndefined();
});

test('a changed private copy is refused before install', async () => {
  const helm = { path: '/nonexistent/helm', version: '3.22.0' };
  const source = await readChartSource(helm, { chart: chartDir() }, 'karpenter-crd', '1.14.1');
  writeFileSync(join(source.path, 'templates', 'deployment.yaml'), 'kind: Deployment # changed\n');
  const err = await verifyChartSource(source).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(Refusal);
  expect((err as Refusal).message).toMatch(
    /^the karpenter-crd chart to install is not the planned one: its content hash is sha256:[0-9a-f]{64}, the plan's sha256:[0-9a-f]{64}; nothing of it was installed$/,
  );
});

test('a symbolic link to a directory inside a chart is refused; one to a file is hashed by its content', async () => {
  const helm = { path: '/nonexistent/helm', version: '3.22.0' };
  const dir = chartDir();
  const outside = mkdtempSync(join(tmpdir(), 'chart-outside-'));
  dirs.push(outside);
  writeFileSync(join(outside, 'extra.yaml'), 'kind: ConfigMap\n');
  symlinkSync(join(outside, 'extra.yaml'), join(dir, 'templates', 'extra.yaml'));
  const linked = await readChartSource(helm, { chart: dir }, 'karpenter', '1.14.1');
  writeFileSync(join(outside, 'extra.yaml'), 'kind: Secret\n');
  expect((await readChartSource(helm, { chart: dir }, 'karpenter', '1.14.1')).digest).not.toBe(linked.digest);
  symlinkSync(outside, join(dir, 'linked'));
  await expect(readChartSource(helm, { chart: dir }, 'karpenter', '1.14.1')).rejects.toThrow(
    `the chart in ${dir} has a symbolic link to a directory: linked`,
  );
});
