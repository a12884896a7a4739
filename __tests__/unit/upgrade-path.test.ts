import { Refusal } from '../../src/errors.ts';
import {
  buildInstalledKarpenter,
  buildReleasesFromObjects,
  parseChartLabel,
  imageTag,
  normalizeVersion,
  type ControllerDeployment,
  type HelmOwnership,
  type HelmRelease,
  type InstalledKarpenter,
  type KarpenterCrd,
  type KarpenterWebhookConfiguration,
} from '../../src/install/detect.ts';
import {
  buildRouteRefusal,
  evaluateUpgradePath,
  type RouteOptions,
  type UpgradeRoute,
} from '../../src/install/upgrade-path.ts';

const V1_KINDS: [string, string][] = [
  ['nodepools.karpenter.sh', 'NodePool'],
  ['nodeclaims.karpenter.sh', 'NodeClaim'],
  ['ec2nodeclasses.karpenter.k8s.aws', 'EC2NodeClass'],
];

const helmOwner = (name: string, namespace: string): HelmOwnership => ({
  managedBy: 'Helm',
  releaseName: name,
  releaseNamespace: namespace,
});

type CrdShape = 'v1beta1' | '1.0' | 'v1';

function crds(
  shape: CrdShape,
  opts: { stored?: string[]; helm?: HelmOwnership; webhook?: { namespace: string; name: string } } = {},
): KarpenterCrd[] {
  return V1_KINDS.map(([name, kind]) => {
    const crd: KarpenterCrd = {
      name,
      kind,
      legacy: false,
      v1Migration: true,
      servedVersions: shape === 'v1beta1' ? ['v1beta1'] : shape === '1.0' ? ['v1', 'v1beta1'] : ['v1'],
      storageVersion: shape === 'v1beta1' ? 'v1beta1' : 'v1',
      storedVersions: opts.stored ?? (shape === 'v1beta1' ? ['v1beta1'] : ['v1']),
      established: true,
      helm: opts.helm ?? {},
    };
    const hook =
      opts.webhook ?? (shape === '1.0' ? { namespace: 'kube-system', name: 'karpenter' } : undefined);
    if (hook) crd.conversionWebhook = { service: { ...hook, port: 8443 } };
    return crd;
  });
}

function controller(
  version: string | undefined,
  o: Partial<ControllerDeployment> = {},
): ControllerDeployment {
  const c: ControllerDeployment = {
    namespace: 'kube-system',
    name: 'karpenter',
    uid: `uid-${o.namespace ?? 'kube-system'}-${o.name ?? 'karpenter'}`,
    replicas: 2,
    helmManaged: false,
    helm: {},
    ...o,
  };
  if (version) {
    c.version = version;
    c.versionSource = 'label';
  }
  c.helmManaged = c.helm.managedBy === 'Helm' || c.helm.releaseName !== undefined;
  return c;
}

function release(
  chart: 'karpenter' | 'karpenter-crd',
  version: string | undefined,
  o: Partial<HelmRelease> = {},
): HelmRelease {
  return {
    name: chart,
    namespace: 'kube-system',
    chart,
    ...(version ? { chartVersion: version, appVersion: version } : {}),
    templatedCrds: chart === 'karpenter-crd' ? V1_KINDS.map(([n]) => n).sort() : [],
    objects: [],
    ...o,
  };
}

/** A healthy Helm install in kube-system, as the action itself leaves it. */
function helmInstall(version: string, shape: CrdShape, extra: Partial<Parts> = {}): InstalledKarpenter {
  return installed({
    controllers: [controller(version, { helm: helmOwner('karpenter', 'kube-system') })],
    releases: [release('karpenter', version), release('karpenter-crd', version)],
    crds: crds(shape, { helm: helmOwner('karpenter-crd', 'kube-system') }),
    ...extra,
  });
}

type Parts = Parameters<typeof buildInstalledKarpenter>[0];

function installed(p: Partial<Parts> = {}): InstalledKarpenter {
  return buildInstalledKarpenter({
    controllers: [],
    releases: [],
    crds: [],
    compatibilityAnnotations: [],
    incompleteNodeClassRefs: [],
    webhookConfigurations: [],
    unreadable: [],
    ...p,
  });
}

const STALE: KarpenterWebhookConfiguration[] = [
  {
    kind: 'ValidatingWebhookConfiguration',
    name: 'validation.webhook.karpenter.sh',
    documented: true,
    services: [{ namespace: 'karpenter', name: 'karpenter' }],
    helm: {},
  },
  {
    kind: 'MutatingWebhookConfiguration',
    name: 'defaulting.webhook.karpenter.k8s.aws',
    documented: true,
    services: [{ namespace: 'karpenter', name: 'karpenter' }],
    helm: {},
  },
];

/** `action[@version]` per step, with the apply number: the route at a glance. */
const shape = (r: UpgradeRoute): string[] =>
  r.steps.map((s) => `${s.apply}:${s.version ? s.id : s.id.replace(/:.*/, '')}`);

