/**
 * Detection of an installed Karpenter against the sandbox's real kube-apiserver and the real helm:
 * a fresh cluster, a karpenter-crd release installed by helm, a `helm template` install, a
 * v1beta1-era install with stale webhook configurations, and releases in another namespace, whose
 * takeover the test carries out with helm to show that no CRD or NodePool is lost. No controller runs
 * in the sandbox, so the controller Deployments are objects only, and the v1beta1 CRD is a minimal one
 * written here.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { KubeHttp } from '../../src/adapters/kube-http.ts';
import { KubeClient, type KubeObject, type KubeResource } from '../../src/adapters/kube.ts';
import { readInstalledKarpenter } from '../../src/install/detect.ts';
import { evaluateUpgradePath } from '../../src/install/upgrade-path.ts';
import { adminKube, deleteCluster, newCluster, sandbox, type ClusterInfo } from '../helpers/sandbox.ts';

const RESOURCES: Record<string, KubeResource> = Object.fromEntries(
  (
    [
      ['', 'v1', 'namespaces', 'Namespace', false],
      ['', 'v1', 'serviceaccounts', 'ServiceAccount', true],
      ['', 'v1', 'secrets', 'Secret', true],
      ['', 'v1', 'configmaps', 'ConfigMap', true],
      ['', 'v1', 'services', 'Service', true],
      ['apps', 'v1', 'deployments', 'Deployment', true],
      ['policy', 'v1', 'poddisruptionbudgets', 'PodDisruptionBudget', true],
      ['rbac.authorization.k8s.io', 'v1', 'clusterroles', 'ClusterRole', false],
      ['rbac.authorization.k8s.io', 'v1', 'clusterrolebindings', 'ClusterRoleBinding', false],
      ['rbac.authorization.k8s.io', 'v1', 'roles', 'Role', true],
      ['rbac.authorization.k8s.io', 'v1', 'rolebindings', 'RoleBinding', true],
      ['apiextensions.k8s.io', 'v1', 'customresourcedefinitions', 'CustomResourceDefinition', false],
      [
        'admissionregistration.k8s.io',
        'v1',
        'validatingwebhookconfigurations',
        'ValidatingWebhookConfiguration',
        false,
      ],
      [
        'admissionregistration.k8s.io',
        'v1',
        'mutatingwebhookconfigurations',
        'MutatingWebhookConfiguration',
        false,
      ],
    ] as const
  ).map(([group, version, plural, kind, namespaced]) => [kind, { group, version, plural, kind, namespaced }]),
);

const res = (kind: string): KubeResource => {
  const r = RESOURCES[kind];
  if (!r) throw new Error(`the test has no resource for ${kind}`);
  return r;
};

interface Env {
  cluster: ClusterInfo;
  kube: KubeClient;
  kubeconfig: string;
}

const dirs: string[] = [];
const envs: Env[] = [];

/** A cluster of the test's own, with its admin kubeconfig in a file for helm. Created one at a time: the sandbox builds clusters faster in sequence. */
async function env(): Promise<Env> {
  const cluster = await newCluster();
  const kc = adminKube(cluster);
  const dir = mkdtempSync(join(tmpdir(), 'install-detect-'));
  dirs.push(dir);
  const kubeconfig = join(dir, 'kubeconfig');
  writeFileSync(kubeconfig, kc.exportConfig(), { mode: 0o600 });
  const e = { cluster, kube: new KubeClient(new KubeHttp(kc)), kubeconfig };
  envs.push(e);
  return e;
}

