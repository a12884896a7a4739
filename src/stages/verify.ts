import type { ManifestObject } from '../config/manifests.ts';
import { KubeApiError } from '../adapters/kube-http.ts';
import { CRDS, DEPLOYMENTS, LEASES, PODS } from '../adapters/kube-resources.ts';
import { watchUntil } from '../adapters/kube-watch.ts';
import {
  conditionOf,
  conditionsOf,
  type KubeObject,
  type KubePort,
  type KubeResource,
} from '../adapters/kube.ts';
import type { Finding, StagePlan } from '../plan/model.ts';
import { maskSecrets } from '../render/sensitive.ts';
import { evaluateControllerReady } from './install.ts';
import { findNodePool, runSmokeTest } from './verify-smoke.ts';
import { EC2NODECLASS, NODEPOOL } from './pools.ts';
import type { BaseContext } from './types.ts';

/** The lease Karpenter's replicas elect their leader with (LEADER_ELECTION_NAME's default). */
export const LEADER_LEASE = 'karpenter-leader-election';
const CONTROLLER = 'karpenter';
const KARPENTER_CRDS = [
  'nodepools.karpenter.sh',
  'nodeclaims.karpenter.sh',
  'ec2nodeclasses.karpenter.k8s.aws',
];

export interface VerifyContext extends BaseContext {
  kube: KubePort;
  manifests: ManifestObject[];
  /** How long each check may wait. */
  timeoutSeconds: number;
  /** For the lease's freshness; tests pass a fixed clock. */
  now?: () => Date;
}

export type CheckStatus = 'passed' | 'failed' | 'timed-out' | 'skipped';

/** One verification, as the report shows it. */
export interface VerifyCheck {
  name: string;
  status: CheckStatus;
  /** For passed checks what was seen; otherwise the reason and the object's own message. */
  detail: string;
  fix?: string;
  /** From the start of the stage until the check settled. */
  elapsedMs: number;
  /** For the smoke test's steps: how long the step itself took. */
  durationMs?: number;
}

/** A check that failed or timed out; passed and skipped ones do not fail verification. */
export const isFailing = (c: VerifyCheck): boolean => c.status === 'failed' || c.status === 'timed-out';

/** What an evaluator says about an object right now: done, failed for good, or not yet. */
type Verdict =
  { state: 'ok'; detail: string } | { state: 'failed' | 'pending'; detail: string; fix?: string };

/** What to do about the sub-conditions Karpenter reports most, by reason. */
const FIXES: Record<string, string> = {
  SubnetsNotFound:
    'tag the subnets karpenter.sh/discovery=<cluster> (the prereqs stage does this) or fix subnetSelectorTerms',
  SecurityGroupsNotFound:
    'tag the cluster security group karpenter.sh/discovery=<cluster> or fix securityGroupSelectorTerms',
  AMINotFound: "pick an AMI alias published for the cluster's Kubernetes version",
  InstanceProfileNotFound: 'check spec.role names the node role the prereqs stage created',
  NodeClassNotFound: "create the EC2NodeClass the NodePool's nodeClassRef names",
  CreateFleetAuthCheckFailed:
    'the controller role lacks ec2:CreateFleet: run the prereqs stage for this Karpenter version',
  RunInstancesAuthCheckFailed:
    'the controller role lacks ec2:RunInstances: run the prereqs stage for this Karpenter version',
  CreateLaunchTemplateAuthCheckFailed:
    'the controller role lacks ec2:CreateLaunchTemplate: run the prereqs stage for this Karpenter version',
};

/**
 * A NodePool or EC2NodeClass is verified when `Ready` is True for its current generation. When it is
 * False, the failing sub-condition (SubnetsReady=False SubnetsNotFound, ...) is the reason.
 */
