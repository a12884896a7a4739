import type { ManifestObject } from '../config/manifests.ts';
import { KubeApiError } from '../adapters/kube-http.ts';
import { FIELD_MANAGER, type KubeObject, type KubePort, type KubeResource } from '../adapters/kube.ts';
import { diffFields } from '../plan/field-diff.ts';
import type { Change, FieldChange, Finding, Impact } from '../plan/model.ts';
import { deepEqual, normalizeKubeObject } from '../plan/normalize.ts';
import { mapLimit } from '../util/concurrency.ts';
import type { AppliedChange, BaseContext, Stage, StageResult } from './types.ts';
import { isBeforeMinor } from '../util/release.ts';

export const NODEPOOL: KubeResource = {
  group: 'karpenter.sh',
  version: 'v1',
  plural: 'nodepools',
  kind: 'NodePool',
  namespaced: false,
};
export const EC2NODECLASS: KubeResource = {
  group: 'karpenter.k8s.aws',
  version: 'v1',
  plural: 'ec2nodeclasses',
  kind: 'EC2NodeClass',
  namespaced: false,
};
export const NODEOVERLAY: KubeResource = {
  group: 'karpenter.sh',
  version: 'v1alpha1',
  plural: 'nodeoverlays',
  kind: 'NodeOverlay',
  namespaced: false,
};
const RESOURCES: Record<string, KubeResource> = {
  NodePool: NODEPOOL,
  EC2NodeClass: EC2NODECLASS,
  NodeOverlay: NODEOVERLAY,
};

/** Marks objects the action created, so only those are ever pruned. */
export const OWNER_LABEL = 'app.kubernetes.io/managed-by';
export const OWNER_VALUE = FIELD_MANAGER;
/** Which manifest file an object came from, for people reading the cluster. */
export const SOURCE_ANNOTATION = 'karpenter-action.io/source';

/** NodePool fields whose change makes Karpenter drift (replace) the pool's nodes; the rest is behaviour. */
const NODEPOOL_DRIFT_PREFIX = 'spec.template.';

export interface PoolsContext extends BaseContext {
  kube: KubePort;
  /** The config's manifests, placeholders filled. */
  manifests: ManifestObject[];
  /** Results of the offline checks (v1beta1 conversion, skipped checks), made before any cluster call. */
  offline?: { findings: Finding[]; notes: string[] };
  concurrency?: number;
}

export const refOf = (kind: string, name: string): string => {
  const r = RESOURCES[kind];
  return `k8s:${r ? `${r.group}/${r.version}` : 'unknown'}/${kind}/${name}`;
};

/** The object as the action applies it: the manifest plus the ownership label and source annotation. */
export function buildDesiredObject(m: ManifestObject): KubeObject {
  const obj = structuredClone(m.obj) as KubeObject;
  const meta = (obj.metadata ??= {});
  meta.labels = { ...(meta.labels ?? {}), [OWNER_LABEL]: OWNER_VALUE };
  meta.annotations = { ...(meta.annotations ?? {}), [SOURCE_ANNOTATION]: m.file };
  return obj;
}

