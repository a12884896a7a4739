import { globSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { loadConfig, type ClusterConfig } from '../../src/config/load.ts';
import {
  AWS_ACTIONS,
  buildIamPolicyDocument,
  buildPermissionsPolicy,
  buildIamPolicyContext,
  CLUSTER_ADMIN_ACCESS_POLICY,
  INLINE_POLICY_LIMIT,
  MANAGED_POLICY_LIMIT,
  NO_PERMISSION_COMMANDS,
  policySize,
  runIamPolicy,
  suggestedRoleNames,
  type IamPolicyDocument,
} from '../../src/commands/iam-policy.ts';
import { Refusal } from '../../src/errors.ts';
import { buildPlannerObjects, PLANNER_GROUP } from '../../src/stages/prereqs/planner-access.ts';
import type { PolicyDocument } from '../../src/versions/index.ts';

const ROOT = resolve(import.meta.dirname, '../..');
const ACCOUNT = '123456789012';

/** Every AWS SDK command the source sends, as `client-<service>:<Name>Command`, found by reading `src/`. */
function scanSentCommands(): { sent: Map<string, string[]>; unresolved: string[] } {
  const sent = new Map<string, string[]>();
  const unresolved: string[] = [];
  for (const file of globSync('src/**/*.ts', { cwd: ROOT })) {
    const text = readFileSync(join(ROOT, file), 'utf8');
    const imported = new Map<string, string>();
    for (const m of text.matchAll(
      /import\s+(?:type\s+)?\{([^}]*)\}\s*from\s*'@aws-sdk\/(client-[a-z0-9-]+)'/g,
    )) {
      for (const raw of m[1]!.split(',')) {
        const spec = raw.trim().replace(/^type\s+/, '');
        if (!spec) continue;
        const [name, alias] = spec.split(/\s+as\s+/);
        imported.set((alias ?? name)!.trim(), `${m[2]!}:${name!.trim()}`);
      }
    }
    for (const m of text.matchAll(/new\s+(\w+Command)\s*\(/g)) {
      const key = imported.get(m[1]!);
      if (!key) {
        unresolved.push(`${file}: ${m[1]!}`);
        continue;
      }
      sent.set(key, [...(sent.get(key) ?? []), file]);
    }
  }
  return { sent, unresolved };
}

function writeConfig(config: string, files: Record<string, string> = {}): string {
  const dir = mkdtempSync(join(tmpdir(), 'ka-iam-'));
  mkdirSync(join(dir, '.github'), { recursive: true });
  writeFileSync(join(dir, '.github/karpenter.yaml'), config);
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(join(dir, '.github', name, '..'), { recursive: true });
    writeFileSync(join(dir, '.github', name), text);
  }
  return dir;
}

const FLEET = `karpenter:
  version: 1.14.1
clusters:
  - cluster: alpha-eks
    region: us-east-1
    prereqs:
      nodeRoleName: alpha-nodes
      controllerRoleName: alpha-controller
      interruptionQueue: alpha-interruptions
    install:
      migration:
        enabled: true
  - cluster: beta-eks
    region: eu-west-1
    prereqs:
      identity: irsa
      nodeAccess: aws-auth
      spotRole: never
`;

const fleetDir = writeConfig(FLEET);
const fleet = loadConfig('.github/karpenter.yaml', fleetDir).config!;
const [alpha, beta] = fleet.clusters as [ClusterConfig, ClusterConfig];

const actionsOf = (doc: PolicyDocument) =>
  new Set(doc.Statement.flatMap((s) => (Array.isArray(s.Action) ? s.Action : [s.Action!])));
const resourcesOf = (doc: PolicyDocument) =>
  new Set(doc.Statement.flatMap((s) => (Array.isArray(s.Resource) ? s.Resource : [s.Resource!])));
const policy = (c: ClusterConfig, role: 'plan' | 'apply') =>
  buildPermissionsPolicy(buildIamPolicyContext(c, { account: ACCOUNT }), role);

