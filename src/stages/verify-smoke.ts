import { randomBytes } from 'node:crypto';
import { KubeApiError } from '../adapters/kube-http.ts';
import { DEPLOYMENTS, EVENTS, NODECLAIMS, PODS } from '../adapters/kube-resources.ts';
import { watchCollectionUntil, watchUntil } from '../adapters/kube-watch.ts';
import { conditionOf, type KubeObject, type KubePort } from '../adapters/kube.ts';
import type { SmokeTestConfig } from '../config/load.ts';
import type { ManifestObject } from '../config/manifests.ts';
import type { Logger } from './types.ts';

/** The smoke test's Deployments carry this label, so a run can remove what an interrupted one left. */
export const SMOKE_LABEL = 'app.kubernetes.io/name=karpenter-action-smoke';
const RUN_LABEL = 'karpenter-action/smoke-run';
/** NodeClaim conditions in the order Karpenter sets them on the way to a usable node. */
const LIFECYCLE = ['Launched', 'Registered', 'Initialized'] as const;

export interface SmokeStep {
  name: string;
  status: 'passed' | 'failed' | 'timed-out';
  detail: string;
  fix?: string;
  /** How long this step took. */
  durationMs: number;
  /** From the start of the verify stage until the step settled. */
  elapsedMs: number;
}

export interface SmokeContext {
  kube: KubePort;
  log: Logger;
  smoke: SmokeTestConfig;
  /** The NodePool manifest, for the taints the test pod must tolerate. */
  nodePool: KubeObject | undefined;
  /** When the verify stage started, for elapsed times. */
  started: number;
}

const nameOf = (o: KubeObject | undefined) => o?.metadata?.name ?? '?';
const podNode = (p: KubeObject) => (p.spec as { nodeName?: string } | undefined)?.nodeName;
const podRunning = (p: KubeObject) =>
  (p.status as { phase?: string } | undefined)?.phase === 'Running' && !!podNode(p);
const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

/** The NodePool manifest of that name, which the smoke test targets. */
export function findNodePool(manifests: ManifestObject[], name: string): KubeObject | undefined {
  return manifests.find(
    (m) => m.obj.kind === 'NodePool' && (m.obj.metadata as { name?: string } | undefined)?.name === name,
  )?.obj;
}

/** The test Deployment: one pause pod that fits only on a node of the chosen NodePool. */
export function buildSmokeDeployment(
  smoke: SmokeTestConfig,
  runId: string,
  nodePool?: KubeObject,
): KubeObject {
  const taints = (
    (nodePool?.spec as { template?: { spec?: { taints?: { key: string; effect: string }[] } } } | undefined)
      ?.template?.spec?.taints ?? []
  ).map((t) => ({ key: t.key, operator: 'Exists', effect: t.effect }));
  const labels = {
    'app.kubernetes.io/name': 'karpenter-action-smoke',
    'app.kubernetes.io/managed-by': 'karpenter-action',
    [RUN_LABEL]: runId,
  };
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: `karpenter-action-smoke-${runId}`, namespace: smoke.namespace, labels },
    spec: {
      replicas: 1,
      selector: { matchLabels: { [RUN_LABEL]: runId } },
      template: {
        metadata: { labels },
        spec: {
          terminationGracePeriodSeconds: 0,
          nodeSelector: { 'karpenter.sh/nodepool': smoke.nodePool },
          ...(taints.length > 0 ? { tolerations: taints } : {}),
          securityContext: {
            runAsNonRoot: true,
            runAsUser: 65535,
            seccompProfile: { type: 'RuntimeDefault' },
          },
          containers: [
            {
              name: 'pause',
              image: smoke.image,
              resources: { requests: { cpu: smoke.cpu } },
              securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } },
            },
          ],
        },
      },
    },
  };
}

/**
 * Creates the test Deployment once. A create whose answer was lost (a timeout, a dropped connection)
 * may have reached the API server, and its retry then meets 409 AlreadyExists: before reporting any
 * failure the Deployment is looked up by name and this run's label, and if it is there it is this
 * run's, so the test goes on and its clean-up removes it instead of leaving a node running for it.
 */
