import * as core from '@actions/core';
import {
  AssumeRoleWithWebIdentityCommand,
  STSClient,
  type AssumeRoleWithWebIdentityCommandOutput,
} from '@aws-sdk/client-sts';
import { describeError, Refusal } from '../errors.ts';
import type { Logger } from '../stages/types.ts';
import type { AwsCredentialsLike } from './eks-token.ts';

/** The default AWS credential chain (environment, shared files, web identity, instance roles), as the SDK resolves it. */
export function defaultCredentials(region: string): () => Promise<AwsCredentialsLike> {
  const sts = new STSClient({ region });
  return async () => {
    const c = await sts.config.credentials();
    return { accessKeyId: c.accessKeyId, secretAccessKey: c.secretAccessKey, sessionToken: c.sessionToken };
  };
}

const MAX_ATTEMPTS = 5;
const BACKOFF_BASE_MS = 200;
const BACKOFF_CAP_MS = 5_000;
/** Re-assume when less than this is left, so no call starts with credentials about to lapse. */
const REFRESH_MARGIN_MS = 5 * 60 * 1000;

/**
 * A job without an OIDC token: `id-token: write` is missing, or the run is a pull request from a fork,
 * which never gets one. Its own class because the main flow reports it as a PR comment rather than
 * as an obscure failure.
 */
export class OidcUnavailable extends Refusal {
  constructor(missing: string) {
    super(`role-to-assume is set but this job got no GitHub OIDC token (${missing} is not set)`, [
      'add `permissions: id-token: write` to the job (or the workflow) that runs the action',
      'pull requests from forks never get an OIDC token, whatever the permissions: a maintainer must run the plan (for example from a branch of this repository or with workflow_dispatch)',
      'outside GitHub Actions, leave role-to-assume empty: the default AWS credential chain is used',
    ]);
  }
}

/** The audience STS expects in a GitHub OIDC token, per partition (the China regions have their own). */
export function buildOidcAudience(roleArn: string): string {
  return roleArn.startsWith('arn:aws-cn:') ? 'sts.amazonaws.com.cn' : 'sts.amazonaws.com';
}

/**
 * The claims that decide whether a trust policy matches (`sub`, `aud`, `iss`), decoded from the ID
 * token's payload for an error message. They are not secret; the token is, so only these values are
 * returned and nothing of the token itself.
 */
export function renderTokenClaims(idToken: string): string {
  const payload = idToken.split('.')[1];
  let claims: Record<string, unknown> | undefined;
  try {
    const parsed: unknown = payload
      ? JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'))
      : undefined;
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed))
      claims = parsed as Record<string, unknown>;
  } catch {
    claims = undefined;
  }
  if (!claims) return "the token's claims could not be decoded";
  const show = (k: string) => {
    const v = claims[k];
    const text =
      v === undefined
        ? '(none)'
        : Array.isArray(v)
          ? v.map((x) => JSON.stringify(x)).join(', ')
          : JSON.stringify(v);
    return `${k} ${text}`;
  };
  return ['sub', 'aud', 'iss'].map(show).join(', ');
}

/**
 * Which of GitHub's subject formats a token's `sub` is in, and the `iam-policy` flags whose trust
 * policy matches it: name-only (`repo:OWNER/REPO:...`), immutable IDs (`repo:OWNER-ID/REPO-ID:...`,
 * repositories created, renamed or transferred after 2026-06-18 or opted in), or a custom template.
 */
export function explainSubjectFormat(idToken: string): string | undefined {
  let sub: unknown;
  try {
    const payload = idToken.split('.')[1] ?? '';
    sub = (JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { sub?: unknown }).sub;
  } catch {
    return undefined;
  }
  if (typeof sub !== 'string') return undefined;
  const ids = /^repo:([^/:@]+)@(\d+)\/([^/:@]+)@(\d+):/.exec(sub);
  if (ids) {
    return `the subject has GitHub's immutable IDs (owner ${ids[1]} is ${ids[2]}, repository ${ids[3]} is ${ids[4]}): write the trust policy with \`karpenter-action iam-policy --repository ${ids[1]}/${ids[3]} --owner-id ${ids[2]} --repository-id ${ids[4]}\` (or --oidc-subject with the file \`gh api repos/${ids[1]}/${ids[3]}/actions/oidc/customization/sub\` prints)`;
  }
  const names = /^repo:([^/:]+)\/([^/:]+):/.exec(sub);
  if (names) {
    return `the subject is name-only (repo:${names[1]}/${names[2]}:...): write the trust policy with \`karpenter-action iam-policy --repository ${names[1]}/${names[2]}\`, without --owner-id and --repository-id`;
  }
  return `the subject follows a custom template (it does not start with repo:OWNER/REPO:): save \`gh api repos/OWNER/REPO/actions/oidc/customization/sub\` to a file and pass it to \`karpenter-action iam-policy --oidc-subject <file>\`, which writes trust conditions in that format`;
}

