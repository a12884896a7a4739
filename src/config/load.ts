import { dirname, relative, resolve } from 'node:path';
import { isMap, isSeq, LineCounter, parseDocument, type Document } from 'yaml';
import type { ConfigIssue } from './issues.ts';
import { lineOf } from './yaml-locate.ts';
import { buildYamlValue, globEscapesWorkspace, readWorkspaceFile } from './workspace-files.ts';

export const DEFAULT_CHART_REPOSITORY = 'oci://public.ecr.aws/karpenter';

/** One cluster's settings, after defaults and (for a fleet) the shared top-level keys are applied. */
export interface ClusterConfig {
  cluster: string;
  region: string;
  karpenter: {
    version: string;
    namespace: string;
    /** An OCI or HTTPS chart repository, or a local directory holding `karpenter/` and `karpenter-crd/`. */
    chartRepository: string;
  };
  /** Globs relative to the config file's directory. */
  manifests: string[];
  /** The config line of each glob in `manifests`, for messages about what it matched. */
  manifestLines?: (number | undefined)[];
  pools: { prune: boolean };
  prereqs: PrereqsConfig;
  install: InstallConfig;
  /** How long each verification check may wait, and the optional smoke test. */
  verify: { timeoutSeconds: number; smokeTest: SmokeTestConfig | undefined };
  /** Extra `${NAME}` placeholders for manifests. */
  variables: Record<string, string>;
  /** Where this cluster's entry is, for messages. */
  source: { file: string; line: number };
}

/**
 * The verify stage's smoke test (off unless enabled): a pause-image Deployment that needs a node of
 * one NodePool, proving that the pool can launch a node that joins and runs pods.
 */
export interface SmokeTestConfig {
  nodePool: string;
  namespace: string;
  image: string;
  /** CPU the pod requests, as a Kubernetes quantity. */
  cpu: string;
  /** How long the launch (NodeClaim to running pod) and then the clean-up may each take. */
  timeoutSeconds: number;
  /** Where `nodePool` is written, for the error when no manifest defines that NodePool. */
  source: { file: string; line: number | undefined };
}

export const SMOKE_TEST_IMAGE = 'public.ecr.aws/eks-distro/kubernetes/pause:3.7';

/** The prereqs stage's choices; every name defaults to what Karpenter's getting-started guide uses. */
export interface PrereqsConfig {
  /** How the controller gets AWS credentials: EKS Pod Identity (default) or IRSA. */
  identity: 'pod-identity' | 'irsa';
  nodeRoleName: string;
  controllerRoleName: string;
  /** The SQS queue's name (not its ARN): Karpenter's `settings.interruptionQueue`. */
  interruptionQueue: string;
  nodeAccess: 'auto' | 'access-entry' | 'aws-auth';
  /** Create the EC2 Spot service-linked role: when a NodePool may use spot (auto), always, or never. */
  spotRole: 'auto' | 'always' | 'never';
  /** Take over existing IAM roles, policies and queues of these names that the action did not create. */
  adopt: boolean;
  /** Extra tags on every AWS resource the action creates. */
  tags: Record<string, string>;
}

/** The install stage's choices: chart values the action sets, extra values, helm, and the move off Cluster Autoscaler. */
export interface InstallConfig {
  replicas?: number;
  /** The controller container's resources (requests and limits), as Kubernetes quantities. */
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  /** Free-form chart values, merged last; keys that the target chart does not have are errors. */
  values: Record<string, unknown>;
  /** Where each values leaf is in the config file, by dotted path, for error messages. */
  valuesLines: Record<string, number>;
  /** How long apply waits for CRDs to be Established and, in migration mode, for the controller to be available. */
  timeoutSeconds: number;
  /** Install this helm when the runner has none (or one older than 3.8). */
  helm?: { version: string; sha256?: string };
  migration: MigrationConfig;
}

/** Moving off Cluster Autoscaler, opt-in. */
export interface MigrationConfig {
  /** Pin the controller to the existing node groups and scale Cluster Autoscaler to zero once Karpenter is verified. */
  enabled: boolean;
  /** Node group scaling to apply after verification, as the migration guide's last step. */
  nodeGroups: Record<string, { minSize: number; maxSize: number; desiredSize: number }>;
}

export interface LoadedConfig {
  file: string;
  /** Absolute directory the manifest globs are relative to. */
  dir: string;
  fleet: boolean;
  clusters: ClusterConfig[];
}

