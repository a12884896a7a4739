/**
 * Attacks on the apply lock against a real API server: a runner whose clock runs ahead, a holder whose
 * renewals are refused or whose Lease is stolen, a renewal conflict followed by a failing read, a
 * release that fails, and a helm command running when the lock is lost. The lock must fence: once it
 * is lost, nothing more the apply sends reaches the cluster, and the reason says the lock was lost.
 *
 * Requests refused between the holder and the API server go through a local proxy (a real server
 * never refuses only the Lease's updates); the failing read after a real 409 is a KubePort whose GET
 * throws, an error path no API server produces on demand.
 */
import { execFileSync } from 'node:child_process';
import { CreateQueueCommand, GetQueueUrlCommand, SQSClient } from '@aws-sdk/client-sqs';
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  acquireApplyLock,
  APPLY_LEASE,
  ApplyLockLost,
  type ApplyLock,
} from '../../src/adapters/apply-lock.ts';
import { buildAwsClients } from '../../src/adapters/aws.ts';
import { HelmCommandError, HelmReleases } from '../../src/adapters/helm-release.ts';
import { KubeApiError, KubeHttp } from '../../src/adapters/kube-http.ts';
import { CONFIGMAPS, DEPLOYMENTS, LEASES } from '../../src/adapters/kube-resources.ts';
import { watchCollectionUntil } from '../../src/adapters/kube-watch.ts';
import { KubeClient, type KubeObject, type KubePort } from '../../src/adapters/kube.ts';
import { Refusal } from '../../src/errors.ts';
import type { Logger } from '../../src/stages/types.ts';
import { startKubeProxy, type KubeProxy } from '../helpers/kube-proxy.ts';
import {
  adminKube,
  deleteCluster,
  newCluster,
  sandbox,
  useAwsEnv,
  type ClusterInfo,
} from '../helpers/sandbox.ts';

let cluster: ClusterInfo;
let admin: KubeClient;
let restoreEnv: () => void;
const proxies: KubeProxy[] = [];
const locks: ApplyLock[] = [];

beforeAll(async () => {
  restoreEnv = useAwsEnv();
  cluster = await newCluster({ withClusterAutoscaler: false });
  admin = new KubeClient(new KubeHttp(adminKube(cluster)));
});
afterAll(async () => {
  restoreEnv();
  await deleteCluster(cluster.name);
});
afterEach(async () => {
  for (const l of locks.splice(0)) await l.release();
  for (const p of proxies.splice(0)) await p.close();
  await admin.delete(LEASES, APPLY_LEASE.name, { namespace: APPLY_LEASE.namespace });
});

function recorder(): Logger & { lines: string[] } {
  const lines: string[] = [];
  return {
    lines,
    info: (l) => lines.push(l),
    warn: (l) => lines.push(l),
    debug: () => undefined,
  };
}
const leaseSpec = async () =>
  (await admin.get(LEASES, APPLY_LEASE.name, APPLY_LEASE.namespace))?.spec as
    { holderIdentity?: string | null; renewTime?: string } | undefined;
const configMap = (name: string): KubeObject => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name, namespace: 'default' },
  data: { written: 'by the apply' },
});
const aborted = (signal: AbortSignal) =>
  signal.aborted
    ? Promise.resolve()
    : new Promise<void>((r) => signal.addEventListener('abort', () => r(), { once: true }));
const held = async (l: Promise<ApplyLock>) => {
  const lock = await l;
  locks.push(lock);
  return lock;
};

/** Rewrites the Lease with the admin kubeconfig, as an attacker would: again on a conflict. */
async function rewriteLease(edit: (lease: KubeObject) => KubeObject): Promise<void> {
  for (;;) {
    const current = (await admin.get(LEASES, APPLY_LEASE.name, APPLY_LEASE.namespace))!;
    try {
      await admin.replace(LEASES, edit(current));
      return;
    } catch (e) {
      if (!(e instanceof KubeApiError && e.code === 409)) throw e;
    }
  }
}
const steal = (holder: string) =>
  rewriteLease((l) => ({ ...l, spec: { ...(l.spec as object), holderIdentity: holder } }));