/**
 * What to do with a failed AssumeRoleWithWebIdentity, as configure-aws-credentials decides it:
 * throttling, the IdP being unreachable, a token STS could not yet validate, 5xx and network errors
 * are worth another attempt; AccessDenied is a trust-policy answer that retrying cannot change.
 */
export function evaluateStsError(err: unknown): 'retry' | 'denied' | 'fail' {
  const e = (err ?? {}) as {
    name?: unknown;
    code?: unknown;
    Code?: unknown;
    $metadata?: { httpStatusCode?: number };
    $retryable?: unknown;
  };
  const names = [e.name, e.code, e.Code].filter((n): n is string => typeof n === 'string');
  const status = e.$metadata?.httpStatusCode;
  const is = (...candidates: string[]) => names.some((n) => candidates.includes(n));
  if (is('AccessDenied', 'AccessDeniedException')) return 'denied';
  if (
    is(
      'Throttling',
      'ThrottlingException',
      'ThrottledException',
      'TooManyRequestsException',
      'RequestLimitExceeded',
      'RequestThrottled',
      'RequestThrottledException',
      'IDPCommunicationError',
      'IDPCommunicationErrorException',
      'InvalidIdentityToken',
      'InvalidIdentityTokenException',
      'ExpiredTokenException',
      'TimeoutError',
      'RequestTimeout',
      'RequestTimeoutException',
      'ECONNRESET',
      'ECONNREFUSED',
      'ETIMEDOUT',
      'EPIPE',
      'ENOTFOUND',
      'EAI_AGAIN',
      'EHOSTUNREACH',
      'ENETUNREACH',
    )
  )
    return 'retry';
  if (status === 429 || (status !== undefined && status >= 500)) return 'retry';
  if (status === 403) return 'denied';
  if (e.$retryable) return 'retry';
  return 'fail';
}

/**
 * The refusal for an AccessDenied from AssumeRoleWithWebIdentity: the role's trust policy does not
 * allow this token. It shows the token's `sub` and `aud`, which the policy's conditions must match,
 * and never the token.
 */
export function buildAssumeRoleDenied(roleArn: string, idToken: string, awsMessage: string): Refusal {
  const account = roleArn.split(':')[4] ?? '<account>';
  const partition = roleArn.split(':')[1] ?? 'aws';
  return new Refusal(`cannot assume ${roleArn} with this job's GitHub OIDC token (AccessDenied)`, [
    `this job's token has ${renderTokenClaims(idToken)}`,
    ...[explainSubjectFormat(idToken)].filter((x): x is string => x !== undefined),
    `the role must exist and its trust policy must allow sts:AssumeRoleWithWebIdentity for the principal arn:${partition}:iam::${account}:oidc-provider/token.actions.githubusercontent.com, with a condition on token.actions.githubusercontent.com:sub that matches this repository's sub claim above (StringEquals, or StringLike for a pattern) and token.actions.githubusercontent.com:aud = ${buildOidcAudience(roleArn)}`,
    'a plan role is usually assumable from pull_request (sub repo:OWNER/REPO:pull_request) and an apply role only from the protected environment (sub repo:OWNER/REPO:environment:NAME)',
    `AWS said: ${awsMessage}`,
  ]);
}

function buildInvalidToken(roleArn: string, idToken: string, awsMessage: string): Refusal {
  return new Refusal(
    `AWS STS did not accept this job's GitHub OIDC token for ${roleArn} (InvalidIdentityToken, ${MAX_ATTEMPTS} attempts)`,
    [
      `the account needs an IAM OIDC identity provider for https://token.actions.githubusercontent.com with the audience (client id) ${buildOidcAudience(roleArn)}`,
      `this job's token has ${renderTokenClaims(idToken)}`,
      ...[explainSubjectFormat(idToken)].filter((x): x is string => x !== undefined),
      `AWS said: ${awsMessage}`,
    ],
  );
}

/**
 * The job's GitHub OIDC token, fetched the way `core.getIDToken` does (the runner's request URL plus
 * `&audience=`, the request token as bearer) but masked through `mask`. `core.getIDToken` always writes
 * the token to stdout as `::add-mask::`, which for a CLI whose stdout is redirected to a plan file
 * would put the token into that file.
 */
