/**
 * A Refusal is an expected, explained "no": not approved, a stale plan, an unsupported upgrade path,
 * invalid input. It is reported as such, without a stack trace.
 */
export class Refusal extends Error {
  override readonly name = 'Refusal';
  readonly details: readonly string[];
  constructor(message: string, details: readonly string[] = []) {
    super(message);
    this.details = details;
  }
}

/** AWS's names for a call the caller's policies do not allow, across the services the action calls. */
const ACCESS_DENIED = new Set([
  'AccessDenied',
  'AccessDeniedException',
  'UnauthorizedOperation',
  'AuthorizationError',
  'AuthorizationErrorException',
]);

/**
 * What to do about an AccessDenied: the role's policy was printed by `iam-policy` for an older config,
 * since the permissions follow the config (ADR 9). Names the denied action when AWS does.
 */
export function explainAccessDenied(err: unknown): string | undefined {
  if (!(err instanceof Error)) return undefined;
  const code = (err as { Code?: unknown }).Code;
  if (!ACCESS_DENIED.has(err.name) && !(typeof code === 'string' && ACCESS_DENIED.has(code)))
    return undefined;
  const action = /not authorized to perform:? ([a-z0-9-]+:[A-Za-z0-9]+)/.exec(err.message)?.[1];
  return (
    `this run's role may not ${action ? `call ${action}` : 'make this call'}. The permissions ` +
    '`karpenter-action iam-policy` prints follow the config (the Karpenter version, the controller ' +
    'identity, spot, the migration, the discovery tag keys): run it for the config of this commit ' +
    '(`--cluster`, `--format json`) and `put-role-policy` the plan and apply roles with the result'
  );
}

/** One line for any thrown value, keeping AWS and Kubernetes error codes visible. */
export function describeError(err: unknown): string {
  if (err instanceof Error && err.name === 'CredentialsProviderError') {
    return (
      'no AWS credentials: set AWS_PROFILE (after `aws sso login` for an SSO profile), or ' +
      'AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (with AWS_SESSION_TOKEN for temporary keys); ' +
      'in a workflow, set role-to-assume and give the job `permissions: id-token: write` ' +
      `(${err.message})`
    );
  }
  if (err instanceof Error) {
    const code = (err as { code?: unknown; Code?: unknown }).code ?? (err as { Code?: unknown }).Code;
    const name = err.name && err.name !== 'Error' ? err.name : undefined;
    const prefix = [name, typeof code === 'string' && code !== name ? code : undefined]
      .filter(Boolean)
      .join('/');
    const text = prefix ? `${prefix}: ${err.message}` : err.message;
    const denied = explainAccessDenied(err);
    return denied ? `${text}; ${denied}` : text;
  }
  return String(err);
}

/**
 * The error a call refused by an aborted signal rejects with: the signal's own reason when it is an
 * error (an apply's ApplyLockLost), else `stopped` and the reason. AWS, Kubernetes and
 * helm calls share it, so a fenced run reports the same cause whichever call it stopped.
 */
export function abortError(signal: AbortSignal | undefined, stopped: string): Error {
  const r: unknown = signal?.reason;
  return r instanceof Error ? r : new Error(`${stopped}: ${String(r)}`);
}