export async function createSmokeDeployment(
  kube: KubePort,
  want: KubeObject,
  runId: string,
): Promise<KubeObject> {
  try {
    return await kube.create(DEPLOYMENTS, want);
  } catch (e) {
    const found = await kube.get(DEPLOYMENTS, nameOf(want), want.metadata?.namespace).catch(() => undefined);
    if (found?.metadata?.labels?.[RUN_LABEL] === runId) return found;
    throw e;
  }
}

/** Why a pod is still pending, from its own conditions and the latest scheduling events. */
async function describePending(
  kube: KubePort,
  namespace: string,
  pod: KubeObject | undefined,
): Promise<string> {
  if (!pod) return 'no pod was created for the Deployment';
  const sched = conditionOf(pod, 'PodScheduled');
  const parts = [
    `pod ${nameOf(pod)} is ${(pod.status as { phase?: string } | undefined)?.phase ?? 'Pending'}`,
  ];
  if (sched?.status === 'False' && sched.message) parts.push(sched.message);
  try {
    const events = await kube.list(EVENTS, {
      namespace,
      fieldSelector: `involvedObject.name=${nameOf(pod)}`,
    });
    const mine = events.slice(-3).map((e) => `${String(e.reason)}: ${String(e.message)}`);
    parts.push(...mine);
  } catch {
    // events are a hint only
  }
  return parts.join('; ');
}

/**
 * Proves the chosen NodePool can launch a node: a pause pod that only fits there, a NodeClaim for it
 * watched through Launched, Registered and Initialized, the pod running, then the Deployment and that
 * NodeClaim removed and the NodeClaim watched until it is gone. Each step reports its own duration.
 */
