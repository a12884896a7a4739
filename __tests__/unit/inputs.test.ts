import { readInputs } from '../../src/inputs.ts';
import { Refusal } from '../../src/errors.ts';

const reader = (values: Record<string, string>) => (name: string) => values[name] ?? '';

test('defaults: plan, the default config path, all stages, comment on, fail on drift', () => {
  const i = readInputs(reader({}));
  expect(i).toMatchObject({
    command: 'plan',
    config: '.github/karpenter.yaml',
    stages: ['prereqs', 'install', 'pools', 'verify'],
    comment: true,
    failOnDrift: true,
    roleSessionName: 'karpenter-action',
  });
  expect(i.cluster).toBeUndefined();
  expect(i.fingerprint).toBeUndefined();
});

test('apply requirements: all three by default, the base branch from the repository', () => {
  const i = readInputs(reader({}));
  expect(i.applyRequirements).toEqual(['approved', 'mergeable', 'undiverged']);
  expect(i.baseBranch).toBeUndefined();
});

test('apply requirements are deduplicated and put in a fixed order; base-branch takes a branch or its ref', () => {
  const i = readInputs(
    reader({
      'apply-requirements': ' undiverged,approved , approved',
      'base-branch': 'refs/heads/release/1.x',
    }),
  );
  expect(i.applyRequirements).toEqual(['approved', 'undiverged']);
  expect(i.baseBranch).toBe('release/1.x');
});

test('stages are deduplicated and put in pipeline order', () => {
  expect(readInputs(reader({ stages: 'verify, pools,pools' })).stages).toEqual(['pools', 'verify']);
});

test.each([
  [{ command: 'destroy' }, 'input "command" is "destroy"; use one of plan, apply, drift, verify'],
  [{ stages: 'pools,nodes' }, 'input "stages" names "nodes"'],
  [{ 'role-to-assume': 'arn:aws:iam::123:role/x' }, 'input "role-to-assume" is not an IAM role ARN'],
  [{ 'aws-region': 'moon-1' }, 'input "aws-region" is "moon-1"'],
  [{ comment: 'maybe' }, 'input "comment" is "maybe"; use true or false'],
  [{ fingerprint: 'abc' }, 'input "fingerprint" must be the 64-character hex fingerprint'],
  [
    { 'apply-requirements': 'approved,reviewed' },
    'input "apply-requirements" names "reviewed"; use a comma list out of approved, mergeable, undiverged',
  ],
  [
    { 'apply-requirements': ' , ' },
    'input "apply-requirements" names no requirement; use a comma list out of approved, mergeable, undiverged',
  ],
  [{ 'base-branch': 'feature..x' }, 'input "base-branch" is "feature..x", which is not a branch name'],
  [{ 'base-branch': 'my branch' }, 'input "base-branch" is "my branch", which is not a branch name'],
])('bad input %j is refused with a message naming it', (values, message) => {
  expect(() => readInputs(reader(values))).toThrow(Refusal);
  try {
    readInputs(reader(values));
  } catch (e) {
    expect((e as Refusal).details.join('\n')).toContain(message);
  }
});

test('all problems are reported together', () => {
  try {
    readInputs(reader({ command: 'x', comment: 'y', 'aws-region': 'z' }));
    throw new Error('expected a refusal');
  } catch (e) {
    expect(e).toBeInstanceOf(Refusal);
    expect((e as Refusal).details).toHaveLength(3);
  }
});

test('valid values are parsed', () => {
  const i = readInputs(
    reader({
      command: 'apply',
      'role-to-assume': 'arn:aws:iam::123456789012:role/karpenter-action-apply',
      'aws-region': 'eu-west-1',
      comment: 'false',
      'fail-on-drift': 'no',
      fingerprint: 'A'.repeat(64),
      cluster: ' weasel-eks ',
    }),
  );
  expect(i).toMatchObject({
    command: 'apply',
    roleToAssume: 'arn:aws:iam::123456789012:role/karpenter-action-apply',
    awsRegion: 'eu-west-1',
    comment: false,
    failOnDrift: false,
    fingerprint: 'a'.repeat(64),
    cluster: 'weasel-eks',
  });
});