export function evaluateReady(kind: string, o: KubeObject | undefined): Verdict {
  const name = o?.metadata?.name ?? '?';
  if (!o) return { state: 'pending', detail: `${kind} does not exist` };
  const generation = (o.metadata as { generation?: number }).generation ?? 0;
  const observed =
    (o.status as { observedGeneration?: number } | undefined)?.observedGeneration ??
    conditionOf(o, 'Ready')?.observedGeneration ??
    0;
  if (observed < generation)
    return {
      state: 'pending',
      detail: `${kind} ${name}: generation ${generation} not observed yet (${observed})`,
    };
  const conds = conditionsOf(o);
  const ready = conds.find((c) => c.type === 'Ready');
  if (ready?.status === 'True') return { state: 'ok', detail: `${kind} ${name} is Ready` };
  if (ready?.status === 'False') {
    const cause = conds.find((c) => c.type !== 'Ready' && c.status === 'False') ?? ready;
    const fix = cause.reason ? FIXES[cause.reason] : undefined;
    return {
      state: 'failed',
      detail:
        `${kind} ${name}: ${cause.type}=False ${cause.reason ?? ''}${cause.message ? `: ${cause.message}` : ''}`.trim(),
      ...(fix ? { fix } : {}),
    };
  }
  return { state: 'pending', detail: `${kind} ${name}: Ready is ${ready?.status ?? 'not reported'} yet` };
}

/** A leader holds the lease when it names a holder and renewed it within its duration. */
export function evaluateLease(o: KubeObject | undefined, now: Date): Verdict {
  const spec = (o?.spec ?? {}) as {
    holderIdentity?: string;
    renewTime?: string;
    leaseDurationSeconds?: number;
  };
  if (!o || !spec.holderIdentity) return { state: 'pending', detail: 'no replica holds the leader lease' };
  const renewed = spec.renewTime ? Date.parse(spec.renewTime) : NaN;
  const ttl = (spec.leaseDurationSeconds ?? 15) * 1000;
  if (Number.isNaN(renewed) || now.getTime() - renewed > ttl)
    return { state: 'pending', detail: `the lease of ${spec.holderIdentity} expired` };
  return { state: 'ok', detail: `${spec.holderIdentity} leads` };
}

function evaluateEstablished(o: KubeObject | undefined): Verdict {
  if (!o) return { state: 'pending', detail: 'the CRD does not exist' };
  const est = conditionOf(o, 'Established');
  return est?.status === 'True'
    ? { state: 'ok', detail: `${o.metadata?.name ?? ''} is Established` }
    : {
        state: 'pending',
        detail: `${o.metadata?.name ?? ''} is not Established${est?.message ? `: ${est.message}` : ''}`,
      };
}

/**
 * Watches one object until its evaluator says ok or failed, or the time is up. A failure is final
 * only once it holds at the deadline, since Karpenter reconciles conditions back and forth.
 */
async function watchCheck(
  ctx: VerifyContext,
  name: string,
  res: KubeResource,
  target: { name: string; namespace?: string },
  evaluate: (o: KubeObject | undefined) => Verdict,
  started: number,
): Promise<VerifyCheck> {
  let verdict: Verdict = { state: 'pending', detail: 'not read yet' };
  const seen = await watchUntil(
    ctx.kube,
    res,
    target,
    (o) => (verdict = evaluate(o)).state === 'ok',
    ctx.timeoutSeconds * 1000,
  );
  const elapsedMs = Date.now() - started;
  if (seen.ok) return { name, status: 'passed', detail: verdict.detail, elapsedMs };
  verdict = evaluate(seen.last);
  return {
    name,
    status: verdict.state === 'failed' ? 'failed' : 'timed-out',
    detail: verdict.state === 'failed' ? verdict.detail : `after ${ctx.timeoutSeconds} s: ${verdict.detail}`,
    ...(verdict.state !== 'ok' && verdict.fix ? { fix: verdict.fix } : {}),
    elapsedMs,
  };
}

/** The last error-level lines the controller logged (JSON logs, level "ERROR"), secrets masked. */
export async function readControllerErrors(kube: KubePort, namespace: string, max = 10): Promise<string[]> {
  let pods: KubeObject[];
  try {
    pods = await kube.list(PODS, { namespace, labelSelector: 'app.kubernetes.io/name=karpenter' });
  } catch (e) {
    if (e instanceof KubeApiError && e.code === 403) return ['(no permission to list the controller pods)'];
    throw e;
  }
  if (pods.length === 0) return ['(no controller pods to read logs from)'];
  const lines: string[] = [];
  for (const p of pods) {
    try {
      const text = await kube.http.request<string>(
        'GET',
        `/api/v1/namespaces/${namespace}/pods/${p.metadata?.name ?? ''}/log`,
        { query: { container: 'controller', tailLines: '500' }, raw: true },
      );
      for (const l of String(text).split('\n')) if (/"level":"ERROR"|\bERROR\b|panic/.test(l)) lines.push(l);
    } catch {
      lines.push(`(no logs from ${p.metadata?.name ?? ''})`);
    }
  }
  return lines.slice(-max).map((l) => maskSecrets(l));
}

