/**
 * npm run demo: brings the sandbox up and shows the sandbox cluster the way the action sees it,
 * through the action's own adapters and nothing but the environment a runner step would have.
 */
import {
  DescribeNodegroupCommand,
  EKSClient,
  ListNodegroupsCommand,
  DescribeClusterCommand,
} from '@aws-sdk/client-eks';
import { CoreV1Api, AppsV1Api } from '@kubernetes/client-node';
import { sandboxDown, sandboxUp } from './lib/lifecycle.ts';
import { buildEksKubeConfig, readEksCluster } from '../src/adapters/kube-connect.ts';
import { defaultCredentials } from '../src/adapters/aws-credentials.ts';

const say = (line = ''): void => {
  process.stdout.write(`${line}\n`);
};

const { state, started } = await sandboxUp((line) => say(`  ${line}`));
say(`${started ? 'Started' : 'Using running'} sandbox (AWS ${state.motoUrl}).`);
Object.assign(process.env, {
  AWS_ENDPOINT_URL: state.motoUrl,
  AWS_ACCESS_KEY_ID: 'testing',
  AWS_SECRET_ACCESS_KEY: 'testing',
  AWS_REGION: state.region,
});
const name = state.defaultCluster.name;
const eks = new EKSClient({});
const cluster = (await eks.send(new DescribeClusterCommand({ name }))).cluster!;
say();
say(`EKS cluster ${name} (Kubernetes ${cluster.version}, ${cluster.status})`);
say(`  endpoint            ${cluster.endpoint}`);
say(`  authentication mode ${cluster.accessConfig?.authenticationMode}`);
say(`  OIDC issuer         ${cluster.identity?.oidc?.issuer}`);
say(
  `  VPC                 ${cluster.resourcesVpcConfig?.vpcId}, subnets ${cluster.resourcesVpcConfig?.subnetIds?.join(', ')}`,
);
say(`  security group      ${cluster.resourcesVpcConfig?.clusterSecurityGroupId}`);
for (const ng of (await eks.send(new ListNodegroupsCommand({ clusterName: name }))).nodegroups ?? []) {
  const d = (await eks.send(new DescribeNodegroupCommand({ clusterName: name, nodegroupName: ng })))
    .nodegroup!;
  const s = d.scalingConfig;
  say(
    `  node group          ${ng}: ${d.instanceTypes?.join(',')} min ${s?.minSize} max ${s?.maxSize} desired ${s?.desiredSize}`,
  );
}

const kc = buildEksKubeConfig(
  await readEksCluster(eks, name),
  state.region,
  defaultCredentials(state.region),
);
const core = kc.makeApiClient(CoreV1Api);
const apps = kc.makeApiClient(AppsV1Api);
say();
say('Kubernetes, through DescribeCluster and an EKS token:');
for (const n of (await core.listNode()).items) {
  const l = n.metadata?.labels ?? {};
  say(
    `  node ${n.metadata?.name}  zone ${l['topology.kubernetes.io/zone']}  nodegroup ${l['eks.amazonaws.com/nodegroup']}`,
  );
}
for (const d of (await apps.listNamespacedDeployment({ namespace: 'kube-system' })).items) {
  say(
    `  deployment kube-system/${d.metadata?.name}  ${d.status?.availableReplicas ?? 0}/${d.spec?.replicas} available`,
  );
}
const awsAuth = await core.readNamespacedConfigMap({ name: 'aws-auth', namespace: 'kube-system' });
say(`  aws-auth mapRoles:\n${(awsAuth.data?.mapRoles ?? '').replace(/^/gm, '    ')}`);
say();
if (started && !process.argv.includes('--keep')) {
  await sandboxDown();
  say(
    'Stopped the sandbox this demo started (run `npm run demo -- --keep` to keep it, then `source .sandbox/env`).',
  );
} else {
  say(
    'The sandbox is running: source .sandbox/env && kubectl get nodes; stop it with npm run sandbox -- down.',
  );
}
