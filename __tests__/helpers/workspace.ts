import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  E2E_RELEASES,
  accountSession,
  actionEnv,
  grantClusterAdmin,
  localChartRepository,
  newCluster,
  ownAccount,
  type ClusterInfo,
  type NewClusterOptions,
} from './sandbox.ts';

/** A checkout as the action sees it: `.github/` for the config, `karpenter/` with the given manifest files. */
export function createWorkspace(manifests: Record<string, string> = {}): string {
  const workspace = mkdtempSync(join(tmpdir(), 'ka-ws-'));
  mkdirSync(join(workspace, '.github'), { recursive: true });
  mkdirSync(join(workspace, 'karpenter'), { recursive: true });
  for (const [file, text] of Object.entries(manifests))
    writeFileSync(join(workspace, 'karpenter', file), text);
  return workspace;
}

/**
 * Writes `.github/karpenter.yaml` for a sandbox cluster: the Karpenter version with the sandbox's local
 * charts of that version, the workspace's manifests (or none), and any further keys as YAML text.
 */
export function writeClusterConfig(
  workspace: string,
  cluster: ClusterInfo,
  opts: { version?: string; manifests?: boolean; extra?: string } = {},
): void {
  const version = opts.version ?? E2E_RELEASES.previous;
  writeFileSync(
    join(workspace, '.github', 'karpenter.yaml'),
    `cluster: ${cluster.name}
region: ${cluster.region}
karpenter:
  version: ${version}
  chartRepository: ${localChartRepository(version)}
${opts.manifests === false ? 'manifests: []' : 'manifests:\n  - ../karpenter/*.yaml'}
${opts.extra ?? ''}`,
  );
}

/**
 * A cluster in a moto account of its own, and the runner environment of an assumed-role session there
 * with cluster-admin through an access entry: account-wide state (the Spot role, OIDC providers) stays
 * the test's own.
 */
export async function newAccountCluster(
  opts: NewClusterOptions = {},
): Promise<{ cluster: ClusterInfo; env: Record<string, string>; account: string }> {
  const account = ownAccount();
  const session = await accountSession(account);
  const cluster = await newCluster({ withClusterAutoscaler: false, ...opts, accountId: account });
  await grantClusterAdmin(cluster, session.principalArn);
  return { cluster, env: { ...actionEnv(), ...session.env }, account };
}
