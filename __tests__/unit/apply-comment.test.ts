import { parseApplyComment } from '../../src/github/apply-comment.ts';

test.each([
  ['/karpenter apply', { kind: 'apply' }],
  ['  /karpenter apply  ', { kind: 'apply' }],
  ['\n\n/karpenter apply\r\nthanks, looks good', { kind: 'apply' }],
  ['/karpenter apply prod-eks', { kind: 'apply', cluster: 'prod-eks' }],
  ['/karpenter apply --cluster prod-eks', { kind: 'apply', cluster: 'prod-eks' }],
  ['/karpenter apply --cluster=prod_eks2', { kind: 'apply', cluster: 'prod_eks2' }],
  ['/karpenter   apply\tprod-eks', { kind: 'apply', cluster: 'prod-eks' }],
])('%j is an apply', (body, expected) => {
  expect(parseApplyComment(body)).toEqual(expected);
});

test.each([
  ['', 'an empty comment'],
  ['   \n  ', 'a blank comment'],
  ['> /karpenter apply', 'a quote of the command'],
  ['> /karpenter apply\n\nwhy did this not run?', 'a quote followed by prose'],
  ['```\n/karpenter apply\n```', 'a fenced code block'],
  ['~~~\n/karpenter apply\n~~~', 'a tilde code block'],
  ['    /karpenter apply', 'an indented code block'],
  ['`/karpenter apply`', 'inline code'],
  ['please run /karpenter apply', 'a mention in prose'],
  ['LGTM\n/karpenter apply', 'the command after other text'],
  ['/karpenter plan', 'another command'],
  ['/karpenter applyall', 'a longer word'],
  ['/karpenter', 'the prefix alone'],
  ['/atlantis apply', "another tool's command"],
  ['/Karpenter apply', 'another spelling of the prefix'],
])('%j is not an apply (%s)', (body) => {
  expect(parseApplyComment(body)).toBeUndefined();
});

test.each([
  ['/karpenter apply --force', /unknown flag "--force"; use "\/karpenter apply"/],
  ['/karpenter apply prod-eks -y', /unknown flag "-y"/],
  ['/karpenter apply --cluster', /--cluster needs a cluster name/],
  ['/karpenter apply --cluster --auto', /--cluster needs a cluster name/],
  ['/karpenter apply a b', /name one cluster per comment \(got "a" and "b"\)/],
  ['/karpenter apply --cluster a b', /name one cluster per comment/],
  ['/karpenter apply prod/eks', /"prod\/eks" is not a cluster name/],
])('%j is answered, not ignored', (body, message) => {
  const r = parseApplyComment(body);
  expect(r?.kind).toBe('invalid');
  expect(r?.kind === 'invalid' ? r.message : '').toMatch(message);
});