/** Says whether a change replaces nodes, and in words which nodes and why. */
export function evaluatePoolImpact(
  kind: string,
  name: string,
  action: Change['action'],
  fieldChanges: FieldChange[],
  poolsUsingClass: (className: string) => string[],
): Impact | undefined {
  if (kind === 'NodePool') {
    if (action === 'delete') {
      return {
        replacesNodes: true,
        detail: `Karpenter drains and terminates every node of NodePool ${name}.`,
      };
    }
    if (action !== 'update') return undefined;
    const drifting = fieldChanges.filter((f) => f.path.startsWith(NODEPOOL_DRIFT_PREFIX)).map((f) => f.path);
    if (drifting.length === 0) {
      return {
        replacesNodes: false,
        detail: `No node is replaced: ${fieldChanges.map((f) => f.path).join(', ')} take effect on the running nodes.`,
      };
    }
    const onlyRequirements = drifting.every((p) => p.startsWith('spec.template.spec.requirements'));
    return {
      replacesNodes: true,
      detail: onlyRequirements
        ? `Changes ${drifting.join(', ')}: Karpenter drifts and replaces the nodes of NodePool ${name} that no longer satisfy the requirements.`
        : `Changes ${drifting.join(', ')}: Karpenter drifts and replaces every node of NodePool ${name}.`,
    };
  }
  if (kind === 'NodeOverlay') {
    if (action === 'create' || action === 'update' || action === 'delete')
      return {
        replacesNodes: false,
        detail: `No node is drifted: Karpenter ${action === 'delete' ? 'stops adjusting' : 'adjusts'} the price or capacity it assumes for the instance types NodeOverlay ${name} selects, in new launches and in consolidation, which may then replace nodes the new figures make a worse fit.`,
      };
    return undefined;
  }
  if (kind === 'EC2NodeClass') {
    const pools = poolsUsingClass(name);
    const who =
      pools.length > 0 ? `NodePool${pools.length > 1 ? 's' : ''} ${pools.join(', ')}` : 'no NodePool yet';
    if (action === 'delete') {
      return {
        replacesNodes: pools.length > 0,
        detail: `EC2NodeClass ${name} is used by ${who}; Karpenter keeps it until they are gone.`,
      };
    }
    if (action !== 'update') return undefined;
    const specChanges = fieldChanges.filter((f) => f.path.startsWith('spec'));
    if (specChanges.length === 0)
      return { replacesNodes: false, detail: 'Only the object metadata changes; no node is replaced.' };
    return {
      replacesNodes: pools.length > 0,
      detail: `Changes ${specChanges.map((f) => f.path).join(', ')}: Karpenter drifts and replaces the nodes launched from EC2NodeClass ${name} (used by ${who}).`,
    };
  }
  return undefined;
}

function serverFinding(m: ManifestObject, e: KubeApiError): Finding {
  const causes = e.status?.details?.causes ?? [];
  const first = causes[0]?.field?.replace(/^\./, '');
  const path = first ? first.split(/\.|\[(\d+)\]/).filter((x) => x !== undefined && x !== '') : [];
  const line = path.length > 0 ? m.locate(path.map((p) => (/^\d+$/.test(p) ? Number(p) : p))) : undefined;
  const kind = String(m.obj.kind);
  const name = String((m.obj.metadata as { name?: string }).name);
  return {
    level: 'error',
    code: 'manifest-rejected',
    message: `the API server rejects ${kind} ${name}: ${e.status?.message ?? e.message}`,
    fix: 'fix the manifest; the message is the CRD validation of the target Karpenter version',
    ref: refOf(kind, name),
    source: { file: m.file, line: line ?? m.line },
  };
}

