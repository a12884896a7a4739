/**
 * The README's "One cluster, step by step" run as printed: its bash blocks are read from README.md and
 * run by bash with the real aws CLI (against moto), the real gh CLI (against the GitHub stand-in, over
 * HTTPS as gh speaks to any host but github.com), jq and the sandbox's kubectl. Only the values of the
 * line the README asks the reader to fill in (KA, ACCOUNT, CLUSTER, REGION, REPO) are replaced. Then the
 * bundled action plans with the plan role and applies with the apply role those commands created,
 * through the OIDC stand-in, as a runner does; moto's STS judges the trust policies against the token's
 * issuer, audience and subject.
 *
 * One cluster with a repository whose tokens use name-only subjects; then two clusters of a fleet in
 * one account (one of them still in CONFIG_MAP mode, moved by the README's step) for a repository with
 * immutable-ID subjects.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { GetRolePolicyCommand, IAMClient } from '@aws-sdk/client-iam';
import { adminKubeconfigFile } from '../../sandbox/lib/state.ts';
import { TEST_CREDENTIALS, withAccount } from '../../sandbox/lib/aws.ts';
import { startGithubStandin, type GithubStandin } from '../helpers/github-standin.ts';
import { NODECLASS, NODEPOOL } from '../helpers/karpenter-manifests.ts';
import { oidcEnv, startOidcStandIn, type OidcStandIn } from '../helpers/oidc-standin.ts';
import { actionable, readPlan, runAction, type ActionRun } from '../helpers/run-action.ts';
import {
  accountSession,
  actionEnv,
  deleteCluster,
  localChartRepository,
  newCluster,
  ownAccount,
  sandbox,
  type ClusterInfo,
  E2E_RELEASES,
} from '../helpers/sandbox.ts';
import { createWorkspace } from '../helpers/workspace.ts';

const PREVIOUS = E2E_RELEASES.previous;

const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, '..', '..');
const README = readFileSync(join(ROOT, 'README.md'), 'utf8');
const STAGES = 'prereqs,install,pools';

/** A bash block of the README, found by the `<!-- setup:NAME -->` comment before it, unindented. */
function readmeBlock(name: string): string {
  const m = new RegExp(
    `<!-- setup:${name} -->\\n(?:[ \\t]*\\n)?( *)\`\`\`bash\\n([\\s\\S]*?)\\n\\1\`\`\``,
  ).exec(README);
  if (!m) throw new Error(`README.md has no bash block marked <!-- setup:${name} -->`);
  const indent = m[1]!;
  return m[2]!
    .split('\n')
    .map((l) => (l.startsWith(indent) ? l.slice(indent.length) : l))
    .join('\n');
}

/** The README's fill-in line with this test's values; the names must be the ones the README prints. */
function fillIn(values: Record<string, string>): string {
  const line = readmeBlock('vars').trim();
  const names = [...line.matchAll(/(\w+)=\S+/g)].map((m) => m[1]);
  expect(names).toEqual(Object.keys(values));
  return Object.entries(values)
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');
}

interface Repo {
  github: GithubStandin;
  /** The `sub` prefix GitHub's tokens for this repository carry. */
  subject: string;
}

let account: string;
let adminEnv: Record<string, string>;
let runnerEnv: Record<string, string>;
let scratch: string;
const clusters: ClusterInfo[] = [];
const closers: (() => Promise<void>)[] = [];

beforeAll(async () => {
  account = ownAccount();
  const session = await accountSession(account);
  adminEnv = { ...actionEnv(), ...session.env };
  // a runner step with role-to-assume has no ambient AWS credentials
  runnerEnv = Object.fromEntries(
    Object.entries(adminEnv).filter(
      ([k]) => !/^AWS_(ACCESS_KEY_ID|SECRET_ACCESS_KEY|SESSION_TOKEN)$/.test(k),
    ),
  );
  scratch = mkdtempSync(join(tmpdir(), 'ka-readme-'));
}, 120_000);

afterAll(async () => {
  for (const close of closers) await close();
  for (const c of clusters) await deleteCluster(c.name);
  rmSync(scratch, { recursive: true, force: true });
});

async function startRepo(oidcSubject: Record<string, unknown>, subject: string): Promise<Repo> {
  const s = sandbox();
  const github = await startGithubStandin({
    owner: 'acme',
    name: 'infra',
    defaultBranch: 'trunk',
    ownerId: 123456,
    repositoryId: 456789,
    oidcSubject,
    tls: { cert: readFileSync(s.pki.serverCert, 'utf8'), key: readFileSync(s.pki.serverKey, 'utf8') },
  });
  closers.push(() => github.close());
  return { github, subject };
}

async function cluster(authenticationMode: 'API' | 'CONFIG_MAP'): Promise<ClusterInfo> {
  const c = await newCluster({ accountId: account, authenticationMode, withClusterAutoscaler: false });
  clusters.push(c);
  return c;
}