describe('coverage of the AWS calls in src/', () => {
  const { sent, unresolved } = scanSentCommands();
  const known = new Set([...AWS_ACTIONS.map((a) => a.sdk), ...NO_PERMISSION_COMMANDS]);
  const applyActions = new Set([...actionsOf(policy(alpha, 'apply')), ...actionsOf(policy(beta, 'apply'))]);
  const planActions = new Set([...actionsOf(policy(alpha, 'plan')), ...actionsOf(policy(beta, 'plan'))]);

  test('the scan finds the calls it must (a sanity check of the scan itself)', () => {
    expect(unresolved).toEqual([]);
    expect(sent.get('client-eks:DescribeClusterCommand')?.length).toBeGreaterThan(1);
    expect(sent.has('client-iam:CreateRoleCommand')).toBe(true);
    expect(sent.has('client-eventbridge:ListTagsForResourceCommand')).toBe(true);
    expect(sent.size).toBeGreaterThan(40);
  });

  test('every command the source sends maps to IAM actions', () => {
    const missing = [...sent.keys()]
      .filter((k) => !known.has(k))
      .map((k) => `${k} (${sent.get(k)!.join(', ')})`);
    expect(missing).toEqual([]);
  });

  test('every mapped action is in the apply policy, and every read in the plan policy', () => {
    for (const [sdk] of sent) {
      for (const a of AWS_ACTIONS.filter((x) => x.sdk === sdk)) {
        expect([sdk, a.action, applyActions.has(a.action)]).toEqual([sdk, a.action, true]);
        if (a.access === 'read')
          expect([sdk, a.action, planActions.has(a.action)]).toEqual([sdk, a.action, true]);
      }
    }
  });

  test('the mapping names no command the source does not send', () => {
    expect([...known].filter((k) => !sent.has(k))).toEqual([]);
  });

  test('reads are exactly the Get, List and Describe actions; the plan policy has no write', () => {
    for (const a of AWS_ACTIONS) {
      const verb = a.action.split(':')[1]!;
      expect([a.action, a.access]).toEqual([a.action, /^(Get|List|Describe)/.test(verb) ? 'read' : 'write']);
    }
    const writes = new Set(AWS_ACTIONS.filter((a) => a.access === 'write').map((a) => a.action));
    expect([...planActions].filter((a) => writes.has(a))).toEqual([]);
    expect([...planActions].every((a) => /^[a-z0-9]+:(Get|List|Describe)/.test(a))).toBe(true);
  });

  test('config choices leave out the writes they never need', () => {
    const a = actionsOf(policy(alpha, 'apply'));
    const b = actionsOf(policy(beta, 'apply'));
    expect(a.has('iam:PassRole')).toBe(true);
    expect(a.has('eks:CreatePodIdentityAssociation')).toBe(true);
    expect(a.has('iam:CreateOpenIDConnectProvider')).toBe(false);
    expect(a.has('eks:UpdateNodegroupConfig')).toBe(true);
    expect(b.has('iam:PassRole')).toBe(false);
    expect(b.has('eks:CreateAddon')).toBe(false);
    expect(b.has('iam:CreateOpenIDConnectProvider')).toBe(true);
    expect(b.has('eks:CreateAccessEntry')).toBe(false);
    expect(b.has('iam:CreateServiceLinkedRole')).toBe(false);
    expect(b.has('eks:UpdateNodegroupConfig')).toBe(false);
  });
});

const CONDITION_OPERATORS =
  /^(ForAllValues:|ForAnyValue:)?(StringEquals|StringLike|ArnEquals|ArnLike|Null|Bool)$/;

function expectValidPolicy(doc: PolicyDocument, kind: 'permissions' | 'trust') {
  expect(doc.Version).toBe('2012-10-17');
  expect(doc.Statement.length).toBeGreaterThan(0);
  const sids = doc.Statement.map((s) => s.Sid);
  expect(new Set(sids).size).toBe(sids.length);
  for (const s of doc.Statement) {
    expect(s.Sid).toMatch(/^[A-Za-z0-9]+$/);
    expect(s.Effect).toBe('Allow');
    const actions = Array.isArray(s.Action) ? s.Action : [s.Action];
    expect(actions.length).toBeGreaterThan(0);
    for (const a of actions) expect(a).toMatch(/^[a-z0-9-]+:[A-Za-z]+$/);
    if (kind === 'permissions') {
      const res = Array.isArray(s.Resource) ? s.Resource : [s.Resource];
      expect(res.length).toBeGreaterThan(0);
      for (const r of res) expect(r).toMatch(/^(\*|arn:aws:[a-z0-9-]+:[a-z0-9-]*:(\d{12}|aws)?:.+)$/);
      expect(s.Principal).toBeUndefined();
    } else {
      expect(s.Resource).toBeUndefined();
      expect(s.Principal).toBeDefined();
    }
    for (const op of Object.keys(s.Condition ?? {})) expect(op).toMatch(CONDITION_OPERATORS);
  }
}

