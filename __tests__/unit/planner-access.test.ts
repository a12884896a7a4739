/**
 * The planner identity's objects as data: what its ClusterRole grants (and never grants), the
 * dry-run-only policy, and a scan of the source that fails when a stage starts reading a kind the
 * role does not allow.
 */
import { globSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import {
  buildPlannerClusterRole,
  buildPlannerObjects,
  buildPlannerPolicy,
  buildPlannerPolicyBinding,
  buildPlannerRules,
  PLANNER_ACCESS,
  PLANNER_GROUP,
  PLANNER_POLICY,
  planPlannerAccess,
  type PolicyRule,
} from '../../src/stages/prereqs/planner-access.ts';
import { EC2NODECLASS, NODEPOOL } from '../../src/stages/pools.ts';
import { REQUIRED_ACCESS } from '../../src/adapters/kube-access.ts';
import type { KubeObject, KubePort } from '../../src/adapters/kube.ts';

const ROOT = resolve(import.meta.dirname, '../..');

/** The verbs the rules give on one resource of one group (with `*` matching anything). */
const verbsOn = (rules: PolicyRule[], group: string, resource: string): string[] =>
  [
    ...new Set(
      rules
        .filter(
          (r) =>
            (r.apiGroups.includes(group) || r.apiGroups.includes('*')) &&
            (r.resources.includes(resource) || r.resources.includes('*')),
        )
        .flatMap((r) => r.verbs),
    ),
  ].sort();

describe('the planner ClusterRole', () => {
  const rules = buildPlannerRules(true);

  test('grants no wildcard, Secret, exec, token, impersonation or write to admission objects', () => {
    for (const r of rules) {
      expect(r.apiGroups).not.toContain('*');
      expect(r.resources).not.toContain('*');
      expect(r.verbs).not.toContain('*');
      expect(r.verbs).not.toContain('impersonate');
      expect(r.verbs).not.toContain('delete');
      expect(r.verbs).not.toContain('deletecollection');
      expect(r.verbs).not.toContain('update');
    }
    expect(verbsOn(rules, '', 'secrets')).toEqual([]);
    expect(verbsOn(rules, '', 'pods/exec')).toEqual([]);
    expect(verbsOn(rules, '', 'pods/log')).toEqual([]);
    expect(verbsOn(rules, '', 'pods/attach')).toEqual([]);
    expect(verbsOn(rules, '', 'pods/portforward')).toEqual([]);
    expect(verbsOn(rules, '', 'serviceaccounts/token')).toEqual([]);
    expect(verbsOn(rules, '', 'pods')).toEqual(['get', 'list', 'watch']);
    for (const resource of [
      'validatingadmissionpolicies',
      'validatingadmissionpolicybindings',
      'validatingwebhookconfigurations',
      'mutatingwebhookconfigurations',
      'mutatingadmissionpolicies',
      'mutatingadmissionpolicybindings',
    ]) {
      const verbs = verbsOn(rules, 'admissionregistration.k8s.io', resource);
      expect({ resource, writes: verbs.filter((v) => !['get', 'list', 'watch'].includes(v)) }).toEqual({
        resource,
        writes: [],
      });
    }
    // the policy objects are read by name only
    const policyRead = rules.find((r) => r.resources.includes('validatingadmissionpolicies'))!;
    expect(policyRead.resourceNames).toEqual([PLANNER_POLICY]);
    // configmaps: aws-auth alone
    const cm = rules.find((r) => r.resources.includes('configmaps'))!;
    expect(cm).toEqual({
      apiGroups: [''],
      resources: ['configmaps'],
      verbs: ['get'],
      resourceNames: ['aws-auth'],
    });
  });

  test('may create and patch exactly the kinds a plan dry-runs, escalate and bind only on roles', () => {
    const writable = PLANNER_ACCESS.filter((a) => a.writes).map((a) => `${a.group}/${a.resource}`);
    expect(writable.sort()).toEqual(
      [
        '/serviceaccounts',
        '/services',
        'apiextensions.k8s.io/customresourcedefinitions',
        'apps/deployments',
        'karpenter.k8s.aws/ec2nodeclasses',
        'karpenter.sh/nodeoverlays',
        'karpenter.sh/nodepools',
        'monitoring.coreos.com/servicemonitors',
        'policy/poddisruptionbudgets',
        'rbac.authorization.k8s.io/clusterrolebindings',
        'rbac.authorization.k8s.io/clusterroles',
        'rbac.authorization.k8s.io/rolebindings',
        'rbac.authorization.k8s.io/roles',
      ].sort(),
    );
    for (const r of rules) {
      if (r.verbs.includes('escalate') || r.verbs.includes('bind')) {
        expect(r.apiGroups).toEqual(['rbac.authorization.k8s.io']);
        expect(r.resources.sort()).toEqual(['clusterroles', 'roles']);
      }
    }
    // the pools stage dry-runs its two kinds; the access check asks for patch on CRDs
    for (const res of [NODEPOOL, EC2NODECLASS])
      expect(verbsOn(rules, res.group, res.plural)).toEqual(
        expect.arrayContaining(['create', 'get', 'list', 'patch']),
      );
    expect(verbsOn(rules, REQUIRED_ACCESS.group, REQUIRED_ACCESS.resource)).toContain(REQUIRED_ACCESS.verb);
  });

  test('without the policy API it is view-only: no create, patch, escalate or bind on any stored kind', () => {
    const view = buildPlannerRules(false);
    for (const r of view) {
      const writes = r.verbs.filter((v) => !['get', 'list', 'watch'].includes(v));
      if (writes.length === 0) continue;
      // creating a self review stores nothing
      expect(r.resources.every((x) => x.startsWith('selfsubject'))).toBe(true);
    }
    expect(buildPlannerObjects(false).map((o) => o.kind)).toEqual(['ClusterRole', 'ClusterRoleBinding']);
    expect(buildPlannerClusterRole(false).rules).toEqual(view);
  });

  test('every resource the source reads or writes is in the role (a new kind in a stage fails here)', () => {
    const granted = new Set(PLANNER_ACCESS.map((a) => `${a.group}/${a.resource}`));
    const found = new Map<string, string>();
    for (const file of globSync('src/**/*.ts', { cwd: ROOT })) {
      const text = readFileSync(join(ROOT, file), 'utf8');
      // KubeResource literals: { group: 'x', version: 'v1', plural: 'ys', ... }
      for (const m of text.matchAll(/group: '([^']*)',\s*version: '[^']*',\s*plural: '([^']+)'/g))
        found.set(`${m[1]}/${m[2]}`, file);
      // paths requested directly: /api/v1/namespaces/${ns}/pods/${name}/log
      for (const m of text.matchAll(/`\/api\/v1\/namespaces\/\$\{[^}]+\}\/([a-z]+)\/\$\{[^`]+\}\/([a-z]+)`/g))
        found.set(`/${m[1]}/${m[2]}`, file);
    }
    // the scan itself finds what it must
    expect([...found.keys()]).toEqual(
      expect.arrayContaining([
        '/configmaps',
        'karpenter.sh/nodepools',
        '/pods/log',
        'coordination.k8s.io/leases',
      ]),
    );
    // Withheld on purpose: Secrets appear only where an apply forgets a Helm release (deleting its
    // records); pod logs only in verify, which the apply role runs (a planner's verify says it got none).
    const notGranted = [...found.keys()].filter((k) => !granted.has(k)).sort();
    expect(notGranted).toEqual(['/pods/log', '/secrets']);
  });

  test('rules are stable: one rule per group, verbs and names, resources sorted', () => {
    expect(buildPlannerRules(true)).toEqual(rules);
    for (const r of rules) expect(r.resources).toEqual([...r.resources].sort());
    const keys = rules.map((r) => JSON.stringify([r.apiGroups, r.verbs, r.resourceNames ?? []]));
    expect(new Set(keys).size).toBe(keys.length);
  });
});

describe('the dry-run-only policy', () => {
  const policy = buildPlannerPolicy() as {
    spec: {
      failurePolicy: string;
      matchConstraints: { resourceRules: { operations: string[]; resources: string[] }[] };
      matchConditions: { expression: string }[];
      validations: { expression: string; message: string }[];
    };
  };

  test('matches every write of the planner group and lets only dry-runs through, failing closed', () => {
    expect(policy.spec.failurePolicy).toBe('Fail');
    expect(policy.spec.matchConstraints.resourceRules).toEqual([
      expect.objectContaining({
        apiGroups: ['*'],
        operations: ['CREATE', 'UPDATE', 'DELETE', 'CONNECT'],
        resources: ['*/*'],
      }),
    ]);
    expect(policy.spec.matchConditions).toEqual([
      { name: 'planner-group', expression: `'${PLANNER_GROUP}' in request.userInfo.groups` },
    ]);
    expect(policy.spec.validations[0]!.expression).toBe('request.dryRun == true');
    expect(policy.spec.validations[0]!.message).toContain(PLANNER_POLICY);
    expect(policy.spec.validations[0]!.message).toMatch(/plan role is read-only.*apply role/);
  });

  test('is bound with Deny, and comes before the role in the objects', () => {
    expect(buildPlannerPolicyBinding().spec).toEqual({
      policyName: PLANNER_POLICY,
      validationActions: ['Deny'],
    });
    expect(buildPlannerObjects().map((o) => o.kind)).toEqual([
      'ValidatingAdmissionPolicy',
      'ValidatingAdmissionPolicyBinding',
      'ClusterRole',
      'ClusterRoleBinding',
    ]);
  });
});

describe('a cluster that serves no ValidatingAdmissionPolicy (Kubernetes 1.29 or older)', () => {
  // A real 1.36 API server always serves the policy API, so this stands in for an older one.
  const sent: string[] = [];
  const http = {
    request: (method: string, path: string) => {
      sent.push(`${method} ${path}`);
      return Promise.resolve({
        resources: [
          {
            name: 'validatingwebhookconfigurations',
            kind: 'ValidatingWebhookConfiguration',
            namespaced: false,
          },
        ],
      });
    },
  };
  const kube = {
    http,
    get: () => Promise.resolve(undefined),
    apply: (_res: unknown, obj: KubeObject) => Promise.resolve(obj),
  } as unknown as KubePort;

  test('plans a view-only role, no policy, and says what that means and what to do', async () => {
    const plan = await planPlannerAccess(kube, { cluster: 'old-eks', kubernetesVersion: '1.29' });
    expect(plan.changes.map((c) => [c.kind, c.action])).toEqual([
      ['ClusterRole', 'create'],
      ['ClusterRoleBinding', 'create'],
    ]);
    const role = plan.changes[0]!.after as { rules: PolicyRule[] };
    expect(role.rules).toEqual(buildPlannerRules(false));
    expect(plan.findings).toEqual([
      expect.objectContaining({ level: 'warning', code: 'planner-policy-unavailable' }),
    ]);
    const f = plan.findings[0]!;
    expect(f.message).toContain('cluster old-eks runs Kubernetes 1.29');
    expect(f.message).toMatch(/GA from Kubernetes 1\.30/);
    expect(f.message).toMatch(/view-only here/);
    expect(f.fix).toMatch(/upgrade the control plane to Kubernetes 1\.30/);
    expect(sent).toContain('GET /apis/admissionregistration.k8s.io/v1');
  });
});
