import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { lstat, mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, relative, sep } from 'node:path';
import { Refusal } from '../errors.ts';
import type { ChartRef, HelmInfo } from './helm.ts';

/** Charts are a few hundred kilobytes; a directory far beyond that is not a chart. */
export const MAX_CHART_BYTES = 32 * 1024 * 1024;

/**
 * A chart pinned for this run: the exact bytes the plan rendered, kept in a private directory, and
 * their digest. The plan renders from `path`, the digest goes into the plan and its fingerprint, and
 * apply installs from the same `path` after checking it still has that digest, so what is installed is
 * what was planned even when the repository serves something else by then.
 */
export interface ChartSource {
  name: 'karpenter' | 'karpenter-crd';
  /** The chart version asked for (`--version`), or the local chart's own. */
  version: string;
  /** Where it came from, as configured: a local directory or an `oci://` (or `https://`) reference. */
  origin: string;
  kind: 'local' | 'oci' | 'repository';
  /**
   * `sha256:…`: for an OCI chart the manifest digest the registry serves for the tag (what `helm pull`
   * prints and `oci://…@sha256:…` pins), for a local directory the content hash of its files
   * (buildChartDigest), for a classic repository the archive's sha256.
   */
  digest: string;
  /** The private copy helm is given: a directory (local charts) or the pulled `.tgz`. */
  path: string;
  /** The sha256 of the private copy as written, checked again before install. */
  copyDigest: string;
}

interface ChartFile {
  path: string;
  data: Buffer;
}

/**
 * The content hash of a local chart: sha256 over every file's relative path (with `/`), length and
 * bytes, in sorted path order. Any changed byte, renamed or added file changes it; file times and
 * permissions do not.
 */
export function buildChartDigest(files: readonly ChartFile[]): string {
  const h = createHash('sha256');
  const sorted = [...files].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  for (const f of sorted) {
    h.update(`${f.path}\0${f.data.length}\0`);
    h.update(f.data);
  }
  return `sha256:${h.digest('hex')}`;
}

/** The first 12 hex digits of a digest, for text where the whole one is too long. */
export const shortDigest = (digest: string): string => digest.replace(/^sha256:/, '').slice(0, 12);

let runDir: string | undefined;

/** One private (0700) directory per process for the run's chart copies, removed when the process exits. */
function chartsDir(): string {
  if (!runDir) {
    const dir = mkdtempSync(join(tmpdir(), 'karpenter-action-charts-'));
    runDir = dir;
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  }
  return runDir;
}

async function readChartFiles(root: string): Promise<ChartFile[]> {
  const files: ChartFile[] = [];
  let total = 0;
  const walk = async (dir: string): Promise<void> => {
    for (const entry of (await readdir(dir)).sort()) {
      const full = join(dir, entry);
      const rel = relative(root, full).split(sep).join('/');
      const link = await lstat(full);
      const info = link.isSymbolicLink() ? await stat(full) : link;
      if (info.isDirectory()) {
        if (link.isSymbolicLink())
          throw new Refusal(`the chart in ${root} has a symbolic link to a directory: ${rel}`, [
            'copy the linked files into the chart directory',
          ]);
        await walk(full);
        continue;
      }
      if (!info.isFile()) continue;
      total += info.size;
      if (total > MAX_CHART_BYTES)
        throw new Refusal(`the chart in ${root} is larger than ${MAX_CHART_BYTES / 1024 / 1024} MB`, [
          'point karpenter.chartRepository at a directory holding only the karpenter and karpenter-crd charts',
        ]);
      files.push({ path: rel, data: await readFile(full) });
    }
  };
  await walk(root);
  return files;
}

async function writeCopy(dir: string, files: readonly ChartFile[]): Promise<void> {
  for (const f of files) {
    const target = join(dir, ...f.path.split('/'));
    await mkdir(dirname(target), { recursive: true, mode: 0o700 });
    await writeFile(target, f.data, { mode: 0o600 });
  }
}

function runHelm(helm: HelmInfo, args: string[]): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(helm.path, args, { maxBuffer: 16 * 1024 * 1024, timeout: 300_000 }, (err, stdout, stderr) => {
      if (err)
        reject(new Error(`helm ${args.slice(0, 2).join(' ')} failed: ${stderr.trim() || err.message}`));
      else resolve({ stdout, stderr });
    });
  });
}

const sha256File = async (path: string): Promise<string> =>
  `sha256:${createHash('sha256')
    .update(await readFile(path))
    .digest('hex')}`;

/**
 * Pins one chart for the run: a local directory is read once, hashed and copied; a repository chart
 * is pulled once (`helm pull`), with the OCI manifest digest helm reports. Everything after this (the
 * rendering, `helm show values`, the install) uses the copy.
 */
export async function readChartSource(
  helm: HelmInfo,
  ref: ChartRef,
  name: ChartSource['name'],
  version: string,
): Promise<ChartSource> {
  const dir = mkdtempSync(join(chartsDir(), `${name}-`));
  if (ref.version === undefined) {
    const files = await readChartFiles(ref.chart);
    const digest = buildChartDigest(files);
    const copy = join(dir, name);
    mkdirSync(copy, { mode: 0o700 });
    await writeCopy(copy, files);
    return { name, version, origin: ref.chart, kind: 'local', digest, path: copy, copyDigest: digest };
  }
  const oci = ref.chart.startsWith('oci://');
  const { stdout, stderr } = await runHelm(helm, [
    'pull',
    ref.chart,
    '--version',
    ref.version,
    '--destination',
    dir,
  ]);
  const archives = (await readdir(dir)).filter((f) => f.endsWith('.tgz'));
  if (archives.length !== 1 || !archives[0])
    throw new Error(`helm pull ${ref.chart} --version ${ref.version} left ${archives.length} archives`);
  const path = join(dir, archives[0]);
  const copyDigest = await sha256File(path);
  const reported = /^Digest:\s*(sha256:[0-9a-f]{64})\s*$/m.exec(`${stdout}\n${stderr}`)?.[1];
  if (oci && !reported)
    throw new Error(`helm pull ${ref.chart} --version ${ref.version} did not report the chart's digest`);
  return {
    name,
    version: ref.version,
    origin: ref.chart,
    kind: oci ? 'oci' : 'repository',
    digest: reported ?? copyDigest,
    path,
    copyDigest,
  };
}

/**
 * Checks, right before helm installs it, that the private copy still has the digest the plan
 * recorded; a changed copy is refused and nothing of that chart is installed.
 */
export async function verifyChartSource(source: ChartSource): Promise<void> {
  const now =
    source.kind === 'local'
      ? buildChartDigest(await readChartFiles(source.path))
      : await sha256File(source.path);
  if (now !== source.copyDigest)
    throw new Refusal(
      `the ${source.name} chart to install is not the planned one: its content hash is ${now}, the plan's ${source.copyDigest}; nothing of it was installed`,
      ['plan again and review the new plan'],
    );
}
