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
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sandboxDown, sandboxUp } from './lib/lifecycle.ts';
import { runAction } from './lib/action-run.ts';
import { installKarpenterCrds } from './lib/crds.ts';
import { ROOT } from './lib/paths.ts';
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
const release = state.karpenter[state.karpenterTarget]!;
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

// The walk-through: plan -> apply -> plan against the sandbox cluster, through the bundled action.
// The install stage is not part of this build yet, so the demo installs Karpenter's CRDs itself.
section('Karpenter CRDs (the install stage will do this)');
await installKarpenterCrds(state, state.defaultCluster, state.karpenterTarget);
say(`  installed the CRDs of Karpenter ${state.karpenterTarget} from the module proxy copy`);

const ws = mkdtempSync(join(tmpdir(), 'karpenter-action-demo-'));
cpSync(join(ROOT, 'examples', 'basic'), ws, { recursive: true });
const cfgPath = join(ws, '.github', 'karpenter.yaml');
writeFileSync(
  cfgPath,
  readFileSync(cfgPath, 'utf8')
    .replace('cluster: weasel-eks', `cluster: ${name}`)
    .replace(
      '  namespace: kube-system',
      `  namespace: kube-system\n  chartRepository: ${join(release.chartDir, '..')}`,
    ),
);
const action = async (inputs: Record<string, string>) => {
  const r = await runAction({
    inputs: { config: '.github/karpenter.yaml', stages: 'prereqs,pools', ...inputs },
    env: {
      PATH: `${state.binDir}:${process.env.PATH ?? ''}`,
      AWS_ENDPOINT_URL: state.motoUrl,
      AWS_ACCESS_KEY_ID: 'testing',
      AWS_SECRET_ACCESS_KEY: 'testing',
      AWS_REGION: state.region,
    },
    workspace: ws,
  });
  const comment = readdirSync(r.runnerTemp).find((f) => f.endsWith('.md'));
  return {
    ...r,
    comment: comment ? readFileSync(join(r.runnerTemp, comment), 'utf8') : '',
    log: `${r.stdout}${r.stderr}`,
  };
};

section('plan (as on a pull request)');
const p1 = await action({ command: 'plan' });
say(p1.comment);
say(`  outputs: has-changes=${p1.outputs['has-changes']} summary=${p1.outputs.summary}`);

section('apply (after approval, with the approved fingerprint)');
const a = await action({ command: 'apply', fingerprint: p1.outputs.fingerprint ?? '' });
say(
  a.log
    .trim()
    .split('\n')
    .filter((l) => /^(done|created|updated|deleted)/.test(l) || l.startsWith('::error'))
    .map((l) => `  ${l}`)
    .join('\n'),
);

section('configuration-drift check (as the nightly schedule runs it)');
const d = await action({ command: 'drift' });
say(`  outputs: drift=${d.outputs.drift} summary=${d.outputs.summary}`);
if (d.code !== 0) say(d.log);
rmSync(ws, { recursive: true, force: true });

say();
if (started && !process.argv.includes('--keep')) {
  await sandboxDown();
  say(
    'Stopped the sandbox this demo started (run `npm run demo -- --keep` to keep it, then `source .sandbox/env`).',
  );
} else {
  say(
    'The sandbox is running: source .sandbox/env && kubectl get nodepools; stop it with npm run sandbox -- down.',
  );
}

function section(title: string): void {
  say();
  say(`== ${title}`);
}
