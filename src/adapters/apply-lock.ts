import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { describeError, Refusal } from '../errors.ts';
import { KubeApiError } from './kube-http.ts';
import { LEASES } from './kube-resources.ts';
import { watchUntil } from './kube-watch.ts';
import type { KubeObject, KubePort } from './kube.ts';
import type { Logger } from '../stages/types.ts';

/** The Lease that serialises applies to one cluster; kube-system exists on every cluster. */
export const APPLY_LEASE = { name: 'karpenter-action-apply', namespace: 'kube-system' };
/**
 * A token unique to one acquisition, kept on the Lease beside the holder's name: two jobs of one
 * workflow run share the name, and must still never both take the Lease as their own.
 */
export const LOCK_TOKEN_ANNOTATION = 'karpenter-action/lock-token';

/** Who takes the Lease: the name shown to others, and this acquisition's own token. */
export interface LockHolder {
  identity: string;
  token: string;
}

interface LeaseSpec {
  holderIdentity?: string | null;
  leaseDurationSeconds?: number;
  acquireTime?: string | null;
  renewTime?: string | null;
  leaseTransitions?: number;
}

/**
 * The apply lost its lock (taken by another run, or not renewed in time): the reason of the abort
 * signal that stops every later AWS, Kubernetes and helm call of the apply.
 */
export class ApplyLockLost extends Refusal {
  constructor(message: string, details: readonly string[] = []) {
    super(message, [
      ...details,
      'nothing was sent after the lock was lost; another apply may now hold it. Run plan again: what was applied stays applied and the next apply completes the rest',
    ]);
  }
}

export interface ApplyLock {
  /** Who holds it, as written in the Lease. */
  holder: string;
  /** Set once the lock is lost: taken by someone else, or not renewed within its renew deadline. */
  readonly lost: boolean;
  /** Clears the holder if it is still this run. Never throws: a failure is logged, and the Lease expires on its own. */
  release(): Promise<void>;
}

export interface LockOptions {
  /** Written into the Lease so a second apply can say who holds it: repository, run and actor. */
  holder: string;
  /** How long to wait for another apply to finish before refusing; 0 refuses at once. */
  waitSeconds: number;
  /** How long the Lease is valid without renewal; renewed at a third of it. */
  durationSeconds?: number;
  /**
   * Aborted, with an ApplyLockLost as reason, when the lock is lost or cannot be renewed in time; the
   * apply's AWS, Kubernetes and helm calls honour its signal.
   */
  fence?: AbortController;
  log: Logger;
  /** The wall clock, only for the times written into the Lease; expiry is judged by local elapsed time. */
  now?: () => Date;
  /** A monotonic clock in milliseconds; expiry and renew deadlines are measured with it. */
  monotonicMs?: () => number;
}

/** The API server stores MicroTime with microseconds; anything with six fraction digits is accepted. */
const microTime = (d: Date) => d.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
const specOf = (o: KubeObject | undefined) => (o?.spec ?? {}) as LeaseSpec;
const isMine = (o: KubeObject | undefined, me: LockHolder) =>
  !!o &&
  specOf(o).holderIdentity === me.identity &&
  o.metadata?.annotations?.[LOCK_TOKEN_ANNOTATION] === me.token;
const durationOf = (o: KubeObject | undefined) => specOf(o).leaseDurationSeconds ?? 60;
/** What a holder changes when it renews: any change of it shows the holder is alive. */
const recordOf = (o: KubeObject | undefined) => JSON.stringify(specOf(o));

/** When this run last saw the Lease's record change, by its own monotonic clock. */
export interface LeaseObservation {
  record: string;
  atMs: number;
  /** True once the record changed while this run watched it: its holder is alive. */
  sawChange: boolean;
}

export type LeaseState =
  | { free: true }
  | {
      free: false;
      holder: string;
      since: string | undefined;
      /** How long until it is free unless its holder renews it, by this run's own observation. */
      expiresInMs: number;
      /** Its own times say it expired; this run watches it for a full duration before believing that. */
      looksStale: boolean;
    };

/**
 * Free when nobody holds it, when this very acquisition holds it (its create's answer was lost), or
 * when this run has watched its record unchanged for longer than its duration. Like client-go's leader election, expiry is judged by when *this* run observed the last
 * change, never by the holder's `renewTime`, which another runner's clock wrote: a runner whose clock
 * is a minute ahead would otherwise see every live Lease as expired.
 */