export async function runSmokeTest(ctx: SmokeContext): Promise<SmokeStep[]> {
  const { kube, smoke } = ctx;
  const steps: SmokeStep[] = [];
  let mark = Date.now();
  const step = (s: Omit<SmokeStep, 'durationMs' | 'elapsedMs'>): SmokeStep => {
    const now = Date.now();
    const done = {
      ...s,
      name: `smoke test: ${s.name}`,
      durationMs: now - mark,
      elapsedMs: now - ctx.started,
    };
    mark = now;
    steps.push(done);
    return done;
  };
  const timeoutMs = smoke.timeoutSeconds * 1000;
  const runId = randomBytes(4).toString('hex');
  const ns = smoke.namespace;

  for (const old of await kube.list(DEPLOYMENTS, { namespace: ns, labelSelector: SMOKE_LABEL })) {
    await kube.delete(DEPLOYMENTS, nameOf(old), { namespace: ns, uid: old.metadata?.uid });
    ctx.log.info(`removed the smoke-test Deployment ${ns}/${nameOf(old)} an earlier run left`);
  }
  const poolSelector = `karpenter.sh/nodepool=${smoke.nodePool}`;
  const before = new Set(
    (await kube.list(NODECLAIMS, { labelSelector: poolSelector })).map((n) => n.metadata?.uid),
  );
  let deployment: KubeObject;
  try {
    deployment = await createSmokeDeployment(kube, buildSmokeDeployment(smoke, runId, ctx.nodePool), runId);
  } catch (e) {
    step({
      name: 'create the test Deployment',
      status: 'failed',
      detail: e instanceof KubeApiError ? e.message : String(e),
      fix: `the action needs to create Deployments in namespace ${ns}`,
    });
    return steps;
  }
  step({ name: 'create the test Deployment', status: 'passed', detail: `${ns}/${nameOf(deployment)}` });

  let claim: KubeObject | undefined;
  // Only a NodeClaim whose node ran the test pod is known to be the test's; only that one is removed.
  let ranOnClaim = false;
  try {
    // A new NodeClaim of the pool, or the pod running on capacity the pool already had.
    const stop = new AbortController();
    const newClaim = watchCollectionUntil(
      kube,
      NODECLAIMS,
      { labelSelector: poolSelector },
      (items) => items.some((n) => !before.has(n.metadata?.uid)),
      timeoutMs,
      stop.signal,
    );
    const running = watchCollectionUntil(
      kube,
      PODS,
      { namespace: ns, labelSelector: `${RUN_LABEL}=${runId}` },
      (items) => items.some(podRunning),
      timeoutMs,
      stop.signal,
    );
    const first = await Promise.race([
      newClaim.then((r) => ({ r, what: 'claim' as const })),
      running.then((r) => ({ r, what: 'pod' as const })),
    ]);
    stop.abort();
    const [claims, pods] = await Promise.all([newClaim, running]);
    if (first.what === 'pod' && first.r.ok && !claims.items.some((n) => !before.has(n.metadata?.uid))) {
      const pod = pods.items.find(podRunning);
      step({
        name: 'pod running',
        status: 'passed',
        detail: `pod ${nameOf(pod)} runs on node ${pod ? podNode(pod) : '?'}, which the pool already had: no new node was needed, so no launch was proven (lower the pool's free capacity or raise smokeTest.cpu to force one)`,
      });
      return steps;
    }
    claim = claims.items.find((n) => !before.has(n.metadata?.uid));
    if (!claim) {
      step({
        name: 'NodeClaim created',
        status: 'timed-out',
        detail: `no NodeClaim of NodePool ${smoke.nodePool} appeared within ${smoke.timeoutSeconds} s: ${await describePending(kube, ns, pods.items[0])}`,
        fix: "read the pod's FailedScheduling events and the controller log: the pool's requirements, limits or taints may not admit the pod",
      });
      return steps;
    }
    step({ name: 'NodeClaim created', status: 'passed', detail: `NodeClaim ${nameOf(claim)}` });

    for (const type of LIFECYCLE) {
      const seen = await watchUntil(
        kube,
        NODECLAIMS,
        { name: nameOf(claim) },
        (o) => !o || conditionOf(o, type)?.status === 'True' || conditionOf(o, type)?.status === 'False',
        Math.max(1, timeoutMs - (Date.now() - mark)),
      );
      if (!seen.last) {
        step({
          name: `NodeClaim ${type}`,
          status: 'failed',
          detail: `NodeClaim ${nameOf(claim)} was deleted before it was ${type}`,
          fix: 'Karpenter removes a NodeClaim that does not launch within 5 minutes or register within 15: read the controller log and the node role, subnets and security groups',
        });
        claim = undefined;
        return steps;
      }
      claim = seen.last;
      const c = conditionOf(claim, type);
      if (c?.status === 'True') {
        const detail =
          type === 'Launched'
            ? `${String((claim.status as { providerID?: string } | undefined)?.providerID ?? 'instance')} (${claim.metadata?.labels?.['node.kubernetes.io/instance-type'] ?? 'type not reported'})`
            : type === 'Registered'
              ? `node ${String((claim.status as { nodeName?: string } | undefined)?.nodeName ?? '?')} joined the cluster`
              : 'the node is ready for pods';
        step({ name: `NodeClaim ${type}`, status: 'passed', detail });
      } else {
        step({
          name: `NodeClaim ${type}`,
          status: c?.status === 'False' ? 'failed' : 'timed-out',
          detail: `NodeClaim ${nameOf(claim)}: ${type}=${c?.status ?? 'not reported'}${c?.reason ? ` ${c.reason}` : ''}${c?.message ? `: ${c.message}` : ''}`,
          ...(type === 'Registered'
            ? {
                fix: 'a node that launches but never registers usually lacks node access (access entry or aws-auth) or a route to the API server',
              }
            : {}),
        });
        return steps;
      }
    }

    const nodeName = (claim.status as { nodeName?: string } | undefined)?.nodeName;
    const ran = await watchCollectionUntil(
      kube,
      PODS,
      { namespace: ns, labelSelector: `${RUN_LABEL}=${runId}` },
      (items) => items.some(podRunning),
      Math.max(1, timeoutMs - (Date.now() - mark)),
    );
    const pod = ran.items.find(podRunning) ?? ran.items[0];
    ranOnClaim = ran.ok && !!pod && !!nodeName && podNode(pod) === nodeName;
    if (ran.ok && pod)
      step({
        name: 'pod running',
        status: 'passed',
        detail: `pod ${nameOf(pod)} runs on node ${podNode(pod) ?? '?'}${podNode(pod) === nodeName ? '' : ` (not on ${nodeName ?? 'the new node'})`}`,
      });
    else
      step({
        name: 'pod running',
        status: 'timed-out',
        detail: await describePending(kube, ns, pod),
      });
    return steps;
  } finally {
    await cleanUp(ctx, deployment, claim, ranOnClaim, runId, step, timeoutMs);
  }
}

