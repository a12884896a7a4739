import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, selectCluster } from '../../src/config/load.ts';

function load(text: string) {
  const dir = mkdtempSync(join(tmpdir(), 'ka-cfg-'));
  writeFileSync(join(dir, 'karpenter.yaml'), text);
  return loadConfig('karpenter.yaml', dir);
}

test('defaults follow the getting-started guide', () => {
  const r = load('cluster: weasel-eks\nregion: us-east-1\nkarpenter:\n  version: 1.14.1\n');
  expect(r.issues).toEqual([]);
  expect(r.config!.clusters[0]).toMatchObject({
    karpenter: {
      version: '1.14.1',
      namespace: 'kube-system',
      chartRepository: 'oci://public.ecr.aws/karpenter',
    },
    manifests: [],
    pools: { prune: false },
    prereqs: {
      identity: 'pod-identity',
      nodeRoleName: 'KarpenterNodeRole-weasel-eks',
      controllerRoleName: 'weasel-eks-karpenter',
      interruptionQueue: 'weasel-eks',
      nodeAccess: 'auto',
      spotRole: 'auto',
      adopt: false,
    },
  });
});

test('a fleet merges the top-level defaults into each cluster; the entry wins', () => {
  const r = load(
    'karpenter:\n  version: 1.14.1\n  namespace: karpenter\nmanifests: [k/*.yaml]\nclusters:\n  - cluster: a\n    region: us-east-1\n  - cluster: b\n    region: eu-west-1\n    karpenter:\n      namespace: kube-system\n',
  );
  expect(r.issues).toEqual([]);
  const [a, b] = r.config!.clusters;
  expect(a).toMatchObject({
    cluster: 'a',
    karpenter: { version: '1.14.1', namespace: 'karpenter' },
    manifests: ['k/*.yaml'],
  });
  expect(b).toMatchObject({
    cluster: 'b',
    region: 'eu-west-1',
    karpenter: { version: '1.14.1', namespace: 'kube-system' },
  });
  expect(r.config!.fleet).toBe(true);
  expect(selectCluster(r.config!, 'b').cluster).toBe('b');
  expect(() => selectCluster(r.config!, undefined)).toThrow('set the "cluster" input to one of a, b');
  expect(() => selectCluster(r.config!, 'c')).toThrow('cluster "c" is not in karpenter.yaml');
});

test('a missing config file says how to fix it', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ka-cfg-'));
  expect(loadConfig('nope.yaml', dir).issues).toEqual([
    {
      file: 'nope.yaml',
      message: 'config file not found',
      fix: 'create it or point the "config" input at it',
    },
  ]);
});

test('install: values keep their lines; resources, helm and migration are checked', () => {
  const ok = load(`cluster: c1
region: us-east-1
karpenter:
  version: 1.14.1
install:
  replicas: 3
  resources:
    requests: {cpu: 1, memory: 1Gi}
    limits: {cpu: "1", memory: 1Gi}
  values:
    logLevel: debug
    settings:
      featureGates:
        spotToSpotConsolidation: true
  helm: {version: v3.17.3}
  migration:
    enabled: true
    nodeGroups:
      ng-1: {minSize: 2, maxSize: 2, desiredSize: 2}
`);
  expect(ok.issues).toEqual([]);
  expect(ok.config!.clusters[0]!.install).toEqual({
    replicas: 3,
    resources: { requests: { cpu: '1', memory: '1Gi' }, limits: { cpu: '1', memory: '1Gi' } },
    values: { logLevel: 'debug', settings: { featureGates: { spotToSpotConsolidation: true } } },
    valuesLines: { logLevel: 11, 'settings.featureGates.spotToSpotConsolidation': 14 },
    timeoutSeconds: 300,
    helm: { version: '3.17.3' },
    migration: { enabled: true, nodeGroups: { 'ng-1': { minSize: 2, maxSize: 2, desiredSize: 2 } } },
  });
  expect(
    load('cluster: c1\nregion: us-east-1\nkarpenter:\n  version: 1.14.1\n').config!.clusters[0]!.install,
  ).toEqual({
    values: {},
    valuesLines: {},
    timeoutSeconds: 300,
    migration: { enabled: false, nodeGroups: {} },
  });

  const bad = load(`cluster: c1
region: us-east-1
karpenter:
  version: 1.14.1
install:
  replicas: 0
  resources:
    requests: {cpu: lots}
  helm: {version: latest}
  migration:
    enabeld: true
    nodeGroups:
      ng-1: {minSize: 3, maxSize: 2, desiredSize: 2}
`);
  expect(bad.issues.map((i) => [i.line, i.field])).toEqual([
    [6, 'install.replicas'],
    [8, 'install.resources.requests.cpu'],
    [9, 'install.helm'],
    [11, 'install.migration.enabeld'],
    [13, 'install.migration.nodeGroups.ng-1'],
  ]);
  expect(bad.issues[3]!.fix).toContain('enabled');
});