const errors = (r: UpgradeRoute): string[] =>
  r.findings.filter((f) => f.level === 'error').map((f) => f.code);

interface Case {
  name: string;
  installed: InstalledKarpenter;
  target: string;
  options?: RouteOptions;
  status: UpgradeRoute['status'];
  steps?: string[];
  errors?: string[];
}

const cases: Case[] = [
  {
    name: 'nothing installed: install the target, CRD chart first',
    installed: installed(),
    target: '1.14.1',
    status: 'install',
    steps: ['1:crds@1.14.1', '1:controller@1.14.1'],
  },
  {
    name: 'nothing installed but stale webhook configurations: delete them first',
    installed: installed({ webhookConfigurations: STALE }),
    target: '1.14.1',
    status: 'install',
    steps: ['1:delete-stale-webhooks', '1:crds@1.14.1', '1:controller@1.14.1'],
  },
  {
    name: 'nothing installed, a 1.0 target: the 1.0 hop with its webhook values',
    installed: installed(),
    target: '1.0.11',
    status: 'install',
    steps: ['1:crds@1.0.11', '1:controller@1.0.11'],
  },
  {
    name: 'a pre-1.0 target for a fresh install is refused',
    installed: installed(),
    target: '0.37.7',
    status: 'refused',
    errors: ['karpenter-target-pre-v1'],
  },
  {
    name: 'a target that is not a version is refused',
    installed: installed(),
    target: 'latest',
    status: 'refused',
    errors: ['karpenter-target-invalid'],
  },
  {
    name: 'a release the upgrade guide says not to install is refused',
    installed: helmInstall('1.8.2', 'v1'),
    target: '1.8.4',
    status: 'refused',
    errors: ['karpenter-target-known-bad'],
  },
  {
    name: 'the same version, owned by the action’s releases: nothing to do',
    installed: helmInstall('1.14.1', 'v1'),
    target: 'v1.14.1',
    status: 'up-to-date',
    steps: [],
  },
  {
    name: 'the same version with stale webhook configurations: only those are deleted',
    installed: helmInstall('1.14.1', 'v1', { webhookConfigurations: STALE }),
    target: '1.14.1',
    status: 'clean-up',
    steps: ['1:delete-stale-webhooks'],
  },
  {
    name: '1.8 to 1.14 skips the minors in between: one hop',
    installed: helmInstall('1.8.2', 'v1'),
    target: '1.14.1',
    status: 'upgrade',
    steps: ['1:crds@1.14.1', '1:controller@1.14.1'],
  },
  {
    name: 'a 1.x downgrade is refused',
    installed: helmInstall('1.14.1', 'v1'),
    target: '1.13.1',
    status: 'refused',
    errors: ['karpenter-downgrade'],
  },
  {
    name: 'a patch downgrade within 1.0 is refused',
    installed: helmInstall('1.0.8', '1.0'),
    target: '1.0.2',
    status: 'refused',
    errors: ['karpenter-downgrade'],
  },
  {
    name: '1.0 back to a documented rollback patch: controller first with webhooks, then CRDs',
    installed: helmInstall('1.0.8', '1.0'),
    target: '0.37.7',
    status: 'rollback',
    steps: ['1:controller@0.37.7', '1:crds@0.37.7'],
  },
  {
    name: '1.0 back to a patch the guide does not name is refused',
    installed: helmInstall('1.0.8', '1.0'),
    target: '0.37.5',
    status: 'refused',
    errors: ['karpenter-downgrade'],
  },
  {
    name: '1.1+ back to 0.3x is refused (v1beta1 is gone)',
    installed: helmInstall('1.8.2', 'v1'),
    target: '0.37.7',
    status: 'refused',
    errors: ['karpenter-downgrade'],
  },
  {
    name: '1.0.8 with everything stored as v1: straight to the target',
    installed: helmInstall('1.0.8', '1.0'),
    target: '1.14.1',
    status: 'upgrade',
    steps: ['1:crds@1.14.1', '1:controller@1.14.1'],
  },
  {
    name: '1.0.8 with v1beta1 still stored: blocked',
    installed: installed({
      ...helmInstall('1.0.8', '1.0'),
      crds: crds('1.0', { stored: ['v1beta1', 'v1'], helm: helmOwner('karpenter-crd', 'kube-system') }),
    }),
    target: '1.14.1',
    status: 'blocked',
    steps: ['1:crds@1.14.1', '1:controller@1.14.1'],
    errors: ['karpenter-v1-storage'],
  },
  {
    name: '1.0.8 with a kubelet compatibility annotation: blocked',
    installed: helmInstall('1.0.8', '1.0', {
      compatibilityAnnotations: [
        {
          kind: 'NodePool',
          name: 'default',
          annotations: { 'compatibility.karpenter.sh/v1beta1-kubelet-conversion': '{"maxPods":10}' },
        },
      ],
    }),
    target: '1.14.1',
    status: 'blocked',
    errors: ['karpenter-no-compatibility-annotations'],
  },
  {
    name: '1.0.8 with a NodePool lacking nodeClassRef.group: blocked',
    installed: helmInstall('1.0.8', '1.0', {
      incompleteNodeClassRefs: [{ kind: 'NodePool', name: 'default', missing: ['group'] }],
    }),
    target: '1.14.1',
    status: 'blocked',
    errors: ['karpenter-node-class-refs'],
  },
  {
    name: '1.0.8 whose NodePools cannot be listed: blocked, the checks are incomplete',
    installed: helmInstall('1.0.8', '1.0', {
      unreadable: [
        { scope: 'objects', what: 'NodePool objects (karpenter.sh/v1)', error: 'conversion webhook failed' },
      ],
    }),
    target: '1.14.1',
    status: 'blocked',
    errors: ['karpenter-objects-readable'],
  },
  {
    name: '1.0.3 (before the stored-version migration) with v1beta1 stored: through the latest 1.0 first',
    installed: installed({
      ...helmInstall('1.0.3', '1.0'),
      crds: crds('1.0', { stored: ['v1beta1', 'v1'], helm: helmOwner('karpenter-crd', 'kube-system') }),
    }),
    target: '1.14.1',
    status: 'upgrade',
    steps: ['1:crds@1.0.11', '1:controller@1.0.11', '2:crds@1.14.1', '2:controller@1.14.1'],
  },
  {
    name: '1.0.3 storing only v1 but with a compatibility annotation: blocked, no detour through 1.0.11',
    installed: helmInstall('1.0.3', '1.0', {
      compatibilityAnnotations: [
        {
          kind: 'NodePool',
          name: 'default',
          annotations: { 'compatibility.karpenter.sh/v1beta1-kubelet-conversion': '{}' },
        },
      ],
    }),
    target: '1.14.1',
    status: 'blocked',
    steps: ['1:crds@1.14.1', '1:controller@1.14.1'],
    errors: ['karpenter-no-compatibility-annotations'],
  },
  {
    name: 'v1-only CRDs without a readable version cannot go back to 1.0',
    installed: installed({ crds: crds('v1') }),
    target: '1.0.11',
    status: 'refused',
    errors: ['karpenter-downgrade'],
  },
  {
    name: '1.0.3 to a later 1.0 patch: one 1.0 hop',
    installed: helmInstall('1.0.3', '1.0'),
    target: '1.0.11',
    status: 'upgrade',
    steps: ['1:crds@1.0.11', '1:controller@1.0.11'],
  },
  {
    name: '0.37.2 to 1.14.1: latest 0.37 patch, then 1.0.11, then the target, each its own apply',
    installed: installed({
      controllers: [controller('0.37.2', { helm: helmOwner('karpenter', 'kube-system') })],
      releases: [release('karpenter', '0.37.2', { templatedCrds: [] })],
      crds: crds('v1beta1'),
      webhookConfigurations: STALE,
    }),
    target: '1.14.1',
    status: 'upgrade',
    steps: [
      '1:adopt-crds',
      '1:controller@0.37.7',
      '1:crds@0.37.7',
      '2:crds@1.0.11',
      '2:controller@1.0.11',
      '2:delete-stale-webhooks',
      '3:crds@1.14.1',
      '3:controller@1.14.1',
    ],
  },
  {
    name: '0.37.7 already serving conversion webhooks: the patch hop is skipped',
    installed: installed({
      controllers: [controller('0.37.7', { helm: helmOwner('karpenter', 'kube-system') })],
      releases: [release('karpenter', '0.37.7', { templatedCrds: [] }), release('karpenter-crd', '0.37.7')],
      crds: crds('v1beta1', {
        helm: helmOwner('karpenter-crd', 'kube-system'),
        webhook: { namespace: 'kube-system', name: 'karpenter' },
      }),
    }),
    target: '1.14.1',
    status: 'upgrade',
    steps: ['1:crds@1.0.11', '1:controller@1.0.11', '2:crds@1.14.1', '2:controller@1.14.1'],
  },
  {
    name: '0.37.7 without conversion webhooks on its CRDs: the patch hop is applied again',
    installed: installed({
      controllers: [controller('0.37.7', { helm: helmOwner('karpenter', 'kube-system') })],
      releases: [release('karpenter', '0.37.7', { templatedCrds: [] }), release('karpenter-crd', '0.37.7')],
      crds: crds('v1beta1', { helm: helmOwner('karpenter-crd', 'kube-system') }),
    }),
    target: '1.14.1',
    status: 'upgrade',
    steps: [
      '1:controller@0.37.7',
      '1:crds@0.37.7',
      '2:crds@1.0.11',
      '2:controller@1.0.11',
      '3:crds@1.14.1',
      '3:controller@1.14.1',
    ],
  },
  {
    name: '0.35.4 to a 1.0 target stops at 1.0',
    installed: installed({ controllers: [controller('0.35.4')], crds: crds('v1beta1') }),
    target: '1.0.8',
    options: { namespace: 'kube-system' },
    status: 'upgrade',
    steps: [
      '1:adopt-crds',
      '1:adopt-controller',
      '1:controller@0.35.12',
      '1:crds@0.35.12',
      '2:crds@1.0.8',
      '2:controller@1.0.8',
    ],
  },
  {
    name: 'the 1.0 patch is a parameter',
    installed: installed({ controllers: [controller('0.36.1')], crds: crds('v1beta1') }),
    target: '1.14.1',
    options: { latest10Patch: '1.0.8' },
    status: 'upgrade',
    steps: [
      '1:adopt-crds',
      '1:adopt-controller',
      '1:controller@0.36.9',
      '1:crds@0.36.9',
      '2:crds@1.0.8',
      '2:controller@1.0.8',
      '3:crds@1.14.1',
      '3:controller@1.14.1',
    ],
  },
  {
    name: 'a 1.0 patch parameter that is not 1.0.z is refused',
    installed: installed({ controllers: [controller('0.36.1')], crds: crds('v1beta1') }),
    target: '1.14.1',
    options: { latest10Patch: '1.1.0' },
    status: 'refused',
    errors: ['karpenter-route-invalid'],
  },
  {
    name: '0.32 and older are refused with the docs’ steps',
    installed: installed({ controllers: [controller('0.32.5')] }),
    target: '1.14.1',
    status: 'refused',
    errors: ['karpenter-pre-v1beta1'],
  },
  {
    name: 'a 0.3x install whose version cannot be read is refused',
    installed: installed({ crds: crds('v1beta1') }),
    target: '1.14.1',
    status: 'refused',
    errors: ['karpenter-version-unknown'],
  },
  {
    name: 'v1-only CRDs without a controller: the target is installed over them',
    installed: installed({ crds: crds('v1') }),
    target: '1.14.1',
    status: 'upgrade',
    steps: ['1:adopt-crds', '1:crds@1.14.1', '1:controller@1.14.1'],
  },
  {
    name: 'controllers at different versions block the route',
    installed: installed({
      controllers: [
        controller('1.8.2', { helm: helmOwner('karpenter', 'kube-system') }),
        controller('1.13.1', { namespace: 'karpenter' }),
      ],
      releases: [release('karpenter', '1.8.2'), release('karpenter-crd', '1.8.2')],
      crds: crds('v1', { helm: helmOwner('karpenter-crd', 'kube-system') }),
    }),
    target: '1.14.1',
    status: 'blocked',
    errors: ['karpenter-controllers-disagree'],
  },
  {
    name: 'a controller inside another chart’s release blocks the route',
    installed: installed({
      controllers: [controller('1.8.2', { helm: helmOwner('platform', 'kube-system') })],
      crds: crds('v1', { helm: helmOwner('platform', 'kube-system') }),
    }),
    target: '1.14.1',
    status: 'blocked',
    errors: ['karpenter-controller-owned-elsewhere'],
  },
];

