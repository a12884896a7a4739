/**
 * When the apply Lease counts as free: judged by when this runner observed its last change, on its own
 * clock, never by the holder's renewTime, which another runner's clock wrote.
 */
import {
  evaluateLease,
  LOCK_TOKEN_ANNOTATION,
  type LeaseObservation,
} from '../../src/adapters/apply-lock.ts';
import type { KubeObject } from '../../src/adapters/kube.ts';

const lease = (spec: Record<string, unknown>, token = 'token-1'): KubeObject => ({
  apiVersion: 'coordination.k8s.io/v1',
  kind: 'Lease',
  metadata: {
    name: 'karpenter-action-apply',
    namespace: 'kube-system',
    annotations: { [LOCK_TOKEN_ANNOTATION]: token },
  },
  spec,
});
const bob = { identity: 'acme/infra run 2 (bob)', token: 'token-2' };
const held = lease({
  holderIdentity: 'acme/infra run 1 (alice)',
  leaseDurationSeconds: 60,
  acquireTime: '2026-12-03T10:00:00.000000Z',
  renewTime: '2026-12-03T10:00:00.000000Z',
});
const seenAt = (atMs: number, sawChange = false): LeaseObservation => ({
  record: JSON.stringify(held.spec),
  atMs,
  sawChange,
});
const renewedAt = new Date('2026-12-03T10:00:00.000Z');

test('a Lease nobody holds, or this runner holds, is free', () => {
  expect(evaluateLease(undefined, bob, seenAt(0), 0, renewedAt)).toEqual({ free: true });
  expect(evaluateLease(lease({ holderIdentity: null }), bob, seenAt(0), 0, renewedAt)).toEqual({
    free: true,
  });
  expect(
    evaluateLease(held, { identity: 'acme/infra run 1 (alice)', token: 'token-1' }, seenAt(0), 0, renewedAt),
  ).toEqual({ free: true });
});

test('another job of the same run, with the same name but not the same acquisition, finds it held', () => {
  const sameName = { identity: 'acme/infra run 1 (alice)', token: 'token-9' };
  expect(evaluateLease(held, sameName, seenAt(0, true), 0, renewedAt)).toMatchObject({
    free: false,
    holder: 'acme/infra run 1 (alice)',
  });
});

test('a runner 61 s ahead sees the Lease as stale by its times, yet not free before it watched 60 s', () => {
  const skewed = new Date(renewedAt.getTime() + 61_000);
  const state = evaluateLease(held, bob, seenAt(5_000), 5_000, skewed);
  expect(state).toEqual({
    free: false,
    holder: 'acme/infra run 1 (alice)',
    since: '2026-12-03T10:00:00.000000Z',
    expiresInMs: 60_000,
    looksStale: true,
  });
  expect(evaluateLease(held, bob, seenAt(5_000), 64_999, skewed).free).toBe(false);
  expect(evaluateLease(held, bob, seenAt(5_000), 65_000, skewed).free).toBe(true);
});

test('once its record changed under watch, the holder is alive and the Lease no longer looks stale', () => {
  const skewed = new Date(renewedAt.getTime() + 61_000);
  const state = evaluateLease(held, bob, seenAt(20_000, true), 21_000, skewed);
  expect(state).toMatchObject({ free: false, looksStale: false, expiresInMs: 59_000 });
});

test("a Lease whose holder's clock is behind is not free while this runner saw it renewed", () => {
  const slowHolder = new Date(renewedAt.getTime() + 10 * 60_000);
  expect(evaluateLease(held, bob, seenAt(1_000, true), 30_000, slowHolder).free).toBe(false);
});
