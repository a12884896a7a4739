/**
 * The CLI as a person first tries it, in a terminal: the bundle run by `bin/karpenter-action.js` with
 * no runner environment. A typo must not run anything, and failures read as plain text.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '..', '..');
let aws: Server;
let awsUrl: string;
const requests: string[] = [];

beforeAll(async () => {
  // Stands where AWS would be: any request the CLI makes is recorded.
  aws = createServer((req, res) => {
    requests.push(`${req.method ?? ''} ${req.url ?? ''}`);
    res.statusCode = 500;
    res.end();
  });
  await new Promise<void>((r) => aws.listen(0, '127.0.0.1', r));
  awsUrl = `http://127.0.0.1:${(aws.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise<void>((r) => aws.close(() => r()));
});

function cli(args: string[], env: Record<string, string>) {
  const ws = mkdtempSync(join(tmpdir(), 'ka-term-'));
  cpSync(join(ROOT, 'examples', 'basic'), ws, { recursive: true });
  return spawnSync(process.execPath, [join(ROOT, 'bin', 'karpenter-action.js'), ...args], {
    cwd: ws,
    encoding: 'utf8',
    env: {
      PATH: process.env.PATH ?? '',
      HOME: ws,
      AWS_CONFIG_FILE: join(ws, 'no-aws-config'),
      AWS_SHARED_CREDENTIALS_FILE: join(ws, 'no-aws-credentials'),
      AWS_EC2_METADATA_DISABLED: 'true',
      AWS_REGION: 'us-east-1',
      ...env,
    },
  });
}

test('a mistyped flag runs nothing: no AWS call, exit 2, the likely flag named', () => {
  requests.length = 0;
  const r = cli(['apply', '--stagez', 'pools', '--auto-approve'], {
    AWS_ENDPOINT_URL: awsUrl,
    AWS_ACCESS_KEY_ID: 'testing',
    AWS_SECRET_ACCESS_KEY: 'testing',
  });
  expect(r.status).toBe(2);
  expect(r.stderr.split('\n')[0]).toBe('unknown flag --stagez for "apply"; did you mean --stages?');
  expect(r.stdout).toBe('');
  expect(requests).toEqual([]);
});

test('with no AWS credentials a terminal gets plain text that says what to set, and no workflow commands', () => {
  const r = cli(['plan', '--config', '.github/karpenter.yaml'], { AWS_ENDPOINT_URL: awsUrl });
  expect(r.status).toBe(1);
  expect(r.stderr).toContain('error: no AWS credentials: set AWS_PROFILE (after `aws sso login`');
  expect(r.stderr).toContain('AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY');
  const lines = `${r.stdout}${r.stderr}`.split('\n');
  expect(lines.filter((l) => l.startsWith('::'))).toEqual([]);
  expect(lines.filter((l) => /^\s+at /.test(l))).toEqual([]);
  expect(`${r.stdout}${r.stderr}`).not.toContain('%0A');
});