describe('evaluateUpgradePath', () => {
  test.each(cases)('$name', (c) => {
    const route = evaluateUpgradePath(c.installed, c.target, c.options);
    expect(route.status).toBe(c.status);
    if (c.steps) expect(shape(route)).toEqual(c.steps);
    expect(errors(route)).toEqual(c.errors ?? []);
    for (const s of route.steps) expect(s.separateApply).toBe(s.apply > 1);
    if (c.status === 'refused') {
      expect(route.steps).toEqual([]);
      expect(route.refusal?.message).toBeTruthy();
    }
  });

  test('the 0.3x route carries the documented webhook values and the ≥1.1 checks as pending', () => {
    const route = evaluateUpgradePath(
      installed({
        controllers: [controller('0.37.2', { helm: helmOwner('karpenter', 'kube-system') })],
        releases: [release('karpenter', '0.37.2', { templatedCrds: [] })],
        crds: crds('v1beta1'),
      }),
      '1.14.1',
    );
    const step = (id: string) => route.steps.find((s) => s.id === id)!;
    expect(step('controller@0.37.7').values).toEqual({ 'webhook.enabled': 'true', 'webhook.port': '8443' });
    expect(step('crds@0.37.7').values).toEqual({
      'webhook.enabled': 'true',
      'webhook.serviceName': 'karpenter',
      'webhook.serviceNamespace': 'kube-system',
      'webhook.port': '8443',
    });
    expect(step('crds@1.0.11').values).toEqual(step('crds@0.37.7').values);
    expect(step('controller@1.0.11').values).toEqual({ 'webhook.enabled': 'true', 'webhook.port': '8443' });
    expect(step('crds@1.14.1').values).toEqual({});
    expect(step('controller@1.14.1').values).toEqual({});
    expect(step('crds@1.14.1').preconditions.map((p) => [p.id, p.status])).toEqual([
      ['v1-storage', 'pending'],
      ['no-compatibility-annotations', 'pending'],
      ['node-class-refs', 'pending'],
      ['objects-readable', 'pending'],
    ]);
    expect(step('crds@1.14.1').preconditions[0]!.fix.join('\n')).toMatch(/storedVersions/);
    expect(step('crds@1.14.1').preconditions[1]!.fix.join('\n')).toMatch(/v1beta1-kubelet-conversion/);
    expect(route.steps.every((s) => s.release?.namespace === 'kube-system' || !s.release)).toBe(true);
    expect(route.notes[0]).toMatch(/^Upgrading to 1\.0\.0\+/);
    expect(route.summary).toBe('upgrade 0.37.2 → 0.37.7 → 1.0.11 → 1.14.1 in 3 applies');
  });

  test('0.33 and 0.34 charts are published with a v prefix, 0.35 and later without', () => {
    const chartVersions = (v: string) =>
      evaluateUpgradePath(installed({ controllers: [controller(v)], crds: crds('v1beta1') }), '1.14.1')
        .steps.filter((s) => s.version?.startsWith('0.'))
        .map((s) => s.chartVersion);
    expect(chartVersions('0.33.5')).toEqual(['v0.33.12', 'v0.33.12']);
    expect(chartVersions('0.34.1')).toEqual(['v0.34.13', 'v0.34.13']);
    expect(chartVersions('0.35.1')).toEqual(['0.35.12', '0.35.12']);
  });

  test('a failed check of a later apply is a warning, so the 1.0 patch can still be applied', () => {
    const route = evaluateUpgradePath(
      installed({
        ...helmInstall('1.0.3', '1.0'),
        crds: crds('1.0', { stored: ['v1beta1', 'v1'], helm: helmOwner('karpenter-crd', 'kube-system') }),
        compatibilityAnnotations: [
          {
            kind: 'EC2NodeClass',
            name: 'ubuntu',
            annotations: {
              'compatibility.karpenter.k8s.aws/v1beta1-ubuntu': 'amiFamily,blockDeviceMappings',
            },
          },
        ],
      }),
      '1.14.1',
    );
    expect(route.status).toBe('upgrade');
    const target = route.steps.find((s) => s.id === 'crds@1.14.1')!;
    expect(target.preconditions.find((p) => p.id === 'v1-storage')?.status).toBe('pending');
    expect(target.preconditions.find((p) => p.id === 'no-compatibility-annotations')?.status).toBe('failed');
    const warning = route.findings.find((f) => f.code === 'karpenter-no-compatibility-annotations');
    expect(warning?.level).toBe('warning');
    expect(warning?.fix).toMatch(
      /kubectl annotate ec2nodeclass ubuntu compatibility\.karpenter\.k8s\.aws\/v1beta1-ubuntu-/,
    );
  });

  test('a blocked route says exactly what to do', () => {
    const route = evaluateUpgradePath(
      installed({
        ...helmInstall('1.0.8', '1.0'),
        crds: crds('1.0', { stored: ['v1beta1', 'v1'], helm: helmOwner('karpenter-crd', 'kube-system') }),
        compatibilityAnnotations: [
          {
            kind: 'NodePool',
            name: 'default',
            annotations: { 'compatibility.karpenter.sh/v1beta1-kubelet-conversion': '{}' },
          },
        ],
      }),
      '1.14.1',
    );
    const fixes = route.findings.map((f) => f.fix).join('\n');
    expect(fixes).toMatch(/nodepools\.karpenter\.sh: storage version v1, storedVersions \[v1beta1, v1\]/);
    expect(fixes).toMatch(/jsonpath='\{\.status\.storedVersions\}'/);
    expect(fixes).toMatch(
      /kubectl annotate nodepool default compatibility\.karpenter\.sh\/v1beta1-kubelet-conversion-/,
    );
    const refusal = buildRouteRefusal(route);
    expect(refusal).toBeInstanceOf(Refusal);
    expect(refusal!.message).toMatch(/blocked/);
    expect(refusal!.details.length).toBeGreaterThanOrEqual(2);
  });

  test('1.x hops note every minor crossed, and only those', () => {
    const notes = evaluateUpgradePath(helmInstall('1.8.2', 'v1'), '1.14.1').notes.map(
      (n) => /^Upgrading to (\S+)\+/.exec(n)![1],
    );
    expect(notes).toEqual(['1.9.0', '1.10.0', '1.11.0', '1.12.0', '1.14.0']);
    expect(evaluateUpgradePath(helmInstall('1.13.1', 'v1'), '1.14.1').notes).toHaveLength(1);
    expect(evaluateUpgradePath(installed(), '1.14.1').notes).toEqual([]);
    const hop = evaluateUpgradePath(helmInstall('1.8.2', 'v1'), '1.14.1').steps[0]!;
    expect(hop.description).toMatch(/no minor in between is needed/);
  });

  test('1.14 to 1.15 lists the 1.15 changes, one line each', () => {
    const route = evaluateUpgradePath(helmInstall('1.14.1', 'v1'), '1.15.2');
    expect(route.status).toBe('upgrade');
    expect(route.steps.map((s) => s.id)).toEqual(['crds@1.15.2', 'controller@1.15.2']);
    for (const n of route.notes) {
      expect(n).toMatch(/^Upgrading to 1\.15\.0\+: \S/);
      expect(n).not.toContain('\n');
    }
    const text = route.notes.join('\n');
    for (const fact of [
      /disruption budgets gain the reason `Unhealthy`/,
      /consolidateAfter is no longer required and defaults to 0s/,
      /settings\.enableDRA .*cannot be combined with .*draNVIDIAGPU.*draEFA.*ignoreDRARequests/,
      /settings\.legacyNodeRepair .*cannot be combined with settings\.featureGates\.terminateFirstRepair/,
      /settings\.securityGroupRefreshInterval/,
      /terminateFirstDrift, terminateFirstRepair and podDeletionCostManagement/,
      /settings\.awsFeatureGates .*rebootForRepair needs ec2:RebootInstances/,
      /spec\.kubelet .*ValidationSucceeded=False .*instead of failing the apply/,
    ]) {
      expect(route.notes.filter((n) => fact.test(n))).toHaveLength(1);
    }
    expect(route.notes).toHaveLength(8);
    expect(text).not.toMatch(/must not be installed/);
    expect(evaluateUpgradePath(helmInstall('1.15.0', 'v1'), '1.15.2').notes).toEqual([]);
  });

  test('a hop across 1.14 into 1.15 notes both', () => {
    const minors = evaluateUpgradePath(helmInstall('1.13.1', 'v1'), '1.15.2').notes.map(
      (n) => /^Upgrading to (\S+)\+/.exec(n)![1],
    );
    expect(minors[0]).toBe('1.14.0');
    expect(new Set(minors)).toEqual(new Set(['1.14.0', '1.15.0']));
  });

  test('the rollback steps follow the downgrade procedure and warn about the kubelet annotation', () => {
    const route = evaluateUpgradePath(helmInstall('1.0.8', '1.0'), '0.36.9');
    expect(route.steps.map((s) => [s.id, s.values['webhook.enabled']])).toEqual([
      ['controller@0.36.9', 'true'],
      ['crds@0.36.9', 'true'],
    ]);
    expect(route.steps[0]!.source).toMatch(/Downgrade Procedure, step 4/);
    expect(route.findings.map((f) => [f.level, f.code])).toEqual([['warning', 'karpenter-rollback-kubelet']]);
  });

  test('a manifests install in the config namespace is adopted in place', () => {
    const route = evaluateUpgradePath(
      installed({ controllers: [controller('1.14.1')], crds: crds('v1') }),
      '1.14.1',
    );
    expect(route.status).toBe('adopt');
    const crdAdopt = route.steps.find((s) => s.id === 'adopt-crds')!;
    expect(crdAdopt.metadata).toEqual({
      labels: { 'app.kubernetes.io/managed-by': 'Helm' },
      annotations: {
        'meta.helm.sh/release-name': 'karpenter-crd',
        'meta.helm.sh/release-namespace': 'kube-system',
      },
    });
    expect(crdAdopt.objects.map((o) => o.name)).toEqual(V1_KINDS.map(([n]) => n));
    const ctlAdopt = route.steps.find((s) => s.id === 'adopt-controller')!;
    expect(ctlAdopt.metadata?.annotations['meta.helm.sh/release-name']).toBe('karpenter');
    expect(ctlAdopt.objects).toEqual([
      {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        name: 'karpenter',
        namespace: 'kube-system',
        uid: 'uid-kube-system-karpenter',
      },
    ]);
    expect(route.steps.some((s) => s.action === 'delete' || s.action === 'uninstall-release')).toBe(false);
  });

  test('a manifests install in another namespace: the old controller goes before the new release, CRDs are adopted', () => {
    const route = evaluateUpgradePath(
      installed({ controllers: [controller('1.8.2', { namespace: 'karpenter' })], crds: crds('v1') }),
      '1.14.1',
    );
    expect(shape(route)).toEqual([
      '1:adopt-crds',
      '1:delete-old-controllers',
      '1:adopt-controller',
      '1:crds@1.14.1',
      '1:controller@1.14.1',
    ]);
    expect(route.steps[1]!.objects).toEqual([
      {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        name: 'karpenter',
        namespace: 'karpenter',
        uid: 'uid-karpenter-karpenter',
      },
    ]);
    expect(
      route.steps.some(
        (s) => s.objects.some((o) => o.kind === 'CustomResourceDefinition') && s.action === 'delete',
      ),
    ).toBe(false);
  });

  test('releases in another namespace: the CRD release is forgotten, never uninstalled; the controller release is uninstalled first', () => {
    const route = evaluateUpgradePath(
      installed({
        controllers: [
          controller('1.8.2', { namespace: 'karpenter', helm: helmOwner('karpenter', 'karpenter') }),
        ],
        releases: [
          release('karpenter', '1.8.2', { namespace: 'karpenter' }),
          release('karpenter-crd', undefined, { namespace: 'karpenter' }),
        ],
        crds: crds('v1', { helm: helmOwner('karpenter-crd', 'karpenter') }),
      }),
      '1.14.1',
    );
    expect(route.status).toBe('upgrade');
    expect(shape(route)).toEqual([
      '1:adopt-crds',
      '1:uninstall-release',
      '1:forget-release',
      '1:crds@1.14.1',
      '1:controller@1.14.1',
    ]);
    const forget = route.steps.find((s) => s.action === 'forget-release')!;
    expect(forget.labelSelector).toBe('owner=helm,name=karpenter-crd');
    expect(forget.release).toEqual({ name: 'karpenter-crd', namespace: 'karpenter' });
    expect(forget.objects).toEqual([]);
    expect(forget.description).toContain('Forget release karpenter/karpenter-crd (karpenter-crd) by');
    expect(forget.description).toMatch(/helm uninstall` would delete those CRDs/);
    const uninstall = route.steps.find((s) => s.action === 'uninstall-release')!;
    expect(uninstall.release).toEqual({ name: 'karpenter', namespace: 'karpenter' });
    expect(route.steps.find((s) => s.id === 'adopt-crds')!.metadata?.annotations).toEqual({
      'meta.helm.sh/release-name': 'karpenter-crd',
      'meta.helm.sh/release-namespace': 'kube-system',
    });
  });

  test('a foreign controller release that renders CRDs is forgotten, and its controller deleted', () => {
    const route = evaluateUpgradePath(
      installed({
        controllers: [
          controller('1.8.2', { namespace: 'platform', helm: helmOwner('karpenter', 'platform') }),
        ],
        releases: [
          release('karpenter', '1.8.2', { namespace: 'platform', templatedCrds: ['nodepools.karpenter.sh'] }),
        ],
        crds: crds('v1', { helm: helmOwner('karpenter', 'platform') }),
      }),
      '1.14.1',
    );
    expect(shape(route)).toEqual([
      '1:adopt-crds',
      '1:forget-release',
      '1:delete-old-controllers',
      '1:adopt-controller',
      '1:crds@1.14.1',
      '1:controller@1.14.1',
    ]);
    expect(route.steps.find((s) => s.id === 'delete-old-controllers')!.objects[0]).toMatchObject({
      kind: 'Deployment',
      namespace: 'platform',
    });
  });

  test('the config namespace decides which releases are foreign', () => {
    const inKarpenter = installed({
      controllers: [
        controller('1.8.2', { namespace: 'karpenter', helm: helmOwner('karpenter', 'karpenter') }),
      ],
      releases: [
        release('karpenter', '1.8.2', { namespace: 'karpenter' }),
        release('karpenter-crd', '1.8.2', { namespace: 'karpenter' }),
      ],
      crds: crds('v1', { helm: helmOwner('karpenter-crd', 'karpenter') }),
    });
    expect(shape(evaluateUpgradePath(inKarpenter, '1.14.1', { namespace: 'karpenter' }))).toEqual([
      '1:crds@1.14.1',
      '1:controller@1.14.1',
    ]);
  });

  test('CRDs from the controller chart’s crds/ folder are adopted into the CRD release', () => {
    const route = evaluateUpgradePath(
      installed({
        controllers: [controller('1.8.2', { helm: helmOwner('karpenter', 'kube-system') })],
        releases: [release('karpenter', '1.8.2')],
        crds: crds('v1'),
      }),
      '1.14.1',
    );
    expect(shape(route)).toEqual(['1:adopt-crds', '1:crds@1.14.1', '1:controller@1.14.1']);
  });

  test('a shared CRD owned by another project’s release blocks; an unowned one is adopted', () => {
    const buffer = (helm: HelmOwnership): KarpenterCrd => ({
      name: 'capacitybuffers.autoscaling.x-k8s.io',
      kind: 'CapacityBuffer',
      legacy: false,
      v1Migration: false,
      servedVersions: ['v1beta1'],
      storageVersion: 'v1beta1',
      storedVersions: ['v1beta1'],
      established: true,
      helm,
    });
    const base = helmInstall('1.13.1', 'v1');
    const owned = evaluateUpgradePath(
      installed({ ...base, crds: [...base.crds, buffer(helmOwner('cluster-autoscaler', 'kube-system'))] }),
      '1.14.1',
    );
    expect(errors(owned)).toEqual(['karpenter-crd-owned-elsewhere']);
    const unowned = evaluateUpgradePath(installed({ ...base, crds: [...base.crds, buffer({})] }), '1.14.1');
    expect(unowned.status).toBe('upgrade');
    expect(unowned.steps[0]!.objects.map((o) => o.name)).toEqual(['capacitybuffers.autoscaling.x-k8s.io']);
  });

  test('a release name without "karpenter" changes the webhook service name', () => {
    const route = evaluateUpgradePath(
      installed({ controllers: [controller('0.37.2', { name: 'kp-karpenter' })], crds: crds('v1beta1') }),
      '1.0.11',
      { releaseName: 'kp' },
    );
    expect(route.steps.find((s) => s.id === 'crds@0.37.7')!.values['webhook.serviceName']).toBe(
      'kp-karpenter',
    );
    expect(route.steps.find((s) => s.id === 'adopt-controller')!.objects.map((o) => o.name)).toEqual([
      'kp-karpenter',
    ]);
  });

  test('buildRouteRefusal: refused and blocked routes become a Refusal, others do not', () => {
    const refused = evaluateUpgradePath(installed({ controllers: [controller('0.31.0')] }), '1.14.1');
    const r = buildRouteRefusal(refused)!;
    expect(r).toBeInstanceOf(Refusal);
    expect(r.details).toHaveLength(3);
    expect(r.details[0]).toMatch(/0\.32\.x/);
    expect(buildRouteRefusal(evaluateUpgradePath(helmInstall('1.8.2', 'v1'), '1.14.1'))).toBeUndefined();
  });
});

describe('detect: classification and parsing', () => {
  test.each([
    ['public.ecr.aws/karpenter/controller:1.14.1@sha256:7231309abc', '1.14.1'],
    ['public.ecr.aws/karpenter/controller:v0.34.0', '0.34.0'],
    ['localhost:5000/karpenter/controller:1.0.8', '1.0.8'],
    ['localhost:5000/karpenter/controller@sha256:abc', undefined],
    ['karpenter/controller:latest', undefined],
  ])('the version of %s is %s', (image, version) => {
    expect(normalizeVersion(imageTag(image))).toBe(version);
  });

  test('kind, family and version come from the controller first, then the releases, then the CRDs', () => {
    expect(installed()).toMatchObject({ kind: 'none', family: 'none' });
    expect(installed({ crds: crds('v1beta1') })).toMatchObject({ kind: 'manifests', family: '0.3x' });
    expect(installed({ crds: crds('1.0') })).toMatchObject({ kind: 'manifests', family: '1.0.x' });
    expect(installed({ crds: crds('v1') })).toMatchObject({ kind: 'manifests', family: '1.x' });
    expect(
      installed({ releases: [release('karpenter-crd', '1.0.8', { namespace: 'karpenter' })] }),
    ).toMatchObject({
      kind: 'helm',
      version: '1.0.8',
      versionSource: 'crd-release',
      family: '1.0.x',
      release: { name: 'karpenter-crd', namespace: 'karpenter' },
    });
    expect(helmInstall('1.8.2', 'v1')).toMatchObject({
      kind: 'helm',
      version: '1.8.2',
      versionSource: 'deployment-label',
      release: { name: 'karpenter', namespace: 'kube-system' },
    });
  });

  test('the chart label names the chart and its version', () => {
    expect(parseChartLabel('karpenter-1.14.1')).toEqual({ name: 'karpenter', version: '1.14.1' });
    expect(parseChartLabel('karpenter-crd-v0.34.0')).toEqual({ name: 'karpenter-crd', version: 'v0.34.0' });
    expect(parseChartLabel('karpenter-1.2.0-rc.1_build.5')).toEqual({
      name: 'karpenter',
      version: '1.2.0-rc.1+build.5',
    });
    expect(parseChartLabel('karpenter')).toBeUndefined();
    expect(parseChartLabel(undefined)).toBeUndefined();
  });

  test('releases come from the objects’ Helm metadata: chart label, CRDs only, another chart', () => {
    const labelled = (ns: string, chartLabel: string, release = 'karpenter') =>
      controller('1.8.2', { namespace: ns, chartLabel, helm: helmOwner(release, ns) });
    expect(
      buildReleasesFromObjects(
        [labelled('kube-system', 'karpenter-1.8.2'), controller('1.8.2', { namespace: 'manual' })],
        crds('v1', { helm: helmOwner('karpenter-crd', 'kube-system') }),
      ),
    ).toEqual([
      {
        name: 'karpenter',
        namespace: 'kube-system',
        chart: 'karpenter',
        chartVersion: '1.8.2',
        appVersion: '1.8.2',
        templatedCrds: [],
        objects: ['Deployment kube-system/karpenter'],
      },
      {
        name: 'karpenter-crd',
        namespace: 'kube-system',
        chart: 'karpenter-crd',
        templatedCrds: V1_KINDS.map(([n]) => n).sort(),
        objects: V1_KINDS.map(([n]) => `CustomResourceDefinition ${n}`).sort(),
      },
    ]);
    // a controller labelled by another chart is not a Karpenter release; the route reports it
    expect(buildReleasesFromObjects([labelled('kube-system', 'platform-2.0.0', 'platform')], [])).toEqual([]);
    // a release whose CRDs sit next to its controller renders them as templates
    const own = buildReleasesFromObjects(
      [labelled('platform', 'karpenter-1.8.2')],
      crds('v1', { helm: helmOwner('karpenter', 'platform') }),
    );
    expect(own.map((r) => [r.chart, r.namespace, r.templatedCrds.length])).toEqual([
      ['karpenter', 'platform', 3],
    ]);
    // objects with only the managed-by label belong to no release
    expect(buildReleasesFromObjects([controller('1.8.2', { helm: { managedBy: 'Helm' } })], [])).toEqual([]);
  });
});