const CLUSTER_KEYS = [
  'cluster',
  'region',
  'karpenter',
  'manifests',
  'pools',
  'prereqs',
  'install',
  'verify',
  'variables',
] as const;
const INSTALL_KEYS = ['replicas', 'resources', 'values', 'helm', 'migration', 'timeoutSeconds'] as const;
const MIGRATION_KEYS = ['enabled', 'nodeGroups'] as const;
const QUANTITY = /^[0-9]+(\.[0-9]+)?(m|k|Ki|M|Mi|G|Gi|T|Ti)?$/;
const PREREQS_KEYS = [
  'identity',
  'nodeRoleName',
  'controllerRoleName',
  'interruptionQueue',
  'nodeAccess',
  'spotRole',
  'adopt',
  'tags',
] as const;
const IAM_NAME = /^[\w+=,.@-]{1,64}$/;
const QUEUE_NAME = /^[A-Za-z0-9_-]{1,80}$/;
const KARPENTER_KEYS = ['version', 'namespace', 'chartRepository'] as const;
const POOLS_KEYS = ['prune'] as const;
const EKS_NAME = /^[0-9A-Za-z][A-Za-z0-9\-_]{0,99}$/;
const REGION = /^[a-z]{2}(-[a-z]+)+-\d$/;
const VERSION = /^\d+\.\d+\.\d+$/;
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const VAR_NAME = /^[A-Z_][A-Z0-9_]*$/;

type Path = (string | number)[];

/** Levenshtein distance, for "did you mean" on misspelled keys. */
function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return row[b.length]!;
}

export function suggest(key: string, known: readonly string[]): string | undefined {
  const best = known
    .map((k) => ({ k, d: distance(key.toLowerCase(), k.toLowerCase()) }))
    .sort((x, y) => x.d - y.d)[0];
  return best && best.d <= Math.max(2, Math.floor(key.length / 3)) ? best.k : undefined;
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** Deep merge for fleet defaults: the cluster entry wins; lists are replaced, not concatenated. */
function merge(base: unknown, over: unknown): unknown {
  if (isObject(base) && isObject(over)) {
    const out: Record<string, unknown> = { ...base };
    for (const [k, v] of Object.entries(over)) out[k] = merge(base[k], v);
    return out;
  }
  return over === undefined ? base : over;
}

/**
 * Reads and validates the config file. Every problem is collected (with file, line and field) and
 * returned together; nothing here touches AWS or Kubernetes.
 */
export function loadConfig(
  path: string,
  workspace = process.cwd(),
): { config?: LoadedConfig; issues: ConfigIssue[] } {
  const abs = resolve(workspace, path);
  const file = relative(workspace, abs) || path;
  const read = readWorkspaceFile(abs, workspace);
  if (read.text === undefined) {
    return {
      issues: [
        read.code === 'ENOENT'
          ? { file, message: 'config file not found', fix: 'create it or point the "config" input at it' }
          : { file, message: `config file ${read.problem}`, fix: read.fix },
      ],
    };
  }
  const text = read.text;
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: false, uniqueKeys: true });
  const issues: ConfigIssue[] = [];
  // The first error is the one to fix; the ones after it are usually its consequences.
  const err = doc.errors[0];
  if (err)
    issues.push({
      file,
      line: lc.linePos(err.pos[0]).line,
      message: `YAML syntax error: ${err.message.split('\n')[0]}`,
    });
  if (issues.length > 0) return { issues };
  const parsed = buildYamlValue(doc, lc);
  if (parsed.problem !== undefined)
    return { issues: [{ file, line: parsed.line, message: parsed.problem, fix: parsed.fix }] };
  const root: unknown = parsed.value;
  const at = (p: Path) => lineOf(doc, lc, p);
  if (!isObject(root)) {
    return {
      issues: [
        { file, line: 1, message: 'the config must be a mapping with at least "cluster" and "region"' },
      ],
    };
  }
  const dir = dirname(abs);
  const escapes = (glob: string) => globEscapesWorkspace(glob, dir, workspace);
  const fleet = 'clusters' in root;
  const clusters: ClusterConfig[] = [];
  if (fleet) {
    const list = root.clusters;
    if (!Array.isArray(list) || list.length === 0) {
      issues.push({
        file,
        line: at(['clusters']),
        field: 'clusters',
        message: 'must be a non-empty list of cluster entries',
      });
    } else {
      const defaults = Object.fromEntries(Object.entries(root).filter(([k]) => k !== 'clusters'));
      checkKeys(defaults, [], CLUSTER_KEYS, file, at, issues);
      if ('cluster' in defaults) {
        issues.push({
          file,
          line: at(['cluster']),
          field: 'cluster',
          message: 'a fleet config names its clusters under "clusters", not at the top level',
          fix: 'move it into a "clusters" entry',
        });
      }
      const seen = new Map<string, number>();
      list.forEach((entry, i) => {
        const c = validateCluster(
          merge(defaults, entry),
          ['clusters', i],
          file,
          doc,
          lc,
          issues,
          ['clusters', i],
          escapes,
        );
        if (!c) return;
        const prev = seen.get(c.cluster);
        if (prev !== undefined) {
          issues.push({
            file,
            line: at(['clusters', i, 'cluster']),
            field: `clusters[${i}].cluster`,
            message: `cluster "${c.cluster}" is listed twice (also at line ${prev})`,
          });
        }
        seen.set(c.cluster, c.source.line);
        clusters.push(c);
      });
    }
  } else {
    const c = validateCluster(root, [], file, doc, lc, issues, [], escapes);
    if (c) clusters.push(c);
  }
  return issues.length > 0 ? { issues } : { config: { file, dir, fleet, clusters }, issues };
}