export async function readActionsIdToken(audience: string, mask: (secret: string) => void): Promise<string> {
  const url = process.env.ACTIONS_ID_TOKEN_REQUEST_URL;
  const requestToken = process.env.ACTIONS_ID_TOKEN_REQUEST_TOKEN;
  if (!url) throw new OidcUnavailable('ACTIONS_ID_TOKEN_REQUEST_URL');
  if (!requestToken) throw new OidcUnavailable('ACTIONS_ID_TOKEN_REQUEST_TOKEN');
  const res = await fetch(`${url}&audience=${encodeURIComponent(audience)}`, {
    headers: { Authorization: `Bearer ${requestToken}`, Accept: 'application/json' },
  });
  const body = (await res.json().catch(() => undefined)) as
    { value?: unknown; message?: unknown } | undefined;
  if (!res.ok || typeof body?.value !== 'string' || body.value === '') {
    const why = typeof body?.message === 'string' ? `: ${body.message}` : '';
    throw new Error(`the Actions OIDC endpoint answered ${res.status} without a token${why}`);
  }
  mask(body.value);
  return body.value;
}

export interface OidcCredentials {
  /** For `buildAwsClients`: returns cached credentials and re-assumes when less than 5 minutes remain. */
  provider: () => Promise<AwsCredentialsLike>;
  /** The assumed-role session ARN STS reports (`arn:aws:sts::<account>:assumed-role/<role>/<session>`). */
  principalArn: string;
  /** When the first credentials expire. */
  expiration: Date;
}

interface Session {
  credentials: AwsCredentialsLike;
  principalArn: string;
  expiration: Date;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * AWS credentials for `role-to-assume` from the job's GitHub OIDC token, as configure-aws-credentials
 * gets them but kept in the process: nothing is exported to later steps. The token comes from
 * `core.getIDToken` (audience `sts.amazonaws.com`); STS AssumeRoleWithWebIdentity is unsigned, so no
 * other credentials are needed. Transient failures are retried with jittered exponential backoff (5
 * attempts, a fresh token each); AccessDenied becomes a refusal that explains the trust policy.
 *
 * `mask` is called with the access key id, secret key and session token of every session. It defaults
 * to `core.setSecret`, which writes `::add-mask::` to stdout: right for the action, wrong for a CLI
 * whose stdout is the plan, which passes its own.
 */
export async function readOidcCredentials(opts: {
  roleArn: string;
  sessionName: string;
  region: string;
  /** Session length; default 3600 seconds. */
  durationSeconds?: number;
  /** Defaults to `core.getIDToken`, after checking that the runner gave this job the variables it reads. */
  getIdToken?: (audience: string) => Promise<string>;
  mask?: (secret: string) => void;
  log?: Logger;
  /** Defaults to a regional client configured from the environment like every other AWS client of the run. */
  client?: STSClient;
  /** The clock renewal is decided by, in milliseconds. */
  now?: () => number;
}): Promise<OidcCredentials> {
  const audience = buildOidcAudience(opts.roleArn);
  const now = opts.now ?? Date.now;
  const mask = opts.mask ?? ((s: string) => core.setSecret(s));
  const getIdToken =
    opts.getIdToken ??
    ((aud: string) => {
      for (const name of ['ACTIONS_ID_TOKEN_REQUEST_URL', 'ACTIONS_ID_TOKEN_REQUEST_TOKEN'])
        if (!process.env[name]) throw new OidcUnavailable(name);
      return core.getIDToken(aud);
    });
  const sts = opts.client ?? new STSClient({ region: opts.region, maxAttempts: 1 });
  const durationSeconds = opts.durationSeconds ?? 3600;

  const fetchToken = async (): Promise<string> => {
    try {
      return await getIdToken(audience);
    } catch (e) {
      if (e instanceof Refusal) throw e;
      throw new Error(`could not get the job's GitHub OIDC token: ${describeError(e)}`, { cause: e });
    }
  };

  const assume = async (): Promise<Session> => {
    for (let attempt = 1; ; attempt++) {
      const idToken = await fetchToken();
      let out: AssumeRoleWithWebIdentityCommandOutput;
      try {
        out = await sts.send(
          new AssumeRoleWithWebIdentityCommand({
            RoleArn: opts.roleArn,
            RoleSessionName: opts.sessionName,
            WebIdentityToken: idToken,
            DurationSeconds: durationSeconds,
          }),
        );
      } catch (e) {
        const verdict = evaluateStsError(e);
        const message = e instanceof Error ? e.message : String(e);
        if (verdict === 'denied') throw buildAssumeRoleDenied(opts.roleArn, idToken, message);
        if (verdict === 'retry' && attempt < MAX_ATTEMPTS) {
          const delay = Math.random() * Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** (attempt - 1));
          opts.log?.warn(
            `AssumeRoleWithWebIdentity for ${opts.roleArn}: ${describeError(e)}; attempt ${attempt + 1} of ${MAX_ATTEMPTS} in ${Math.round(delay)} ms`,
          );
          await sleep(delay);
          continue;
        }
        const name = e instanceof Error ? e.name : '';
        if (name === 'InvalidIdentityToken' || name === 'InvalidIdentityTokenException')
          throw buildInvalidToken(opts.roleArn, idToken, message);
        throw new Error(
          `AssumeRoleWithWebIdentity for ${opts.roleArn} failed${attempt > 1 ? ` after ${attempt} attempts` : ''}: ${describeError(e)}`,
          { cause: e },
        );
      }
      const c = out.Credentials;
      if (!c?.AccessKeyId || !c.SecretAccessKey || !c.SessionToken)
        throw new Error(`AssumeRoleWithWebIdentity for ${opts.roleArn} returned no credentials`);
      for (const secret of [c.AccessKeyId, c.SecretAccessKey, c.SessionToken]) mask(secret);
      return {
        credentials: {
          accessKeyId: c.AccessKeyId,
          secretAccessKey: c.SecretAccessKey,
          sessionToken: c.SessionToken,
        },
        principalArn: out.AssumedRoleUser?.Arn ?? opts.roleArn,
        expiration: c.Expiration ?? new Date(now() + durationSeconds * 1000),
      };
    }
  };

