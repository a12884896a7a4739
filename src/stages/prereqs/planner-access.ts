import { setTimeout as sleep } from 'node:timers/promises';
import { KubeDiscovery } from '../../adapters/kube-discovery.ts';
import { KubeApiError } from '../../adapters/kube-http.ts';
import type { KubeObject, KubePort, KubeResource } from '../../adapters/kube.ts';
import type { Change, Finding } from '../../plan/model.ts';
import { normalizeKubeObject } from '../../plan/normalize.ts';
import { buildObjectChange } from '../../plan/object-change.ts';
import type { AppliedChange } from '../types.ts';

/** The Kubernetes group the plan role is mapped to (access entry `kubernetesGroups`, or aws-auth `groups`). */
export const PLANNER_GROUP = 'karpenter-action:planners';
/** The ClusterRole and ClusterRoleBinding that give the planner group what a plan reads and dry-runs. */
export const PLANNER_ROLE = 'karpenter-action-planner';
/** The ValidatingAdmissionPolicy (and its binding) that refuses every write of the planner group but a dry-run. */
export const PLANNER_POLICY = 'karpenter-action-planner-dry-run-only';
/** The username the plan role's aws-auth mapping gives its sessions, so audit logs name the session. */
export const PLANNER_USERNAME = 'karpenter-action-planner:{{SessionName}}';
/** Marks the planner objects as the action's, for people reading the cluster and for a bootstrap by hand. */
export const PLANNER_LABELS: Readonly<Record<string, string>> = {
  'app.kubernetes.io/managed-by': 'karpenter-action',
};
/** The first Kubernetes minor that serves admissionregistration.k8s.io/v1 ValidatingAdmissionPolicy (GA). */
export const POLICY_MIN_KUBERNETES = '1.30';

const READ = ['get', 'list', 'watch'] as const;
const DRY_RUN = ['create', 'patch'] as const;

/** One resource the planner touches, the verbs it needs on it, and the code that needs them. */
export interface PlannerAccess {
  group: string;
  /** Plural, or `plural/subresource`. */
  resource: string;
  verbs: readonly string[];
  resourceNames?: readonly string[];
  /**
   * Verbs that change the cluster (create, patch, escalate, bind): granted only together with the
   * policy that lets them through as dry-runs alone.
   */
  writes?: readonly string[];
  why: string;
}

/**
 * Everything a plan, a drift check and a verify read, and every kind a plan dry-runs, derived from the
 * stages' code: tests check that every resource the source names and every kind the supported charts
 * render is here, and a plan by the planner identity against a real API server proves it is enough.
 * No Secret is listed (not even to dry-run: a dry-run returns the object), nor pods/log (any pod's
 * log, cluster-wide, may carry credentials; verify runs with the apply role, and without logs it says
 * so), pods/exec, serviceaccounts/token, impersonate, or any write to admission policies and webhook
 * configurations, which admission policies do not cover.
 */