function checkKeys(
  obj: Record<string, unknown>,
  path: Path,
  known: readonly string[],
  file: string,
  at: (p: Path) => number | undefined,
  issues: ConfigIssue[],
): void {
  for (const key of Object.keys(obj)) {
    if (known.includes(key)) continue;
    const s = suggest(key, known);
    issues.push({
      file,
      line: at([...path, key]),
      field: [...path, key].join('.'),
      message: `unknown key "${key}"`,
      fix: s ? `did you mean "${s}"?` : `known keys here: ${known.join(', ')}`,
    });
  }
}

function validateCluster(
  raw: unknown,
  path: Path,
  file: string,
  doc: Document,
  lc: LineCounter,
  issues: ConfigIssue[],
  linePath: Path,
  escapes: (glob: string) => boolean,
): ClusterConfig | undefined {
  const at = (p: Path) => lineOf(doc, lc, [...linePath, ...p]) ?? lineOf(doc, lc, p);
  const field = (p: Path) =>
    [...path, ...p]
      .map((k, i) => (typeof k === 'number' ? `[${k}]` : i === 0 ? k : `.${k}`))
      .join('')
      .replace(/\.\[/g, '[');
  const start = issues.length;
  const add = (p: Path, message: string, fix?: string) =>
    issues.push({ file, line: at(p), field: field(p), message, fix });
  if (!isObject(raw)) {
    add([], 'must be a mapping with "cluster", "region", "karpenter" and "manifests"');
    return undefined;
  }
  checkKeys(raw, path, CLUSTER_KEYS, file, (p) => lineOf(doc, lc, p), issues);

  const str = (v: unknown, p: Path, required: boolean): string | undefined => {
    if (v === undefined || v === null) {
      if (required) add(p, 'is required');
      return undefined;
    }
    if (typeof v !== 'string' && typeof v !== 'number') {
      add(p, `must be a string, not ${Array.isArray(v) ? 'a list' : typeof v}`);
      return undefined;
    }
    return String(v);
  };

  const cluster = str(raw.cluster, ['cluster'], true);
  if (cluster !== undefined && !EKS_NAME.test(cluster)) {
    add(
      ['cluster'],
      `"${cluster}" is not a valid EKS cluster name`,
      'use 1-100 letters, digits, hyphens and underscores, starting with a letter or digit',
    );
  }
  const region = str(raw.region, ['region'], true);
  if (region !== undefined && !REGION.test(region))
    add(['region'], `"${region}" is not an AWS region`, 'for example us-east-1');

  const k = raw.karpenter;
  let version: string | undefined;
  let namespace = 'kube-system';
  let chartRepository = DEFAULT_CHART_REPOSITORY;
  if (k === undefined) {
    add(['karpenter'], 'is required', 'add karpenter.version, e.g. 1.14.1');
  } else if (!isObject(k)) {
    add(['karpenter'], 'must be a mapping with "version" and optionally "namespace" and "chartRepository"');
  } else {
    checkKeys(k, [...path, 'karpenter'], KARPENTER_KEYS, file, (p) => lineOf(doc, lc, p), issues);
    version = str(k.version, ['karpenter', 'version'], true);
    if (version !== undefined) {
      if (/^v\d/.test(version)) {
        add(
          ['karpenter', 'version'],
          `"${version}" has a "v" prefix`,
          `write ${version.slice(1)}: Karpenter releases have no "v" prefix since 0.35`,
        );
      } else if (!VERSION.test(version)) {
        add(
          ['karpenter', 'version'],
          `"${version}" is not a release version`,
          'use MAJOR.MINOR.PATCH, e.g. 1.14.1',
        );
      } else if (Number(version.split('.')[0]) < 1) {
        add(
          ['karpenter', 'version'],
          `target version ${version} is a v1beta1-era release`,
          'target 1.0.x or newer; older installs are upgraded along the documented path',
        );
      }
    }
    const ns = str(k.namespace, ['karpenter', 'namespace'], false);
    if (ns !== undefined) {
      if (!DNS_LABEL.test(ns)) add(['karpenter', 'namespace'], `"${ns}" is not a valid namespace name`);
      namespace = ns;
    }
    const repo = str(k.chartRepository, ['karpenter', 'chartRepository'], false);
    if (repo !== undefined) chartRepository = repo;
  }

  const manifests: string[] = [];
  const manifestLines: (number | undefined)[] = [];
  if (raw.manifests !== undefined) {
    if (!Array.isArray(raw.manifests)) {
      add(
        ['manifests'],
        'must be a list of file globs relative to the config file',
        'e.g. manifests: [karpenter/*.yaml]',
      );
    } else {
      raw.manifests.forEach((g, i) => {
        if (typeof g !== 'string' || g.trim() === '') add(['manifests', i], 'must be a non-empty file glob');
        else if (g.startsWith('/'))
          add(['manifests', i], 'must be relative to the config file', `remove the leading "/"`);
        else if (escapes(g))
          add(
            ['manifests', i],
            `"${g}" reaches outside the workspace; nothing outside the repository is read`,
            'keep manifests inside the repository; globs are relative to the config file',
          );
        else {
          manifests.push(g);
          manifestLines.push(at(['manifests', i]));
        }
      });
    }
  }

  let prune = false;
  if (raw.pools !== undefined) {
    if (!isObject(raw.pools)) add(['pools'], 'must be a mapping, e.g. pools: {prune: false}');
    else {
      checkKeys(raw.pools, [...path, 'pools'], POOLS_KEYS, file, (p) => lineOf(doc, lc, p), issues);
      if (raw.pools.prune !== undefined) {
        if (typeof raw.pools.prune !== 'boolean') add(['pools', 'prune'], 'must be true or false');
        else prune = raw.pools.prune;
      }
    }
  }

  const prereqs = validatePrereqs(
    raw.prereqs,
    cluster ?? '',
    path,
    add,
    (p) => lineOf(doc, lc, p),
    file,
    issues,
  );

  const install = validateInstall(raw.install, path, add, (p) => lineOf(doc, lc, p), file, issues, at);
  const verify: ClusterConfig['verify'] = { timeoutSeconds: 300, smokeTest: undefined };
  if (raw.verify !== undefined) {
    if (!isObject(raw.verify)) add(['verify'], 'must be a mapping such as {timeoutSeconds: 300}');
    else {
      checkKeys(
        raw.verify,
        [...path, 'verify'],
        ['timeoutSeconds', 'smokeTest'],
        file,
        (p) => lineOf(doc, lc, p),
        issues,
      );
      const t = raw.verify.timeoutSeconds;
      if (t !== undefined) {
        if (typeof t !== 'number' || !Number.isInteger(t) || t < 1 || t > 3600)
          add(['verify', 'timeoutSeconds'], 'must be a whole number of seconds from 1 to 3600');
        else verify.timeoutSeconds = t;
      }
      verify.smokeTest = validateSmokeTest(
        raw.verify.smokeTest,
        path,
        add,
        (p) => at(p),
        file,
        issues,
        doc,
        lc,
      );
    }
  }

  const variables: Record<string, string> = {};
  if (raw.variables !== undefined) {
    if (!isObject(raw.variables)) add(['variables'], 'must be a mapping of NAME: value');
    else {
      for (const [name, value] of Object.entries(raw.variables)) {
        if (!VAR_NAME.test(name))
          add(
            ['variables', name],
            `"${name}" is not a placeholder name`,
            'use upper-case letters, digits and underscores',
          );
        else if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') {
          add(['variables', name], 'must be a single value');
        } else if (String(value).includes('\n')) add(['variables', name], 'must be a single line');
        else variables[name] = String(value);
      }
    }
  }

  if (issues.length > start || cluster === undefined || region === undefined || version === undefined)
    return undefined;
  const node = linePath.length > 0 ? doc.getIn(linePath, true) : doc.contents;
  const line = isMap(node) || isSeq(node) ? (lineOf(doc, lc, linePath) ?? 1) : 1;
  return {
    cluster,
    region,
    karpenter: { version, namespace, chartRepository },
    manifests,
    manifestLines,
    pools: { prune },
    prereqs,
    install,
    verify,
    variables,
    source: { file, line },
  };
}

