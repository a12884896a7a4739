import {
  buildAssumeRoleDenied,
  buildOidcAudience,
  buildPrincipalArn,
  evaluateStsError,
  OidcUnavailable,
  renderTokenClaims,
} from '../../src/adapters/aws-credentials.ts';
import { renderAccessFix } from '../../src/adapters/kube-access.ts';
import { Refusal } from '../../src/errors.ts';

const jwt = (claims: unknown, signature = 'c2lnbmF0dXJlLWJ5dGVzLXRoYXQtbXVzdC1uZXZlci1sZWFr') =>
  `${Buffer.from('{"alg":"RS256","typ":"JWT"}').toString('base64url')}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.${signature}`;

describe('buildPrincipalArn', () => {
  test.each([
    [
      'an assumed-role session becomes its role',
      'arn:aws:sts::111122223333:assumed-role/karpenter-plan/ci-42',
      undefined,
      { arn: 'arn:aws:iam::111122223333:role/karpenter-plan', kind: 'role', pathKnown: false },
    ],
    [
      'role-to-assume puts back the path STS leaves out',
      'arn:aws:sts::111122223333:assumed-role/karpenter-plan/ci-42',
      'arn:aws:iam::111122223333:role/platform/ci/karpenter-plan',
      { arn: 'arn:aws:iam::111122223333:role/platform/ci/karpenter-plan', kind: 'role', pathKnown: true },
    ],
    [
      'a role-to-assume of another role is not used',
      'arn:aws:sts::111122223333:assumed-role/karpenter-plan/ci-42',
      'arn:aws:iam::111122223333:role/platform/karpenter-apply',
      { arn: 'arn:aws:iam::111122223333:role/karpenter-plan', kind: 'role', pathKnown: false },
    ],
    [
      'a role-to-assume in another account is not used',
      'arn:aws:sts::111122223333:assumed-role/karpenter-plan/ci-42',
      'arn:aws:iam::444455556666:role/ci/karpenter-plan',
      { arn: 'arn:aws:iam::111122223333:role/karpenter-plan', kind: 'role', pathKnown: false },
    ],
    [
      'the China partition is kept',
      'arn:aws-cn:sts::111122223333:assumed-role/deployer/s',
      undefined,
      { arn: 'arn:aws-cn:iam::111122223333:role/deployer', kind: 'role', pathKnown: false },
    ],
    [
      'an IAM user stays itself',
      'arn:aws:iam::111122223333:user/ops/alice',
      undefined,
      { arn: 'arn:aws:iam::111122223333:user/ops/alice', kind: 'user', pathKnown: true },
    ],
    [
      'a role ARN with a path keeps it',
      'arn:aws:iam::111122223333:role/a/b/deployer',
      undefined,
      { arn: 'arn:aws:iam::111122223333:role/a/b/deployer', kind: 'role', pathKnown: true },
    ],
    [
      'the account root is passed through',
      'arn:aws:iam::111122223333:root',
      undefined,
      { arn: 'arn:aws:iam::111122223333:root', kind: 'other', pathKnown: true },
    ],
  ])('%s', (_name, caller, known, expected) => {
    expect(buildPrincipalArn(caller, known)).toMatchObject(expected);
  });

  test('the aws-auth spelling never carries a path', () => {
    expect(
      buildPrincipalArn(
        'arn:aws:sts::111122223333:assumed-role/karpenter-plan/ci-42',
        'arn:aws:iam::111122223333:role/platform/ci/karpenter-plan',
      ).pathFreeArn,
    ).toBe('arn:aws:iam::111122223333:role/karpenter-plan');
  });
});

