import type { Change, FieldChange } from '../plan/model.ts';

/** What a renderer prints in place of a value whose key looks like a secret. */
export const SENSITIVE = '(sensitive)';
/** The after-side of a sensitive value that differs from the before-side, so the change stays visible. */
export const SENSITIVE_CHANGED = '(sensitive, changed)';

/** Endings of a key (lower-cased, separators removed) that name a secret whatever precedes them. */
const SECRET_WORDS = new Set([
  'password',
  'passwd',
  'passphrase',
  'secret',
  'token',
  'credential',
  'credentials',
  'creds',
  'apikey',
  'privatekey',
  'secretaccesskey',
  'sessiontoken',
  'clientsecret',
  'kubeconfig',
  'dockerconfigjson',
  'dockercfg',
]);

/**
 * Words before a final `key` that make it the name of something rather than key material: a taint's
 * or requirement's `key`, `topologyKey`, `labelKey`, `matchLabelKeys`, `kmsKey`.
 */
const NAMING_KEY_WORDS = new Set([
  'topology',
  'label',
  'labels',
  'match',
  'selector',
  'sort',
  'partition',
  'kms',
  'node',
  'taint',
  'annotation',
  'cache',
  'primary',
  'foreign',
  'hash',
  'routing',
  'lookup',
  'tag',
  'field',
  'object',
  'idempotency',
]);

/** Key names that are key material by their file name: `tls.key`, `server-key.pem`, `id_rsa`. */
const KEY_FILE = /(?:\.(?:key|pem|p12|pfx|jks|keystore)|^id_(?:rsa|dsa|ecdsa|ed25519))$/i;

function wordsOf(key: string): string[] {
  return key
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1 $2')
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter((w) => w !== '');
}

/**
 * True for keys such as `token`, `password`, `clientSecret`, `credentials`, `secretAccessKey`,
 * `AWS_SECRET_ACCESS_KEY`, `adminpassword`, `privateKey`, `tls.key` or `server-key.pem`. Matching is on
 * the end of the key so that `httpTokens`, `secretName`, `keyName` or `tokenExpirationSeconds`, which are
 * configuration and not secrets, stay readable; a bare `key`, `topologyKey` or `labelKey` names a
 * label in Kubernetes (taints, requirements, affinities) and stays readable too.
 */
export function isSensitiveKey(key: string): boolean {
  const flat = key.toLowerCase().replace(/[^a-z0-9]/g, '');
  for (const word of SECRET_WORDS) if (flat.endsWith(word)) return true;
  if (KEY_FILE.test(key) && !/\.pub$/i.test(key)) return true;
  const words = wordsOf(key);
  const last = words[words.length - 1];
  if (last === 'key' && words.length >= 2) return !NAMING_KEY_WORDS.has(words[words.length - 2] ?? '');
  return false;
}

