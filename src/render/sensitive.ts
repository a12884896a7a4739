import type { Change, FieldChange } from '../plan/model.ts';

/** What a renderer prints in place of a value whose key looks like a secret. */
export const SENSITIVE = '(sensitive)';
/** The after-side of a sensitive value that differs from the before-side, so the change stays visible. */
export const SENSITIVE_CHANGED = '(sensitive, changed)';

const SECRET_SUFFIXES = [
  'password',
  'passwd',
  'passphrase',
  'secret',
  'token',
  'secretaccesskey',
  'sessiontoken',
  'privatekey',
  'apikey',
  'clientsecret',
];

/**
 * True for keys such as `token`, `password`, `clientSecret`, `secretAccessKey`, `sessionToken` or
 * `AWS_SECRET_ACCESS_KEY`. Matching is on the end of the key so that `httpTokens`, `secretName` or
 * `tokenExpirationSeconds`, which are configuration and not secrets, stay readable.
 */
export function isSensitiveKey(key: string): boolean {
  const flat = key.toLowerCase().replace(/[^a-z0-9]/g, '');
  return SECRET_SUFFIXES.some((s) => flat.endsWith(s));
}

type Json = Record<string, unknown>;

const isRecord = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

function isKubeSecret(v: Json | undefined): boolean {
  return v !== undefined && v.kind === 'Secret' && (v.apiVersion === undefined || v.apiVersion === 'v1');
}

/** `{name: AWS_SECRET_ACCESS_KEY, value: ...}`, as in a container's env list. */
function namesSecret(v: Json | undefined): boolean {
  return v !== undefined && typeof v.name === 'string' && isSensitiveKey(v.name);
}

function canonical(v: unknown): string {
  return JSON.stringify(v, (_k, value: unknown) =>
    isRecord(value)
      ? Object.fromEntries(
          Object.keys(value)
            .sort()
            .map((k) => [k, value[k]]),
        )
      : value,
  );
}

function maskLeaf(before: unknown, after: unknown): [unknown, unknown] {
  const changed = before !== undefined && after !== undefined && canonical(before) !== canonical(after);
  return [
    before === undefined ? undefined : SENSITIVE,
    after === undefined ? undefined : changed ? SENSITIVE_CHANGED : SENSITIVE,
  ];
}

function maskEntries(before: unknown, after: unknown): [unknown, unknown] {
  if (!isRecord(before) && !isRecord(after)) return maskLeaf(before, after);
  const b = isRecord(before) ? before : undefined;
  const a = isRecord(after) ? after : undefined;
  const outB: Json = {};
  const outA: Json = {};
  for (const key of new Set([...Object.keys(b ?? {}), ...Object.keys(a ?? {})])) {
    const [mb, ma] = maskLeaf(b?.[key], a?.[key]);
    if (b && Object.hasOwn(b, key)) outB[key] = mb;
    if (a && Object.hasOwn(a, key)) outA[key] = ma;
  }
  return [b ? outB : maskLeaf(before, undefined)[0], a ? outA : maskLeaf(undefined, after)[1]];
}

/**
 * Both sides of a change with every secret-looking value replaced: values under secret-looking keys,
 * the `data` and `stringData` entries of a Kubernetes Secret, and the `value` next to a secret-looking
 * `name`. A secret that differs between the sides is shown as changed without showing either value.
 */