export const PLANNER_ACCESS: readonly PlannerAccess[] = [
  {
    group: '',
    resource: 'configmaps',
    verbs: ['get'],
    resourceNames: ['aws-auth'],
    why: 'node access on CONFIG_MAP clusters merges into kube-system/aws-auth',
  },
  { group: '', resource: 'nodes', verbs: READ, why: 'capacity preflight, controller zones, smoke test' },
  { group: '', resource: 'pods', verbs: READ, why: 'verify reads the controller pods and the smoke pod' },
  {
    group: '',
    resource: 'events',
    verbs: READ,
    why: "the smoke test reports its pod's events; the drift report notes nodes Karpenter replaced on interruption notices",
  },
  {
    group: '',
    resource: 'services',
    verbs: READ,
    writes: DRY_RUN,
    why: 'the karpenter chart renders a Service',
  },
  {
    group: '',
    resource: 'serviceaccounts',
    verbs: READ,
    writes: DRY_RUN,
    why: 'the karpenter chart renders a ServiceAccount',
  },
  {
    group: 'apps',
    resource: 'deployments',
    verbs: READ,
    writes: DRY_RUN,
    why: 'the controller Deployment; installed Karpenter and Cluster Autoscaler are found among all Deployments',
  },
  {
    group: 'policy',
    resource: 'poddisruptionbudgets',
    verbs: READ,
    writes: DRY_RUN,
    why: 'the karpenter chart renders a PodDisruptionBudget',
  },
  {
    group: 'rbac.authorization.k8s.io',
    resource: 'clusterroles',
    verbs: READ,
    writes: [...DRY_RUN, 'escalate', 'bind'],
    why: "the chart's and the planner's ClusterRoles; a dry-run of rules the caller lacks needs escalate, of a binding to them bind",
  },
  {
    group: 'rbac.authorization.k8s.io',
    resource: 'roles',
    verbs: READ,
    writes: [...DRY_RUN, 'escalate', 'bind'],
    why: "the chart's Roles; a dry-run of rules the caller lacks needs escalate, of a binding to them bind",
  },
  {
    group: 'rbac.authorization.k8s.io',
    resource: 'clusterrolebindings',
    verbs: READ,
    writes: DRY_RUN,
    why: "the chart's and the planner's ClusterRoleBindings",
  },
  {
    group: 'rbac.authorization.k8s.io',
    resource: 'rolebindings',
    verbs: READ,
    writes: DRY_RUN,
    why: "the chart's RoleBindings",
  },
  {
    group: 'apiextensions.k8s.io',
    resource: 'customresourcedefinitions',
    verbs: READ,
    writes: DRY_RUN,
    why: 'the karpenter-crd chart; installed CRDs tell the installed version',
  },
  {
    group: 'coordination.k8s.io',
    resource: 'leases',
    verbs: READ,
    why: "verify checks the controller's leader lease",
  },
  {
    group: 'karpenter.sh',
    resource: 'nodepools',
    verbs: READ,
    writes: DRY_RUN,
    why: "the config's NodePools",
  },
  {
    group: 'karpenter.sh',
    resource: 'nodeoverlays',
    verbs: READ,
    writes: DRY_RUN,
    why: "the config's NodeOverlays",
  },
  {
    group: 'karpenter.sh',
    resource: 'nodeclaims',
    verbs: READ,
    why: "detection, the drift report's drifted nodes, the smoke test",
  },
  {
    group: 'karpenter.k8s.aws',
    resource: 'ec2nodeclasses',
    verbs: READ,
    writes: DRY_RUN,
    why: "the config's EC2NodeClasses",
  },
  {
    group: 'monitoring.coreos.com',
    resource: 'servicemonitors',
    verbs: READ,
    writes: DRY_RUN,
    why: 'the karpenter chart renders a ServiceMonitor when serviceMonitor.enabled is set',
  },
  {
    group: 'admissionregistration.k8s.io',
    resource: 'validatingwebhookconfigurations',
    verbs: READ,
    why: "detection finds Karpenter's webhooks left behind by older releases",
  },
  {
    group: 'admissionregistration.k8s.io',
    resource: 'mutatingwebhookconfigurations',
    verbs: READ,
    why: "detection finds Karpenter's webhooks left behind by older releases",
  },
  {
    group: 'admissionregistration.k8s.io',
    resource: 'validatingadmissionpolicies',
    verbs: ['get'],
    resourceNames: [PLANNER_POLICY],
    why: 'the planner policy is planned by reading it (a policy is not subject to policies, so no write verb)',
  },
  {
    group: 'admissionregistration.k8s.io',
    resource: 'validatingadmissionpolicybindings',
    verbs: ['get'],
    resourceNames: [PLANNER_POLICY],
    why: 'the planner policy binding is planned by reading it',
  },
  {
    group: 'authentication.k8s.io',
    resource: 'selfsubjectreviews',
    verbs: ['create'],
    why: 'the access check asks who the cluster sees',
  },
  {
    group: 'authorization.k8s.io',
    resource: 'selfsubjectaccessreviews',
    verbs: ['create'],
    why: 'the access check asks what the caller may do',
  },
];

/** RBAC's PolicyRule. */
export interface PolicyRule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
  resourceNames?: string[];
}

/**
 * The planner's ClusterRole rules. With the dry-run-only policy available, reads plus the write verbs
 * a dry-run needs; without it (Kubernetes before 1.30) reads only, since a dry-run grant is then a
 * write grant. Entries with the same group, verbs and names share a rule, in a stable order.
 */
