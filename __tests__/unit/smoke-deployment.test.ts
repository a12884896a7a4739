import { buildSmokeDeployment, SMOKE_LABEL } from '../../src/stages/verify-smoke.ts';
import type { SmokeTestConfig } from '../../src/config/load.ts';

const smoke: SmokeTestConfig = {
  nodePool: 'batch',
  namespace: 'default',
  image: 'public.ecr.aws/eks-distro/kubernetes/pause:3.7',
  cpu: '1',
  timeoutSeconds: 30,
  source: { file: 'karpenter.yaml', line: 9 },
};

type PodSpec = {
  nodeSelector?: Record<string, string>;
  tolerations?: unknown[];
  containers: { image: string; resources: { requests: Record<string, string> } }[];
};
const podSpec = (d: ReturnType<typeof buildSmokeDeployment>) =>
  (d.spec as { template: { spec: PodSpec } }).template.spec;

test('the test pod fits only on the chosen NodePool and tolerates its taints', () => {
  const pool = {
    kind: 'NodePool',
    metadata: { name: 'batch' },
    spec: { template: { spec: { taints: [{ key: 'dedicated', value: 'batch', effect: 'NoSchedule' }] } } },
  };
  const d = buildSmokeDeployment(smoke, 'r1', pool);
  expect(podSpec(d).nodeSelector).toEqual({ 'karpenter.sh/nodepool': 'batch' });
  expect(podSpec(d).tolerations).toEqual([{ key: 'dedicated', operator: 'Exists', effect: 'NoSchedule' }]);
  expect(podSpec(d).containers.map((c) => [c.image, c.resources.requests.cpu])).toEqual([[smoke.image, '1']]);
  expect(d.metadata?.name).toBe('karpenter-action-smoke-r1');
  const [key, value] = SMOKE_LABEL.split('=');
  expect(d.metadata?.labels?.[key!]).toBe(value);
});

test('a NodePool without taints gives a pod without tolerations', () => {
  expect(
    podSpec(buildSmokeDeployment(smoke, 'r2', { kind: 'NodePool', spec: {} })).tolerations ?? [],
  ).toEqual([]);
});
