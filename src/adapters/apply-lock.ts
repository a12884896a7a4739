import { Refusal } from '../errors.ts';
import { KubeApiError } from './kube-http.ts';
import { LEASES } from './kube-resources.ts';
import { watchUntil } from './kube-watch.ts';
import type { KubeObject, KubePort } from './kube.ts';
import type { Logger } from '../stages/types.ts';

/** The Lease that serialises applies to one cluster; kube-system exists on every cluster. */
export const APPLY_LEASE = { name: 'karpenter-action-apply', namespace: 'kube-system' };

interface LeaseSpec {
  holderIdentity?: string | null;
  leaseDurationSeconds?: number;
  acquireTime?: string | null;
  renewTime?: string | null;
  leaseTransitions?: number;
}

export interface ApplyLock {
  /** Who holds it, as written in the Lease. */
  holder: string;
  /** Set when a renewal found the Lease taken by someone else (only possible after it expired). */
  readonly lost: boolean;
  release(): Promise<void>;
}

export interface LockOptions {
  /** Written into the Lease so a second apply can say who holds it: repository, run and actor. */
  holder: string;
  /** How long to wait for another apply to finish before refusing; 0 refuses at once. */
  waitSeconds: number;
  /** How long the Lease is valid without renewal; renewed at a third of it. */
  durationSeconds?: number;
  log: Logger;
  now?: () => Date;
}

/** The API server stores MicroTime with microseconds; anything with six fraction digits is accepted. */
const microTime = (d: Date) => d.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
const specOf = (o: KubeObject | undefined) => (o?.spec ?? {}) as LeaseSpec;

/** Free when nobody holds it, or the holder stopped renewing for longer than its duration. */
export function evaluateLease(
  lease: KubeObject | undefined,
  me: string,
  now: Date,
): { free: true } | { free: false; holder: string; since: string | undefined; expiresInMs: number } {
  const spec = specOf(lease);
  if (!lease || !spec.holderIdentity || spec.holderIdentity === me) return { free: true };
  const renewed = Date.parse(spec.renewTime ?? spec.acquireTime ?? '');
  const ttlMs = (spec.leaseDurationSeconds ?? 60) * 1000;
  const expiresInMs = Number.isNaN(renewed) ? 0 : renewed + ttlMs - now.getTime();
  if (expiresInMs <= 0) return { free: true };
  return { free: false, holder: spec.holderIdentity, since: spec.acquireTime ?? undefined, expiresInMs };
}

const conflict = (e: unknown) => e instanceof KubeApiError && (e.code === 409 || e.code === 404);

/**
 * Takes the cluster's apply Lease, waiting (by watch) while another apply holds it, and renews it in
 * the background until released. Two applies never run at once: taking a free or expired Lease is a
 * create or a resourceVersion-checked update, so of two racing runs exactly one wins.
 */
export async function acquireApplyLock(kube: KubePort, opts: LockOptions): Promise<ApplyLock> {
  const now = opts.now ?? (() => new Date());
  const duration = opts.durationSeconds ?? 60;
  const deadline = Date.now() + opts.waitSeconds * 1000;
  let announced = false;
  for (;;) {
    const lease = await kube.get(LEASES, APPLY_LEASE.name, APPLY_LEASE.namespace);
    const state = evaluateLease(lease, opts.holder, now());
    if (state.free) {
      const taken = await take(kube, lease, opts.holder, duration, now()).catch((e: unknown) => {
        if (conflict(e)) return undefined;
        throw e;
      });
      if (taken) return startRenewing(kube, taken, opts.holder, duration, opts.log, now);
      continue;
    }
    const left = deadline - Date.now();
    if (left <= 0) {
      throw new Refusal(
        `another apply holds the lock on this cluster: ${state.holder}${state.since ? ` (since ${state.since})` : ''}`,
        [
          `the Lease ${APPLY_LEASE.namespace}/${APPLY_LEASE.name} stops two applies from running at once`,
          opts.waitSeconds > 0
            ? `waited ${opts.waitSeconds} s; run again when that apply has finished (or raise the "lock-wait" input)`
            : 'run again when that apply has finished, or set the "lock-wait" input to wait for it',
          `a holder that died stops renewing it; it is free ${Math.ceil(state.expiresInMs / 1000)} s from now`,
        ],
      );
    }
    if (!announced) {
      opts.log.info(`waiting for the apply lock held by ${state.holder}`);
      announced = true;
    }
    // Woken by the holder's release; an expiry writes nothing, so the wait also ends when it is due.
    await watchUntil(
      kube,
      LEASES,
      APPLY_LEASE,
      (o) => evaluateLease(o, opts.holder, now()).free,
      Math.max(100, Math.min(left, state.expiresInMs + 100)),
    );
  }
}

async function take(
  kube: KubePort,
  lease: KubeObject | undefined,
  holder: string,
  duration: number,
  at: Date,
): Promise<KubeObject> {
  const spec: LeaseSpec = {
    holderIdentity: holder,
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
      },
      spec,
    });
  return kube.replace(LEASES, { ...lease, spec });
}

function startRenewing(
  kube: KubePort,
  taken: KubeObject,
  holder: string,
  duration: number,
  log: Logger,
  now: () => Date,
): ApplyLock {
  let current = taken;
  let lost = false;
  let renewing: Promise<void> = Promise.resolve();
  const renew = async () => {
    try {
      current = await kube.replace(LEASES, {
        ...current,
        spec: { ...specOf(current), renewTime: microTime(now()) },
      });
    } catch (e) {
      if (!conflict(e)) {
        log.warn(`could not renew the apply lock: ${(e as Error).message}`);
        return;
      }
      const fresh = await kube.get(LEASES, APPLY_LEASE.name, APPLY_LEASE.namespace);
      if (specOf(fresh).holderIdentity === holder && fresh) {
        current = fresh;
        return renew();
      }
      lost = true;
      log.warn(
        `the apply lock was taken by ${specOf(fresh).holderIdentity ?? 'nobody'} while this apply ran`,
      );
    }
  };
  const timer = setInterval(
    () => {
      renewing = renewing.then(renew);
    },
    Math.max(1000, (duration * 1000) / 3),
  );
  timer.unref();
  return {
    holder,
    get lost() {
      return lost;
    },
    async release() {
      clearInterval(timer);
      await renewing;
      if (lost) return;
      for (let attempt = 0; attempt < 3; attempt++) {
        const fresh = await kube.get(LEASES, APPLY_LEASE.name, APPLY_LEASE.namespace);
        if (!fresh || specOf(fresh).holderIdentity !== holder) return;
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
    },
  };
}