export function evaluateLease(
  lease: KubeObject | undefined,
  me: LockHolder,
  observed: LeaseObservation,
  nowMs: number,
  wallNow: Date,
): LeaseState {
  const spec = specOf(lease);
  if (!lease || !spec.holderIdentity || isMine(lease, me)) return { free: true };
  const ttlMs = durationOf(lease) * 1000;
  const expiresInMs = observed.atMs + ttlMs - nowMs;
  if (expiresInMs <= 0) return { free: true };
  const renewed = Date.parse(spec.renewTime ?? spec.acquireTime ?? '');
  const looksStale = !observed.sawChange && (Number.isNaN(renewed) || renewed + ttlMs <= wallNow.getTime());
  return {
    free: false,
    holder: spec.holderIdentity,
    since: spec.acquireTime ?? undefined,
    expiresInMs,
    looksStale,
  };
}

/** Records a sighting of the Lease, restarting the clock when its record changed. */
function observe(
  prev: LeaseObservation | undefined,
  lease: KubeObject | undefined,
  atMs: number,
): LeaseObservation {
  const record = recordOf(lease);
  if (!prev) return { record, atMs, sawChange: false };
  if (prev.record === record) return prev;
  return { record, atMs, sawChange: true };
}

const conflict = (e: unknown) => e instanceof KubeApiError && (e.code === 409 || e.code === 404);

/**
 * Takes the cluster's apply Lease, waiting (by watch) while another apply holds it, and renews it in
 * the background until released. Two applies never run at once: taking a free or expired Lease is a
 * create or a resourceVersion-checked update, so of two racing runs exactly one wins; and a holder that
 * cannot renew stops itself (its fence) before anyone else can see the Lease expire.
 */
export async function acquireApplyLock(kube: KubePort, opts: LockOptions): Promise<ApplyLock> {
  const now = opts.now ?? (() => new Date());
  const mono = opts.monotonicMs ?? (() => performance.now());
  const duration = opts.durationSeconds ?? 60;
  const deadline = mono() + opts.waitSeconds * 1000;
  const me: LockHolder = { identity: opts.holder, token: randomUUID() };
  let observed: LeaseObservation | undefined;
  let announced = '';
  for (;;) {
    const lease = await kube.get(LEASES, APPLY_LEASE.name, APPLY_LEASE.namespace);
    observed = observe(observed, lease, mono());
    const state = evaluateLease(lease, me, observed, mono(), now());
    if (state.free) {
      const sentMs = mono();
      const taken = await take(kube, lease, me, duration, now()).catch((e: unknown) => {
        if (conflict(e)) return undefined;
        throw e;
      });
      if (taken) return startRenewing(kube, taken, me, opts, duration, sentMs, now, mono);
      continue;
    }
    const left = deadline - mono();
    if (left <= 0 && !state.looksStale) {
      throw new Refusal(
        `another apply holds the lock on this cluster: ${state.holder}${state.since ? ` (since ${state.since})` : ''}`,
        [
          `the Lease ${APPLY_LEASE.namespace}/${APPLY_LEASE.name} stops two applies from running at once`,
          opts.waitSeconds > 0
            ? `waited ${opts.waitSeconds} s; run again when that apply has finished (or raise the "lock-wait" input)`
            : 'run again when that apply has finished, or set the "lock-wait" input to wait for it',
          `a holder that died stops renewing it; it is free ${Math.ceil(state.expiresInMs / 1000)} s after this run last saw it renewed`,
        ],
      );
    }
    const note = state.looksStale
      ? `the apply lock held by ${state.holder} was not renewed by its own times; watching it for ${Math.ceil(state.expiresInMs / 1000)} s before taking it`
      : `waiting for the apply lock held by ${state.holder}`;
    if (announced !== note) {
      opts.log.info(note);
      announced = note;
    }
    // Woken by any change of the record (a release, or a renewal that proves the holder alive); an
    // expiry writes nothing, so the wait also ends when it is due by this run's own observation.
    const seen = observed.record;
    await watchUntil(
      kube,
      LEASES,
      APPLY_LEASE,
      (o) => recordOf(o) !== seen,
      Math.max(100, state.looksStale ? state.expiresInMs + 100 : Math.min(left, state.expiresInMs + 100)),
    );
  }
}

async function take(
  kube: KubePort,
  lease: KubeObject | undefined,
  me: LockHolder,
  duration: number,
  at: Date,
): Promise<KubeObject> {
  const spec: LeaseSpec = {
    holderIdentity: me.identity,
    leaseDurationSeconds: duration,
    acquireTime: microTime(at),
    renewTime: microTime(at),
    leaseTransitions: (specOf(lease).leaseTransitions ?? 0) + (lease ? 1 : 0),
  };
  if (!lease)
    return kube.create(LEASES, {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: {
        ...APPLY_LEASE,
        labels: { 'app.kubernetes.io/managed-by': 'karpenter-action' },
        annotations: { [LOCK_TOKEN_ANNOTATION]: me.token },
      },
      spec,
    });
  const annotations = { ...lease.metadata?.annotations, [LOCK_TOKEN_ANNOTATION]: me.token };
  return kube.replace(LEASES, { ...lease, metadata: { ...lease.metadata, annotations }, spec });
}