/** Runs README blocks as one bash script in the repository's root, as an admin of the account with gh logged in. */
async function runReadme(
  workspace: string,
  repo: Repo,
  c: ClusterInfo,
  blocks: string[],
): Promise<{ stdout: string; stderr: string }> {
  const s = sandbox();
  const kubeconfig = join(scratch, `${c.name}.kubeconfig`);
  writeFileSync(kubeconfig, adminKubeconfigFile(s, c));
  const script = [
    fillIn({ KA: ROOT, ACCOUNT: account, CLUSTER: c.name, REGION: c.region, REPO: 'acme/infra' }),
    ...blocks.map(readmeBlock),
  ].join('\n');
  const port = new URL(repo.github.url).port;
  try {
    return await run('bash', ['-euo', 'pipefail', '-c', script], {
      cwd: workspace,
      env: {
        ...adminEnv,
        HOME: scratch,
        PATH: `${s.binDir}:${process.env.PATH ?? ''}`,
        KUBECONFIG: kubeconfig,
        GH_HOST: `127.0.0.1:${port}`,
        GH_ENTERPRISE_TOKEN: repo.github.token,
        GH_CONFIG_DIR: join(scratch, 'gh'),
        GH_PROMPT_DISABLED: '1',
        SSL_CERT_FILE: s.pki.caCert,
        NO_COLOR: '1',
        AWS_PAGER: '',
      },
      maxBuffer: 16 * 1024 * 1024,
    });
  } catch (e) {
    const err = e as { stdout?: string; stderr?: string; message: string };
    throw new Error(
      `the README's commands failed: ${err.message}\n${err.stdout ?? ''}\n${err.stderr ?? ''}`,
      {
        cause: e,
      },
    );
  }
}

function roleArns(workspace: string): { plan: string; apply: string } {
  const doc = JSON.parse(readFileSync(join(workspace, 'roles.json'), 'utf8')) as {
    kubernetes: { principals: { plan: string; apply: string } };
  };
  return doc.kubernetes.principals;
}

async function oidcFor(sub: string, claims: Record<string, unknown> = {}): Promise<OidcStandIn> {
  const standIn = await startOidcStandIn({ sub, claims });
  closers.push(() => standIn.close());
  return standIn;
}

/** Plan with the plan role from a pull request, apply with the apply role from the environment, plan again. */
async function planApplyPlan(
  workspace: string,
  repo: Repo,
  roles: { plan: string; apply: string },
  extra: Record<string, string> = {},
): Promise<void> {
  const planOidc = await oidcFor(`${repo.subject}:pull_request`);
  const applyOidc = await oidcFor(`${repo.subject}:environment:karpenter-apply`, {
    environment: 'karpenter-apply',
  });
  const asRole = (role: string, oidc: OidcStandIn, inputs: Record<string, string>): Promise<ActionRun> =>
    runAction({
      inputs: { stages: STAGES, comment: 'false', 'role-to-assume': role, ...extra, ...inputs },
      env: { ...runnerEnv, ...oidcEnv(oidc) },
      workspace,
    });
  const ok = (r: ActionRun) => ({ code: r.code, out: r.code === 0 ? '' : r.stdout });

  const planned = await asRole(roles.plan, planOidc, { command: 'plan' });
  expect(ok(planned)).toEqual({ code: 0, out: '' });
  expect(planned.stdout).toContain(`acting as ${roles.plan}`);
  expect(actionable(readPlan(planned.outputs['plan-path']!)).length).toBeGreaterThan(0);

  // the pull request's token cannot assume the apply role
  const stolen = await asRole(roles.apply, planOidc, {
    command: 'apply',
    fingerprint: planned.outputs.fingerprint!,
  });
  expect(stolen.code).not.toBe(0);
  expect(stolen.stdout).toContain(
    `cannot assume ${roles.apply} with this job's GitHub OIDC token (AccessDenied)`,
  );

  const applied = await asRole(roles.apply, applyOidc, {
    command: 'apply',
    fingerprint: planned.outputs.fingerprint!,
  });
  expect(ok(applied)).toEqual({ code: 0, out: '' });
  expect(applied.stdout).toContain(`acting as ${roles.apply}`);

  const after = await asRole(roles.plan, planOidc, { command: 'plan' });
  expect(ok(after)).toEqual({ code: 0, out: '' });
  expect(after.outputs['has-changes']).toBe('false');
}