/** Collects unhandled rejections and uncaught exceptions while `fn` runs. */
async function crashesDuring(fn: () => Promise<void>): Promise<unknown[]> {
  const crashes: unknown[] = [];
  const onCrash = (e: unknown) => crashes.push(e);
  process.on('unhandledRejection', onCrash);
  process.on('uncaughtException', onCrash);
  try {
    await fn();
    // a rejection nobody handles is reported after the microtask queue drains
    await new Promise((r) => setImmediate(r));
    await new Promise((r) => setTimeout(r, 50));
  } finally {
    process.off('unhandledRejection', onCrash);
    process.off('uncaughtException', onCrash);
  }
  return crashes;
}

test('a runner whose clock is 61 s ahead does not take a Lease its holder keeps renewing', async () => {
  await held(
    acquireApplyLock(admin, {
      holder: 'acme/infra run 1 (alice)',
      waitSeconds: 0,
      durationSeconds: 6,
      log: recorder(),
    }),
  );
  const skewed = recorder();
  // The attacker's steps: a runner with a fast clock reads renewTime + 6 s as long past
  const err = await acquireApplyLock(admin, {
    holder: 'acme/infra run 2 (bob)',
    waitSeconds: 0,
    durationSeconds: 6,
    log: skewed,
    now: () => new Date(Date.now() + 61_000),
  }).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(Refusal);
  expect((err as Refusal).message).toContain(
    'another apply holds the lock on this cluster: acme/infra run 1 (alice)',
  );
  expect(skewed.lines[0]).toContain('was not renewed by its own times; watching it for');
  expect((await leaseSpec())?.holderIdentity).toBe('acme/infra run 1 (alice)');
});

test('a holder whose renewals are refused stops before its next write, and says the lock was lost', async () => {
  let refuse = false;
  const proxy = await startKubeProxy(adminKube(cluster), (r) =>
    refuse && r.method === 'PUT' && r.url.includes('/leases/')
      ? { kind: 'answer', status: 403, body: '{"kind":"Status","reason":"Forbidden","code":403}' }
      : { kind: 'forward' },
  );
  proxies.push(proxy);
  const fence = new AbortController();
  const log = recorder();
  const lock = await held(
    acquireApplyLock(new KubeClient(new KubeHttp(proxy.kubeConfig)), {
      holder: 'run-renew-refused',
      waitSeconds: 0,
      durationSeconds: 3,
      fence,
      log,
    }),
  );
  const apply = new KubeClient(new KubeHttp(adminKube(cluster), { signal: fence.signal }));
  await apply.create(CONFIGMAPS, configMap('before-the-loss'));

  refuse = true;
  // a second apply waits for the Lease meanwhile; it may only get it after the first stopped
  let fencedWhenTaken: boolean | undefined;
  const second = held(
    acquireApplyLock(admin, { holder: 'run-next', waitSeconds: 30, log: recorder() }).then((l) => {
      fencedWhenTaken = fence.signal.aborted;
      return l;
    }),
  );
  await aborted(fence.signal);
  const refused = await apply.create(CONFIGMAPS, configMap('after-the-loss')).catch((e: unknown) => e);

  expect(lock.lost).toBe(true);
  expect(refused).toBeInstanceOf(ApplyLockLost);
  expect((refused as Error).message).toBe('the apply lock could not be renewed for 2 s');
  expect((refused as ApplyLockLost).details.join('\n')).toContain('nothing was sent after the lock was lost');
  expect(log.lines.join('\n')).toContain('this apply stops before its next write');
  expect(await admin.get(CONFIGMAPS, 'after-the-loss', 'default')).toBeUndefined();
  expect(await admin.get(CONFIGMAPS, 'before-the-loss', 'default')).toBeDefined();
  await second;
  expect(fencedWhenTaken).toBe(true);
  expect((await leaseSpec())?.holderIdentity).toBe('run-next');
});