export function buildPlannerRules(policyAvailable: boolean): PolicyRule[] {
  const rules = new Map<string, PolicyRule>();
  for (const a of PLANNER_ACCESS) {
    const verbs = [...a.verbs, ...(policyAvailable ? (a.writes ?? []) : [])];
    const key = JSON.stringify([a.group, [...verbs].sort(), a.resourceNames ?? []]);
    const rule = rules.get(key) ?? {
      apiGroups: [a.group],
      resources: [],
      verbs: [...verbs].sort(),
      ...(a.resourceNames ? { resourceNames: [...a.resourceNames] } : {}),
    };
    rule.resources.push(a.resource);
    rules.set(key, rule);
  }
  return [...rules.values()].map((r) => ({ ...r, resources: [...r.resources].sort() }));
}

const POLICY_MESSAGE = `${PLANNER_POLICY}: the karpenter-action plan role is read-only and may only dry-run; writes go through the apply role after a reviewed plan is approved`;

/**
 * The policy that makes the planner's write verbs good for dry-runs alone: any create, update
 * (patch), delete or connect from the planner group that is not a dry-run is denied. Every field the
 * API server would default is spelled out, so the live object compares equal to this one. The
 * self reviews of the access check are left out: they store nothing and cannot be dry-run.
 */
export function buildPlannerPolicy(): KubeObject {
  const any = { apiGroups: ['*'], apiVersions: ['*'] };
  return {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'ValidatingAdmissionPolicy',
    metadata: { name: PLANNER_POLICY, labels: { ...PLANNER_LABELS } },
    spec: {
      failurePolicy: 'Fail',
      matchConstraints: {
        matchPolicy: 'Equivalent',
        namespaceSelector: {},
        objectSelector: {},
        resourceRules: [
          { ...any, operations: ['CREATE', 'UPDATE', 'DELETE', 'CONNECT'], resources: ['*/*'], scope: '*' },
        ],
        excludeResourceRules: [
          {
            apiGroups: ['authentication.k8s.io'],
            apiVersions: ['*'],
            operations: ['CREATE'],
            resources: ['selfsubjectreviews'],
            scope: '*',
          },
          {
            apiGroups: ['authorization.k8s.io'],
            apiVersions: ['*'],
            operations: ['CREATE'],
            resources: ['selfsubjectaccessreviews', 'selfsubjectrulesreviews'],
            scope: '*',
          },
        ],
      },
      matchConditions: [
        { name: 'planner-group', expression: `'${PLANNER_GROUP}' in request.userInfo.groups` },
      ],
      validations: [{ expression: 'request.dryRun == true', message: POLICY_MESSAGE, reason: 'Forbidden' }],
    },
  };
}

/** Binds the policy cluster-wide with Deny: without a binding a policy does nothing. */
export function buildPlannerPolicyBinding(): KubeObject {
  return {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'ValidatingAdmissionPolicyBinding',
    metadata: { name: PLANNER_POLICY, labels: { ...PLANNER_LABELS } },
    spec: { policyName: PLANNER_POLICY, validationActions: ['Deny'] },
  };
}

/** The planner ClusterRole (see buildPlannerRules). */
export function buildPlannerClusterRole(policyAvailable: boolean): KubeObject {
  return {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRole',
    metadata: { name: PLANNER_ROLE, labels: { ...PLANNER_LABELS } },
    rules: buildPlannerRules(policyAvailable),
  };
}

/** Binds the planner ClusterRole to the planner group. */
export function buildPlannerClusterRoleBinding(): KubeObject {
  return {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRoleBinding',
    metadata: { name: PLANNER_ROLE, labels: { ...PLANNER_LABELS } },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: PLANNER_ROLE },
    subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'Group', name: PLANNER_GROUP }],
  };
}

/**
 * The four planner objects in the order they must exist: the policy and its binding before the role
 * that grants dry-run verbs, so no moment has the grant without the fence. Without the policy API,
 * the view-only role and its binding.
 */
export function buildPlannerObjects(policyAvailable = true): KubeObject[] {
  return [
    ...(policyAvailable ? [buildPlannerPolicy(), buildPlannerPolicyBinding()] : []),
    buildPlannerClusterRole(policyAvailable),
    buildPlannerClusterRoleBinding(),
  ];
}

const PLURALS: Record<string, string> = {
  ClusterRole: 'clusterroles',
  ClusterRoleBinding: 'clusterrolebindings',
  ValidatingAdmissionPolicy: 'validatingadmissionpolicies',
  ValidatingAdmissionPolicyBinding: 'validatingadmissionpolicybindings',
};

