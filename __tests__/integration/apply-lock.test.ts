/**
 * The apply lock against a real API server: a Lease in kube-system that one apply takes and renews,
 * and that a second apply either waits for (woken by watch when it is released or expires) or refuses
 * naming the holder.
 */
import { KubeHttp } from '../../src/adapters/kube-http.ts';
import { KubeClient } from '../../src/adapters/kube.ts';
import { LEASES } from '../../src/adapters/kube-resources.ts';
import { acquireApplyLock, APPLY_LEASE } from '../../src/adapters/apply-lock.ts';
import { Refusal } from '../../src/errors.ts';
import { adminKube, deleteCluster, newCluster, type ClusterInfo } from '../helpers/sandbox.ts';

let cluster: ClusterInfo;
let kube: KubeClient;
beforeAll(async () => {
  cluster = await newCluster({ withClusterAutoscaler: false });
  kube = new KubeClient(new KubeHttp(adminKube(cluster)));
});
afterAll(() => deleteCluster(cluster.name));
afterEach(async () => {
  await kube.delete(LEASES, APPLY_LEASE.name, { namespace: APPLY_LEASE.namespace });
});

const log = { info: () => undefined, warn: () => undefined, debug: () => undefined };
const lease = async () =>
  (await kube.get(LEASES, APPLY_LEASE.name, APPLY_LEASE.namespace))?.spec as
    { holderIdentity?: string; renewTime?: string; leaseTransitions?: number } | undefined;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('a second apply refuses at once, naming who holds the lock', async () => {
  const a = await acquireApplyLock(kube, { holder: 'acme/infra run 11 (alice)', waitSeconds: 0, log });
  expect((await lease())?.holderIdentity).toBe('acme/infra run 11 (alice)');
  const err = await acquireApplyLock(kube, { holder: 'acme/infra run 12 (bob)', waitSeconds: 0, log }).catch(
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(Refusal);
  expect((err as Refusal).message).toMatch(
    /^another apply holds the lock on this cluster: acme\/infra run 11 \(alice\) \(since \d{4}-\d\d-\d\dT/,
  );
  await a.release();
  expect((await lease())?.holderIdentity).toBeUndefined();
});

test('a second apply waits and takes the lock as soon as the first releases it', async () => {
  const a = await acquireApplyLock(kube, { holder: 'run-1', waitSeconds: 0, log });
  const waiting = acquireApplyLock(kube, { holder: 'run-2', waitSeconds: 20, log });
  await sleep(800);
  expect((await lease())?.holderIdentity).toBe('run-1');
  await a.release();
  // run-1's Lease lasts 60 s, so run-2 can only have it because the release woke its watch
  const b = await waiting;
  expect(b.holder).toBe('run-2');
  expect((await lease())?.holderIdentity).toBe('run-2');
  expect((await lease())?.leaseTransitions).toBe(1);
  await b.release();
});

test('a lock whose holder stopped renewing is taken once it expires', async () => {
  await kube.create(LEASES, {
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    metadata: { ...APPLY_LEASE },
    spec: {
      holderIdentity: 'a run that died',
      leaseDurationSeconds: 2,
      renewTime: new Date().toISOString().replace(/Z$/, '000Z'),
    },
  });
  const started = Date.now();
  const b = await acquireApplyLock(kube, { holder: 'run-3', waitSeconds: 20, log });
  const waited = Date.now() - started;
  expect(waited).toBeGreaterThanOrEqual(1000);
  expect((await lease())?.holderIdentity).toBe('run-3');
  await b.release();
});

test('of two applies racing for a free lock exactly one gets it', async () => {
  const results = await Promise.allSettled([
    acquireApplyLock(kube, { holder: 'racer-a', waitSeconds: 0, log }),
    acquireApplyLock(kube, { holder: 'racer-b', waitSeconds: 0, log }),
  ]);
  const won = results.filter((r) => r.status === 'fulfilled');
  const lost = results.filter((r) => r.status === 'rejected');
  expect(won).toHaveLength(1);
  expect(lost).toHaveLength(1);
  expect(((lost[0] as PromiseRejectedResult).reason as Error).message).toContain(
    'another apply holds the lock',
  );
  await (won[0] as PromiseFulfilledResult<Awaited<ReturnType<typeof acquireApplyLock>>>).value.release();
});

test('the holder renews the lock, and notices when someone else has taken it', async () => {
  const a = await acquireApplyLock(kube, { holder: 'renewer', waitSeconds: 0, durationSeconds: 3, log });
  const first = (await lease())?.renewTime;
  await sleep(1600);
  expect((await lease())?.renewTime).not.toBe(first);
  const current = (await kube.get(LEASES, APPLY_LEASE.name, APPLY_LEASE.namespace))!;
  await kube.replace(LEASES, {
    ...current,
    spec: { ...(current.spec as object), holderIdentity: 'intruder' },
  });
  await sleep(1600);
  expect(a.lost).toBe(true);
  await a.release();
  expect((await lease())?.holderIdentity).toBe('intruder');
});
