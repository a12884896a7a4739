/**
 * `role-to-assume` end to end against real local servers: the ID token comes from a stand-in of the
 * Actions OIDC endpoint through `core.getIDToken`, and moto's STS answers AssumeRoleWithWebIdentity.
 * No AWS credentials are in the environment, so everything the credentials can do comes from the
 * assumed role.
 *
 * moto 5.2.1 checks nothing in AssumeRoleWithWebIdentity; the sandbox judges it as IAM does, short of
 * the token's signature (nothing in the sandbox holds GitHub's keys): the role must exist, the issuer
 * must be an OIDC provider of the account with the token's audience, and the trust policy's conditions
 * must hold for the token's claims. The retry path uses the sandbox's fault injection, a real server
 * answering with IDPCommunicationError, scoped to this file's account.
 */
import { CreateOpenIDConnectProviderCommand, CreateRoleCommand, IAMClient } from '@aws-sdk/client-iam';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { buildAwsClients, readAccountId } from '../../src/adapters/aws.ts';
import {
  OidcUnavailable,
  readActionsIdToken,
  readOidcCredentials,
} from '../../src/adapters/aws-credentials.ts';
import { prepare, type RunEnv } from '../../src/commands/prepare.ts';
import { Refusal } from '../../src/errors.ts';
import { readInputs } from '../../src/inputs.ts';
import { TEST_CREDENTIALS, withAccount } from '../../sandbox/lib/aws.ts';
import { injectFault, listFaults, removeFault } from '../../sandbox/lib/faults.ts';
import { oidcEnv, startOidcStandIn, type OidcStandIn } from '../helpers/oidc-standin.ts';
import {
  deleteCluster,
  grantClusterAdmin,
  newCluster,
  ownAccount,
  sandbox,
  type ClusterInfo,
} from '../helpers/sandbox.ts';
import { createWorkspace, writeClusterConfig } from '../helpers/workspace.ts';

const account = ownAccount();
const roleName = 'karpenter-plan';
const roleArn = `arn:aws:iam::${account}:role/${roleName}`;
const region = sandbox().region;
let standIn: OidcStandIn;
let cluster: ClusterInfo;
let savedEnv: Record<string, string | undefined>;

const ENV_KEYS = [
  'AWS_ACCESS_KEY_ID',
  'AWS_SECRET_ACCESS_KEY',
  'AWS_SESSION_TOKEN',
  'AWS_PROFILE',
  'AWS_SHARED_CREDENTIALS_FILE',
  'AWS_CONFIG_FILE',
  'AWS_EC2_METADATA_DISABLED',
  'AWS_ENDPOINT_URL',
  'AWS_REGION',
  'AWS_DEFAULT_REGION',
  'ACTIONS_ID_TOKEN_REQUEST_URL',
  'ACTIONS_ID_TOKEN_REQUEST_TOKEN',
  'PATH',
];

function recorder() {
  const lines = { info: [] as string[], warn: [] as string[], debug: [] as string[] };
  return {
    lines,
    log: {
      info: (l: string) => lines.info.push(l),
      warn: (l: string) => lines.warn.push(l),
      debug: (l: string) => lines.debug.push(l),
    },
  };
}

beforeAll(async () => {
  const iam = withAccount(
    new IAMClient({ region, endpoint: sandbox().motoUrl, credentials: TEST_CREDENTIALS }),
    account,
  );
  const provider = await iam.send(
    new CreateOpenIDConnectProviderCommand({
      Url: 'https://token.actions.githubusercontent.com',
      ClientIDList: ['sts.amazonaws.com'],
    }),
  );
  await iam.send(
    new CreateRoleCommand({
      RoleName: roleName,
      AssumeRolePolicyDocument: JSON.stringify({
        Version: '2012-10-17',
        Statement: [
          {
            Effect: 'Allow',
            Principal: { Federated: provider.OpenIDConnectProviderArn },
            Action: 'sts:AssumeRoleWithWebIdentity',
            Condition: {
              StringEquals: {
                'token.actions.githubusercontent.com:aud': 'sts.amazonaws.com',
                'token.actions.githubusercontent.com:sub': 'repo:acme/infra:pull_request',
              },
            },
          },
        ],
      }),
    }),
  );
  standIn = await startOidcStandIn();
  cluster = await newCluster({ accountId: account, authenticationMode: 'API', withClusterAutoscaler: false });
});

