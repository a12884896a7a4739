/**
 * Every preflight check of the prereqs stage, through the stage's plan, each on a sandbox cluster set
 * up to fail it: the Kubernetes range, a known-bad release, EKS Auto Mode, IAM name length, the Spot
 * role, authentication mode and node access, the IRSA OIDC provider, the Pod Identity agent, the
 * EC2NodeClass selectors and AMI aliases, the node role an EC2NodeClass names, a running Cluster
 * Autoscaler and capacity for the controller. The cluster without problems plans without findings.
 */
import { DeleteOpenIDConnectProviderCommand, IAMClient } from '@aws-sdk/client-iam';
import { buildAwsClients } from '../../src/adapters/aws.ts';
import { KubeHttp } from '../../src/adapters/kube-http.ts';
import { KubeClient } from '../../src/adapters/kube.ts';
import type { ClusterConfig, PrereqsConfig } from '../../src/config/load.ts';
import type { ManifestObject } from '../../src/config/manifests.ts';
import type { Finding, StagePlan } from '../../src/plan/model.ts';
import { prereqsStage } from '../../src/stages/prereqs.ts';
import {
  accountSession,
  adminKube,
  deleteCluster,
  newCluster,
  ownAccount,
  useAwsEnv,
  type ClusterInfo,
  type NewClusterOptions,
  E2E_RELEASES,
} from '../helpers/sandbox.ts';

const PREVIOUS = E2E_RELEASES.previous;

let restore: () => void;
const clusters: ClusterInfo[] = [];
beforeAll(() => {
  restore = useAwsEnv();
});
afterAll(async () => {
  await Promise.all(clusters.map((c) => deleteCluster(c.name)));
  restore();
});

/** A cluster in a moto account of its own (the Spot role and OIDC providers are account-wide), and its session. */
async function setup(opts: NewClusterOptions = {}) {
  const account = ownAccount();
  const session = await accountSession(account);
  const cluster = await newCluster({ withClusterAutoscaler: false, ...opts, accountId: account });
  clusters.push(cluster);
  const credentials = () =>
    Promise.resolve({
      accessKeyId: session.env.AWS_ACCESS_KEY_ID!,
      secretAccessKey: session.env.AWS_SECRET_ACCESS_KEY!,
      sessionToken: session.env.AWS_SESSION_TOKEN,
    });
  return { cluster, aws: buildAwsClients(cluster.region, credentials) };
}

const manifest = (obj: Record<string, unknown>): ManifestObject => ({
  obj,
  file: `karpenter/${String(obj.kind).toLowerCase()}.yaml`,
  line: 1,
  locate: () => undefined,
  legacy: false,
});
const nodePool = (capacity?: string[]) =>
  manifest({
    apiVersion: 'karpenter.sh/v1',
    kind: 'NodePool',
    metadata: { name: 'default' },
    spec: {
      template: {
        spec: {
          requirements: capacity
            ? [{ key: 'karpenter.sh/capacity-type', operator: 'In', values: capacity }]
            : [{ key: 'kubernetes.io/arch', operator: 'In', values: ['amd64'] }],
          nodeClassRef: { group: 'karpenter.k8s.aws', kind: 'EC2NodeClass', name: 'default' },
        },
      },
    },
  });
const nodeClass = (cluster: string, spec: Record<string, unknown> = {}) =>
  manifest({
    apiVersion: 'karpenter.k8s.aws/v1',
    kind: 'EC2NodeClass',
    metadata: { name: 'default' },
    spec: {
      role: `KarpenterNodeRole-${cluster}`,
      amiSelectorTerms: [{ alias: 'al2023@v20260101' }],
      subnetSelectorTerms: [{ tags: { 'karpenter.sh/discovery': cluster } }],
      securityGroupSelectorTerms: [{ tags: { 'karpenter.sh/discovery': cluster } }],
      ...spec,
    },
  });

async function plan(
  s: { cluster: ClusterInfo; aws: ReturnType<typeof buildAwsClients> },
  o: { version?: string; prereqs?: Partial<PrereqsConfig>; manifests?: ManifestObject[] } = {},
): Promise<StagePlan> {
  const c = s.cluster;
  const cluster: ClusterConfig = {
    cluster: c.name,
    region: c.region,
    karpenter: { version: o.version ?? PREVIOUS, namespace: 'kube-system', chartRepository: '' },
    manifests: [],
    pools: { prune: false },
    prereqs: {
      identity: 'pod-identity',
      nodeRoleName: `KarpenterNodeRole-${c.name}`,
      controllerRoleName: `${c.name}-karpenter`,
      interruptionQueue: c.name,
      nodeAccess: 'auto',
      spotRole: 'auto',
      adopt: false,
      tags: {},
      ...o.prereqs,
    },
    install: {
      values: {},
      valuesLines: {},
      timeoutSeconds: 300,
      migration: { enabled: false, nodeGroups: {} },
    },
    verify: { timeoutSeconds: 300, smokeTest: undefined },
    variables: {},
    source: { file: '.github/karpenter.yaml', line: 1 },
  };
  const log = { info: () => undefined, warn: () => undefined, debug: () => undefined };
  return prereqsStage.plan({
    cluster,
    log,
    aws: s.aws,
    kube: new KubeClient(new KubeHttp(adminKube(c))),
    manifests: o.manifests ?? [nodePool(['on-demand']), nodeClass(c.name)],
  });
}

const codes = (fs: Finding[], levels: Finding['level'][] = ['error', 'warning']) =>
  fs
    .filter((f) => levels.includes(f.level))
    .map((f) => f.code)
    .sort();

test('a cluster set up as the guides expect plans without findings', async () => {
  const s = await setup();
  const p = await plan(s);
  expect(p.findings.filter((f) => f.level !== 'info')).toEqual([]);
  expect(p.changes.length).toBeGreaterThan(20);
});