describe('renderTokenClaims', () => {
  test('shows sub, aud and iss from the payload', () => {
    const token = jwt({
      iss: 'https://token.actions.githubusercontent.com',
      aud: 'sts.amazonaws.com',
      sub: 'repo:acme/infra:environment:production',
      repository: 'acme/infra',
    });
    expect(renderTokenClaims(token)).toBe(
      'sub "repo:acme/infra:environment:production", aud "sts.amazonaws.com", iss "https://token.actions.githubusercontent.com"',
    );
  });

  test('a list audience and a missing claim are shown as such', () => {
    expect(renderTokenClaims(jwt({ aud: ['sts.amazonaws.com', 'other'] }))).toBe(
      'sub (none), aud "sts.amazonaws.com", "other", iss (none)',
    );
  });

  test.each([['not-a-jwt'], ['a.b.c'], [`x.${Buffer.from('[1,2]').toString('base64url')}.y`], ['']])(
    'an undecodable token %p gives a fixed sentence, nothing of the token',
    (token) => {
      expect(renderTokenClaims(token)).toBe("the token's claims could not be decoded");
    },
  );
});

describe('buildAssumeRoleDenied', () => {
  const token = jwt({
    iss: 'https://token.actions.githubusercontent.com',
    aud: 'sts.amazonaws.com',
    sub: 'repo:acme/infra:pull_request',
  });
  const refusal = buildAssumeRoleDenied(
    'arn:aws:iam::111122223333:role/karpenter-plan',
    token,
    'Not authorized to perform sts:AssumeRoleWithWebIdentity',
  );
  const text = [refusal.message, ...refusal.details].join('\n');

  test('is a Refusal naming the role, the claims to match and the OIDC provider', () => {
    expect(refusal).toBeInstanceOf(Refusal);
    expect(refusal.message).toBe(
      "cannot assume arn:aws:iam::111122223333:role/karpenter-plan with this job's GitHub OIDC token (AccessDenied)",
    );
    expect(text).toContain('sub "repo:acme/infra:pull_request", aud "sts.amazonaws.com"');
    expect(text).toContain('arn:aws:iam::111122223333:oidc-provider/token.actions.githubusercontent.com');
    expect(text).toContain('token.actions.githubusercontent.com:aud = sts.amazonaws.com');
    expect(text).toContain('AWS said: Not authorized to perform sts:AssumeRoleWithWebIdentity');
  });

  test('never contains the token or any of its parts', () => {
    for (const part of token.split('.')) expect(text).not.toContain(part);
  });

  test('says which subject format the token has and the iam-policy flags whose trust matches it', () => {
    const denied = (sub: string) => {
      const r = buildAssumeRoleDenied(
        'arn:aws:iam::111122223333:role/karpenter-plan',
        jwt({ aud: 'sts.amazonaws.com', sub }),
        'denied',
      );
      return r.details.join('\n');
    };
    expect(text).toContain(
      'the subject is name-only (repo:acme/infra:...): write the trust policy with `karpenter-action iam-policy --repository acme/infra`',
    );
    expect(denied('repo:octocat@123456/my-repo@456789:ref:refs/heads/main')).toContain(
      "the subject has GitHub's immutable IDs (owner octocat is 123456, repository my-repo is 456789): write the trust policy with `karpenter-action iam-policy --repository octocat/my-repo --owner-id 123456 --repository-id 456789`",
    );
    // a name that ends in digits is still a name
    expect(denied('repo:team-42/infra-2026:pull_request')).toContain(
      'the subject is name-only (repo:team-42/infra-2026:...)',
    );
    expect(
      denied('repository_owner:acme:job_workflow_ref:acme/infra/.github/workflows/plan.yml@refs/heads/main'),
    ).toContain('the subject follows a custom template');
  });
});

describe('evaluateStsError', () => {
  const err = (name: string, status?: number) =>
    Object.assign(new Error(name), {
      name,
      $metadata: status === undefined ? {} : { httpStatusCode: status },
    });
  test.each([
    ['AccessDenied', 403, 'denied'],
    ['Throttling', 400, 'retry'],
    ['IDPCommunicationError', 400, 'retry'],
    ['IDPCommunicationErrorException', 400, 'retry'],
    ['InvalidIdentityTokenException', 400, 'retry'],
    ['InternalFailure', 500, 'retry'],
    ['SomethingNew', 429, 'retry'],
    ['TimeoutError', undefined, 'retry'],
    ['MalformedPolicyDocument', 400, 'fail'],
    ['ValidationError', 400, 'fail'],
  ])('%s (%p) -> %s', (name, status, verdict) => {
    expect(evaluateStsError(err(name, status))).toBe(verdict);
  });

  test('a socket error is retried', () => {
    expect(evaluateStsError(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }))).toBe(
      'retry',
    );
  });
});

