import { parseAllDocuments } from 'yaml';
import type { ClusterConfig, LoadedConfig } from '../config/load.ts';
import type { ConfigIssue } from '../config/issues.ts';
import type { ManifestObject } from '../config/manifests.ts';
import { detectHelm, resolveChart, templateChart } from '../adapters/helm.ts';
import { validateAgainstCrd, type CrdLike } from '../manifests/schema-validate.ts';
import { convertV1beta1, renderV1Yaml } from '../manifests/v1beta1.ts';
import type { Finding } from '../plan/model.ts';
import { refOf } from '../stages/pools.ts';
import { findNodePool } from '../stages/verify-smoke.ts';
import type { Logger } from '../stages/types.ts';

export interface OfflineResult {
  /** Problems that stop the run before any AWS or Kubernetes call. */
  issues: ConfigIssue[];
  /** Plan findings: v1beta1 manifests (blocking apply), skipped checks. */
  findings: Finding[];
  /** Text for the plan: what v1 requires and the equivalent v1 manifests. */
  notes: string[];
}

/**
 * The CRDs of the target release, rendered from its karpenter-crd chart (the OCI registry, a mirror, or
 * a local copy), so manifests are checked against exactly the version being installed.
 */
export async function readTargetCrds(
  config: LoadedConfig,
  cluster: ClusterConfig,
): Promise<Map<string, CrdLike>> {
  const helm = await detectHelm();
  const ref = resolveChart(
    cluster.karpenter.chartRepository,
    'karpenter-crd',
    cluster.karpenter.version,
    config.dir,
  );
  const out = await templateChart(helm, ref, {
    release: 'karpenter-crd',
    namespace: cluster.karpenter.namespace,
  });
  const crds = new Map<string, CrdLike>();
  for (const d of parseAllDocuments(out)) {
    const o = d.toJS() as (CrdLike & { kind?: string }) | null;
    if (o?.kind === 'CustomResourceDefinition' && o.spec?.names?.kind) crds.set(o.spec.names.kind, o);
  }
  return crds;
}

/** Values still holding a placeholder filled later (from AWS) cannot be judged offline. */
function valueAt(obj: unknown, path: string): unknown {
  let cur: unknown = obj;
  for (const part of path.match(/[^.[\]]+/g) ?? []) {
    if (cur === null || typeof cur !== 'object') return undefined;
    const key = part.replace(/^"|"$/g, '');
    cur = (cur as Record<string, unknown>)[key];
  }
  return cur;
}

/** The smoke test must target a NodePool this repository defines, or it proves nothing about it. */
export function checkSmokeTestPool(cluster: ClusterConfig, manifests: ManifestObject[]): ConfigIssue[] {
  const smoke = cluster.verify.smokeTest;
  if (!smoke || smoke.nodePool === '' || findNodePool(manifests, smoke.nodePool)) return [];
  return [
    {
      file: smoke.source.file,
      line: smoke.source.line,
      field: 'verify.smokeTest.nodePool',
      message: `no manifest of this cluster defines NodePool "${smoke.nodePool}"`,
      fix: 'name one of the NodePools in the manifests, so the smoke test proves a pool this repository manages',
    },
  ];
}

/**
 * Everything the pools stage can check without a cluster: each v1 manifest against the target
 * release's CRD schema (all problems, with file and line), and each v1beta1 manifest explained and
 * converted, so the plan shows what to change.
 */
export async function validateManifestsOffline(
  config: LoadedConfig,
  cluster: ClusterConfig,
  manifests: ManifestObject[],
  log: Logger,
): Promise<OfflineResult> {
  const issues: ConfigIssue[] = [];
  const findings: Finding[] = [];
  const notes: string[] = [];
  issues.push(...checkSmokeTestPool(cluster, manifests));

  const legacy = manifests.filter((m) => m.legacy);
  if (legacy.length > 0) {
    const conv = convertV1beta1(manifests);
    for (const m of legacy) {
      const kind = String(m.obj.kind);
      const name = String((m.obj.metadata as { name?: string }).name);
      findings.push({
        level: 'error',
        code: 'manifest-v1beta1',
        message: `${kind} ${name} uses ${String(m.obj.apiVersion)}, which Karpenter ${cluster.karpenter.version} does not serve`,
        fix: 'replace the manifest with the v1 form shown in the plan (`karpenter-action convert` writes it)',
        ref: refOf(kind, name),
        source: { file: m.file, line: m.line },
      });
    }
    for (const f of conv.findings) {
      findings.push({
        level: f.level,
        code: 'manifest-v1beta1-conversion',
        message: f.message,
        fix: f.fix,
        source: { file: f.file, line: f.line },
      });
    }
    notes.push(
      [
        'Manifests in the v1beta1 API need these changes for Karpenter v1:',
        ...conv.changes.map((c) => `- ${c.file}:${c.line} ${c.ref} \`${c.path}\`: ${c.message}`),
        '',
        'The equivalent v1 manifests:',
        '```yaml',
        renderV1Yaml(conv.converted.filter((_, i) => manifests[i]?.legacy)).trimEnd(),
        '```',
      ].join('\n'),
    );
  }

  const current = manifests.filter((m) => !m.legacy);
  if (current.length === 0) return { issues, findings, notes };
  let crds: Map<string, CrdLike>;
  try {
    crds = await readTargetCrds(config, cluster);
  } catch (e) {
    log.warn(`offline schema validation skipped: ${(e as Error).message}`);
    findings.push({
      level: 'warning',
      code: 'offline-validation-skipped',
      message: `the manifests were not checked against the Karpenter ${cluster.karpenter.version} CRDs offline: ${(e as Error).message.split('\n')[0]}`,
      fix: 'the API server still validates them by dry-run; make helm and the chart repository reachable for file:line errors',
    });
    return { issues, findings, notes };
  }
  for (const m of current) {
    const crd = crds.get(String(m.obj.kind));
    if (!crd) continue;
    for (const i of validateAgainstCrd(m.obj, crd, m.locate)) {
      const v = valueAt(m.obj, i.path);
      if (typeof v === 'string' && v.includes('${')) continue;
      issues.push({
        file: m.file,
        line: i.line ?? m.line,
        field: i.path,
        message: i.message,
        fix: `see the ${String(m.obj.kind)} schema of Karpenter ${cluster.karpenter.version}`,
      });
    }
  }
  return { issues, findings, notes };
}
