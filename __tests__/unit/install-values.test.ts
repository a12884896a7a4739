import type { ClusterConfig, InstallConfig } from '../../src/config/load.ts';
import { buildChartValues, checkValuesKeys } from '../../src/install/values.ts';
import { readChartRefusal } from '../../src/stages/install.ts';

const cluster = (install: Partial<InstallConfig> = {}): ClusterConfig => ({
  cluster: 'c1',
  region: 'us-east-1',
  karpenter: { version: '1.14.1', namespace: 'kube-system', chartRepository: '' },
  manifests: [],
  pools: { prune: false },
  prereqs: {
    identity: 'pod-identity',
    nodeRoleName: 'KarpenterNodeRole-c1',
    controllerRoleName: 'c1-karpenter',
    interruptionQueue: 'c1-queue',
    nodeAccess: 'auto',
    spotRole: 'auto',
    adopt: false,
    tags: {},
  },
  install: {
    values: {},
    valuesLines: {},
    timeoutSeconds: 300,
    migration: { enabled: false, nodeGroups: {} },
    ...install,
  },
  verify: { timeoutSeconds: 300, smokeTest: undefined },
  variables: {},
  source: { file: '.github/karpenter.yaml', line: 1 },
});

const offKarpenter = { key: 'karpenter.sh/nodepool', operator: 'DoesNotExist' };

test('the action sets cluster, queue, replicas, resources, IRSA and the off-Karpenter affinity', () => {
  const v = buildChartValues({
    cluster: cluster({ replicas: 3, resources: { requests: { cpu: '1', memory: '1Gi' } } }),
    irsaRoleArn: 'arn:aws:iam::1:role/c1-karpenter',
    nodeGroups: ['ng-b', 'ng-a'],
  });
  expect(v).toEqual({
    settings: { clusterName: 'c1', interruptionQueue: 'c1-queue' },
    replicas: 3,
    controller: { resources: { requests: { cpu: '1', memory: '1Gi' } } },
    serviceAccount: { annotations: { 'eks.amazonaws.com/role-arn': 'arn:aws:iam::1:role/c1-karpenter' } },
    affinity: {
      nodeAffinity: {
        requiredDuringSchedulingIgnoredDuringExecution: {
          nodeSelectorTerms: [
            {
              matchExpressions: [
                offKarpenter,
                { key: 'eks.amazonaws.com/nodegroup', operator: 'In', values: ['ng-a', 'ng-b'] },
              ],
            },
          ],
        },
      },
      podAntiAffinity: {
        requiredDuringSchedulingIgnoredDuringExecution: [{ topologyKey: 'kubernetes.io/hostname' }],
      },
    },
  });
});

test("a user's affinity is kept, with the off-Karpenter rule put back into each term", () => {
  const v = buildChartValues({
    cluster: cluster({
      values: {
        logLevel: 'debug',
        affinity: {
          nodeAffinity: {
            requiredDuringSchedulingIgnoredDuringExecution: {
              nodeSelectorTerms: [
                { matchExpressions: [{ key: 'role', operator: 'In', values: ['system'] }] },
              ],
            },
          },
        },
      },
    }),
  });
  expect(v.logLevel).toBe('debug');
  const terms = (
    v.affinity as {
      nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: unknown[] } };
    }
  ).nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms;
  expect(terms).toEqual([
    { matchExpressions: [offKarpenter, { key: 'role', operator: 'In', values: ['system'] }] },
  ]);
});

test('values the chart does not have are errors with their line and the current name', () => {
  const chart = {
    settings: { clusterName: '', interruptionQueue: '', featureGates: { spotToSpotConsolidation: false } },
    podAnnotations: {},
    logLevel: 'info',
  };
  const values = {
    settings: { aws: { interruptionQueueName: 'q' }, featureGates: { spotToSpotConsolidation: true } },
    webhook: { enabled: true },
    podAnnotations: { 'example.com/a': 'b' },
    logLevl: 'debug',
    interruptionQueueName: 'q',
  };
  const lines = {
    'settings.aws.interruptionQueueName': 9,
    'settings.featureGates.spotToSpotConsolidation': 11,
    'webhook.enabled': 13,
    'podAnnotations.example.com/a': 15,
    logLevl: 16,
    interruptionQueueName: 17,
  };
  const issues = checkValuesKeys(values, lines, chart, {
    file: '.github/karpenter.yaml',
    chart: 'karpenter 1.14.1',
  });
  expect(issues.map((i) => [i.line, i.field])).toEqual([
    [9, 'install.values.settings.aws'],
    [13, 'install.values.webhook'],
    [16, 'install.values.logLevl'],
    [17, 'install.values.interruptionQueueName'],
  ]);
  expect(issues[0]!.message).toBe('is not a value of the karpenter 1.14.1 chart');
  expect(issues[0]!.fix).toContain('prereqs.interruptionQueue sets settings.interruptionQueue');
  expect(issues[1]!.fix).toContain('removed in 1.1');
  expect(issues[3]!.fix).toContain('prereqs.interruptionQueue');
  const owned = checkValuesKeys({ settings: { clusterName: 'x' } }, { 'settings.clusterName': 4 }, chart, {
    file: 'f',
    chart: 'karpenter',
  });
  expect(owned).toEqual([expect.objectContaining({ line: 4, field: 'install.values.settings.clusterName' })]);
});

describe('readChartRefusal', () => {
  test("reads a chart's own fail message out of helm template's error, and nothing else", () => {
    expect(
      readChartRefusal(
        new Error(
          'helm template /charts/karpenter failed: Error: execution error at (karpenter/templates/deployment.yaml:1:12): settings.enableDRA is mutually exclusive with settings.awsFeatureGates.draEFA: unset them, or unset settings.enableDRA\n\nUse --debug flag to render out invalid YAML',
        ),
      ),
    ).toBe(
      'settings.enableDRA is mutually exclusive with settings.awsFeatureGates.draEFA: unset them, or unset settings.enableDRA',
    );
    expect(
      readChartRefusal(new Error('helm template /charts/karpenter failed: Error: chart not found')),
    ).toBe(undefined);
  });
});