function validateSmokeTest(
  raw: unknown,
  path: Path,
  add: (p: Path, message: string, fix?: string) => void,
  at: (p: Path) => number | undefined,
  file: string,
  issues: ConfigIssue[],
  doc: Document,
  lc: LineCounter,
): SmokeTestConfig | undefined {
  if (raw === undefined) return undefined;
  const p = (...k: string[]): Path => ['verify', 'smokeTest', ...k];
  if (!isObject(raw)) {
    add(p(), 'must be a mapping such as {enabled: true, nodePool: default}');
    return undefined;
  }
  checkKeys(
    raw,
    [...path, ...p()],
    ['enabled', 'nodePool', 'namespace', 'image', 'cpu', 'timeoutSeconds'],
    file,
    (q) => lineOf(doc, lc, q),
    issues,
  );
  const text = (k: string, fallback: string): string => {
    const v = raw[k];
    if (v === undefined) return fallback;
    if (typeof v !== 'string' && typeof v !== 'number') {
      add(p(k), 'must be a single value');
      return fallback;
    }
    return String(v);
  };
  if (raw.enabled !== undefined && typeof raw.enabled !== 'boolean')
    add(p('enabled'), 'must be true or false');
  const nodePool = text('nodePool', '');
  const namespace = text('namespace', 'default');
  const cpu = text('cpu', '1');
  let timeoutSeconds = 600;
  if (raw.timeoutSeconds !== undefined) {
    const t = raw.timeoutSeconds;
    if (typeof t !== 'number' || !Number.isInteger(t) || t < 30 || t > 3600)
      add(p('timeoutSeconds'), 'must be a whole number of seconds from 30 to 3600');
    else timeoutSeconds = t;
  }
  if (!DNS_LABEL.test(namespace)) add(p('namespace'), `"${namespace}" is not a valid namespace name`);
  if (!QUANTITY.test(cpu)) add(p('cpu'), `"${cpu}" is not a CPU quantity`, 'e.g. "1" or "500m"');
  if (raw.enabled !== true) return undefined;
  if (nodePool === '')
    add(
      p('nodePool'),
      'is required when the smoke test is enabled',
      'name the NodePool the test pod must land on',
    );
  return {
    nodePool,
    namespace,
    image: text('image', SMOKE_TEST_IMAGE),
    cpu,
    timeoutSeconds,
    source: { file, line: at(p('nodePool')) ?? at(p()) },
  };
}