describe('the documents', () => {
  const doc = buildIamPolicyDocument(alpha, {
    role: 'both',
    account: ACCOUNT,
    repository: 'acme/platform',
    environment: 'prod-apply',
  });

  test('are valid IAM policies that fit IAM size limits', () => {
    for (const r of [doc.plan!, doc.apply!]) {
      expectValidPolicy(r.permissions, 'permissions');
      expectValidPolicy(r.trust, 'trust');
    }
    expect(policySize(doc.plan!.permissions)).toBeLessThanOrEqual(MANAGED_POLICY_LIMIT);
    expect(policySize(doc.apply!.permissions)).toBeLessThanOrEqual(INLINE_POLICY_LIMIT);
  });

  test("name this config's roles, policies, queue, rules and cluster", () => {
    const res = resourcesOf(doc.apply!.permissions);
    for (const r of [
      `arn:aws:iam::${ACCOUNT}:role/alpha-nodes`,
      `arn:aws:iam::${ACCOUNT}:role/alpha-controller`,
      `arn:aws:iam::${ACCOUNT}:policy/KarpenterControllerNodeLifecyclePolicy-alpha-eks`,
      `arn:aws:sqs:us-east-1:${ACCOUNT}:alpha-interruptions`,
      `arn:aws:events:us-east-1:${ACCOUNT}:rule/Karpenter-alpha-eks-SpotInterruptionRule`,
      `arn:aws:eks:us-east-1:${ACCOUNT}:cluster/alpha-eks`,
      `arn:aws:eks:us-east-1:${ACCOUNT}:podidentityassociation/alpha-eks/*`,
      `arn:aws:iam::${ACCOUNT}:role/aws-service-role/spot.amazonaws.com/AWSServiceRoleForEC2Spot`,
    ])
      expect(res).toContain(r);
    expect([...res].filter((r) => r.includes('beta-eks') || r.includes('KarpenterNodeRole-'))).toEqual([]);
    const writes = doc.apply!.permissions.Statement.filter((s) => s.Sid!.startsWith('Write'));
    const wildcard = writes.filter(
      (s) => s.Resource === '*' || (Array.isArray(s.Resource) && s.Resource.includes('*')),
    );
    expect(wildcard).toEqual([]);
  });

  test('scope the risky writes with conditions', () => {
    const find = (action: string) =>
      doc.apply!.permissions.Statement.find((s) => (s.Action as string[]).includes(action))!;
    expect(find('iam:PassRole')).toMatchObject({
      Resource: `arn:aws:iam::${ACCOUNT}:role/alpha-controller`,
      Condition: { StringEquals: { 'iam:PassedToService': 'pods.eks.amazonaws.com' } },
    });
    expect(find('iam:CreateServiceLinkedRole').Condition).toEqual({
      StringEquals: { 'iam:AWSServiceName': 'spot.amazonaws.com' },
    });
    expect(find('ec2:CreateTags')).toMatchObject({
      Resource: [
        `arn:aws:ec2:us-east-1:${ACCOUNT}:security-group/*`,
        `arn:aws:ec2:us-east-1:${ACCOUNT}:subnet/*`,
      ],
      Condition: {
        'ForAllValues:StringEquals': { 'aws:TagKeys': ['karpenter.sh/discovery'] },
        Null: { 'aws:TagKeys': 'false' },
      },
    });
    const attach = find('iam:AttachRolePolicy').Condition!.ArnEquals!['iam:PolicyARN'] as string[];
    expect(attach).toContain(
      `arn:aws:iam::${ACCOUNT}:policy/KarpenterControllerInterruptionPolicy-alpha-eks`,
    );
    expect(attach).toContain('arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy');
    expect(attach.some((a) => a.endsWith('AdministratorAccess'))).toBe(false);
  });

  test("trust the repository's pull requests (plan) and its protected environment (apply)", () => {
    const cond = (d: IamPolicyDocument['plan']) => d!.trust.Statement[0]!.Condition!.StringEquals!;
    expect(doc.plan!.trust.Statement[0]).toMatchObject({
      Principal: { Federated: `arn:aws:iam::${ACCOUNT}:oidc-provider/token.actions.githubusercontent.com` },
      Action: 'sts:AssumeRoleWithWebIdentity',
    });
    expect(cond(doc.plan)).toEqual({
      'token.actions.githubusercontent.com:aud': 'sts.amazonaws.com',
      'token.actions.githubusercontent.com:sub': [
        'repo:acme/platform:pull_request',
        'repo:acme/platform:ref:refs/heads/main',
      ],
    });
    expect(cond(doc.apply)['token.actions.githubusercontent.com:sub']).toBe(
      'repo:acme/platform:environment:prod-apply',
    );
  });

  test('give the apply role a cluster-admin access entry, the plan role the planner group and no access policy', () => {
    expect(doc.kubernetes.accessPolicyArn).toBe(CLUSTER_ADMIN_ACCESS_POLICY);
    expect(doc.kubernetes.reason).toMatch(/dry-run/);
    expect(doc.kubernetes.principals).toEqual({
      plan: `arn:aws:iam::${ACCOUNT}:role/karpenter-action-plan-alpha-eks`,
      apply: `arn:aws:iam::${ACCOUNT}:role/karpenter-action-apply-alpha-eks`,
    });
    expect(doc.kubernetes.commands).toEqual([
      `aws eks create-access-entry --cluster-name alpha-eks --region us-east-1 --principal-arn arn:aws:iam::${ACCOUNT}:role/karpenter-action-plan-alpha-eks --type STANDARD --kubernetes-groups karpenter-action:planners`,
      `aws eks create-access-entry --cluster-name alpha-eks --region us-east-1 --principal-arn arn:aws:iam::${ACCOUNT}:role/karpenter-action-apply-alpha-eks --type STANDARD`,
      `aws eks associate-access-policy --cluster-name alpha-eks --region us-east-1 --principal-arn arn:aws:iam::${ACCOUNT}:role/karpenter-action-apply-alpha-eks --policy-arn arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy --access-scope type=cluster`,
    ]);
    expect(
      doc.kubernetes.commands.filter((c) => c.includes('karpenter-action-plan-alpha-eks ')),
    ).toHaveLength(1);
    expect(doc.kubernetes.awsAuth).toEqual([
      {
        rolearn: `arn:aws:iam::${ACCOUNT}:role/karpenter-action-plan-alpha-eks`,
        username: 'karpenter-action-planner:{{SessionName}}',
        groups: ['karpenter-action:planners'],
      },
      {
        rolearn: `arn:aws:iam::${ACCOUNT}:role/karpenter-action-apply-alpha-eks`,
        username: 'karpenter-action',
        groups: ['system:masters'],
      },
    ]);
    expect([doc.plan?.roleName, doc.plan?.policyName, doc.apply?.roleName]).toEqual([
      'karpenter-action-plan-alpha-eks',
      'karpenter-action',
      'karpenter-action-apply-alpha-eks',
    ]);
  });

  test('carry the planner objects to apply once, policy first, with the command that applies them', () => {
    const planner = doc.kubernetes.planner!;
    expect(planner.group).toBe(PLANNER_GROUP);
    expect(planner.manifests.kind).toBe('List');
    expect(planner.manifests.items).toEqual(buildPlannerObjects(true));
    expect(planner.commands).toEqual([
      'karpenter-action iam-policy --cluster alpha-eks --format manifests | kubectl apply --server-side --field-manager=karpenter-action -f -',
    ]);
    const applyOnly = buildIamPolicyDocument(alpha, {
      role: 'apply',
      account: ACCOUNT,
      repository: 'acme/platform',
      environment: 'prod-apply',
    });
    expect(applyOnly.kubernetes.planner).toBeUndefined();
  });
});

