import { DescribeClusterCommand, type EKSClient } from '@aws-sdk/client-eks';
import { KubeConfig, type User } from '@kubernetes/client-node';
import type { RequestOptions } from 'node:https';
import { Refusal } from '../errors.ts';
import { buildEksToken, type AwsCredentialsLike, type EksToken } from './eks-token.ts';

const AUTH_PROVIDER = 'karpenter-action-eks';

/** Supplies a fresh EKS token per request, re-signing only when the cached one is close to expiry. */
class EksTokenAuthenticator {
  private current: Promise<EksToken> | undefined;
  private readonly clusterName: string;
  private readonly region: string;
  private readonly credentials: () => Promise<AwsCredentialsLike>;
  constructor(clusterName: string, region: string, credentials: () => Promise<AwsCredentialsLike>) {
    this.clusterName = clusterName;
    this.region = region;
    this.credentials = credentials;
  }

  isAuthProvider(user: User): boolean {
    return (user.authProvider as { name?: string } | undefined)?.name === AUTH_PROVIDER;
  }

  async applyAuthentication(_user: User, opts: RequestOptions): Promise<void> {
    const token = await this.token();
    opts.headers = { ...opts.headers, Authorization: `Bearer ${token.token}` };
  }

  private async token(): Promise<EksToken> {
    const cached = this.current ? await this.current.catch(() => undefined) : undefined;
    if (cached && cached.expiresAt.getTime() - Date.now() > 60_000) return cached;
    this.current = (async () =>
      buildEksToken({
        clusterName: this.clusterName,
        region: this.region,
        credentials: await this.credentials(),
      }))();
    return this.current;
  }
}

export interface EksClusterInfo {
  name: string;
  endpoint: string;
  caData: string;
  version: string | undefined;
  /** `API`, `API_AND_CONFIG_MAP` or `CONFIG_MAP`: where the cluster looks up IAM principals, which decides how to grant access. */
  authenticationMode?: string;
}

/**
 * Reads the endpoint and CA from DescribeCluster, as `aws eks update-kubeconfig` does, and the
 * authentication mode, which an access error needs to say what to grant.
 */
export async function readEksCluster(eks: EKSClient, name: string): Promise<EksClusterInfo> {
  const out = await eks.send(new DescribeClusterCommand({ name }));
  const c = out.cluster;
  if (!c?.endpoint || !c.certificateAuthority?.data) {
    throw new Refusal(
      `EKS cluster "${name}" has no API endpoint or certificate authority yet (status ${c?.status ?? 'unknown'})`,
    );
  }
  return {
    name,
    endpoint: c.endpoint,
    caData: c.certificateAuthority.data,
    version: c.version,
    authenticationMode: c.accessConfig?.authenticationMode,
  };
}

/**
 * A KubeConfig for an EKS cluster built only from DescribeCluster and the caller's AWS credentials, the
 * way the action reaches the cluster on a runner: no kubeconfig file, no aws CLI.
 */
export function buildEksKubeConfig(
  cluster: EksClusterInfo,
  region: string,
  credentials: () => Promise<AwsCredentialsLike>,
): KubeConfig {
  const kc = new KubeConfig();
  kc.addAuthenticator(new EksTokenAuthenticator(cluster.name, region, credentials));
  kc.loadFromOptions({
    clusters: [
      { name: cluster.name, server: cluster.endpoint, caData: cluster.caData, skipTLSVerify: false },
    ],
    users: [{ name: 'karpenter-action', authProvider: { name: AUTH_PROVIDER, config: {} } }],
    contexts: [{ name: cluster.name, cluster: cluster.name, user: 'karpenter-action' }],
    currentContext: cluster.name,
  });
  return kc;
}

/** The escape hatch: a kubeconfig file given by the user. */
export function loadKubeConfigFile(path: string, context?: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromFile(path);
  if (context) kc.setCurrentContext(context);
  return kc;
}