test('a holder whose Lease is stolen stops before its next write, and a running helm is killed', async () => {
  const fence = new AbortController();
  const log = recorder();
  const lock = await held(
    acquireApplyLock(admin, { holder: 'run-robbed', waitSeconds: 0, durationSeconds: 3, fence, log }),
  );
  // helm upgrade --wait never finishes here: the sandbox runs no controller to make the pod ready
  const chart = mkdtempSync(join(tmpdir(), 'attack-lock-chart-'));
  mkdirSync(join(chart, 'templates'));
  writeFileSync(join(chart, 'Chart.yaml'), 'apiVersion: v2\nname: waits\nversion: 0.1.0\n');
  writeFileSync(
    join(chart, 'templates', 'deployment.yaml'),
    [
      'apiVersion: apps/v1',
      'kind: Deployment',
      'metadata: { name: waits, namespace: default }',
      'spec:',
      '  replicas: 1',
      '  selector: { matchLabels: { app: waits } }',
      '  template:',
      '    metadata: { labels: { app: waits } }',
      '    spec: { containers: [{ name: pause, image: public.ecr.aws/eks-distro/kubernetes/pause:3.7 }] }',
      '',
    ].join('\n'),
  );
  const apply = new KubeClient(new KubeHttp(adminKube(cluster), { signal: fence.signal }));
  const helm = await HelmReleases.open(join(sandbox().binDir, 'helm'), adminKube(cluster), {
    signal: fence.signal,
  });
  try {
    const upgrade = helm
      .upgradeInstall({
        release: 'waits',
        chart,
        namespace: 'default',
        createNamespace: false,
        values: {},
        skipCrds: true,
        wait: true,
        timeoutSeconds: 600,
      })
      .catch((e: unknown) => e);
    await watchCollectionUntil(
      admin,
      DEPLOYMENTS,
      { namespace: 'default', fieldSelector: 'metadata.name=waits' },
      (items) => items.length > 0,
      60_000,
    );
    // The attacker's steps: take the Lease with the admin kubeconfig while the apply runs
    await steal('intruder');
    const killed = await upgrade;
    expect(fence.signal.aborted).toBe(true);
    expect(killed).toBeInstanceOf(HelmCommandError);
    expect((killed as Error).message).toContain(
      'killed: the apply lock was taken by intruder while this apply ran',
    );
    expect(() => execFileSync('pgrep', ['-f', helm.kubeconfig.path])).toThrow();
    // no later helm command starts, no later Kubernetes write is sent
    const notStarted = await helm.list('default').catch((e: unknown) => e);
    expect(notStarted).toBeInstanceOf(ApplyLockLost);
    const refused = await apply.create(CONFIGMAPS, configMap('after-the-theft')).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(ApplyLockLost);
    expect((refused as Error).message).toBe('the apply lock was taken by intruder while this apply ran');
    expect(await admin.get(CONFIGMAPS, 'after-the-theft', 'default')).toBeUndefined();
    expect(lock.lost).toBe(true);
    await lock.release();
    expect((await leaseSpec())?.holderIdentity).toBe('intruder');
  } finally {
    // a helm still running (the test failed before the theft) is killed with the fence
    fence.abort(new Error('the test is over'));
    await helm.dispose();
    rmSync(chart, { recursive: true, force: true });
  }
});

/** The real client, except that its reads fail while `failReads` is set. */
class ReadsFail implements KubePort {
  failReads = false;
  failWrites = false;
  private readonly kube: KubeClient;
  constructor(kube: KubeClient) {
    this.kube = kube;
  }
  get http() {
    return this.kube.http;
  }
  list: KubePort['list'] = (...a) => this.kube.list(...a);
  get: KubePort['get'] = (...a) =>
    this.failReads ? Promise.reject(new Error('connect ECONNREFUSED 10.0.0.1:443')) : this.kube.get(...a);
  apply: KubePort['apply'] = (...a) => this.kube.apply(...a);
  create: KubePort['create'] = (...a) => this.kube.create(...a);
  replace: KubePort['replace'] = (...a) =>
    this.failWrites
      ? Promise.reject(new Error('connect ECONNREFUSED 10.0.0.1:443'))
      : this.kube.replace(...a);
  delete: KubePort['delete'] = (...a) => this.kube.delete(...a);
}