test("each cluster gets roles of its own, within IAM's 64 characters", () => {
  expect(suggestedRoleNames('prod-eks')).toEqual({
    plan: 'karpenter-action-plan-prod-eks',
    apply: 'karpenter-action-apply-prod-eks',
  });
  expect(suggestedRoleNames('prod-eks')).not.toEqual(suggestedRoleNames('staging-eks'));
  const long = suggestedRoleNames(`team-${'x'.repeat(80)}`);
  const other = suggestedRoleNames(`team-${'x'.repeat(79)}y`);
  for (const n of [...Object.values(long), ...Object.values(other)]) expect(n.length).toBeLessThanOrEqual(64);
  expect(long.plan).toMatch(/^karpenter-action-plan-team-x+-[0-9a-f]{8}$/);
  expect(long.plan).not.toBe(other.plan);
});

describe('the iam-policy command', () => {
  const nodeClass = `apiVersion: karpenter.k8s.aws/v1
kind: EC2NodeClass
metadata:
  name: default
spec:
  role: KarpenterNodeRole-solo-eks
  amiSelectorTerms:
    - alias: al2023@latest
  subnetSelectorTerms:
    - tags:
        network/tier: private
  securityGroupSelectorTerms:
    - tags:
        karpenter.sh/discovery: solo-eks
`;
  const dir = writeConfig(
    'cluster: solo-eks\nregion: ap-southeast-2\nkarpenter:\n  version: 1.14.1\nmanifests: [karpenter/*.yaml]\n',
    { 'karpenter/default.yaml': nodeClass },
  );

  test('prints one JSON document with --format json', () => {
    const r = runIamPolicy({
      workspace: dir,
      accountId: ACCOUNT,
      repository: 'acme/solo',
      format: 'json',
      env: {},
    });
    const parsed = JSON.parse(r.output) as IamPolicyDocument;
    expect(Object.keys(parsed).sort()).toEqual(['apply', 'cluster', 'kubernetes', 'plan', 'region']);
    expect(parsed).toEqual(r.document);
    expect(
      parsed.apply!.trust.Statement[0]!.Condition!.StringEquals!['token.actions.githubusercontent.com:sub'],
    ).toBe('repo:acme/solo:environment:karpenter-apply');
    const tags = parsed.apply!.permissions.Statement.find((s) =>
      (s.Action as string[]).includes('ec2:CreateTags'),
    )!;
    expect(tags.Condition!['ForAllValues:StringEquals']!['aws:TagKeys']).toEqual([
      'karpenter.sh/discovery',
      'network/tier',
    ]);
  });

  test("with the owner's and repository's IDs, the trust policies use GitHub's immutable-ID subjects", () => {
    const r = runIamPolicy({
      workspace: dir,
      accountId: ACCOUNT,
      repository: 'acme/solo',
      ownerId: '123456',
      repositoryId: '456789',
      defaultBranch: 'trunk',
      env: {},
    });
    const sub = (role: 'plan' | 'apply') =>
      r.document[role]!.trust.Statement[0]!.Condition!.StringEquals![
        'token.actions.githubusercontent.com:sub'
      ];
    expect(sub('plan')).toEqual([
      'repo:acme@123456/solo@456789:pull_request',
      'repo:acme@123456/solo@456789:ref:refs/heads/trunk',
    ]);
    expect(sub('apply')).toBe('repo:acme@123456/solo@456789:environment:karpenter-apply');
    expect(r.output).toContain("GitHub's immutable-ID subjects (repo:acme@123456/solo@456789:...)");
    const names = runIamPolicy({ workspace: dir, accountId: ACCOUNT, repository: 'acme/solo', env: {} });
    expect(names.output).toContain(
      'save `gh api repos/acme/solo/actions/oidc/customization/sub` to a file and pass it as --oidc-subject',
    );
  });

  describe('--oidc-subject: the format GitHub reports for the repository', () => {
    const withSubjectFile = (content: string) => {
      writeFileSync(join(dir, 'oidc-sub.json'), content);
      return runIamPolicy({
        workspace: dir,
        accountId: ACCOUNT,
        repository: 'acme/solo',
        oidcSubject: 'oidc-sub.json',
        env: {},
      });
    };
    const condition = (r: ReturnType<typeof runIamPolicy>, role: 'plan' | 'apply') =>
      r.document[role]!.trust.Statement[0]!.Condition!;
    const refusal = (content: string) => {
      try {
        withSubjectFile(content);
      } catch (e) {
        const r = e as { message: string; details: string[] };
        return [r.message, ...r.details].join('\n');
      }
      throw new Error('accepted');
    };

    test('the default template with an immutable-ID prefix', () => {
      const r = withSubjectFile(
        JSON.stringify({
          use_default: true,
          use_immutable_subject: true,
          sub_claim_prefix: 'repo:acme@123456/solo@456789',
        }),
      );
      expect(condition(r, 'apply').StringEquals!['token.actions.githubusercontent.com:sub']).toBe(
        'repo:acme@123456/solo@456789:environment:karpenter-apply',
      );
      expect(condition(r, 'plan').StringEquals!['token.actions.githubusercontent.com:sub']).toEqual([
        'repo:acme@123456/solo@456789:pull_request',
        'repo:acme@123456/solo@456789:ref:refs/heads/main',
      ]);
    });

    test('the prefix decides even when use_immutable_subject says otherwise; a name-only prefix or none is name-only', () => {
      const r = withSubjectFile(
        JSON.stringify({
          use_default: true,
          use_immutable_subject: false,
          sub_claim_prefix: 'repo:acme@123456/solo@456789',
        }),
      );
      expect(condition(r, 'apply').StringEquals!['token.actions.githubusercontent.com:sub']).toBe(
        'repo:acme@123456/solo@456789:environment:karpenter-apply',
      );
      for (const content of [
        JSON.stringify({ use_default: true, sub_claim_prefix: 'repo:acme/solo' }),
        JSON.stringify({ use_default: true }),
      ]) {
        expect(
          condition(withSubjectFile(content), 'apply').StringEquals![
            'token.actions.githubusercontent.com:sub'
          ],
        ).toBe('repo:acme/solo:environment:karpenter-apply');
      }
    });

    test('a custom template: fixed claims exactly, claims that vary per run by pattern', () => {
      const r = withSubjectFile(
        JSON.stringify({ use_default: false, include_claim_keys: ['repo', 'context', 'job_workflow_ref'] }),
      );
      const apply = condition(r, 'apply');
      expect(apply.StringEquals).toEqual({ 'token.actions.githubusercontent.com:aud': 'sts.amazonaws.com' });
      expect(apply.StringLike!['token.actions.githubusercontent.com:sub']).toBe(
        'repo:acme/solo:environment:karpenter-apply:job_workflow_ref:*',
      );
      expect(condition(r, 'plan').StringLike!['token.actions.githubusercontent.com:sub']).toEqual([
        'repo:acme/solo:pull_request:job_workflow_ref:*',
        'repo:acme/solo:ref:refs/heads/main:job_workflow_ref:*',
      ]);
      const exact = withSubjectFile(
        JSON.stringify({ use_default: false, include_claim_keys: ['repository_owner', 'context'] }),
      );
      expect(condition(exact, 'apply').StringEquals!['token.actions.githubusercontent.com:sub']).toBe(
        'repository_owner:acme:environment:karpenter-apply',
      );
      expect(exact.output).toContain('custom subject template (repository_owner, context)');
    });

    test('a file for another repository, a broken file, or an ID claim without IDs is refused', () => {
      expect(
        refusal(JSON.stringify({ use_default: true, sub_claim_prefix: 'repo:other@1/solo@2' })),
      ).toContain('oidc-sub.json: sub_claim_prefix "repo:other@1/solo@2" names other/solo, not acme/solo');
      expect(refusal('{"use_default": tru')).toMatch(/^oidc-sub\.json is not JSON/);
      expect(refusal(JSON.stringify({ use_default: true, use_immutable_subject: true }))).toContain(
        'pass --owner-id and --repository-id instead',
      );
      expect(
        refusal(JSON.stringify({ use_default: false, include_claim_keys: ['repository_id', 'context'] })),
      ).toContain('the subject template includes the claim repository_id, whose value is a numeric ID');
      expect(() =>
        runIamPolicy({
          workspace: dir,
          accountId: ACCOUNT,
          repository: 'acme/solo',
          oidcSubject: 'missing.json',
          env: {},
        }),
      ).toThrow('--oidc-subject missing.json: ENOENT');
    });
  });

  test('an ID flag alone, or one that is not a number, is refused', () => {
    const refused = (o: { ownerId?: string; repositoryId?: string }) => {
      try {
        runIamPolicy({ workspace: dir, accountId: ACCOUNT, repository: 'acme/solo', env: {}, ...o });
      } catch (e) {
        return (e as { details: string[] }).details;
      }
      throw new Error('accepted');
    };
    expect(refused({ ownerId: '123456' })).toEqual([
      '--owner-id and --repository-id go together: an ID subject names both',
    ]);
    expect(refused({ ownerId: 'acme', repositoryId: '456789' })).toEqual([
      '--owner-id "acme" is not a numeric GitHub ID',
    ]);
  });

  test('prints the policies as JSON, then the Kubernetes access, by default', () => {
    const r = runIamPolicy({ workspace: dir, role: 'plan', env: { GITHUB_REPOSITORY: 'acme/from-env' } });
    expect(r.document.apply).toBeUndefined();
    expect(r.output).toMatch(
      /^# Plan role \(read-only\), assumable from pull_request runs of acme\/from-env/,
    );
    expect(r.output).not.toMatch(/# Apply role/);
    const block = /## Permissions policy\n(\{[\s\S]*?\n\})\n/.exec(r.output)![1]!;
    expect(JSON.parse(block)).toEqual(r.document.plan!.permissions);
    expect(r.output).toContain('arn:aws:iam::<ACCOUNT_ID>:oidc-provider/token.actions.githubusercontent.com');
    expect(r.output.indexOf('# Kubernetes access')).toBeGreaterThan(r.output.indexOf('## Trust policy'));
    expect(r.output).toContain(
      `aws eks create-access-entry --cluster-name solo-eks --region ap-southeast-2 --principal-arn arn:aws:iam::<ACCOUNT_ID>:role/karpenter-action-plan-solo-eks --type STANDARD --kubernetes-groups karpenter-action:planners`,
    );
    expect(r.output).not.toContain('aws eks associate-access-policy');
    expect(r.output).toContain('karpenter-action:planners');
    // the planner objects, policy first, in a heredoc an admin pastes once
    const heredoc =
      /kubectl apply --server-side --field-manager=karpenter-action -f - <<'EOF'\n([\s\S]*?)\nEOF/.exec(
        r.output,
      )![1]!;
    expect(parseAllDocuments(heredoc).map((d) => d.toJS() as unknown)).toEqual(buildPlannerObjects(true));
    expect(r.output).toMatch(/Kubernetes 1\.30 or later/);
  });

  test('prints the planner objects alone with --format manifests', () => {
    const r = runIamPolicy({ workspace: dir, format: 'manifests', env: {} });
    expect(parseAllDocuments(r.output).map((d) => d.toJS() as unknown)).toEqual(buildPlannerObjects(true));
  });

  test('defaults the repository to a placeholder and the environment to karpenter-apply', () => {
    const r = runIamPolicy({ workspace: dir, role: 'apply', format: 'json', env: {} });
    expect(
      r.document.apply!.trust.Statement[0]!.Condition!.StringEquals![
        'token.actions.githubusercontent.com:sub'
      ],
    ).toBe('repo:<OWNER>/<REPO>:environment:karpenter-apply');
  });

  test('refuses bad flags, naming each problem', () => {
    const err = (() => {
      try {
        runIamPolicy({
          workspace: dir,
          accountId: '1234',
          role: 'admin',
          format: 'yaml',
          repository: 'acme',
          env: {},
        });
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(err).toBeInstanceOf(Refusal);
    expect((err as Refusal).details).toEqual([
      '--role is "admin"; use plan, apply or both',
      '--format is "yaml"; use text, json or manifests',
      '--account-id "1234" is not a 12-digit AWS account id',
      'repository "acme" is not owner/repo',
    ]);
  });

  test('refuses an unknown cluster and an invalid config', () => {
    expect(() => runIamPolicy({ workspace: fleetDir, cluster: 'gamma-eks', env: {} })).toThrow(
      /cluster "gamma-eks" is not in .github\/karpenter.yaml/,
    );
    expect(() => runIamPolicy({ workspace: fleetDir, env: {} })).toThrow(Refusal);
    const bad = writeConfig('cluster: x\nregion: nowhere\n');
    expect(() => runIamPolicy({ workspace: bad, env: {} })).toThrow(/invalid config .github\/karpenter.yaml/);
  });
});