  let current = await assume();
  const { principalArn, expiration } = current;
  let renewing: Promise<Session> | undefined;
  const provider = async (): Promise<AwsCredentialsLike> => {
    if (current.expiration.getTime() - now() < REFRESH_MARGIN_MS) {
      renewing ??= assume().finally(() => {
        renewing = undefined;
      });
      current = await renewing;
      opts.log?.debug(
        `renewed the session of ${opts.roleArn}; it expires ${current.expiration.toISOString()}`,
      );
    }
    return current.credentials;
  };
  return { provider, principalArn, expiration };
}

/** The IAM principal behind a caller ARN, in the two spellings EKS wants. */
export interface PrincipalArn {
  /** For access entries: a role's ARN with its path when the path is known. */
  arn: string;
  /** For aws-auth, whose role ARNs never carry a path. */
  pathFreeArn: string;
  kind: 'role' | 'user' | 'other';
  /** False for a role reached through GetCallerIdentity alone, which does not show the role's path. */
  pathKnown: boolean;
}

/**
 * Maps a caller ARN as STS reports it to the IAM principal that EKS access entries and aws-auth name:
 * an assumed-role session `arn:aws:sts::<acct>:assumed-role/<role>/<session>` becomes
 * `arn:aws:iam::<acct>:role/<role>`. STS drops the role's path; `knownRoleArn` (role-to-assume) puts it
 * back when it names the same role.
 */
export function buildPrincipalArn(callerArn: string, knownRoleArn?: string): PrincipalArn {
  const session = /^arn:([^:]+):sts::(\d{12}):assumed-role\/([^/]+)\/.+$/.exec(callerArn);
  const role = /^arn:([^:]+):iam::(\d{12}):role\/(?:.*\/)?([^/]+)$/.exec(callerArn);
  const m = session ?? role;
  if (m) {
    const [, partition, account, name] = m;
    const pathFreeArn = `arn:${partition}:iam::${account}:role/${name}`;
    const known = knownRoleArn
      ? /^arn:([^:]+):iam::(\d{12}):role\/(?:.*\/)?([^/]+)$/.exec(knownRoleArn)
      : null;
    if (known && known[1] === partition && known[2] === account && known[3] === name)
      return { arn: known[0], pathFreeArn, kind: 'role', pathKnown: true };
    if (role) return { arn: callerArn, pathFreeArn, kind: 'role', pathKnown: true };
    return { arn: pathFreeArn, pathFreeArn, kind: 'role', pathKnown: false };
  }
  const user = /^arn:([^:]+):(?:iam|sts)::(\d{12}):user\/(.+)$/.exec(callerArn);
  if (user) {
    const arn = `arn:${user[1]}:iam::${user[2]}:user/${user[3]}`;
    return { arn, pathFreeArn: arn, kind: 'user', pathKnown: true };
  }
  return { arn: callerArn, pathFreeArn: callerArn, kind: 'other', pathKnown: true };
}