function validatePrereqs(
  raw: unknown,
  cluster: string,
  path: Path,
  add: (p: Path, message: string, fix?: string) => void,
  at: (p: Path) => number | undefined,
  file: string,
  issues: ConfigIssue[],
): PrereqsConfig {
  const out: PrereqsConfig = {
    identity: 'pod-identity',
    nodeRoleName: `KarpenterNodeRole-${cluster}`,
    controllerRoleName: `${cluster}-karpenter`,
    interruptionQueue: cluster,
    nodeAccess: 'auto',
    spotRole: 'auto',
    adopt: false,
    tags: {},
  };
  if (raw === undefined) return out;
  if (!isObject(raw)) {
    add(['prereqs'], 'must be a mapping');
    return out;
  }
  checkKeys(raw, [...path, 'prereqs'], PREREQS_KEYS, file, at, issues);
  const oneOf = <T extends string>(key: string, allowed: readonly T[]): T | undefined => {
    const v = raw[key];
    if (v === undefined) return undefined;
    if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v)) {
      add(['prereqs', key], `is ${JSON.stringify(v)}`, `use one of ${allowed.join(', ')}`);
      return undefined;
    }
    return v as T;
  };
  out.identity = oneOf('identity', ['pod-identity', 'irsa'] as const) ?? out.identity;
  out.nodeAccess = oneOf('nodeAccess', ['auto', 'access-entry', 'aws-auth'] as const) ?? out.nodeAccess;
  out.spotRole = oneOf('spotRole', ['auto', 'always', 'never'] as const) ?? out.spotRole;
  for (const key of ['nodeRoleName', 'controllerRoleName'] as const) {
    const v = raw[key];
    if (v === undefined) continue;
    if (typeof v !== 'string' || !IAM_NAME.test(v))
      add(
        ['prereqs', key],
        `${JSON.stringify(v)} is not an IAM role name`,
        'use at most 64 letters, digits and +=,.@_-',
      );
    else out[key] = v;
  }
  if (raw.interruptionQueue !== undefined) {
    const v =
      typeof raw.interruptionQueue === 'string'
        ? raw.interruptionQueue
        : JSON.stringify(raw.interruptionQueue);
    if (v.startsWith('arn:')) {
      add(
        ['prereqs', 'interruptionQueue'],
        'is an ARN; Karpenter takes the queue name',
        `write ${v.split(':').pop() ?? v}`,
      );
    } else if (v.startsWith('https://')) {
      add(
        ['prereqs', 'interruptionQueue'],
        'is a queue URL; Karpenter takes the queue name',
        `write ${v.split('/').pop() ?? v}`,
      );
    } else if (!QUEUE_NAME.test(v)) {
      add(
        ['prereqs', 'interruptionQueue'],
        `"${v}" is not an SQS queue name`,
        'use up to 80 letters, digits, hyphens and underscores',
      );
    } else out.interruptionQueue = v;
  }
  if (raw.adopt !== undefined) {
    if (typeof raw.adopt !== 'boolean') add(['prereqs', 'adopt'], 'must be true or false');
    else out.adopt = raw.adopt;
  }
  if (raw.tags !== undefined) {
    if (!isObject(raw.tags)) add(['prereqs', 'tags'], 'must be a mapping of tag keys to values');
    else for (const [k, v] of Object.entries(raw.tags)) out.tags[k] = String(v);
  }
  return out;
}