/** NodePools and EC2NodeClasses from the repository, diffed by server-side apply dry-run and applied the same way. */
export const poolsStage: Stage<PoolsContext> = {
  name: 'pools',

  async plan(ctx) {
    const findings: Finding[] = [...(ctx.offline?.findings ?? [])];
    const notes: string[] = [...(ctx.offline?.notes ?? [])];
    const changes: Change[] = [];
    const current = ctx.manifests.filter((m) => !m.legacy);

    let crdsInstalled = true;
    let overlaysServed = true;
    const live = new Map<string, KubeObject>();
    for (const res of [EC2NODECLASS, NODEPOOL, NODEOVERLAY]) {
      try {
        for (const o of await ctx.kube.list(res)) live.set(refOf(res.kind, String(o.metadata?.name)), o);
      } catch (e) {
        if (!(e instanceof KubeApiError && e.code === 404)) throw e;
        // NodeOverlay (v1alpha1) is served only by releases that ship its CRD
        if (res === NODEOVERLAY) overlaysServed = false;
        else crdsInstalled = false;
      }
    }
    const overlays = current.filter((m) => m.obj.kind === 'NodeOverlay');
    if (overlays.length > 0) findings.push(...checkOverlays(ctx, overlays));
    if (!crdsInstalled) {
      findings.push({
        level: 'warning',
        code: 'crds-missing',
        message:
          'the Karpenter CRDs are not installed yet, so the API server could not validate the manifests',
        fix: 'the install stage installs them first; the manifests are validated by the server when they are applied',
      });
    }

    const blocked = new Set(findings.filter((f) => f.level === 'error' && f.ref).map((f) => f.ref));
    const desiredClassUsers = new Map<string, Set<string>>();
    const poolsUsing = (cls: string) => [...(desiredClassUsers.get(cls) ?? [])].sort();
    const addUser = (pool: KubeObject) => {
      const cls = (pool.spec as { template?: { spec?: { nodeClassRef?: { name?: string } } } } | undefined)
        ?.template?.spec?.nodeClassRef?.name;
      if (!cls) return;
      if (!desiredClassUsers.has(cls)) desiredClassUsers.set(cls, new Set());
      desiredClassUsers.get(cls)!.add(String(pool.metadata?.name));
    };
    for (const o of live.values()) if (o.kind === 'NodePool') addUser(o);
    for (const m of current) if (m.obj.kind === 'NodePool') addUser(m.obj);

    const planned = await mapLimit(current, ctx.concurrency ?? 8, async (m): Promise<Change | undefined> => {
      const kind = String(m.obj.kind);
      const name = String((m.obj.metadata as { name: string }).name);
      const ref = refOf(kind, name);
      const res = RESOURCES[kind]!;
      const desired = buildDesiredObject(m);
      const liveObj = live.get(ref);
      let after: Record<string, unknown>;
      if (crdsInstalled && !blocked.has(ref) && (kind !== 'NodeOverlay' || overlaysServed)) {
        try {
          after = normalizeKubeObject(await ctx.kube.apply(res, desired, { dryRun: true }));
        } catch (e) {
          if (e instanceof KubeApiError && (e.code === 422 || e.code === 400)) {
            findings.push(serverFinding(m, e));
            return undefined;
          }
          throw e;
        }
      } else {
        after = normalizeKubeObject(desired);
      }
      const source = { file: m.file, line: m.line };
      if (!liveObj) {
        return {
          ref,
          stage: 'pools',
          kind,
          name,
          action: 'create',
          after,
          fieldChanges: [],
          reason: 'not in the cluster',
          source,
        };
      }
      const before = normalizeKubeObject(liveObj);
      if (deepEqual(before, after)) {
        return {
          ref,
          stage: 'pools',
          kind,
          name,
          action: 'no-op',
          fieldChanges: [],
          reason: 'matches the manifest',
          source,
        };
      }
      const fieldChanges = diffFields(before, after);
      const owned = liveObj.metadata?.labels?.[OWNER_LABEL] === OWNER_VALUE;
      return {
        ref,
        stage: 'pools',
        kind,
        name,
        action: 'update',
        before,
        after,
        fieldChanges,
        reason: owned
          ? 'the cluster differs from the manifest'
          : `adopts an existing ${kind} that karpenter-action did not create`,
        impact: evaluatePoolImpact(kind, name, 'update', fieldChanges, poolsUsing),
        source,
      };
    });
    for (const c of planned) if (c) changes.push(c);

    const desiredRefs = new Set(
      current.map((m) => refOf(String(m.obj.kind), String((m.obj.metadata as { name: string }).name))),
    );
    for (const m of ctx.manifests.filter((x) => x.legacy)) {
      desiredRefs.add(refOf(String(m.obj.kind), String((m.obj.metadata as { name: string }).name)));
    }
    for (const [ref, o] of [...live.entries()].sort(([a], [b]) => a.localeCompare(b))) {
      if (desiredRefs.has(ref) || o.metadata?.labels?.[OWNER_LABEL] !== OWNER_VALUE) continue;
      const kind = String(o.kind);
      const name = String(o.metadata?.name);
      const before = normalizeKubeObject(o);
      if (ctx.cluster.pools.prune) {
        changes.push({
          ref,
          stage: 'pools',
          kind,
          name,
          action: 'delete',
          before,
          fieldChanges: [],
          reason: 'its manifest was removed and pruning is enabled',
          impact: evaluatePoolImpact(kind, name, 'delete', [], poolsUsing),
        });
      } else {
        changes.push({
          ref,
          stage: 'pools',
          kind,
          name,
          action: 'no-op',
          fieldChanges: [],
          reason: 'left alone: its manifest was removed, and pruning is disabled (pools.prune)',
        });
      }
    }
    changes.sort((a, b) => order(a) - order(b) || a.ref.localeCompare(b.ref));
    return { stage: 'pools', changes, findings, notes };
  },

  async apply(ctx, plan) {
    const byRef = new Map(
      ctx.manifests.map((m) => [
        refOf(String(m.obj.kind), String((m.obj.metadata as { name: string }).name)),
        m,
      ]),
    );
    const results: AppliedChange[] = [];
    for (const c of plan.changes) {
      if (c.action === 'no-op') continue;
      const res = RESOURCES[c.kind];
      if (!res) {
        results.push({ ref: c.ref, action: c.action, outcome: 'failed', message: `unknown kind ${c.kind}` });
        continue;
      }
      try {
        if (c.action === 'delete') {
          const liveObj = await ctx.kube.get(res, c.name);
          if (!liveObj) {
            results.push({ ref: c.ref, action: c.action, outcome: 'skipped', message: 'already gone' });
            continue;
          }
          if (liveObj.metadata?.labels?.[OWNER_LABEL] !== OWNER_VALUE) {
            results.push({
              ref: c.ref,
              action: c.action,
              outcome: 'skipped',
              message: 'no longer owned by karpenter-action; left alone',
            });
            continue;
          }
          await ctx.kube.delete(res, c.name, { uid: liveObj.metadata?.uid });
          ctx.log.info(`deleted ${c.kind} ${c.name}`);
        } else {
          const m = byRef.get(c.ref);
          if (!m) throw new Error(`no manifest for ${c.ref}`);
          await ctx.kube.apply(res, buildDesiredObject(m), { dryRun: false });
          ctx.log.info(`${c.action === 'create' ? 'created' : 'updated'} ${c.kind} ${c.name}`);
        }
        results.push({ ref: c.ref, action: c.action, outcome: 'done' });
      } catch (e) {
        results.push({
          ref: c.ref,
          action: c.action,
          outcome: 'failed',
          message: e instanceof Error ? e.message : String(e),
        });
        // Later changes may depend on this one (a NodePool on its EC2NodeClass): stop here; the next run continues.
        break;
      }
    }
    const result: StageResult = {
      stage: 'pools',
      changes: results,
      ok: results.every((r) => r.outcome !== 'failed'),
    };
    return result;
  },
};

