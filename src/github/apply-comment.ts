/** What a pull request comment asks for: an apply (of one cluster or the only one), or a malformed apply to answer. */
export type ApplyComment =
  { kind: 'apply'; cluster?: string } | { kind: 'invalid'; message: string } | undefined;

const CLUSTER_NAME = /^[0-9A-Za-z][A-Za-z0-9\-_]{0,99}$/;
const USAGE =
  'use "/karpenter apply", "/karpenter apply <cluster>" or "/karpenter apply --cluster <cluster>"';

/**
 * Recognises `/karpenter apply` only as the first non-empty line of a comment, so a quote of
 * someone else's command, a code sample or a mention in prose never starts an apply. A comment that
 * clearly means the command but has arguments it cannot take gets an answer instead of silence.
 */
export function parseApplyComment(body: string): ApplyComment {
  const first = body.split(/\r?\n/).find((l) => l.trim() !== '');
  if (first === undefined) return undefined;
  if (/^( {4}|\t)/.test(first)) return undefined;
  const words = first.trim().split(/\s+/);
  if (words[0] !== '/karpenter' || words[1] !== 'apply') return undefined;
  const args = words.slice(2);
  let cluster: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    let name: string | undefined;
    if (a === '--cluster') {
      name = args[++i];
      if (name === undefined || name.startsWith('-'))
        return { kind: 'invalid', message: `--cluster needs a cluster name; ${USAGE}` };
    } else if (a.startsWith('--cluster=')) {
      name = a.slice('--cluster='.length);
    } else if (a.startsWith('-')) {
      return { kind: 'invalid', message: `unknown flag "${a}"; ${USAGE}` };
    } else {
      name = a;
    }
    if (cluster !== undefined)
      return { kind: 'invalid', message: `name one cluster per comment (got "${cluster}" and "${name}")` };
    if (!CLUSTER_NAME.test(name))
      return { kind: 'invalid', message: `"${name}" is not a cluster name; ${USAGE}` };
    cluster = name;
  }
  return cluster === undefined ? { kind: 'apply' } : { kind: 'apply', cluster };
}