/**
 * Renews every third of the duration, retrying a failed renewal every second. The renew deadline is
 * two thirds of the duration after the last renewal that succeeded was *sent*: another run can only
 * see the Lease expire a full duration after it observed that renewal, so stopping at the deadline
 * leaves a third of the duration as margin. At the deadline, or when a renewal finds the Lease taken,
 * the fence aborts. Nothing here throws into the process: every failure is logged and retried.
 */
function startRenewing(
  kube: KubePort,
  taken: KubeObject,
  me: LockHolder,
  opts: LockOptions,
  duration: number,
  takenSentMs: number,
  now: () => Date,
  mono: () => number,
): ApplyLock {
  const { log } = opts;
  const renewEveryMs = Math.max(200, (duration * 1000) / 3);
  const renewDeadlineMs = (duration * 1000 * 2) / 3;
  let current = taken;
  let lastSentMs = takenSentMs;
  let lost = false;
  const stop = new AbortController();

  const lose = (message: string, details: string[] = []) => {
    if (lost) return;
    lost = true;
    clearTimeout(deadlineTimer);
    log.warn(`${message}; this apply stops before its next write`);
    opts.fence?.abort(new ApplyLockLost(message, details));
  };
  const onDeadline = () =>
    lose(`the apply lock could not be renewed for ${Math.round(renewDeadlineMs / 1000)} s`, [
      `the Lease ${APPLY_LEASE.namespace}/${APPLY_LEASE.name} was last renewed ${Math.round((mono() - lastSentMs) / 1000)} s ago; after ${duration} s without renewal another apply may take it`,
    ]);
  let deadlineTimer = setTimeout(onDeadline, Math.max(0, lastSentMs + renewDeadlineMs - mono()));
  deadlineTimer.unref();

  /** One renewal: true when the Lease is renewed, false to retry soon; sets `lost` when it is taken. */
  const renewOnce = async (conflicts = 0): Promise<boolean> => {
    const sentMs = mono();
    try {
      current = await kube.replace(LEASES, {
        ...current,
        spec: { ...specOf(current), renewTime: microTime(now()) },
      });
    } catch (e) {
      if (!conflict(e)) {
        log.warn(`could not renew the apply lock: ${describeError(e)}`);
        return false;
      }
      let fresh: KubeObject | undefined;
      try {
        fresh = await kube.get(LEASES, APPLY_LEASE.name, APPLY_LEASE.namespace);
      } catch (e2) {
        log.warn(`could not read the apply lock after a conflicting renewal: ${describeError(e2)}`);
        return false;
      }
      if (fresh && isMine(fresh, me)) {
        current = fresh;
        return conflicts < 2 ? renewOnce(conflicts + 1) : false;
      }
      lose(`the apply lock was taken by ${specOf(fresh).holderIdentity ?? 'nobody'} while this apply ran`);
      return false;
    }
    if (lost) return true;
    lastSentMs = sentMs;
    clearTimeout(deadlineTimer);
    deadlineTimer = setTimeout(onDeadline, Math.max(0, lastSentMs + renewDeadlineMs - mono()));
    deadlineTimer.unref();
    return true;
  };

  const loop = (async () => {
    let wait = renewEveryMs;
    while (!lost && !stop.signal.aborted) {
      try {
        await sleep(wait, undefined, { signal: stop.signal, ref: false });
      } catch {
        return;
      }
      if (lost || stop.signal.aborted) return;
      wait = (await renewOnce()) ? renewEveryMs : Math.min(1000, renewEveryMs);
    }
  })().catch((e: unknown) => log.warn(`the apply lock's renewal stopped: ${describeError(e)}`));

  return {
    holder: me.identity,
    get lost() {
      return lost;
    },
    async release() {
      stop.abort();
      clearTimeout(deadlineTimer);
      await loop;
      try {
        for (let attempt = 0; attempt < 3; attempt++) {
          const fresh = await kube.get(LEASES, APPLY_LEASE.name, APPLY_LEASE.namespace);
          if (!fresh || !isMine(fresh, me)) return;
          try {
            await kube.replace(LEASES, {
              ...fresh,
              spec: { ...specOf(fresh), holderIdentity: null, renewTime: microTime(now()) },
            });
            return;
          } catch (e) {
            if (!conflict(e)) throw e;
          }
        }
      } catch (e) {
        log.warn(
          `could not release the apply lock (${describeError(e)}); it frees itself ${duration} s after its last renewal`,
        );
      }
    },
  };
}