export function maskSensitivePair(before: unknown, after: unknown): [unknown, unknown] {
  if (Array.isArray(before) || Array.isArray(after)) {
    if ((before !== undefined && !Array.isArray(before)) || (after !== undefined && !Array.isArray(after))) {
      return [maskSensitivePair(before, undefined)[0], maskSensitivePair(undefined, after)[1]];
    }
    const b = before as unknown[] | undefined;
    const a = after as unknown[] | undefined;
    const length = Math.max(b?.length ?? 0, a?.length ?? 0);
    const outB: unknown[] = [];
    const outA: unknown[] = [];
    for (let i = 0; i < length; i++) {
      const [mb, ma] = maskSensitivePair(b?.[i], a?.[i]);
      if (b && i < b.length) outB.push(mb);
      if (a && i < a.length) outA.push(ma);
    }
    return [b ? outB : undefined, a ? outA : undefined];
  }
  if (isRecord(before) || isRecord(after)) {
    if ((before !== undefined && !isRecord(before)) || (after !== undefined && !isRecord(after))) {
      return [maskSensitivePair(before, undefined)[0], maskSensitivePair(undefined, after)[1]];
    }
    const b = before;
    const a = after;
    const secretData = isKubeSecret(b) || isKubeSecret(a);
    const namedSecret = namesSecret(b) || namesSecret(a);
    const outB: Json = {};
    const outA: Json = {};
    for (const key of new Set([...Object.keys(b ?? {}), ...Object.keys(a ?? {})])) {
      const bv = b?.[key];
      const av = a?.[key];
      let masked: [unknown, unknown];
      if (isSensitiveKey(key) || (namedSecret && key === 'value')) masked = maskLeaf(bv, av);
      else if (secretData && (key === 'data' || key === 'stringData')) masked = maskEntries(bv, av);
      else masked = maskSensitivePair(bv, av);
      if (b && Object.hasOwn(b, key)) outB[key] = masked[0];
      if (a && Object.hasOwn(a, key)) outA[key] = masked[1];
    }
    return [b ? outB : undefined, a ? outA : undefined];
  }
  return [before, after];
}

/** One value with every secret-looking value replaced; see maskSensitivePair. */
export function maskSensitive(value: unknown): unknown {
  return maskSensitivePair(value, undefined)[0];
}

function maskFieldChange(fc: FieldChange): FieldChange {
  const last =
    fc.path
      .split(/[.[\]]/)
      .filter((s) => s !== '')
      .pop() ?? '';
  const [before, after] = isSensitiveKey(last)
    ? maskLeaf(fc.before, fc.after)
    : maskSensitivePair(fc.before, fc.after);
  const out: FieldChange = { path: fc.path, op: fc.op };
  if (Object.hasOwn(fc, 'before')) out.before = before;
  if (Object.hasOwn(fc, 'after')) out.after = after;
  return out;
}

/** A copy of the change that is safe to print: before, after and field changes masked. */
export function maskChange(change: Change): Change {
  const [before, after] = maskSensitivePair(change.before, change.after);
  const out: Change = { ...change, fieldChanges: change.fieldChanges.map(maskFieldChange) };
  if (Object.hasOwn(change, 'before')) out.before = before;
  if (Object.hasOwn(change, 'after')) out.after = after;
  return out;
}

const TEXT_SECRETS: readonly [RegExp, string][] = [
  [/\b(AKIA|ASIA)[A-Z0-9]{16}\b/g, '(sensitive)'],
  [/k8s-aws-v1\.[A-Za-z0-9_-]+/g, 'k8s-aws-v1.(sensitive)'],
  [/(Bearer\s+)[A-Za-z0-9._~+/=-]+/gi, '$1(sensitive)'],
  [/(X-Amz-(?:Security-Token|Signature|Credential)=)[^&\s"]+/gi, '$1(sensitive)'],
];

/**
 * Masks secrets in free text such as controller log lines: AWS access key ids, EKS and bearer tokens,
 * presigned-URL signatures, and the values of `"key":"value"` pairs whose key looks like a secret.
 */
export function maskSecrets(text: string): string {
  let out = text;
  for (const [re, by] of TEXT_SECRETS) out = out.replace(re, by);
  return out.replace(/"([A-Za-z0-9_.-]+)"\s*:\s*"((?:[^"\\]|\\.)*)"/g, (whole, key: string) =>
    isSensitiveKey(key) ? `"${key}":"${SENSITIVE}"` : whole,
  );
}
