import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, isAbsolute, join, matchesGlob, normalize, relative, resolve, sep } from 'node:path';
import { loadConfig, type ClusterConfig, type LoadedConfig } from '../config/load.ts';

/** The head and base configs and what the change touched, as a pull request or push event gives them. */
export interface FleetMatrixInput {
  head: LoadedConfig;
  /** The config as the base branch has it; undefined when it has none or it does not load. */
  base: LoadedConfig | undefined;
  /** Repository-relative paths the change touches; undefined when every cluster is to be planned. */
  changedFiles: string[] | undefined;
  workspace: string;
}

/** The `matrix` output: the jobs to run and, for the log, why each cluster is or is not among them. */
export interface FleetMatrix {
  /** One entry per job, as GitHub Actions' `strategy.matrix` takes it. */
  include: { cluster: string; region: string }[];
  /** Why each cluster of head and base is or is not planned, for the job log. */
  reasons: Record<string, string>;
}

const toPosix = (p: string) => p.split(sep).join('/');

const repoPath = (workspace: string, p: string) =>
  toPosix(normalize(isAbsolute(p) ? relative(workspace, p) : p)).replace(/^\.\//, '');

function stable(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(stable);
  if (value && typeof value === 'object')
    return Object.fromEntries(
      Object.entries(value)
        .filter(([, v]) => v !== undefined)
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
        .map(([k, v]) => [k, stable(v)]),
    );
  return value;
}

/** The cluster's settings without where they are written, so moving an entry is not a change. */
function settingsOf(c: ClusterConfig): string {
  const { source: _source, manifestLines: _manifestLines, install, verify, ...rest } = c;
  const { valuesLines: _lines, ...installRest } = install;
  const smokeTest = verify.smokeTest ? { ...verify.smokeTest, source: undefined } : undefined;
  return JSON.stringify(stable({ ...rest, install: installRest, verify: { ...verify, smokeTest } }));
}

/**
 * Chooses the clusters a change affects, so a fleet workflow runs one plan job per cluster that can
 * differ instead of one per cluster in the file. A cluster counts when a changed file matches one of
 * its manifest globs, or when the config file changed and that cluster's merged settings did; runs
 * without a change set (schedule, push, dispatch) take every cluster.
 */
export function buildFleetMatrix(input: FleetMatrixInput): FleetMatrix {
  const { head, base, workspace } = input;
  const reasons: Record<string, string> = {};
  const entry = (c: ClusterConfig) => ({ cluster: c.cluster, region: c.region });
  if (input.changedFiles === undefined) {
    for (const c of head.clusters) reasons[c.cluster] = 'all clusters';
    return { include: head.clusters.map(entry), reasons };
  }
  const changed = input.changedFiles.map((f) => repoPath(workspace, f));
  const configFile = repoPath(workspace, resolve(workspace, head.file));
  const configChanged = changed.includes(configFile);
  const configDir = relative(workspace, head.dir);
  const before = new Map((base?.clusters ?? []).map((c) => [c.cluster, c]));
  const include: FleetMatrix['include'] = [];
  for (const c of head.clusters) {
    const why: string[] = [];
    for (const glob of c.manifests) {
      const pattern = toPosix(normalize(join(configDir, glob)));
      const hits = changed.filter((f) => matchesGlob(f, pattern));
      if (hits.length > 0)
        why.push(`${hits.length === 1 ? hits[0]! : `${hits.length} files`} changed (matches ${glob})`);
    }
    if (configChanged) {
      const old = before.get(c.cluster);
      if (base === undefined)
        why.push(`${configFile} changed and the base branch's config could not be read`);
      else if (old === undefined) why.push(`new in ${configFile}`);
      else if (settingsOf(old) !== settingsOf(c)) why.push(`its settings in ${configFile} changed`);
    }
    if (why.length > 0) {
      include.push(entry(c));
      reasons[c.cluster] = why.join('; ');
    } else {
      reasons[c.cluster] = 'unchanged';
    }
  }
  const now = new Set(head.clusters.map((c) => c.cluster));
  for (const name of before.keys())
    if (!now.has(name)) reasons[name] = `removed from ${configFile}: nothing to plan`;
  return { include, reasons };
}

/**
 * Loads the base branch's copy of the config (text read from git) with the same validation as the
 * head's, by writing it to a scratch directory at the same relative path. A base config that does not
 * load gives undefined, and every cluster then counts as changed when the config file changed.
 */
export function readBaseConfig(text: string, configPath: string): LoadedConfig | undefined {
  const rel = normalize(configPath).replace(/^[/\\]+/, '');
  if (rel === '' || rel.split(/[/\\]/).includes('..')) return undefined;
  const root = mkdtempSync(join(tmpdir(), 'karpenter-base-'));
  try {
    const file = join(root, rel);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, text);
    return loadConfig(rel, root).config;
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}
