/**
 * Fault injection in the sandbox's moto server (sandbox/moto/faults.py): the next `count` calls of an AWS
 * API operation fail with a chosen error, in the service's own protocol, so tests can simulate an AWS
 * failure between two writes of an apply.
 */
import { readState, type SandboxState } from './state.ts';

export interface FaultRule {
  /** The API operation as the AWS SDK names it: CreateQueue, PutTargets, AttachRolePolicy, CreateAccessEntry. */
  operation: string;
  /** How many matching calls fail; default 1. */
  count?: number;
  /** HTTP status of the error; default 500. */
  status?: number;
  /** The error code the SDK reports as the error's name; default InternalFailure. */
  code?: string;
  message?: string;
  /**
   * Only calls made in this moto account fail. Tests share one sandbox and run in parallel: scope a
   * rule to the test's own account (ownAccount(), withAccount) so it cannot fail another test's call.
   */
  accountId?: string;
  /** Only calls signed for this service (sqs, iam, ec2, eks, events, sts, ...). */
  service?: string;
}

export interface FaultHit {
  at: string;
  service: string | null;
  accountId: string;
  method: string;
  path: string;
}

export interface Fault {
  id: string;
  operation: string;
  count: number;
  status: number;
  code: string;
  message: string;
  accountId: string | null;
  service: string | null;
  /** Failures still to come; the rule stays listed at 0 so its hits can be read. */
  remaining: number;
  hits: FaultHit[];
  createdAt: string;
}

function adminUrl(s: SandboxState | undefined): string {
  const state = s ?? readState();
  if (!state) throw new Error('no sandbox is running (no .sandbox/state.json)');
  return state.webhookUrl;
}

interface Call {
  method: string;
  path: string;
  body?: unknown;
  /** A 404 answers the question (no such rule) rather than failing the call. */
  notFoundOk?: boolean;
}

async function call<T>(c: Call, s: SandboxState | undefined): Promise<T> {
  const { method, path, body } = c;
  const res = await fetch(`${adminUrl(s)}${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const out = (await res.json()) as T & { error?: string };
  if (!res.ok && !(c.notFoundOk && res.status === 404)) {
    throw new Error(`${method} ${path} on the moto admin server: ${res.status} ${out.error ?? ''}`);
  }
  return out;
}

/** Arms a fault rule; returns it with its id. */
export async function injectFault(rule: FaultRule, s?: SandboxState): Promise<Fault> {
  return call<Fault>({ method: 'POST', path: '/faults', body: rule }, s);
}

/** Every rule, with the failures it has left and the calls it has failed. */
export async function listFaults(s?: SandboxState): Promise<Fault[]> {
  return (await call<{ faults: Fault[] }>({ method: 'GET', path: '/faults' }, s)).faults;
}

/** Removes one rule; false if there was none with that id. */
export async function removeFault(id: string, s?: SandboxState): Promise<boolean> {
  return (
    await call<{ deleted: boolean }>(
      { method: 'DELETE', path: `/faults/${encodeURIComponent(id)}`, notFoundOk: true },
      s,
    )
  ).deleted;
}

/**
 * Removes every rule, other tests' included; a test that runs beside others should remove its own
 * rules with removeFault instead.
 */
export async function clearFaults(s?: SandboxState): Promise<number> {
  return (await call<{ cleared: number }>({ method: 'DELETE', path: '/faults' }, s)).cleared;
}