afterAll(async () => {
  await standIn.close();
  await deleteCluster(cluster.name);
});

beforeEach(() => {
  savedEnv = Object.fromEntries(ENV_KEYS.map((k) => [k, process.env[k]]));
  for (const k of ENV_KEYS) delete process.env[k];
  Object.assign(process.env, {
    AWS_ENDPOINT_URL: sandbox().motoUrl,
    AWS_REGION: region,
    AWS_SHARED_CREDENTIALS_FILE: '/nonexistent/credentials',
    AWS_CONFIG_FILE: '/nonexistent/config',
    AWS_EC2_METADATA_DISABLED: 'true',
    PATH: `${sandbox().binDir}:${savedEnv.PATH ?? ''}`,
    ...oidcEnv(standIn),
  });
  standIn.calls.length = 0;
});

afterEach(() => {
  for (const [k, v] of Object.entries(savedEnv)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
});

test('with no ambient credentials, the job token buys a session of the role that every AWS call uses', async () => {
  // nothing else can sign: without the OIDC session the SDK finds no credentials at all
  const ambient = await new STSClient({ region, maxAttempts: 1 })
    .send(new GetCallerIdentityCommand({}))
    .catch((e: unknown) => e);
  expect((ambient as Error).name).toBe('CredentialsProviderError');

  const masked: string[] = [];
  const { log } = recorder();
  const oidc = await readOidcCredentials({
    roleArn,
    sessionName: 'pr-42',
    region,
    mask: (s) => masked.push(s),
    log,
  });
  expect(oidc.principalArn).toBe(`arn:aws:sts::${account}:assumed-role/${roleName}/pr-42`);
  expect(oidc.expiration.getTime()).toBeGreaterThan(Date.now() + 50 * 60 * 1000);

  const who = await new STSClient({ region, credentials: oidc.provider }).send(
    new GetCallerIdentityCommand({}),
  );
  expect(who.Arn).toBe(`arn:aws:sts::${account}:assumed-role/${roleName}/pr-42`);
  expect(who.Account).toBe(account);
  expect((await readAccountId(buildAwsClients(region, oidc.provider))).account).toBe(account);

  expect(standIn.calls).toHaveLength(1);
  expect(standIn.calls[0]).toMatchObject({ audience: 'sts.amazonaws.com', authorized: true });
  const creds = await oidc.provider();
  expect(masked.sort()).toEqual([creds.accessKeyId, creds.secretAccessKey, creds.sessionToken].sort());
});

test('the provider keeps its session until less than 5 minutes remain, then re-assumes with a fresh token', async () => {
  let clock = Date.now();
  const { log } = recorder();
  const oidc = await readOidcCredentials({
    roleArn,
    sessionName: 'pr-43',
    region,
    mask: () => undefined,
    log,
    now: () => clock,
  });
  const first = await oidc.provider();
  clock = oidc.expiration.getTime() - 6 * 60 * 1000;
  expect(await oidc.provider()).toBe(first);
  expect(standIn.calls).toHaveLength(1);

  clock = oidc.expiration.getTime() - 4 * 60 * 1000;
  const [a, b] = await Promise.all([oidc.provider(), oidc.provider()]);
  expect(a).toBe(b);
  expect(a.accessKeyId).not.toBe(first.accessKeyId);
  expect(standIn.calls).toHaveLength(2);
  const who = await new STSClient({ region, credentials: () => Promise.resolve(a) }).send(
    new GetCallerIdentityCommand({}),
  );
  expect(who.Arn).toBe(`arn:aws:sts::${account}:assumed-role/${roleName}/pr-43`);
});

test('with a mask of its own (the CLI), the token and keys go to it and nothing to stdout', async () => {
  const masked: string[] = [];
  const mask = (s: string) => masked.push(s);
  const written: string[] = [];
  const write = process.stdout.write.bind(process.stdout);
  process.stdout.write = (chunk: string | Uint8Array) => {
    written.push(String(chunk));
    return write(chunk);
  };
  try {
    const oidc = await readOidcCredentials({
      roleArn,
      sessionName: 'pr-47',
      region,
      mask,
      getIdToken: (audience) => readActionsIdToken(audience, mask),
    });
    const creds = await oidc.provider();
    expect(standIn.calls).toHaveLength(1);
    expect(standIn.calls[0]).toMatchObject({ audience: 'sts.amazonaws.com', authorized: true });
    expect(masked).toEqual(
      expect.arrayContaining([
        standIn.calls[0]!.token,
        creds.accessKeyId,
        creds.secretAccessKey,
        creds.sessionToken,
      ]),
    );
    expect(written.join('')).not.toContain('::');
  } finally {
    process.stdout.write = write;
  }
});

test('a wrong request token is reported with the status, and nothing is masked', async () => {
  process.env.ACTIONS_ID_TOKEN_REQUEST_TOKEN = 'not-the-request-token';
  const masked: string[] = [];
  const err = await readActionsIdToken('sts.amazonaws.com', (s) => masked.push(s)).catch((e: unknown) => e);
  expect((err as Error).message).toBe(
    'the Actions OIDC endpoint answered 401 without a token: Bad credentials',
  );
  expect(masked).toEqual([]);
  expect(standIn.calls).toEqual([{ audience: 'sts.amazonaws.com', authorized: false, token: undefined }]);
});

test('a job without ACTIONS_ID_TOKEN_REQUEST_URL gets OidcUnavailable and calls nothing', async () => {
  delete process.env.ACTIONS_ID_TOKEN_REQUEST_URL;
  const err = await readOidcCredentials({
    roleArn,
    sessionName: 'pr-44',
    region,
    mask: () => undefined,
  }).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(OidcUnavailable);
  expect(err).toBeInstanceOf(Refusal);
  expect((err as Refusal).message).toMatch(/^role-to-assume is set but this job got no GitHub OIDC token/);
  expect((err as Refusal).details.join('\n')).toMatch(/permissions: id-token: write/);
  expect((err as Refusal).details.join('\n')).toMatch(/forks never get an OIDC token/);
  expect(standIn.calls).toHaveLength(0);
});

test('AccessDenied is not retried and explains the trust policy with the claims, never the token', async () => {
  const missing = `arn:aws:iam::${account}:role/no-such-role`;
  const { lines, log } = recorder();
  const err = await readOidcCredentials({
    roleArn: missing,
    sessionName: 'pr-45',
    region,
    mask: () => undefined,
    log,
  })
    .then(() => undefined)
    .catch((e: unknown) => e);
  expect(err).toBeInstanceOf(Refusal);
  const refusal = err as Refusal;
  expect(refusal.message).toBe(`cannot assume ${missing} with this job's GitHub OIDC token (AccessDenied)`);
  const text = [refusal.message, ...refusal.details].join('\n');
  expect(text).toContain('sub "repo:acme/infra:pull_request", aud "sts.amazonaws.com"');
  expect(text).toContain(`arn:aws:iam::${account}:oidc-provider/token.actions.githubusercontent.com`);
  expect(text).toContain('Not authorized to perform sts:AssumeRoleWithWebIdentity');
  expect(standIn.calls).toHaveLength(1);
  for (const part of standIn.calls[0]!.token!.split('.')) expect(text).not.toContain(part);
  expect(lines.warn).toEqual([]);
});

test("a token of another repository, or of this repository's other events, cannot assume the role", async () => {
  for (const sub of [
    'repo:acme/infra-fork:pull_request',
    'repo:acme/infra:ref:refs/heads/feature',
    'repo:evil/infra:pull_request',
  ]) {
    const other = await startOidcStandIn({ sub });
    try {
      Object.assign(process.env, oidcEnv(other));
      const err = await readOidcCredentials({ roleArn, sessionName: 'pr-47', region, mask: () => undefined })
        .then(() => undefined)
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(Refusal);
      expect((err as Refusal).message).toBe(
        `cannot assume ${roleArn} with this job's GitHub OIDC token (AccessDenied)`,
      );
      expect((err as Refusal).details.join('\n')).toContain(`sub "${sub}"`);
    } finally {
      await other.close();
    }
  }
});

test('IDPCommunicationError from STS is retried with backoff until the role is assumed', async () => {
  const fault = await injectFault({
    operation: 'AssumeRoleWithWebIdentity',
    count: 2,
    status: 400,
    code: 'IDPCommunicationError',
    message: 'the identity provider could not be reached',
    accountId: account,
  });
  try {
    const { lines, log } = recorder();
    // the account header lets the fault rule match this file's calls only (STS reads no signature here)
    const client = withAccount(new STSClient({ region, maxAttempts: 1 }), account);
    const oidc = await readOidcCredentials({
      roleArn,
      sessionName: 'pr-46',
      region,
      mask: () => undefined,
      log,
      client,
    });
    expect(oidc.principalArn).toBe(`arn:aws:sts::${account}:assumed-role/${roleName}/pr-46`);
    const hits = (await listFaults()).find((f) => f.id === fault.id)?.hits ?? [];
    expect(hits).toHaveLength(2);
    expect(standIn.calls).toHaveLength(3);
    expect(lines.warn).toHaveLength(2);
    expect(lines.warn[0]).toMatch(/IDPCommunicationError.*attempt 2 of 5/);
    expect(lines.warn[1]).toMatch(/attempt 3 of 5/);
  } finally {
    await removeFault(fault.id);
  }
});

test('prepare with role-to-assume acts as the role for AWS and the cluster, and names it when the cluster does not know it', async () => {
  const workspace = createWorkspace();
  writeClusterConfig(workspace, cluster, { manifests: false });
  const inputs = readInputs(
    (name) => ({ command: 'plan', 'role-to-assume': roleArn, 'role-session-name': 'pr-48' })[name] ?? '',
  );
  const { lines, log } = recorder();
  const masked: string[] = [];
  const env: RunEnv = {
    workspace,
    tempDir: workspace,
    log,
    setOutput: () => undefined,
    writeSummary: () => Promise.resolve(),
    annotate: () => undefined,
    mask: (s) => masked.push(s),
  };

  const refusal = (await prepare(inputs, env).catch((e: unknown) => e)) as Refusal;
  expect(refusal).toBeInstanceOf(Refusal);
  expect(refusal.message).toBe(
    `the IAM principal ${roleArn} cannot use EKS cluster ${cluster.name}: the cluster does not know it (401 Unauthorized; it has no access entry or aws-auth mapping)`,
  );
  expect(refusal.details).toContain(
    `aws eks create-access-entry --cluster-name ${cluster.name} --principal-arn ${roleArn} --region ${cluster.region}`,
  );
  expect(lines.info[0]).toMatch(
    new RegExp(`^acting as ${roleArn} \\(GitHub OIDC, session pr-48, valid until `),
  );

  await grantClusterAdmin(cluster, roleArn);
  const prepared = await prepare(inputs, env);
  expect((await readAccountId(prepared.aws)).arn).toBe(
    `arn:aws:sts::${account}:assumed-role/${roleName}/pr-48`,
  );
  expect(standIn.calls.every((c) => c.audience === 'sts.amazonaws.com')).toBe(true);
  expect(masked).toContain(standIn.calls[0]!.token);
  for (const line of [...lines.info, ...lines.warn, ...lines.debug])
    for (const secret of masked) expect(line).not.toContain(secret);
});
