import { globSync } from 'node:fs';
import { relative, resolve } from 'node:path';
import { LineCounter, parseAllDocuments, type Document } from 'yaml';
import type { ClusterConfig, LoadedConfig } from './load.ts';
import type { ConfigIssue } from './issues.ts';
import { lineOf } from './yaml-locate.ts';
import { buildYamlValue, readWorkspaceFile } from './workspace-files.ts';

/** The kinds the pools stage manages, by apiVersion. v1beta1 ones are recognised so they can be explained. */
export const POOL_KINDS: Record<
  string,
  { group: string; plural: string; current: string; legacy: string[] }
> = {
  NodePool: {
    group: 'karpenter.sh',
    plural: 'nodepools',
    current: 'karpenter.sh/v1',
    legacy: ['karpenter.sh/v1beta1'],
  },
  EC2NodeClass: {
    group: 'karpenter.k8s.aws',
    plural: 'ec2nodeclasses',
    current: 'karpenter.k8s.aws/v1',
    legacy: ['karpenter.k8s.aws/v1beta1'],
  },
  NodeOverlay: {
    group: 'karpenter.sh',
    plural: 'nodeoverlays',
    current: 'karpenter.sh/v1alpha1',
    legacy: [],
  },
};
const PRE_V1BETA1: Record<string, string> = {
  Provisioner: 'karpenter.sh/v1alpha5 Provisioner (pre-0.32) is replaced by NodePool',
  AWSNodeTemplate: 'karpenter.k8s.aws/v1alpha1 AWSNodeTemplate (pre-0.32) is replaced by EC2NodeClass',
};

/** One object from a manifest file, with where it came from so every message can point at it. */
export interface ManifestObject {
  obj: Record<string, unknown>;
  file: string;
  line: number;
  /** Locates a field of this object in its file. */
  locate: (path: readonly (string | number)[]) => number | undefined;
  legacy: boolean;
}

const PLACEHOLDER = /\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g;

/** Placeholders found in guides, filled from the config; others come from `variables`. */
export const BUILTIN_PLACEHOLDERS = [
  'CLUSTER_NAME',
  'AWS_REGION',
  'AWS_DEFAULT_REGION',
  'KARPENTER_VERSION',
  'KARPENTER_NAMESPACE',
  'AWS_ACCOUNT_ID',
  'AWS_PARTITION',
  'K8S_VERSION',
  'ALIAS_VERSION',
] as const;
/** Placeholders whose value needs AWS (the account, the cluster's version, the current AMI release). */
export const COMPUTED_PLACEHOLDERS = [
  'AWS_ACCOUNT_ID',
  'K8S_VERSION',
  'ALIAS_VERSION',
  'AWS_PARTITION',
] as const;

export interface LoadedManifests {
  objects: ManifestObject[];
  issues: ConfigIssue[];
  /** Placeholder names the manifests use (to resolve the computed ones only when needed). */
  placeholders: Set<string>;
}

/**
 * Reads every manifest the cluster's globs name and checks what can be checked offline: YAML syntax,
 * kinds, names, duplicates and placeholders. All problems are returned together.
 */
