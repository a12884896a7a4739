/**
 * The moto launcher's own self-test: it starts a private launcher on free ports and checks every
 * extension and the token webhook with boto3 and botocore-presigned tokens, success and error paths.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

test('sandbox/moto/selftest.py passes', () => {
  const root = join(import.meta.dirname, '..', '..');
  const res = spawnSync(
    process.env.SANDBOX_PYTHON ?? 'python3',
    [join(root, 'sandbox', 'moto', 'selftest.py')],
    {
      encoding: 'utf8',
      timeout: 180_000,
      env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1' },
    },
  );
  const out = `${res.stdout}\n${res.stderr}`;
  const summary = /total: (\d+) passed, (\d+) failed/.exec(out);
  if (res.status !== 0 || !summary)
    throw new Error(`selftest failed (exit ${res.status}):\n${out.slice(-4000)}`);
  expect(Number(summary[2])).toBe(0);
  expect(Number(summary[1])).toBeGreaterThanOrEqual(60);
});