/**
 * Removes the test Deployment, then the NodeClaim launched for it (only if the test pod ran on its
 * node and nothing else runs there), and watches the NodeClaim until Karpenter has drained and
 * terminated it.
 */
async function cleanUp(
  ctx: SmokeContext,
  deployment: KubeObject,
  claim: KubeObject | undefined,
  ranOnClaim: boolean,
  runId: string,
  step: (s: Omit<SmokeStep, 'durationMs' | 'elapsedMs'>) => SmokeStep,
  timeoutMs: number,
): Promise<void> {
  const { kube, smoke } = ctx;
  try {
    await kube.delete(DEPLOYMENTS, nameOf(deployment), {
      namespace: smoke.namespace,
      uid: deployment.metadata?.uid,
    });
    if (!claim) {
      step({ name: 'clean up', status: 'passed', detail: `Deployment ${nameOf(deployment)} deleted` });
      return;
    }
    if (!ranOnClaim) {
      step({
        name: 'clean up',
        status: 'passed',
        detail: `Deployment deleted; NodeClaim ${nameOf(claim)} is left to Karpenter: the test pod never ran on it, so it may be another pod's (Karpenter removes NodeClaims that fail to launch or register)`,
      });
      return;
    }
    const nodeName = (claim.status as { nodeName?: string } | undefined)?.nodeName;
    const others = nodeName
      ? (await kube.list(PODS, { fieldSelector: `spec.nodeName=${nodeName}` })).filter(
          (p) =>
            p.metadata?.labels?.[RUN_LABEL] !== runId &&
            !(p.metadata as { ownerReferences?: { kind: string }[] } | undefined)?.ownerReferences?.some(
              (o) => o.kind === 'DaemonSet' || o.kind === 'Node',
            ),
        )
      : [];
    if (others.length > 0) {
      step({
        name: 'clean up',
        status: 'passed',
        detail: `Deployment deleted; NodeClaim ${nameOf(claim)} kept because other pods run on it (${others
          .slice(0, 3)
          .map((p) => `${p.metadata?.namespace}/${nameOf(p)}`)
          .join(', ')}); Karpenter consolidates it by the pool's disruption policy`,
      });
      return;
    }
    await kube.delete(NODECLAIMS, nameOf(claim), { uid: claim.metadata?.uid });
    const gone = await watchUntil(kube, NODECLAIMS, { name: nameOf(claim) }, (o) => !o, timeoutMs);
    step(
      gone.ok
        ? {
            name: 'clean up',
            status: 'passed',
            detail: `Deployment deleted; NodeClaim ${nameOf(claim)} drained and gone`,
          }
        : {
            name: 'clean up',
            status: 'timed-out',
            detail: `NodeClaim ${nameOf(claim)} still exists ${seconds(timeoutMs)} after its deletion (finalizers: ${((gone.last?.metadata as { finalizers?: string[] } | undefined)?.finalizers ?? []).join(', ') || 'none'})`,
            fix: 'Karpenter terminates the instance before it removes the NodeClaim: read the controller log for termination errors',
          },
    );
  } catch (e) {
    step({
      name: 'clean up',
      status: 'failed',
      detail: `could not remove the smoke test's objects: ${(e as Error).message}`,
    });
  }
}