/**
 * EC2NodeClasses are created before the NodePools that reference them, and deleted after them;
 * NodeOverlays go between, so a new NodePool's first launch already sees its prices and capacities.
 */
function order(c: Change): number {
  const rank = c.kind === 'EC2NodeClass' ? 0 : c.kind === 'NodeOverlay' ? 1 : 2;
  return c.action === 'delete' ? 10 + (2 - rank) : rank;
}

/**
 * NodeOverlays do nothing unless the controller runs with the NodeOverlay feature gate
 * (`settings.featureGates.nodeOverlay`, off by default), and need a release that serves the CRD.
 */
function checkOverlays(ctx: PoolsContext, overlays: ManifestObject[]): Finding[] {
  const findings: Finding[] = [];
  const names = overlays.map((m) => String((m.obj.metadata as { name: string }).name)).join(', ');
  const gates = (ctx.cluster.install.values as { settings?: { featureGates?: { nodeOverlay?: unknown } } })
    .settings?.featureGates;
  if (gates?.nodeOverlay !== true) {
    findings.push({
      level: 'warning',
      code: 'nodeoverlay-gate-off',
      message: `NodeOverlay ${names} ${overlays.length > 1 ? 'are' : 'is'} applied, but the install values leave the NodeOverlay feature gate off, so Karpenter ignores ${overlays.length > 1 ? 'them' : 'it'}`,
      fix: 'set install.values.settings.featureGates.nodeOverlay: true (an alpha feature of Karpenter), or remove the NodeOverlay manifests',
      source: { file: overlays[0]!.file, line: overlays[0]!.line },
    });
  }
  if (isBeforeMinor(ctx.cluster.karpenter.version, '1.7')) {
    findings.push({
      level: 'error',
      code: 'nodeoverlay-unsupported',
      message: `Karpenter ${ctx.cluster.karpenter.version} ships no NodeOverlay CRD (karpenter.sh/v1alpha1, from 1.7), needed by ${names}`,
      fix: 'set karpenter.version to 1.7 or later, or remove the NodeOverlay manifests',
      ref: refOf('NodeOverlay', String((overlays[0]!.obj.metadata as { name: string }).name)),
      source: { file: overlays[0]!.file, line: overlays[0]!.line },
    });
  }
  return findings;
}
