import { KubeConfig } from '@kubernetes/client-node';

export interface KubeEndpoint {
  endpoint: string;
  caPem: string;
  clientCertPem: string;
  clientKeyPem: string;
}

/**
 * A system:masters client by certificate. Tests use it to play the parts that have no server in the
 * sandbox (Karpenter's controller, kube-controller-manager), never to stand in for the action.
 */
export function adminKubeConfig(k: KubeEndpoint, name = 'sandbox'): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [
      { name, server: k.endpoint, caData: Buffer.from(k.caPem).toString('base64'), skipTLSVerify: false },
    ],
    users: [
      {
        name: 'sandbox-admin',
        certData: Buffer.from(k.clientCertPem).toString('base64'),
        keyData: Buffer.from(k.clientKeyPem).toString('base64'),
      },
    ],
    contexts: [{ name, cluster: name, user: 'sandbox-admin' }],
    currentContext: name,
  });
  return kc;
}