test('one cluster, name-only subjects: the README commands as printed, then a plan and an apply with their roles', async () => {
  const repo = await startRepo({ use_default: true, use_immutable_subject: false }, 'repo:acme/infra');
  const c = await cluster('API');
  const workspace = createWorkspace({ 'nodepool.yaml': NODEPOOL, 'nodeclass.yaml': NODECLASS });
  writeFileSync(
    join(workspace, '.github', 'karpenter.yaml'),
    `cluster: ${c.name}
region: ${c.region}
karpenter:
  version: ${PREVIOUS}
  chartRepository: ${localChartRepository(PREVIOUS)}
manifests:
  - ../karpenter/*.yaml
`,
  );
  await runReadme(workspace, repo, c, ['oidc-provider', 'roles']);
  const roles = roleArns(workspace);
  expect(roles).toEqual({
    plan: `arn:aws:iam::${account}:role/karpenter-action-plan-${c.name}`,
    apply: `arn:aws:iam::${account}:role/karpenter-action-apply-${c.name}`,
  });
  // gh answered from the stand-in: the drift branch and the subject format are the repository's
  const trust = JSON.parse(readFileSync(join(workspace, 'trust-plan.json'), 'utf8')) as {
    Statement: { Condition: { StringEquals: Record<string, unknown> } }[];
  };
  expect(trust.Statement[0]!.Condition.StringEquals['token.actions.githubusercontent.com:sub']).toEqual([
    'repo:acme/infra:pull_request',
    'repo:acme/infra:ref:refs/heads/trunk',
  ]);
  expect(repo.github.requests.map((r) => `${r.method} ${r.path}`)).toEqual([
    'GET /repos/acme/infra',
    'GET /repos/acme/infra/actions/oidc/customization/sub',
  ]);

  await planApplyPlan(workspace, repo, roles);

  // a token of a repository that now uses ID subjects (renamed, transferred, opted in) is refused, with the way out
  const idToken = await oidcFor('repo:acme@123456/infra@456789:pull_request');
  const refused = await runAction({
    inputs: { stages: STAGES, comment: 'false', 'role-to-assume': roles.plan, command: 'plan' },
    env: { ...runnerEnv, ...oidcEnv(idToken) },
    workspace,
  });
  expect(refused.code).not.toBe(0);
  expect(refused.stdout).toContain(
    "the subject has GitHub's immutable IDs (owner acme is 123456, repository infra is 456789)",
  );
}, 1_200_000);

test('two clusters of a fleet in one account, ID subjects, one cluster still in CONFIG_MAP mode: the same commands per cluster', async () => {
  const repo = await startRepo(
    { use_default: true, use_immutable_subject: true, sub_claim_prefix: 'repo:acme@123456/infra@456789' },
    'repo:acme@123456/infra@456789',
  );
  const first = await cluster('CONFIG_MAP');
  const second = await cluster('API');
  const workspace = createWorkspace({ 'nodepool.yaml': NODEPOOL, 'nodeclass.yaml': NODECLASS });
  writeFileSync(
    join(workspace, '.github', 'karpenter.yaml'),
    `karpenter:
  version: ${PREVIOUS}
  chartRepository: ${localChartRepository(PREVIOUS)}
manifests:
  - ../karpenter/*.yaml
clusters:
  - cluster: ${first.name}
    region: ${first.region}
  - cluster: ${second.name}
    region: ${second.region}
`,
  );
  // the OIDC provider exists in this account since the first test: step 2 is once per account
  const out1 = await runReadme(workspace, repo, first, ['access-mode', 'roles']);
  expect(out1.stderr).not.toContain('EntityAlreadyExists');
  const roles1 = roleArns(workspace);
  await runReadme(workspace, repo, second, ['roles']);
  const roles2 = roleArns(workspace);
  expect(roles2.plan).toBe(`arn:aws:iam::${account}:role/karpenter-action-plan-${second.name}`);
  expect(new Set([roles1.plan, roles1.apply, roles2.plan, roles2.apply]).size).toBe(4);

  // each role keeps its own inline policy, for its own cluster: the second put-role-policy overwrote nothing
  const iam = withAccount(
    new IAMClient({ region: first.region, endpoint: sandbox().motoUrl, credentials: TEST_CREDENTIALS }),
    account,
  );
  for (const [arn, c] of [
    [roles1.apply, first],
    [roles2.apply, second],
  ] as const) {
    const name = arn.split('/').pop()!;
    const policy = await iam.send(
      new GetRolePolicyCommand({ RoleName: name, PolicyName: 'karpenter-action' }),
    );
    const text = decodeURIComponent(policy.PolicyDocument!);
    expect(text).toContain(`:cluster/${c.name}`);
    const other = c === first ? second : first;
    expect(text).not.toContain(`:cluster/${other.name}`);
  }

  for (const [c, roles] of [
    [first, roles1],
    [second, roles2],
  ] as const)
    await planApplyPlan(workspace, repo, roles, { cluster: c.name });

  // a name-only token (the repository before its rename) no longer assumes these roles
  const old = await oidcFor('repo:acme/infra:pull_request');
  const refused = await runAction({
    inputs: {
      stages: STAGES,
      comment: 'false',
      'role-to-assume': roles1.plan,
      command: 'plan',
      cluster: first.name,
    },
    env: { ...runnerEnv, ...oidcEnv(old) },
    workspace,
  });
  expect(refused.code).toBe(1);
  expect(refused.stdout).toContain(
    `cannot assume ${roles1.plan} with this job's GitHub OIDC token (AccessDenied)`,
  );
}, 1_800_000);