/** Text patterns whose matched part is a secret, with what replaces it. */
const TEXT_SECRETS: readonly [RegExp, string][] = [
  [
    /-----BEGIN ((?:[A-Z0-9]+ )*PRIVATE KEY)-----[\s\S]*?(?:-----END \1-----|$)/g,
    '-----BEGIN $1-----(sensitive)-----END $1-----',
  ],
  [/\b(AKIA|ASIA)[A-Z0-9]{16}\b/g, '(sensitive)'],
  [/k8s-aws-v1\.[A-Za-z0-9_-]+/g, 'k8s-aws-v1.(sensitive)'],
  [/(Bearer\s+)[A-Za-z0-9._~+/=-]+/gi, '$1(sensitive)'],
  [/(X-Amz-(?:Security-Token|Signature|Credential)=)[^&\s"]+/gi, '$1(sensitive)'],
  [/\b([a-z][a-z0-9+.-]*:\/\/)([^\s/?#@:"']+):([^\s/?#@"']+)@/gi, '$1$2:(sensitive)@'],
  [
    /\b((?:aws_)?(?:secret_access_key|session_token|security_token)\s*[=:]\s*["']?)[^\s"'&,;]+/gi,
    '$1(sensitive)',
  ],
  [/\b(gh[pousr]_)[A-Za-z0-9]{20,}/g, '$1(sensitive)'],
  [/\bgithub_pat_[A-Za-z0-9_]{20,}/g, 'github_pat_(sensitive)'],
];

/**
 * Masks secrets in free text such as controller log lines or a string value in a manifest: private
 * key PEM blocks, AWS access key ids, `aws_secret_access_key=...`, EKS, GitHub and bearer tokens,
 * presigned-URL signatures, the password in a URL's user-info, and the values of `"key":"value"`
 * pairs whose key looks like a secret. The rest of the text stays readable.
 */
export function maskSecrets(text: string): string {
  let out = text;
  for (const [re, by] of TEXT_SECRETS) out = out.replace(re, by);
  return out.replace(/"([A-Za-z0-9_.-]+)"\s*:\s*"((?:[^"\\]|\\.)*)"/g, (whole, key: string) =>
    isSensitiveKey(key) ? `"${key}":"${SENSITIVE}"` : whole,
  );
}

type Json = Record<string, unknown>;

const isRecord = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

function isKubeSecret(v: unknown): boolean {
  return isRecord(v) && v.kind === 'Secret' && (v.apiVersion === undefined || v.apiVersion === 'v1');
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

/** Every leaf masked, the keys kept, so a reader still sees which entries exist and which changed. */
function maskAll(before: unknown, after: unknown): [unknown, unknown] {
  if (isRecord(before) || isRecord(after)) {
    const b = isRecord(before) ? before : undefined;
    const a = isRecord(after) ? after : undefined;
    const outB: Json = {};
    const outA: Json = {};
    for (const key of new Set([...Object.keys(b ?? {}), ...Object.keys(a ?? {})])) {
      const [mb, ma] = maskAll(b?.[key], a?.[key]);
      if (b && Object.hasOwn(b, key)) outB[key] = mb;
      if (a && Object.hasOwn(a, key)) outA[key] = ma;
    }
    return [b ? outB : maskAll(before, undefined)[0], a ? outA : maskAll(undefined, after)[1]];
  }
  if (Array.isArray(before) || Array.isArray(after)) {
    const b = Array.isArray(before) ? before : undefined;
    const a = Array.isArray(after) ? after : undefined;
    const outB: unknown[] = [];
    const outA: unknown[] = [];
    for (let i = 0; i < Math.max(b?.length ?? 0, a?.length ?? 0); i++) {
      const [mb, ma] = maskAll(b?.[i], a?.[i]);
      if (b && i < b.length) outB.push(mb);
      if (a && i < a.length) outA.push(ma);
    }
    return [b ? outB : maskAll(before, undefined)[0], a ? outA : maskAll(undefined, after)[1]];
  }
  return maskLeaf(before, after);
}

/**
 * Strings with the secret parts of their text masked. When masking makes two different strings look
 * the same, the after-side says the secret changed.
 */
function maskText(before: unknown, after: unknown): [unknown, unknown] {
  const b = typeof before === 'string' ? maskSecrets(before) : before;
  const a = typeof after === 'string' ? maskSecrets(after) : after;
  const hid = b !== before || a !== after;
  if (hid && typeof a === 'string' && b === a && before !== after) return [b, `${a} ${SENSITIVE_CHANGED}`];
  return [b, a];
}

/**
 * Both sides of a change with every secret-looking value replaced: values under secret-looking keys,
 * the `data` and `stringData` entries of a Kubernetes Secret, the `value` next to a secret-looking
 * `name`, and secrets inside strings (see maskSecrets). A secret that differs between the sides is
 * shown as changed without showing either value.
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
      const masked =
        isSensitiveKey(key) || (namedSecret && key === 'value') || (secretData && SECRET_DATA.has(key))
          ? maskAll(bv, av)
          : maskSensitivePair(bv, av);
      if (b && Object.hasOwn(b, key)) outB[key] = masked[0];
      if (a && Object.hasOwn(a, key)) outA[key] = masked[1];
    }
    return [b ? outB : undefined, a ? outA : undefined];
  }
  return maskText(before, after);
}

/** One value with every secret-looking value replaced; see maskSensitivePair. */
export function maskSensitive(value: unknown): unknown {
  return maskSensitivePair(value, undefined)[0];
}

const SECRET_DATA = new Set(['data', 'stringData']);

/**
 * The keys of a field path in each form the plan writes: `data["server-key.pem"]`, `data.tls\\.key`,
 * `Statement[Sid].Action`, `items[0].value`. Indexes become numbers.
 */
export function readPathSegments(path: string): (string | number)[] {
  const out: (string | number)[] = [];
  let i = 0;
  while (i < path.length) {
    const c = path[i];
    if (c === '.') {
      i++;
    } else if (c === '[') {
      const close = path[i + 1] === '"' ? closingQuote(path, i + 1) : path.indexOf(']', i);
      if (close < 0) {
        out.push(path.slice(i + 1));
        break;
      }
      if (path[i + 1] === '"') {
        out.push(parseQuoted(path.slice(i + 1, close + 1)));
        i = close + 2;
      } else {
        const inner = path.slice(i + 1, close);
        out.push(/^\d+$/.test(inner) ? Number(inner) : inner);
        i = close + 1;
      }
    } else {
      let key = '';
      let j = i;
      for (; j < path.length && path[j] !== '.' && path[j] !== '['; j++) {
        if (path[j] === '\\' && j + 1 < path.length) j++;
        key += path[j] ?? '';
      }
      out.push(key);
      i = j;
    }
  }
  return out;
}

function closingQuote(path: string, open: number): number {
  for (let j = open + 1; j < path.length; j++) {
    if (path[j] === '\\') j++;
    else if (path[j] === '"') return j;
  }
  return -1;
}

function parseQuoted(quoted: string): string {
  try {
    const v: unknown = JSON.parse(quoted);
    return typeof v === 'string' ? v : quoted;
  } catch {
    return quoted.slice(1, -1);
  }
}

/** A Kubernetes Secret by its objects or, when they lack `kind`, by its ref or kind. */
function changesSecret(change: Change): boolean {
  return (
    isKubeSecret(change.before) ||
    isKubeSecret(change.after) ||
    /^k8s:v1\/Secret\//.test(change.ref) ||
    change.kind === 'Secret'
  );
}

/** A Secret's two sides: its `data` and `stringData` masked entry by entry, the rest as anything else. */
function maskSecretObject(before: unknown, after: unknown): [unknown, unknown] {
  if (!isRecord(before) && !isRecord(after)) return maskAll(before, after);
  const b = isRecord(before) ? before : undefined;
  const a = isRecord(after) ? after : undefined;
  const outB: Json = {};
  const outA: Json = {};
  for (const key of new Set([...Object.keys(b ?? {}), ...Object.keys(a ?? {})])) {
    const [mb, ma] = SECRET_DATA.has(key)
      ? maskAll(b?.[key], a?.[key])
      : maskSensitivePair(b?.[key], a?.[key]);
    if (b && Object.hasOwn(b, key)) outB[key] = mb;
    if (a && Object.hasOwn(a, key)) outA[key] = ma;
  }
  return [b ? outB : maskAll(before, undefined)[0], a ? outA : maskAll(undefined, after)[1]];
}

function maskFieldChange(fc: FieldChange, secret: boolean): FieldChange {
  const segments = readPathSegments(fc.path);
  const first = segments[0];
  let masked: [unknown, unknown];
  if (segments.some((s) => typeof s === 'string' && isSensitiveKey(s))) masked = maskAll(fc.before, fc.after);
  else if (secret && first === undefined) masked = maskSecretObject(fc.before, fc.after);
  else if (secret && typeof first === 'string' && SECRET_DATA.has(first))
    masked = maskAll(fc.before, fc.after);
  else masked = maskSensitivePair(fc.before, fc.after);
  const out: FieldChange = { path: fc.path, op: fc.op };
  if (Object.hasOwn(fc, 'before')) out.before = masked[0];
  if (Object.hasOwn(fc, 'after')) out.after = masked[1];
  return out;
}

/**
 * A copy of the change that is safe to print: before, after and field changes masked. A Secret's
 * data is masked by where it sits (the change's kind and the value's path), whatever its keys look
 * like, so `data["server-key.pem"]` is as hidden as `data.password`.
 */
export function maskChange(change: Change): Change {
  const secret = changesSecret(change);
  const [before, after] = secret
    ? maskSecretObject(change.before, change.after)
    : maskSensitivePair(change.before, change.after);
  const out: Change = {
    ...change,
    fieldChanges: change.fieldChanges.map((fc) => maskFieldChange(fc, secret)),
  };
  if (Object.hasOwn(change, 'before')) out.before = before;
  if (Object.hasOwn(change, 'after')) out.after = after;
  return out;
}