test('OidcUnavailable is a distinct Refusal that says what to add and why forks get nothing', () => {
  const e = new OidcUnavailable('ACTIONS_ID_TOKEN_REQUEST_URL');
  expect(e).toBeInstanceOf(Refusal);
  expect(e.message).toBe(
    'role-to-assume is set but this job got no GitHub OIDC token (ACTIONS_ID_TOKEN_REQUEST_URL is not set)',
  );
  expect(e.details.join('\n')).toMatch(/permissions: id-token: write/);
  expect(e.details.join('\n')).toMatch(/forks never get an OIDC token.*a maintainer must run the plan/);
});

test('the audience follows the partition', () => {
  expect(buildOidcAudience('arn:aws:iam::111122223333:role/r')).toBe('sts.amazonaws.com');
  expect(buildOidcAudience('arn:aws-cn:iam::111122223333:role/r')).toBe('sts.amazonaws.com.cn');
});

describe('renderAccessFix', () => {
  const role = buildPrincipalArn('arn:aws:sts::111122223333:assumed-role/karpenter-plan/ci');
  test('API mode: the two aws eks commands, and the path caveat when the path is unknown', () => {
    const lines = renderAccessFix(role, 'weasel-eks', 'us-east-1', 'API');
    expect(lines).toContain(
      'aws eks create-access-entry --cluster-name weasel-eks --principal-arn arn:aws:iam::111122223333:role/karpenter-plan --region us-east-1',
    );
    expect(lines).toContain(
      'aws eks associate-access-policy --cluster-name weasel-eks --principal-arn arn:aws:iam::111122223333:role/karpenter-plan --policy-arn arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy --access-scope type=cluster --region us-east-1',
    );
    expect(lines.join('\n')).toMatch(/STS does not report role paths/);
  });

  test('a known path goes into the access entry and the caveat is left out', () => {
    const withPath = buildPrincipalArn(
      'arn:aws:sts::111122223333:assumed-role/karpenter-plan/ci',
      'arn:aws:iam::111122223333:role/ci/karpenter-plan',
    );
    const text = renderAccessFix(withPath, 'c', 'eu-west-1', 'API_AND_CONFIG_MAP').join('\n');
    expect(text).toContain('--principal-arn arn:aws:iam::111122223333:role/ci/karpenter-plan ');
    expect(text).not.toMatch(/STS does not report role paths/);
  });

  test('CONFIG_MAP mode: a path-free mapRoles entry with system:masters', () => {
    const withPath = buildPrincipalArn(
      'arn:aws:sts::111122223333:assumed-role/karpenter-plan/ci',
      'arn:aws:iam::111122223333:role/ci/karpenter-plan',
    );
    const [first] = renderAccessFix(withPath, 'c', 'eu-west-1', 'CONFIG_MAP');
    expect(first).toContain(
      [
        '- rolearn: arn:aws:iam::111122223333:role/karpenter-plan',
        '  username: karpenter-action',
        '  groups:',
        '    - system:masters',
      ].join('\n'),
    );
  });

  test('an IAM user goes to mapUsers', () => {
    const user = buildPrincipalArn('arn:aws:iam::111122223333:user/alice');
    const [first] = renderAccessFix(user, 'c', 'eu-west-1', undefined);
    expect(first).toMatch(/mode is CONFIG_MAP \(DescribeCluster reported none\): add this entry to mapUsers/);
    expect(first).toContain('- userarn: arn:aws:iam::111122223333:user/alice');
  });
});