afterAll(async () => {
  await Promise.all(envs.map((e) => deleteCluster(e.cluster.name)));
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const helm = (e: Env, ...args: string[]): string =>
  execFileSync(join(sandbox().binDir, 'helm'), ['--kubeconfig', e.kubeconfig, ...args], {
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });

const render = (e: Env, ...args: string[]): KubeObject[] =>
  parseAllDocuments(helm(e, 'template', ...args, '--kube-version', sandbox().kubernetesVersion))
    .map((d) => d.toJS() as KubeObject | null)
    .filter((o): o is KubeObject => o !== null && typeof o.kind === 'string');

async function createNamespace(e: Env, name: string): Promise<void> {
  await e.kube.create(res('Namespace'), { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
}

async function waitEstablished(e: Env, names: string[]): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (const name of names) {
    for (;;) {
      const crd = await e.kube.get(res('CustomResourceDefinition'), name);
      const conditions = ((crd?.status as { conditions?: { type: string; status: string }[] }) ?? {})
        .conditions;
      if (conditions?.some((c) => c.type === 'Established' && c.status === 'True')) break;
      if (Date.now() > deadline) throw new Error(`CRD ${name} not Established`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

/**
 * A client acting as a user whose ClusterRole reads every kind detection reads and no Secret: the
 * admin impersonates it, as the API server authorizes an impersonated request as that user.
 */
async function readerWithoutSecrets(e: Env): Promise<KubeClient> {
  const user = 'detect-without-secrets';
  const rbac = (kind: string): KubeResource => ({
    group: 'rbac.authorization.k8s.io',
    version: 'v1',
    plural: `${kind.toLowerCase()}s`,
    kind,
    namespaced: false,
  });
  await e.kube.create(rbac('ClusterRole'), {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRole',
    metadata: { name: user },
    rules: [
      ['apps', 'deployments'],
      ['apiextensions.k8s.io', 'customresourcedefinitions'],
      ['admissionregistration.k8s.io', 'validatingwebhookconfigurations'],
      ['admissionregistration.k8s.io', 'mutatingwebhookconfigurations'],
      ['karpenter.sh', '*'],
      ['karpenter.k8s.aws', '*'],
    ].map(([group, resource]) => ({ apiGroups: [group], resources: [resource], verbs: ['get', 'list'] })),
  });
  await e.kube.create(rbac('ClusterRoleBinding'), {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRoleBinding',
    metadata: { name: user },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: user },
    subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: user }],
  });
  const kc = adminKube(e.cluster);
  const current = kc.getCurrentUser()!;
  kc.users = kc.users.map((u) => (u.name === current.name ? { ...u, impersonateUser: user } : u));
  return new KubeClient(new KubeHttp(kc));
}

const V1_CRDS = ['ec2nodeclasses.karpenter.k8s.aws', 'nodeclaims.karpenter.sh', 'nodepools.karpenter.sh'];

test('a fresh cluster has no Karpenter, and the route is a plain install', async () => {
  const e = await env();
  const installed = await readInstalledKarpenter(e.kube);
  expect(installed).toEqual({
    kind: 'none',
    family: 'none',
    controllers: [],
    releases: [],
    crds: [],
    compatibilityAnnotations: [],
    incompleteNodeClassRefs: [],
    webhookConfigurations: [],
    unreadable: [],
  });
  const route = evaluateUpgradePath(installed, '1.14.1');
  expect(route.status).toBe('install');
  expect(route.steps.map((s) => s.id)).toEqual(['crds@1.14.1', 'controller@1.14.1']);
});

test('karpenter-crd 1.0.8 installed by helm in karpenter, with the chart’s controller Deployment: a helm install of 1.0.8', async () => {
  const e = await env();
  const release = sandbox().karpenter['1.0.8']!;
  helm(e, 'install', 'karpenter-crd', release.crdChartDir, '-n', 'karpenter', '--create-namespace');
  helm(e, 'upgrade', 'karpenter-crd', release.crdChartDir, '-n', 'karpenter');
  const deployment = render(
    e,
    'karpenter',
    release.chartDir,
    '-n',
    'karpenter',
    '--skip-crds',
    '--set',
    'settings.clusterName=sandbox-eks',
  ).find((o) => o.kind === 'Deployment')!;
  expect(deployment.metadata?.labels).toMatchObject({
    'app.kubernetes.io/name': 'karpenter',
    'app.kubernetes.io/version': '1.0.8',
    'app.kubernetes.io/managed-by': 'Helm',
  });
  await e.kube.create(res('Deployment'), deployment);
  await waitEstablished(e, V1_CRDS);

  const installed = await readInstalledKarpenter(e.kube);
  expect(installed).toMatchObject({
    kind: 'helm',
    family: '1.0.x',
    version: '1.0.8',
    versionSource: 'deployment-label',
    release: { name: 'karpenter-crd', namespace: 'karpenter' },
    unreadable: [],
  });
  expect(installed.releases).toEqual([
    {
      name: 'karpenter-crd',
      namespace: 'karpenter',
      chart: 'karpenter-crd',
      templatedCrds: V1_CRDS,
      objects: V1_CRDS.map((n) => `CustomResourceDefinition ${n}`),
    },
  ]);
  expect(installed.controllers).toEqual([
    expect.objectContaining({
      namespace: 'karpenter',
      name: 'karpenter',
      version: '1.0.8',
      versionSource: 'label',
      replicas: 2,
      helmManaged: true,
      helm: { managedBy: 'Helm' },
    }),
  ]);
  expect(installed.crds.map((c) => c.name).sort()).toEqual(V1_CRDS);
  for (const crd of installed.crds) {
    expect(crd).toMatchObject({
      servedVersions: ['v1', 'v1beta1'],
      storageVersion: 'v1',
      storedVersions: ['v1'],
      established: true,
      conversionWebhook: { service: { namespace: 'karpenter', name: 'karpenter', port: 8443 } },
      helm: { managedBy: 'Helm', releaseName: 'karpenter-crd', releaseNamespace: 'karpenter' },
    });
  }

  const inPlace = evaluateUpgradePath(installed, '1.14.1', { namespace: 'karpenter' });
  expect(inPlace.status).toBe('upgrade');
  expect(inPlace.steps.map((s) => s.id)).toEqual(['adopt-controller', 'crds@1.14.1', 'controller@1.14.1']);
  expect(inPlace.steps[1]!.preconditions.every((p) => p.status === 'met')).toBe(true);

  const moved = evaluateUpgradePath(installed, '1.14.1', { namespace: 'kube-system' });
  expect(moved.steps.map((s) => s.id)).toEqual([
    'adopt-crds',
    'forget-release:karpenter/karpenter-crd',
    'delete-old-controllers',
    'adopt-controller',
    'crds@1.14.1',
    'controller@1.14.1',
  ]);
  expect(moved.steps.some((s) => s.action === 'uninstall-release')).toBe(false);
});

test('a `helm template | kubectl apply` install of 1.14.1 is a manifests install, adopted in place', async () => {
  const e = await env();
  const release = sandbox().karpenter['1.14.1']!;
  const objects = render(
    e,
    'karpenter',
    release.chartDir,
    '-n',
    'kube-system',
    '--include-crds',
    '--set',
    'settings.clusterName=sandbox-eks',
  );
  const crds = objects.filter((o) => o.kind === 'CustomResourceDefinition');
  for (const o of [...crds, ...objects.filter((x) => x.kind !== 'CustomResourceDefinition')])
    await e.kube.apply(res(o.kind!), o, { dryRun: false });
  await waitEstablished(
    e,
    crds.map((c) => c.metadata!.name!),
  );

  const installed = await readInstalledKarpenter(e.kube);
  expect(installed).toMatchObject({
    kind: 'manifests',
    family: '1.x',
    version: '1.14.1',
    versionSource: 'deployment-label',
    releases: [],
    unreadable: [],
  });
  expect(installed.release).toBeUndefined();
  expect(installed.controllers).toEqual([
    expect.objectContaining({
      namespace: 'kube-system',
      name: 'karpenter',
      version: '1.14.1',
      helmManaged: true,
    }),
  ]);
  expect(installed.controllers[0]!.image).toMatch(/^public\.ecr\.aws\/karpenter\/controller:1\.14\.1/);
  expect(installed.crds.map((c) => c.name).sort()).toEqual([
    'capacitybuffers.autoscaling.x-k8s.io',
    'ec2nodeclasses.karpenter.k8s.aws',
    'nodeclaims.karpenter.sh',
    'nodeoverlays.karpenter.sh',
    'nodepools.karpenter.sh',
  ]);
  expect(installed.crds.every((c) => c.established && c.helm.releaseName === undefined)).toBe(true);
  expect(installed.crds.find((c) => c.name === 'nodepools.karpenter.sh')).toMatchObject({
    servedVersions: ['v1'],
    storedVersions: ['v1'],
  });

  const route = evaluateUpgradePath(installed, '1.14.1');
  expect(route.status).toBe('adopt');
  expect(route.steps.map((s) => s.id)).toEqual([
    'adopt-crds',
    'adopt-controller',
    'crds@1.14.1',
    'controller@1.14.1',
  ]);
});

test('a v1beta1-era install (0.37.0) with stale webhook configurations gets the explicit route through 0.37.7 and 1.0', async () => {
  const e = await env();
  await createNamespace(e, 'karpenter');
  await e.kube.create(res('CustomResourceDefinition'), {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: 'nodepools.karpenter.sh' },
    spec: {
      group: 'karpenter.sh',
      scope: 'Cluster',
      names: { kind: 'NodePool', listKind: 'NodePoolList', plural: 'nodepools', singular: 'nodepool' },
      versions: [
        {
          name: 'v1beta1',
          served: true,
          storage: true,
          schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } },
        },
      ],
    },
  });
  await waitEstablished(e, ['nodepools.karpenter.sh']);
  await e.kube.create(
    { group: 'karpenter.sh', version: 'v1beta1', plural: 'nodepools', kind: 'NodePool', namespaced: false },
    {
      apiVersion: 'karpenter.sh/v1beta1',
      kind: 'NodePool',
      metadata: {
        name: 'default',
        annotations: {
          'compatibility.karpenter.sh/v1beta1-nodeclass-reference': '{"name":"default"}',
          'karpenter.sh/other': 'kept out',
        },
      },
      spec: { template: { spec: { nodeClassRef: { name: 'default' } } } },
    },
  );
  const labels = { 'app.kubernetes.io/name': 'karpenter', 'app.kubernetes.io/instance': 'karpenter' };
  await e.kube.create(res('Deployment'), {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: {
      name: 'karpenter',
      namespace: 'karpenter',
      labels: { ...labels, 'app.kubernetes.io/version': '0.37.0' },
    },
    spec: {
      replicas: 2,
      selector: { matchLabels: labels },
      template: {
        metadata: { labels },
        spec: {
          containers: [
            {
              name: 'controller',
              image:
                'public.ecr.aws/karpenter/controller:0.37.0@sha256:157f478f5db1fe999f5e2d27badcc742bf51cc470508b3cebe78224d0947674f',
            },
          ],
        },
      },
    },
  });
  const webhook = (name: string) => ({
    name,
    admissionReviewVersions: ['v1'],
    sideEffects: 'None',
    failurePolicy: 'Ignore',
    clientConfig: { service: { name: 'karpenter', namespace: 'karpenter', port: 8443 } },
    rules: [
      {
        apiGroups: ['karpenter.sh'],
        apiVersions: ['v1beta1'],
        operations: ['CREATE', 'UPDATE'],
        resources: ['nodepools'],
      },
    ],
  });
  for (const [kind, name] of [
    ['ValidatingWebhookConfiguration', 'validation.webhook.karpenter.sh'],
    ['ValidatingWebhookConfiguration', 'validation.webhook.config.karpenter.sh'],
    ['MutatingWebhookConfiguration', 'defaulting.webhook.karpenter.k8s.aws'],
    ['ValidatingWebhookConfiguration', 'unrelated.example.com'],
  ] as const)
    await e.kube.create(res(kind), {
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind,
      metadata: { name },
      webhooks: [webhook(name)],
    });

  const installed = await readInstalledKarpenter(e.kube);
  expect(installed).toMatchObject({
    kind: 'manifests',
    family: '0.3x',
    version: '0.37.0',
    versionSource: 'deployment-label',
    releases: [],
    unreadable: [],
  });
  expect(installed.controllers).toEqual([
    expect.objectContaining({
      namespace: 'karpenter',
      name: 'karpenter',
      version: '0.37.0',
      helmManaged: false,
    }),
  ]);
  expect(installed.controllers[0]!.image).toMatch(/:0\.37\.0@sha256:/);
  expect(installed.crds).toEqual([
    expect.objectContaining({
      name: 'nodepools.karpenter.sh',
      servedVersions: ['v1beta1'],
      storageVersion: 'v1beta1',
      storedVersions: ['v1beta1'],
      established: true,
      helm: {},
    }),
  ]);
  expect(installed.crds[0]!.conversionWebhook).toBeUndefined();
  expect(installed.compatibilityAnnotations).toEqual([
    {
      kind: 'NodePool',
      name: 'default',
      annotations: { 'compatibility.karpenter.sh/v1beta1-nodeclass-reference': '{"name":"default"}' },
    },
  ]);
  expect(installed.incompleteNodeClassRefs).toEqual([]);
  expect(installed.webhookConfigurations.map((w) => [w.kind, w.name, w.documented])).toEqual([
    ['MutatingWebhookConfiguration', 'defaulting.webhook.karpenter.k8s.aws', true],
    ['ValidatingWebhookConfiguration', 'validation.webhook.config.karpenter.sh', true],
    ['ValidatingWebhookConfiguration', 'validation.webhook.karpenter.sh', true],
  ]);
  expect(installed.webhookConfigurations[0]!.services).toEqual([
    { namespace: 'karpenter', name: 'karpenter' },
  ]);

  const route = evaluateUpgradePath(installed, '1.14.1', { namespace: 'karpenter' });
  expect(route.status).toBe('upgrade');
  expect(route.steps.map((s) => `${s.apply}:${s.id}`)).toEqual([
    '1:adopt-crds',
    '1:adopt-controller',
    '1:controller@0.37.7',
    '1:crds@0.37.7',
    '2:crds@1.0.11',
    '2:controller@1.0.11',
    '2:delete-stale-webhooks',
    '3:crds@1.14.1',
    '3:controller@1.14.1',
  ]);
  const stale = route.steps.find((s) => s.id === 'delete-stale-webhooks')!;
  expect(stale.objects.map((o) => o.name)).toEqual([
    'defaulting.webhook.karpenter.k8s.aws',
    'validation.webhook.config.karpenter.sh',
    'validation.webhook.karpenter.sh',
  ]);
  expect(route.steps.find((s) => s.id === 'crds@0.37.7')!.values).toEqual({
    'webhook.enabled': 'true',
    'webhook.serviceName': 'karpenter',
    'webhook.serviceNamespace': 'karpenter',
    'webhook.port': '8443',
  });
  expect(route.steps.at(-2)!.preconditions.map((p) => p.status)).toEqual([
    'pending',
    'pending',
    'pending',
    'pending',
  ]);
});

test('releases of 1.8.2 in another namespace: the route’s takeover, carried out with real helm, keeps every CRD and NodePool', async () => {
  const e = await env();
  const release = sandbox().karpenter['1.8.2']!;
  helm(e, 'install', 'karpenter-crd', release.crdChartDir, '-n', 'karpenter', '--create-namespace');
  helm(
    e,
    'install',
    'karpenter',
    release.chartDir,
    '-n',
    'karpenter',
    '--skip-crds',
    '--set',
    'settings.clusterName=sandbox-eks',
  );
  const crdNames = [...V1_CRDS, 'nodeoverlays.karpenter.sh'].sort();
  await waitEstablished(e, crdNames);
  const [nodePool] = parseAllDocuments(
    readFileSync(join(import.meta.dirname, '..', 'fixtures', 'manifests', 'valid-v1.yaml'), 'utf8'),
  ).map((d) => d.toJS() as KubeObject);
  const nodePools: KubeResource = {
    group: 'karpenter.sh',
    version: 'v1',
    plural: 'nodepools',
    kind: 'NodePool',
    namespaced: false,
  };
  const created = await e.kube.create(nodePools, nodePool!);

  const installed = await readInstalledKarpenter(e.kube);
  expect(installed).toMatchObject({
    kind: 'helm',
    family: '1.x',
    version: '1.8.2',
    release: { name: 'karpenter', namespace: 'karpenter' },
  });
  expect(
    installed.releases.map((r) => [r.chart, r.name, r.namespace, r.chartVersion, r.templatedCrds]),
  ).toEqual([
    ['karpenter', 'karpenter', 'karpenter', '1.8.2', []],
    ['karpenter-crd', 'karpenter-crd', 'karpenter', undefined, crdNames],
  ]);
  expect(installed.controllers).toEqual([
    expect.objectContaining({
      namespace: 'karpenter',
      helm: { managedBy: 'Helm', releaseName: 'karpenter', releaseNamespace: 'karpenter' },
    }),
  ]);

  // a caller refused every Secret (Helm's release records among them) detects exactly the same
  const reader = await readerWithoutSecrets(e);
  await expect(reader.list(res('Secret'), { namespace: 'karpenter' })).rejects.toMatchObject({ code: 403 });
  expect(await readInstalledKarpenter(reader)).toEqual(installed);

  const route = evaluateUpgradePath(installed, '1.14.1', { namespace: 'kube-system' });
  expect(route.status).toBe('upgrade');
  expect(route.steps.map((s) => s.id)).toEqual([
    'adopt-crds',
    'uninstall-release:karpenter/karpenter',
    'forget-release:karpenter/karpenter-crd',
    'crds@1.14.1',
    'controller@1.14.1',
  ]);

  const uids = Object.fromEntries(installed.crds.map((c) => [c.name, c.uid]));
  for (const step of route.steps) {
    switch (step.action) {
      case 'adopt':
        for (const o of step.objects) {
          const live = (await e.kube.get(res(o.kind), o.name, o.namespace))!;
          live.metadata!.labels = { ...live.metadata!.labels, ...step.metadata!.labels };
          live.metadata!.annotations = { ...live.metadata!.annotations, ...step.metadata!.annotations };
          await e.kube.replace(res(o.kind), live);
        }
        break;
      case 'uninstall-release':
        helm(e, 'uninstall', step.release!.name, '-n', step.release!.namespace);
        break;
      case 'forget-release':
        for (const secret of await e.kube.list(res('Secret'), {
          namespace: step.release!.namespace,
          labelSelector: step.labelSelector!,
        }))
          await e.kube.delete(res('Secret'), secret.metadata!.name!, {
            namespace: secret.metadata!.namespace!,
            uid: secret.metadata!.uid!,
          });
        break;
      case 'upgrade-crds':
        helm(
          e,
          'upgrade',
          '--install',
          step.release!.name,
          sandbox().karpenter[step.version!]!.crdChartDir,
          '-n',
          step.release!.namespace,
        );
        break;
      default:
        break;
    }
  }

  const after = await readInstalledKarpenter(e.kube);
  expect(after.controllers).toEqual([]);
  expect(after.releases.map((r) => [r.chart, r.namespace, r.templatedCrds])).toEqual([
    ['karpenter-crd', 'kube-system', [...crdNames, 'capacitybuffers.autoscaling.x-k8s.io'].sort()],
  ]);
  for (const [name, uid] of Object.entries(uids))
    expect(after.crds.find((c) => c.name === name)).toMatchObject({
      uid,
      helm: { managedBy: 'Helm', releaseName: 'karpenter-crd', releaseNamespace: 'kube-system' },
    });
  expect((await e.kube.get(nodePools, 'default'))?.metadata?.uid).toBe(created.metadata?.uid);
});