const resourceOf = (o: KubeObject): KubeResource => {
  const [group, version] = String(o.apiVersion).split('/') as [string, string];
  const kind = String(o.kind);
  return { group, version, plural: PLURALS[kind] ?? '', kind, namespaced: false };
};

const refOf = (o: KubeObject) => `k8s:${String(o.apiVersion)}/${String(o.kind)}/${String(o.metadata?.name)}`;

/** Admission policies are not subject to admission policies, so the planner never writes them, not even to dry-run. */
const isPolicyKind = (o: KubeObject) => String(o.apiVersion).startsWith('admissionregistration.k8s.io/');

/** The planned objects by ref, so apply carries out exactly what was planned. */
export interface PlannerAccessPlan {
  changes: Change[];
  findings: Finding[];
  objects: Map<string, KubeObject>;
  /** Whether the cluster serves ValidatingAdmissionPolicy, so the role is only granted once it is in force. */
  policyAvailable: boolean;
  /** Set by apply once the policy was seen refusing a planner's write. */
  enforced?: boolean;
}

/** The comparable form of a policy object: its spec and our labels, as the API server keeps them. */
function comparablePolicy(o: KubeObject, labels: Record<string, string>): Record<string, unknown> {
  const meta: Record<string, unknown> = { name: o.metadata?.name };
  if (Object.keys(labels).length > 0) meta.labels = labels;
  return { apiVersion: o.apiVersion, kind: o.kind, metadata: meta, spec: o.spec };
}

/**
 * Plans the planner's objects. The ClusterRole and its binding are diffed by server-side-apply
 * dry-run like every other object; the policy and its binding by a read and a comparison of the whole
 * spec, so that anything added to them (another match condition, a changed action) shows as drift.
 * On a cluster that serves no ValidatingAdmissionPolicy the role is planned view-only, and a finding
 * says what that means. Reads only.
 */
export async function planPlannerAccess(
  kube: KubePort,
  input: { cluster: string; kubernetesVersion?: string },
): Promise<PlannerAccessPlan> {
  const findings: Finding[] = [];
  const discovery = new KubeDiscovery(kube.http);
  const policyAvailable = !!(await discovery.resolve(
    'admissionregistration.k8s.io/v1',
    'ValidatingAdmissionPolicy',
  ));
  if (!policyAvailable) {
    findings.push({
      level: 'warning',
      code: 'planner-policy-unavailable',
      message: `cluster ${input.cluster}${input.kubernetesVersion ? ` runs Kubernetes ${input.kubernetesVersion} and` : ''} serves no ValidatingAdmissionPolicy (GA from Kubernetes ${POLICY_MIN_KUBERNETES}): nothing could stop the plan role from turning a dry-run grant into a write, so its ClusterRole ${PLANNER_ROLE} is view-only here, and a plan by the plan role cannot dry-run the chart and the pools (those objects are refused with 403)`,
      fix: `upgrade the control plane to Kubernetes ${POLICY_MIN_KUBERNETES} or later; until then, run plans that change the chart or the pools with the apply role in the protected environment`,
    });
  }
  const changes: Change[] = [];
  const objects = new Map<string, KubeObject>();
  for (const want of buildPlannerObjects(policyAvailable)) {
    const res = resourceOf(want);
    const ref = refOf(want);
    objects.set(ref, want);
    const base = {
      ref,
      stage: 'prereqs' as const,
      kind: String(want.kind),
      name: String(want.metadata?.name),
    };
    const live = await kube.get(res, String(want.metadata?.name));
    let before: Record<string, unknown> | undefined;
    let after: Record<string, unknown>;
    if (isPolicyKind(want)) {
      const labels = { ...(live?.metadata?.labels ?? {}), ...PLANNER_LABELS };
      before = live ? comparablePolicy(live, live.metadata?.labels ?? {}) : undefined;
      after = comparablePolicy(want, labels);
    } else {
      before = live ? normalizeKubeObject(live) : undefined;
      try {
        after = normalizeKubeObject(await kube.apply(res, want, { dryRun: true }));
      } catch (e) {
        if (!(e instanceof KubeApiError)) throw e;
        findings.push({
          level: 'error',
          code: 'planner-access-rejected',
          message: `the API server rejects the dry-run of ${base.kind} ${base.name}: ${e.message}`,
          fix: `the identity that plans needs the planner role (or cluster admin); karpenter-action iam-policy prints the planner objects to apply once`,
          ref,
        });
        continue;
      }
    }
    changes.push(
      buildObjectChange(base, before, after, {
        create: 'the planner identity needs it',
        same: 'as the action manages it',
        differs: 'differs from what the planner identity needs',
      }),
    );
  }
  const fence = changes.filter((c) => c.kind.startsWith('ValidatingAdmissionPolicy'));
  const role = changes.find((c) => c.kind === 'ClusterRole');
  if (policyAvailable && role?.action !== 'create' && fence.some((c) => c.action !== 'no-op')) {
    findings.push({
      level: 'warning',
      code: 'planner-unfenced',
      message: `the ValidatingAdmissionPolicy ${PLANNER_POLICY} or its binding is missing or changed while the ClusterRole ${PLANNER_ROLE} grants dry-run verbs: until this plan is applied, the plan role may be able to write to the cluster`,
      fix: 'apply this plan with the apply role now; find out who changed the policy (the API server audit log)',
    });
  }
  return { changes, findings, objects, policyAvailable };
}

