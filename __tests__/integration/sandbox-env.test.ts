/**
 * `.sandbox/env` gives a person at a terminal the sandbox: after `source .sandbox/env`, the aws CLI
 * (when installed), kubectl through an EKS token, and helm all work against the default cluster.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { statePath } from '../../sandbox/lib/paths.ts';
import { sandbox } from '../helpers/sandbox.ts';

const sh = (script: string) =>
  spawnSync('bash', ['-c', `set -e; source "${statePath('env')}"; ${script}`], {
    encoding: 'utf8',
    env: { HOME: process.env.HOME ?? '/tmp', PATH: process.env.PATH ?? '' },
  });

test('kubectl lists the seeded node group nodes through the EKS token exec plugin', () => {
  const r = sh('kubectl get nodes -L eks.amazonaws.com/nodegroup --no-headers');
  expect(r.stderr).toBe('');
  const lines = r.stdout.trim().split('\n');
  expect(lines).toHaveLength(3);
  for (const l of lines) expect(l).toContain(`${sandbox().defaultCluster.name}-ng`);
  expect(sh('kubectl auth whoami -o jsonpath={.status.userInfo.username}').stdout).toBe(
    'arn:aws:iam::123456789012:user/moto',
  );
});

test('helm and the environment variables are there', () => {
  expect(sh('helm version --short').stdout).toMatch(/^v3\./);
  expect(sh('echo $CLUSTER_NAME $AWS_ENDPOINT_URL').stdout.trim()).toBe(
    `${sandbox().defaultCluster.name} ${sandbox().motoUrl}`,
  );
});

const hasAws = (() => {
  try {
    execFileSync('aws', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

test('the aws CLI describes the cluster and mints the token kubectl uses; without it the project CLI mints it', () => {
  const kubeconfig = JSON.parse(sh('cat "$KUBECONFIG"').stdout) as {
    users: { user: { exec: { command: string; args: string[] } } }[];
  };
  const exec = kubeconfig.users[0]!.user.exec;
  if (hasAws) {
    expect(exec.command).toBe('aws');
    const r = sh('aws eks describe-cluster --name "$CLUSTER_NAME" --query cluster.endpoint --output text');
    expect(r.stdout.trim()).toBe(sandbox().defaultCluster.endpoint);
    expect(
      sh('aws eks get-token --cluster-name "$CLUSTER_NAME" --query status.token --output text').stdout,
    ).toMatch(/^k8s-aws-v1\./);
  } else {
    expect(exec.args.join(' ')).toContain('karpenter-action.js token --cluster');
  }
});