/**
 * Proves Karpenter works by watching: the controller available with every replica at the target
 * version, the leader lease held, the CRDs Established, and every NodePool and EC2NodeClass of the
 * config Ready at its current generation. Checks run side by side, each with the config's timeout.
 */
export async function runVerify(ctx: VerifyContext): Promise<{ plan: StagePlan; checks: VerifyCheck[] }> {
  const ns = ctx.cluster.karpenter.namespace;
  const version = ctx.cluster.karpenter.version;
  const started = Date.now();
  const now = ctx.now ?? (() => new Date());
  const jobs: Promise<VerifyCheck>[] = [
    watchCheck(
      ctx,
      `controller Deployment ${ns}/${CONTROLLER}`,
      DEPLOYMENTS,
      { name: CONTROLLER, namespace: ns },
      (d) => {
        const why = evaluateControllerReady(d, version);
        const replicas = (d?.spec as { replicas?: number } | undefined)?.replicas ?? 1;
        return why
          ? { state: 'pending', detail: why }
          : { state: 'ok', detail: `${replicas}/${replicas} replicas available at ${version}` };
      },
      started,
    ),
    watchCheck(
      ctx,
      `leader lease ${ns}/${LEADER_LEASE}`,
      LEASES,
      { name: LEADER_LEASE, namespace: ns },
      (l) => evaluateLease(l, now()),
      started,
    ),
    ...KARPENTER_CRDS.map((n) =>
      watchCheck(ctx, `CRD ${n}`, CRDS, { name: n }, evaluateEstablished, started),
    ),
    ...ctx.manifests
      .filter((m) => !m.legacy && (m.obj.kind === 'NodePool' || m.obj.kind === 'EC2NodeClass'))
      .map((m) => {
        const kind = String(m.obj.kind);
        const name = String((m.obj.metadata as { name?: string }).name);
        return watchCheck(
          ctx,
          `${kind} ${name}`,
          kind === 'NodePool' ? NODEPOOL : EC2NODECLASS,
          { name },
          (o) => evaluateReady(kind, o),
          started,
        );
      }),
  ];
  const checks = await Promise.all(jobs);
  const smoke = ctx.cluster.verify.smokeTest;
  if (smoke) {
    const failing = checks.filter((c) => c.status !== 'passed').length;
    if (failing > 0)
      checks.push({
        name: 'smoke test',
        status: 'skipped',
        detail: `not run: ${failing} check${failing === 1 ? '' : 's'} above did not pass`,
        elapsedMs: Date.now() - started,
      });
    else
      checks.push(
        ...(await runSmokeTest({
          kube: ctx.kube,
          log: ctx.log,
          smoke,
          started,
          nodePool: findNodePool(ctx.manifests, smoke.nodePool),
        })),
      );
  }
  const findings: Finding[] = checks.map((c) => ({
    level: c.status === 'passed' || c.status === 'skipped' ? 'info' : 'error',
    code: `verify-${c.status}`,
    message: `${c.name}: ${c.status} (${(c.elapsedMs / 1000).toFixed(1)} s${c.durationMs !== undefined ? `, step ${(c.durationMs / 1000).toFixed(1)} s` : ''}): ${c.detail}`,
    ...(c.fix ? { fix: c.fix } : {}),
  }));
  const notes: string[] = [];
  if (checks.some(isFailing)) {
    const lines = await readControllerErrors(ctx.kube, ns);
    notes.push(`Last controller error log lines:\n${lines.join('\n')}`);
  }
  return { plan: { stage: 'verify', changes: [], findings, notes }, checks };
}
