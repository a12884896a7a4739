/**
 * The CLI's stdout is the plan, which users redirect to a file and attach to tickets or PRs. An
 * attacker who gets that file looks for the credentials the run held: the GitHub token it was given
 * and the job's OIDC token.
 */
import { spawn } from 'node:child_process';
import { cpSync, mkdtempSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '..', '..');
const GITHUB_TOKEN = 'ghs_stdoutLeakCanary0123456789abcdefABCD';
const OIDC_TOKEN = 'eyJhbGciOiJSUzI1NiJ9.oidc-leak-canary.c2lnbmF0dXJl';

let oidc: Server;
let oidcUrl: string;
let closedPort: number;

beforeAll(async () => {
  oidc = createServer((_req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ value: OIDC_TOKEN }));
  });
  await new Promise<void>((r) => oidc.listen(0, '127.0.0.1', r));
  oidcUrl = `http://127.0.0.1:${(oidc.address() as AddressInfo).port}/token?api-version=2.0`;
  const probe = createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
  closedPort = (probe.address() as AddressInfo).port;
  await new Promise<void>((r) => probe.close(() => r()));
});
afterAll(async () => {
  await new Promise<void>((r) => oidc.close(() => r()));
});

interface CliRun {
  status: number | null;
  stdout: string;
  stderr: string;
}

function runCli(args: string[], env: Record<string, string>): Promise<CliRun> {
  const ws = mkdtempSync(join(tmpdir(), 'ka-cli-mask-'));
  cpSync(join(ROOT, 'examples', 'basic'), ws, { recursive: true });
  const entry = process.env.KARPENTER_ACTION_BUNDLE ?? join(ROOT, 'src', 'index.ts');
  const base = Object.fromEntries(
    Object.entries(process.env).filter(
      ([k]) => !k.startsWith('GITHUB_') && !k.startsWith('INPUT_') && !k.startsWith('ACTIONS_'),
    ),
  );
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [entry, ...args], {
      cwd: ws,
      env: {
        ...base,
        AWS_ENDPOINT_URL: `http://127.0.0.1:${closedPort}`,
        AWS_ACCESS_KEY_ID: 'testing',
        AWS_SECRET_ACCESS_KEY: 'testing',
        AWS_REGION: 'us-east-1',
        AWS_MAX_ATTEMPTS: '1',
        ...env,
      },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', fail);
    child.on('close', (status) => done({ status, stdout, stderr }));
  });
}

const PLAN_WITH_ROLE = [
  'plan',
  '--config',
  '.github/karpenter.yaml',
  '--stages',
  'pools',
  '--github-token',
  GITHUB_TOKEN,
  '--role-to-assume',
  'arn:aws:iam::123456789012:role/karpenter-plan',
];

describe('attack: reading tokens out of the CLI plan output', () => {
  test('on a runner, masks go to stderr and stdout holds neither token', async () => {
    const r = await runCli(PLAN_WITH_ROLE, {
      GITHUB_ACTIONS: 'true',
      ACTIONS_ID_TOKEN_REQUEST_URL: oidcUrl,
      ACTIONS_ID_TOKEN_REQUEST_TOKEN: 'request-token',
    });
    expect(r.status).toBe(1);
    expect(r.stdout).not.toContain(GITHUB_TOKEN);
    expect(r.stdout).not.toContain(OIDC_TOKEN);
    expect(r.stdout).not.toContain('::add-mask::');
    expect(r.stderr).toContain(`::add-mask::${GITHUB_TOKEN}\n`);
    expect(r.stderr).toContain(`::add-mask::${OIDC_TOKEN}\n`);
  });

  test('in a terminal, no workflow command is written at all', async () => {
    const r = await runCli(PLAN_WITH_ROLE, {
      ACTIONS_ID_TOKEN_REQUEST_URL: oidcUrl,
      ACTIONS_ID_TOKEN_REQUEST_TOKEN: 'request-token',
    });
    expect(r.status).toBe(1);
    for (const out of [r.stdout, r.stderr]) {
      expect(out).not.toContain(GITHUB_TOKEN);
      expect(out).not.toContain(OIDC_TOKEN);
      expect(out).not.toContain('::add-mask::');
    }
  });
});