function validateInstall(
  raw: unknown,
  path: Path,
  add: (p: Path, message: string, fix?: string) => void,
  lineAt: (p: Path) => number | undefined,
  file: string,
  issues: ConfigIssue[],
  at: (p: Path) => number | undefined,
): InstallConfig {
  const out: InstallConfig = {
    values: {},
    valuesLines: {},
    timeoutSeconds: 300,
    migration: { enabled: false, nodeGroups: {} },
  };
  if (raw === undefined) return out;
  if (!isObject(raw)) {
    add(['install'], 'must be a mapping');
    return out;
  }
  checkKeys(raw, [...path, 'install'], INSTALL_KEYS, file, lineAt, issues);
  if (raw.replicas !== undefined) {
    if (typeof raw.replicas !== 'number' || !Number.isInteger(raw.replicas) || raw.replicas < 1)
      add(['install', 'replicas'], 'must be a whole number of at least 1', 'Karpenter runs 2 by default');
    else out.replicas = raw.replicas;
  }
  if (raw.timeoutSeconds !== undefined) {
    const t = raw.timeoutSeconds;
    if (typeof t !== 'number' || !Number.isInteger(t) || t < 1 || t > 3600)
      add(['install', 'timeoutSeconds'], 'must be a whole number of seconds from 1 to 3600');
    else out.timeoutSeconds = t;
  }
  if (raw.resources !== undefined) {
    if (!isObject(raw.resources)) add(['install', 'resources'], 'must be a mapping with requests and limits');
    else {
      checkKeys(
        raw.resources,
        [...path, 'install', 'resources'],
        ['requests', 'limits'],
        file,
        lineAt,
        issues,
      );
      const res: NonNullable<InstallConfig['resources']> = {};
      for (const kind of ['requests', 'limits'] as const) {
        const v = raw.resources[kind];
        if (v === undefined) continue;
        if (!isObject(v)) {
          add(['install', 'resources', kind], 'must be a mapping such as {cpu: 1, memory: 1Gi}');
          continue;
        }
        checkKeys(v, [...path, 'install', 'resources', kind], ['cpu', 'memory'], file, lineAt, issues);
        const q: Record<string, string> = {};
        for (const [name, value] of Object.entries(v)) {
          if ((typeof value !== 'string' && typeof value !== 'number') || !QUANTITY.test(String(value)))
            add(
              ['install', 'resources', kind, name],
              `${JSON.stringify(value)} is not a quantity`,
              'e.g. 1, 500m, 1Gi',
            );
          else q[name] = String(value);
        }
        res[kind] = q;
      }
      out.resources = res;
    }
  }
  if (raw.values !== undefined) {
    if (!isObject(raw.values)) add(['install', 'values'], 'must be a mapping of chart values');
    else {
      out.values = raw.values;
      const walk = (v: unknown, p: string[]) => {
        if (isObject(v) && Object.keys(v).length > 0) {
          for (const [k, x] of Object.entries(v)) walk(x, [...p, k]);
          return;
        }
        out.valuesLines[p.join('.')] = at(['install', 'values', ...p]) ?? 1;
      };
      walk(raw.values, []);
    }
  }
  if (raw.helm !== undefined) {
    const h = raw.helm;
    if (
      !isObject(h) ||
      typeof h.version !== 'string' ||
      !/^\d+\.\d+\.\d+$/.test(h.version.replace(/^v/, ''))
    ) {
      add(
        ['install', 'helm'],
        'must be {version: 3.x.y} with an optional sha256',
        'e.g. helm: {version: 3.17.3}',
      );
    } else {
      checkKeys(h, [...path, 'install', 'helm'], ['version', 'sha256'], file, lineAt, issues);
      if (h.sha256 !== undefined && (typeof h.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(h.sha256)))
        add(['install', 'helm', 'sha256'], 'must be 64 lower-case hex digits');
      out.helm = {
        version: h.version.replace(/^v/, ''),
        ...(typeof h.sha256 === 'string' ? { sha256: h.sha256 } : {}),
      };
    }
  }
  const m = raw.migration;
  if (m !== undefined) {
    if (!isObject(m)) add(['install', 'migration'], 'must be a mapping such as {enabled: true}');
    else {
      checkKeys(m, [...path, 'install', 'migration'], MIGRATION_KEYS, file, lineAt, issues);
      if (m.enabled !== undefined) {
        if (typeof m.enabled !== 'boolean') add(['install', 'migration', 'enabled'], 'must be true or false');
        else out.migration.enabled = m.enabled;
      }
      if (m.nodeGroups !== undefined) {
        if (!isObject(m.nodeGroups))
          add(
            ['install', 'migration', 'nodeGroups'],
            'must map node group names to {minSize, maxSize, desiredSize}',
          );
        else
          for (const [ng, sc] of Object.entries(m.nodeGroups)) {
            const p = ['install', 'migration', 'nodeGroups', ng];
            const n = (k: string) => (isObject(sc) ? sc[k] : undefined);
            const [min, max, desired] = [n('minSize'), n('maxSize'), n('desiredSize')];
            const ok = [min, max, desired].every(
              (x) => typeof x === 'number' && Number.isInteger(x) && x >= 0,
            );
            if (!ok)
              add(
                p,
                'must be {minSize, maxSize, desiredSize} with whole numbers',
                'e.g. {minSize: 2, maxSize: 2, desiredSize: 2}',
              );
            else if ((min as number) > (desired as number) || (desired as number) > (max as number))
              add(
                p,
                `needs minSize ≤ desiredSize ≤ maxSize (got ${String(min)}/${String(desired)}/${String(max)})`,
              );
            else
              out.migration.nodeGroups[ng] = {
                minSize: min as number,
                maxSize: max as number,
                desiredSize: desired as number,
              };
          }
      }
    }
  }
  return out;
}

/** Picks the cluster the run acts on: the `cluster` input, or the only one. */
export function selectCluster(config: LoadedConfig, name: string | undefined): ClusterConfig {
  if (name) {
    const c = config.clusters.find((x) => x.cluster === name);
    if (!c) {
      throw new Error(
        `cluster "${name}" is not in ${config.file}; it lists ${config.clusters.map((x) => x.cluster).join(', ')}`,
      );
    }
    return c;
  }
  if (config.clusters.length === 1) return config.clusters[0]!;
  throw new Error(
    `${config.file} lists ${config.clusters.length} clusters; set the "cluster" input to one of ${config.clusters.map((x) => x.cluster).join(', ')}`,
  );
}
