/**
 * Attacks on the wire between the action and a real API server, played by a local proxy in front of
 * it: a proxy's HTML error page in the middle of a watch stream, and a create whose answer is cut off
 * after the API server made the object. The API server itself never sends either, which is why a
 * proxy plays them; everything else reaches the real server.
 */
import { KubeHttp, KubeWatchLineError } from '../../src/adapters/kube-http.ts';
import { CONFIGMAPS, DEPLOYMENTS } from '../../src/adapters/kube-resources.ts';
import { watchUntil } from '../../src/adapters/kube-watch.ts';
import { KubeClient, type KubeObject } from '../../src/adapters/kube.ts';
import type { SmokeTestConfig } from '../../src/config/load.ts';
import { buildSmokeDeployment, createSmokeDeployment, SMOKE_LABEL } from '../../src/stages/verify-smoke.ts';
import { startKubeProxy, type KubeProxy, type ProxyVerdict } from '../helpers/kube-proxy.ts';
import { adminKube, deleteCluster, newCluster, type ClusterInfo } from '../helpers/sandbox.ts';

let cluster: ClusterInfo;
let admin: KubeClient;
const proxies: KubeProxy[] = [];

beforeAll(async () => {
  cluster = await newCluster({ withClusterAutoscaler: false });
  admin = new KubeClient(new KubeHttp(adminKube(cluster)));
});
afterAll(() => deleteCluster(cluster.name));
afterEach(async () => {
  for (const p of proxies.splice(0)) await p.close();
});

async function through(decide: Parameters<typeof startKubeProxy>[1]): Promise<KubeClient> {
  const proxy = await startKubeProxy(adminKube(cluster), decide);
  proxies.push(proxy);
  return new KubeClient(new KubeHttp(proxy.kubeConfig));
}
const seenBy = (kube: KubeClient) => proxies.find((p) => p.kubeConfig === kube.http.kubeConfig)!.seen;

/** Collects unhandled rejections and uncaught exceptions while `fn` runs. */
async function crashesDuring(fn: () => Promise<void>): Promise<unknown[]> {
  const crashes: unknown[] = [];
  const onCrash = (e: unknown) => crashes.push(e);
  process.on('unhandledRejection', onCrash);
  process.on('uncaughtException', onCrash);
  try {
    await fn();
    await new Promise((r) => setImmediate(r));
    await new Promise((r) => setTimeout(r, 50));
  } finally {
    process.off('unhandledRejection', onCrash);
    process.off('uncaughtException', onCrash);
  }
  return crashes;
}

const HTML =
  '<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1></body></html>\n';
const isWatch = (url: string) => url.includes('watch=true');
const configMap = (name: string): KubeObject => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name, namespace: 'default' },
  data: { k: 'v' },
});

test('a watch stream that delivers an HTML error page relists and still sees the change', async () => {
  let pages = 0;
  let served!: () => void;
  const htmlServed = new Promise<void>((r) => (served = r));
  const kube = await through((r): ProxyVerdict => {
    if (isWatch(r.url) && pages === 0) {
      pages++;
      served();
      return { kind: 'forward', prefix: HTML };
    }
    return { kind: 'forward' };
  });
  const crashes = await crashesDuring(async () => {
    const waiting = watchUntil(
      kube,
      CONFIGMAPS,
      { name: 'appears', namespace: 'default' },
      (o) => !!o,
      60_000,
    );
    await htmlServed;
    await admin.create(CONFIGMAPS, configMap('appears'));
    const seen = await waiting;
    expect(seen.ok).toBe(true);
    expect(seen.last?.metadata?.name).toBe('appears');
  });
  expect(crashes).toEqual([]);
  expect(pages).toBe(1);
  // the HTML page made it list again rather than trust a stream that lied
  const lists = seenBy(kube).filter(
    (r) => r.method === 'GET' && !isWatch(r.url) && r.url.includes('configmaps'),
  );
  expect(lists.length).toBe(2);
});

test('a watch that only ever gets HTML fails with the first bytes of the line, not a crash', async () => {
  const kube = await through((r): ProxyVerdict =>
    isWatch(r.url) ? { kind: 'forward', prefix: HTML } : { kind: 'forward' },
  );
  let failure: unknown;
  const crashes = await crashesDuring(async () => {
    failure = await watchUntil(
      kube,
      CONFIGMAPS,
      { name: 'never', namespace: 'default' },
      (o) => !!o,
      60_000,
    ).catch((e: unknown) => e);
  });
  expect(crashes).toEqual([]);
  expect(failure).toBeInstanceOf(KubeWatchLineError);
  expect((failure as Error).message).toBe(
    'the watch of /api/v1/namespaces/default/configmaps sent a line that is not a JSON event: "<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1><…"',
  );
});

const smoke: SmokeTestConfig = {
  nodePool: 'batch',
  namespace: 'default',
  image: 'public.ecr.aws/eks-distro/kubernetes/pause:3.7',
  cpu: '1',
  timeoutSeconds: 30,
  source: { file: 'karpenter.yaml', line: 9 },
};

test('a smoke-test create whose answer is lost is found, not created twice nor reported as failed', async () => {
  let cut = 0;
  const kube = await through((r): ProxyVerdict => {
    if (
      r.method === 'POST' &&
      r.url.startsWith('/apis/apps/v1/namespaces/default/deployments') &&
      cut === 0
    ) {
      cut++;
      return { kind: 'dropResponse' };
    }
    return { kind: 'forward' };
  });
  const want = buildSmokeDeployment(smoke, 'lost0001');
  const created = await createSmokeDeployment(kube, want, 'lost0001');
  expect(created.metadata?.name).toBe('karpenter-action-smoke-lost0001');
  expect(created.metadata?.uid).toBeDefined();
  // the create reached the server twice: the first made it, the retry met 409 AlreadyExists
  const posts = seenBy(kube).filter((r) => r.method === 'POST');
  expect(posts).toHaveLength(2);
  const all = await admin.list(DEPLOYMENTS, { namespace: 'default', labelSelector: SMOKE_LABEL });
  expect(all.map((d) => d.metadata?.uid)).toEqual([created.metadata?.uid]);
  await admin.delete(DEPLOYMENTS, 'karpenter-action-smoke-lost0001', { namespace: 'default' });
});

test("a Deployment of the same name that is not this run's is never taken for it", async () => {
  const other = buildSmokeDeployment(smoke, 'clash001');
  await admin.create(DEPLOYMENTS, {
    ...other,
    metadata: { ...other.metadata, labels: { 'karpenter-action/smoke-run': 'someone-else' } },
  });
  const err = await createSmokeDeployment(admin, other, 'clash001').catch((e: unknown) => e);
  expect((err as Error).message).toMatch(/409 AlreadyExists/);
  await admin.delete(DEPLOYMENTS, 'karpenter-action-smoke-clash001', { namespace: 'default' });
});