/** Who the enforcement probe impersonates: a member of the planner group whom RBAC would let through. */
const PROBE_GROUPS = ['system:masters', PLANNER_GROUP];

/**
 * Waits until the API server enforces the dry-run-only policy: a new policy takes a moment to reach
 * the admission chain, and a role granted in that moment would be a write grant. The probe is a
 * request the policy refuses and that stores nothing either way: creating kube-system again as a
 * member of the planner group (impersonated with system:masters, so RBAC lets it reach admission);
 * before the policy is in force the answer is 409 AlreadyExists. Needs impersonation, which the
 * apply role (cluster admin) has.
 */
export async function awaitPolicyEnforced(kube: KubePort, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (let delay = 200; ; delay = Math.min(delay * 2, 3200)) {
    try {
      await kube.http.request('POST', '/api/v1/namespaces', {
        headers: { 'Impersonate-User': 'karpenter-action:policy-probe', 'Impersonate-Group': PROBE_GROUPS },
        body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'kube-system' } },
      });
    } catch (e) {
      if (!(e instanceof KubeApiError)) throw e;
      if (e.code === 403 && e.message.includes(PLANNER_POLICY)) return;
      if (e.code !== 409)
        throw new Error(
          `cannot check that ${PLANNER_POLICY} is in force (${e.message}); the planner role was not granted`,
          { cause: e },
        );
    }
    if (Date.now() >= deadline)
      throw new Error(
        `${PLANNER_POLICY} is not in force ${Math.round(timeoutMs / 1000)} s after it was applied; the planner role was not granted, so the plan role cannot write meanwhile`,
      );
    await sleep(delay, undefined, kube.http.signal ? { signal: kube.http.signal } : {});
  }
}

/**
 * Applies one planned planner object. The ClusterRole and its binding by server-side apply with the
 * action's field manager, once the policy is seen in force (awaitPolicyEnforced); the policy and its binding by create or by a replace of the whole spec at
 * the read version, so no field another manager added (a match condition that switches the policy
 * off) survives.
 */
export async function applyPlannerAccess(
  kube: KubePort,
  plan: Pick<PlannerAccessPlan, 'objects' | 'policyAvailable' | 'enforced'>,
  change: Change,
): Promise<AppliedChange> {
  if (change.action === 'no-op') return { ref: change.ref, action: change.action, outcome: 'skipped' };
  const want = plan.objects.get(change.ref);
  if (!want) throw new Error(`${change.ref} was not planned in this run`);
  const res = resourceOf(want);
  if (!isPolicyKind(want) && plan.policyAvailable && !plan.enforced) {
    await awaitPolicyEnforced(kube);
    plan.enforced = true;
  }
  const live = isPolicyKind(want) ? await kube.get(res, String(want.metadata?.name)) : undefined;
  if (live) {
    await kube.replace(res, {
      ...live,
      metadata: { ...live.metadata, labels: { ...(live.metadata?.labels ?? {}), ...PLANNER_LABELS } },
      spec: want.spec,
    });
  } else {
    await kube.apply(res, want, { dryRun: false });
  }
  return { ref: change.ref, action: change.action, outcome: 'done' };
}
