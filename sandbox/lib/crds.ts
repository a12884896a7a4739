import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { KubeHttp } from '../../src/adapters/kube-http.ts';
import { adminKubeConfig } from './kube-admin.ts';
import type { ClusterInfo, SandboxState } from './state.ts';

/**
 * Installs a Karpenter release's CRDs into a sandbox cluster with the admin client and waits until the
 * API server reports them Established. Stands in for the install stage where a test or the demo needs
 * the CRDs before that stage runs.
 */
export async function installKarpenterCrds(
  state: SandboxState,
  cluster: ClusterInfo,
  version: string,
): Promise<void> {
  const kube = new KubeHttp(
    adminKubeConfig({
      endpoint: cluster.endpoint,
      caPem: readFileSync(state.pki.caCert, 'utf8'),
      clientCertPem: readFileSync(state.pki.adminCert, 'utf8'),
      clientKeyPem: readFileSync(state.pki.adminKey, 'utf8'),
    }),
  );
  const release = state.karpenter[version];
  if (!release) throw new Error(`the sandbox has no Karpenter ${version}`);
  const names: string[] = [];
  for (const f of readdirSync(release.crdsDir).filter((n) => n.endsWith('.yaml'))) {
    const crd = parseAllDocuments(readFileSync(join(release.crdsDir, f), 'utf8'))[0]!.toJS() as {
      metadata: { name: string };
    };
    await kube.request(
      'PATCH',
      `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${crd.metadata.name}`,
      {
        query: { fieldManager: 'sandbox', force: 'true' },
        contentType: 'application/apply-patch+yaml',
        body: crd,
      },
    );
    names.push(crd.metadata.name);
  }
  const deadline = Date.now() + 30000;
  for (const name of names) {
    for (;;) {
      const crd = await kube.request<{ status?: { conditions?: { type: string; status: string }[] } }>(
        'GET',
        `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${name}`,
      );
      if (crd.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True')) break;
      if (Date.now() > deadline) throw new Error(`CRD ${name} not Established`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}