test('Kubernetes outside the release range, and a known-bad release, are errors with the fix', async () => {
  const old = await setup({ kubernetesVersion: '1.25' });
  const tooOld = (await plan(old)).findings.find((f) => f.code === 'k8s-version-unsupported');
  expect(tooOld).toMatchObject({ level: 'error' });
  expect(tooOld?.message).toContain('supports Kubernetes 1.26 to 1.36');
  expect(tooOld?.fix).toContain('upgrade the control plane to 1.26');

  const k134 = await setup({ kubernetesVersion: '1.34' });
  const bad = await plan(k134, { version: '1.8.4' });
  expect(codes(bad.findings, ['error'])).toEqual(['karpenter-version-known-bad']);
  expect(bad.findings[0]?.message).toContain('kubernetes-sigs/karpenter#2785');
  const derived = (await plan(k134, { version: '1.8.2' })).findings;
  expect(codes(derived, ['error'])).toEqual([]);
  // a release whose template could not be read is planned from derived data, and the plan says so
  const notes = derived.filter((f) => f.code === 'prerequisites-derived');
  expect(notes.map((f) => f.level)).toEqual(['info']);
  expect(notes[0]!.message).toMatch(
    /^Karpenter 1\.8\.2's prerequisites are derived, not copied from one release's getting-started template \(__tests__\/fixtures\/versions\/cloudformation-v1\.7\.yaml\): /,
  );
  expect((await plan(k134)).findings.filter((f) => f.code === 'prerequisites-derived')).toEqual([]);
});

test('EKS Auto Mode and over-long IAM names stop the plan before any resource is planned', async () => {
  const auto = await setup({ autoMode: true });
  const a = await plan(auto);
  expect(codes(a.findings, ['error'])).toEqual(['eks-auto-mode']);
  expect(a.changes).toEqual([]);

  const long = await setup({ name: `long-${'x'.repeat(50)}` });
  const l = await plan(long);
  expect(l.findings.filter((f) => f.level === 'error').map((f) => f.message)).toEqual([
    `IAM role name KarpenterNodeRole-long-${'x'.repeat(50)} has 73 characters; IAM allows 64`,
    `IAM role name long-${'x'.repeat(50)}-karpenter has 65 characters; IAM allows 64`,
  ]);
  expect(l.changes).toEqual([]);
});

test('Spot role, node access, IRSA provider, Pod Identity agent, selectors, AMI alias and node role each fire', async () => {
  const s = await setup({ authenticationMode: 'API' });
  const name = s.cluster.name;
  // spot allowed by a NodePool, but the action may not create the service-linked role
  const spot = await plan(s, { prereqs: { spotRole: 'never' }, manifests: [nodePool(), nodeClass(name)] });
  expect(codes(spot.findings)).toEqual(['spot-role-missing']);
  // a spot pool with the default spotRole plans the role instead
  const spotAuto = await plan(s, { manifests: [nodePool(['spot']), nodeClass(name)] });
  expect(spotAuto.changes.find((c) => c.kind === 'IAM service-linked role')?.action).toBe('create');

  // aws-auth asked for, on a cluster that only reads access entries
  const mode = await plan(s, { prereqs: { nodeAccess: 'aws-auth' } });
  expect(codes(mode.findings)).toEqual(['node-access-mode']);

  // IRSA without the cluster's issuer registered in IAM; Pod Identity without its agent
  const iam = new IAMClient({ region: s.cluster.region, credentials: s.aws.credentials, maxAttempts: 1 });
  await iam.send(
    new DeleteOpenIDConnectProviderCommand({ OpenIDConnectProviderArn: s.cluster.oidcProviderArn }),
  );
  const irsa = await plan(s, { prereqs: { identity: 'irsa' } });
  expect(codes(irsa.findings, ['info'])).toEqual(['irsa-oidc-provider-missing']);
  expect(irsa.changes.find((c) => c.kind === 'IAM OIDC provider')?.action).toBe('create');
  expect(irsa.changes.some((c) => c.kind === 'EKS Pod Identity association')).toBe(false);
  const pod = await plan(s);
  expect(codes(pod.findings, ['info'])).toEqual(['pod-identity-agent-missing']);

  // selectors that find nothing, an AMI release never published, another node role
  const wrong = await plan(s, {
    manifests: [
      nodePool(['on-demand']),
      nodeClass(name, {
        role: 'SomeOtherRole',
        amiSelectorTerms: [{ alias: 'al2023@v19990101' }],
        subnetSelectorTerms: [{ tags: { 'network/tier': 'karpenter-*' } }],
        securityGroupSelectorTerms: [{ id: 'sg-0000000000000000' }],
      }),
    ],
  });
  expect(codes(wrong.findings)).toEqual([
    'ami-alias-unresolved',
    'nodeclass-role-mismatch',
    'security-groups-not-found',
    'subnets-not-found',
  ]);
  const ami = wrong.findings.find((f) => f.code === 'ami-alias-unresolved')!;
  expect(ami.message).toContain('al2023@v19990101');
  expect(ami.source).toEqual({ file: 'karpenter/ec2nodeclass.yaml', line: 1 });
});

test('a running Cluster Autoscaler and too little non-Karpenter capacity are warned', async () => {
  const s = await setup({ withClusterAutoscaler: true });
  expect(codes((await plan(s)).findings)).toEqual(['cluster-autoscaler-running']);
  const http = new KubeHttp(adminKube(s.cluster));
  for (const n of s.cluster.nodeNames.slice(1)) await http.request('DELETE', `/api/v1/nodes/${n}`);
  expect(codes((await plan(s)).findings)).toEqual(['cluster-autoscaler-running', 'controller-capacity']);
});