export function loadManifests(
  config: LoadedConfig,
  cluster: ClusterConfig,
  workspace = process.cwd(),
): LoadedManifests {
  const issues: ConfigIssue[] = [];
  const objects: ManifestObject[] = [];
  const placeholders = new Set<string>();
  const seen = new Map<string, string>();
  const known = new Set<string>([...BUILTIN_PLACEHOLDERS, ...Object.keys(cluster.variables)]);
  const files = new Map<string, number>();
  cluster.manifests.forEach((glob, i) => {
    const matches = globSync(glob, { cwd: config.dir }).sort();
    const yamls = matches.filter((m) => /\.ya?ml$/.test(m));
    if (yamls.length === 0) {
      issues.push({
        file: cluster.source.file,
        line: cluster.source.line,
        field: `manifests[${i}]`,
        message: `"${glob}" matches no .yaml or .yml file next to ${config.file}`,
        fix: 'check the path; globs are relative to the config file',
      });
    }
    for (const m of yamls) {
      const abs = resolve(config.dir, m);
      if (!files.has(abs)) files.set(abs, i);
    }
  });

  for (const [abs, glob] of files) {
    const file = relative(workspace, abs);
    const read = readWorkspaceFile(abs, workspace);
    if (read.text === undefined) {
      issues.push({
        file: cluster.source.file,
        line: cluster.manifestLines?.[glob] ?? cluster.source.line,
        field: `manifests[${glob}]`,
        message: `"${cluster.manifests[glob] ?? ''}" matches ${file}, which ${read.problem}`,
        fix: read.fix,
      });
      continue;
    }
    const text = read.text;
    const lines = text.split('\n');
    lines.forEach((l, i) => {
      for (const m of l.matchAll(PLACEHOLDER)) {
        const name = m[1]!;
        placeholders.add(name);
        if (!known.has(name)) {
          issues.push({
            file,
            line: i + 1,
            message: `unknown placeholder \${${name}}`,
            fix: `define it under "variables" in ${cluster.source.file}, or use one of ${BUILTIN_PLACEHOLDERS.join(', ')}`,
          });
        }
      }
    });
    const lc = new LineCounter();
    const docs = parseAllDocuments(text, { lineCounter: lc, prettyErrors: false, uniqueKeys: true });
    const list: Document[] = Array.isArray(docs) ? docs : [];
    if (!Array.isArray(docs)) {
      issues.push({ file, line: 1, message: 'not a YAML stream' });
      continue;
    }
    for (const doc of list) {
      const err = doc.errors[0];
      if (err) {
        issues.push({
          file,
          line: lc.linePos(err.pos[0]).line,
          message: `YAML syntax error: ${err.message.split('\n')[0]}`,
        });
        continue;
      }
      const parsed = buildYamlValue(doc, lc);
      if (parsed.problem !== undefined) {
        issues.push({ file, line: parsed.line, message: parsed.problem, fix: parsed.fix });
        continue;
      }
      const value: unknown = parsed.value;
      if (value === null || value === undefined) continue;
      const locate = (p: readonly (string | number)[]) => lineOf(doc, lc, p);
      const line = locate([]) ?? 1;
      if (typeof value !== 'object' || Array.isArray(value)) {
        issues.push({ file, line, message: 'each YAML document must be a Kubernetes object (a mapping)' });
        continue;
      }
      const obj = value as Record<string, unknown>;
      const kind = typeof obj.kind === 'string' ? obj.kind : undefined;
      const apiVersion = typeof obj.apiVersion === 'string' ? obj.apiVersion : undefined;
      const meta = obj.metadata as Record<string, unknown> | undefined;
      const name = typeof meta?.name === 'string' ? meta.name : undefined;
      if (!kind || !apiVersion) {
        issues.push({
          file,
          line,
          field: kind ? 'apiVersion' : 'kind',
          message: 'is required',
          fix: 'every object needs apiVersion and kind',
        });
        continue;
      }
      if (kind in PRE_V1BETA1) {
        issues.push({
          file,
          line: locate(['kind']) ?? line,
          field: 'kind',
          message: PRE_V1BETA1[kind]!,
          fix: 'rewrite it as a karpenter.sh/v1 NodePool and karpenter.k8s.aws/v1 EC2NodeClass',
        });
        continue;
      }
      const spec = POOL_KINDS[kind];
      if (!spec) {
        issues.push({
          file,
          line: locate(['kind']) ?? line,
          field: 'kind',
          message: `${kind} is not managed by the pools stage`,
          fix: 'manifests may contain only NodePool, EC2NodeClass and NodeOverlay objects',
        });
        continue;
      }
      const legacy = spec.legacy.includes(apiVersion);
      if (apiVersion !== spec.current && !legacy) {
        issues.push({
          file,
          line: locate(['apiVersion']) ?? line,
          field: 'apiVersion',
          message: `${kind} apiVersion "${apiVersion}" is not known`,
          fix: `use ${spec.current}`,
        });
        continue;
      }
      if (!name) {
        issues.push({
          file,
          line: locate(['metadata']) ?? line,
          field: 'metadata.name',
          message: 'is required',
        });
        continue;
      }
      if (meta?.namespace !== undefined) {
        issues.push({
          file,
          line: locate(['metadata', 'namespace']) ?? line,
          field: 'metadata.namespace',
          message: `${kind} is cluster-scoped and takes no namespace`,
          fix: 'remove metadata.namespace',
        });
        continue;
      }
      const key = `${kind}/${name}`;
      const prev = seen.get(key);
      if (prev) {
        issues.push({
          file,
          line,
          field: 'metadata.name',
          message: `${key} is defined twice (also at ${prev})`,
          fix: 'keep one definition',
        });
        continue;
      }
      seen.set(key, `${file}:${line}`);
      objects.push({ obj, file, line, locate, legacy });
    }
  }
  return { objects, issues, placeholders };
}

/** Replaces `${NAME}` in every string of the object; names were checked by loadManifests. */
export function substitutePlaceholders<T>(value: T, values: Record<string, string>): T {
  const walk = (v: unknown): unknown => {
    if (typeof v === 'string') return v.replace(PLACEHOLDER, (m, n: string) => values[n] ?? m);
    if (Array.isArray(v)) return v.map(walk);
    if (v && typeof v === 'object')
      return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x)]));
    return v;
  };
  return walk(value) as T;
}