test('a 409 on renewal followed by a failing read neither crashes the process nor loses the lock', async () => {
  const kube = new ReadsFail(admin);
  const log = recorder();
  const fence = new AbortController();
  const crashes = await crashesDuring(async () => {
    const lock = await held(
      acquireApplyLock(kube, { holder: 'run-409', waitSeconds: 0, durationSeconds: 9, fence, log }),
    );
    kube.failReads = true;
    // a real 409: someone changes the Lease under the holder (its record stays the holder's)
    await rewriteLease((l) => ({ ...l, metadata: { ...l.metadata, labels: { touched: 'by-an-admin' } } }));
    const touchedAt = (await leaseSpec())?.renewTime;
    await new Promise<void>((resolve) => {
      const check = setInterval(() => {
        if (log.lines.some((l) => l.includes('could not read the apply lock after a conflicting renewal'))) {
          clearInterval(check);
          resolve();
        }
      }, 100);
    });
    kube.failReads = false;
    await watchCollectionUntil(
      admin,
      LEASES,
      { namespace: APPLY_LEASE.namespace, fieldSelector: `metadata.name=${APPLY_LEASE.name}` },
      (items) => (items[0]?.spec as { renewTime?: string } | undefined)?.renewTime !== touchedAt,
      60_000,
    );
    expect(lock.lost).toBe(false);
    expect(fence.signal.aborted).toBe(false);
  });
  expect(crashes).toEqual([]);
  expect((await leaseSpec())?.holderIdentity).toBe('run-409');
});

test("a release that fails is logged and never replaces the apply's own error", async () => {
  const kube = new ReadsFail(admin);
  const log = recorder();
  const lock = await acquireApplyLock(kube, { holder: 'run-release', waitSeconds: 0, log });
  kube.failReads = true;
  kube.failWrites = true;
  const crashes = await crashesDuring(async () => {
    const outcome = await (async () => {
      try {
        throw new Refusal('apply of stage pools failed; run apply again after fixing the cause');
      } finally {
        await lock.release();
      }
    })().catch((e: unknown) => e);
    expect((outcome as Error).message).toBe(
      'apply of stage pools failed; run apply again after fixing the cause',
    );
  });
  expect(crashes).toEqual([]);
  expect(log.lines.join('\n')).toMatch(
    /could not release the apply lock \(.*ECONNREFUSED.*\); it frees itself 60 s after its last renewal/,
  );
  // the Lease is left to expire: still this run's, not cleared by a half-done release
  expect((await leaseSpec())?.holderIdentity).toBe('run-release');
});

test('after the lock is lost no AWS call of the apply is sent', async () => {
  const fence = new AbortController();
  await held(
    acquireApplyLock(admin, {
      holder: 'run-aws',
      waitSeconds: 0,
      durationSeconds: 3,
      fence,
      log: recorder(),
    }),
  );
  const aws = buildAwsClients(cluster.region, undefined, fence.signal);
  const before = `attack-lock-before-${cluster.name}`;
  const after = `attack-lock-after-${cluster.name}`;
  await aws.sqs.send(new CreateQueueCommand({ QueueName: before }));
  await steal('intruder');
  await aborted(fence.signal);
  const refused = await aws.sqs.send(new CreateQueueCommand({ QueueName: after })).catch((e: unknown) => e);
  expect(refused).toBeInstanceOf(ApplyLockLost);
  expect((refused as Error).message).toBe('the apply lock was taken by intruder while this apply ran');
  expect(aws.calls['SQS.CreateQueue']).toBe(1);
  const sqs = new SQSClient({ region: cluster.region });
  await expect(sqs.send(new GetQueueUrlCommand({ QueueName: before }))).resolves.toHaveProperty('QueueUrl');
  await expect(sqs.send(new GetQueueUrlCommand({ QueueName: after }))).rejects.toMatchObject({
    name: 'QueueDoesNotExist',
  });
});

test('a second job of the same workflow run, under the same name, does not take the Lease as its own', async () => {
  const name = 'acme/infra run 5/1 by alice';
  await held(acquireApplyLock(admin, { holder: name, waitSeconds: 0, durationSeconds: 6, log: recorder() }));
  const err = await acquireApplyLock(admin, {
    holder: name,
    waitSeconds: 0,
    durationSeconds: 6,
    log: recorder(),
  }).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(Refusal);
  expect((err as Refusal).message).toContain(`another apply holds the lock on this cluster: ${name}`);
});
