/**
 * ensureHelm against a local download server that serves the sandbox's real helm in get.helm.sh's
 * layout: a missing or too-old helm is either a clear refusal or a pinned, checksummed, cached install.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureHelm } from '../../src/adapters/helm-install.ts';
import { Refusal } from '../../src/errors.ts';
import type { Logger } from '../../src/stages/types.ts';
import { sandbox } from '../helpers/sandbox.ts';

const VERSION = sandbox().helmVersion.replace(/^v/, '');
const ARCHIVE = `helm-v${VERSION}-linux-amd64.tar.gz`;
const NO_HELM = '/nonexistent/karpenter-action-test/helm';

let work: string;
let archive: Buffer;
let archiveSha: string;
let server: Server;
let base: string;
const requests: string[] = [];
const lines: string[] = [];
const log: Logger = {
  info: (l) => lines.push(l),
  warn: (l) => lines.push(l),
  debug: (l) => lines.push(l),
};

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'helm-install-test-'));
  const layout = join(work, 'layout');
  mkdirSync(join(layout, 'linux-amd64'), { recursive: true });
  copyFileSync(join(sandbox().binDir, 'helm'), join(layout, 'linux-amd64', 'helm'));
  writeFileSync(join(layout, 'linux-amd64', 'LICENSE'), 'not helm\n');
  execFileSync('tar', ['-czf', join(work, ARCHIVE), '-C', layout, 'linux-amd64']);
  archive = readFileSync(join(work, ARCHIVE));
  archiveSha = createHash('sha256').update(archive).digest('hex');

  server = createServer((req, res) => {
    requests.push(req.url ?? '');
    if (req.url === `/${ARCHIVE}`) {
      res.writeHead(200, { 'content-type': 'application/gzip' }).end(archive);
    } else if (req.url === `/${ARCHIVE}.sha256sum`) {
      res.writeHead(200, { 'content-type': 'text/plain' }).end(`${archiveSha}  ${ARCHIVE}\n`);
    } else {
      res.writeHead(404).end('not found');
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((r) => server.close(r));
  rmSync(work, { recursive: true, force: true });
});

beforeEach(() => {
  requests.length = 0;
  lines.length = 0;
});

function freshCache(): string {
  return mkdtempSync(join(work, 'cache-'));
}

const linux = { platform: 'linux' as const, arch: 'x64', log };

test('with no helm on the runner, a pinned helm is downloaded, verified against the published sum, run and cached', async () => {
  const cacheDir = freshCache();
  const first = await ensureHelm({
    ...linux,
    bin: NO_HELM,
    cacheDir,
    downloadBase: base,
    pinned: { version: VERSION },
  });
  expect(first).toEqual({ path: join(cacheDir, `helm-${VERSION}`, 'helm'), version: VERSION });
  expect(execFileSync(first.path, ['version', '--short'], { encoding: 'utf8' })).toMatch(`v${VERSION}`);
  expect(requests).toEqual([`/${ARCHIVE}.sha256sum`, `/${ARCHIVE}`]);
  expect(readdirSync(cacheDir)).toEqual([`helm-${VERSION}`]);
  expect(readdirSync(join(cacheDir, `helm-${VERSION}`)).sort()).toEqual(['helm', 'verified.json']);

  requests.length = 0;
  const second = await ensureHelm({
    ...linux,
    bin: NO_HELM,
    cacheDir,
    downloadBase: base,
    pinned: { version: VERSION },
  });
  expect(second).toEqual(first);
  expect(requests).toEqual([]);
});

test('a pinned sha256 is checked instead of the published sum, and a cached copy is reused under the same pin', async () => {
  const cacheDir = freshCache();
  const pinned = { version: `v${VERSION}`, sha256: archiveSha.toUpperCase() };
  const first = await ensureHelm({ ...linux, bin: NO_HELM, cacheDir, downloadBase: base, pinned });
  expect(first.version).toBe(VERSION);
  expect(requests).toEqual([`/${ARCHIVE}`]);
  await ensureHelm({ ...linux, bin: NO_HELM, cacheDir, downloadBase: base, pinned });
  expect(requests).toEqual([`/${ARCHIVE}`]);
});

test('a cached binary that was changed after verification is not trusted: it is downloaded again', async () => {
  const cacheDir = freshCache();
  const opts = { ...linux, bin: NO_HELM, cacheDir, downloadBase: base, pinned: { version: VERSION } };
  const first = await ensureHelm(opts);
  writeFileSync(first.path, '#!/bin/sh\necho v3.99.0\n');
  requests.length = 0;
  const again = await ensureHelm(opts);
  expect(again).toEqual(first);
  expect(requests).toEqual([`/${ARCHIVE}.sha256sum`, `/${ARCHIVE}`]);
});

test('a wrong pinned sha256 is refused naming both sums, and nothing is left in the cache', async () => {
  const cacheDir = freshCache();
  const wrong = 'ab'.repeat(32);
  const err = (await ensureHelm({
    ...linux,
    bin: NO_HELM,
    cacheDir,
    downloadBase: base,
    pinned: { version: VERSION, sha256: wrong },
  }).catch((e: unknown) => e)) as Refusal;
  expect(err).toBeInstanceOf(Refusal);
  expect(err.message).toContain(archiveSha);
  expect(err.message).toContain(wrong);
  expect(err.details.join('\n')).toMatch(/install\.helm\.sha256/);
  expect(readdirSync(cacheDir)).toEqual([]);
});

test('a published sum that does not match the archive is refused too', async () => {
  const cacheDir = freshCache();
  const other = createServer((req, res) => {
    if (req.url === `/${ARCHIVE}.sha256sum`) res.end(`${'0'.repeat(64)}  ${ARCHIVE}\n`);
    else res.end(archive);
  });
  await new Promise<void>((r) => other.listen(0, '127.0.0.1', r));
  try {
    const downloadBase = `http://127.0.0.1:${(other.address() as AddressInfo).port}`;
    await expect(
      ensureHelm({ ...linux, bin: NO_HELM, cacheDir, downloadBase, pinned: { version: VERSION } }),
    ).rejects.toThrow(new RegExp(`sha256 ${archiveSha}, expected ${'0'.repeat(64)}`));
    expect(readdirSync(cacheDir)).toEqual([]);
  } finally {
    await new Promise((r) => other.close(r));
  }
});

describe('a too-old helm on the runner', () => {
  let oldHelm: string;
  beforeAll(() => {
    const dir = mkdtempSync(join(work, 'old-helm-'));
    oldHelm = join(dir, 'helm');
    writeFileSync(oldHelm, '#!/bin/sh\necho "v3.7.2+g663a896"\n', { mode: 0o755 });
  });

  test('without a pinned version is refused, with the fix naming install.helm.version', async () => {
    const cacheDir = freshCache();
    const err = (await ensureHelm({ ...linux, bin: oldHelm, cacheDir, downloadBase: base }).catch(
      (e: unknown) => e,
    )) as Refusal;
    expect(err).toBeInstanceOf(Refusal);
    expect(err.message).toMatch(/helm v3\.7\.2\+g663a896 is too old/);
    expect(err.details.join('\n')).toMatch(/install\.helm\.version/);
    expect(requests).toEqual([]);
  });

  test('with a pinned version is replaced by the pinned helm', async () => {
    const cacheDir = freshCache();
    const got = await ensureHelm({
      ...linux,
      bin: oldHelm,
      cacheDir,
      downloadBase: base,
      pinned: { version: VERSION },
    });
    expect(got.path).toBe(join(cacheDir, `helm-${VERSION}`, 'helm'));
    expect(lines.join('\n')).toMatch(/too old: using the pinned helm/);
  });
});

test('a helm of 3.8 or newer on the runner is used as it is, pinned or not, without downloading', async () => {
  const helm = join(sandbox().binDir, 'helm');
  const got = await ensureHelm({
    ...linux,
    bin: helm,
    cacheDir: freshCache(),
    downloadBase: base,
    pinned: { version: '3.9.0' },
  });
  expect(got).toEqual({ path: helm, version: VERSION });
  expect(requests).toEqual([]);
});

test('with no helm and no pin, the runner is refused with both ways out', async () => {
  const err = (await ensureHelm({ ...linux, bin: NO_HELM, cacheDir: freshCache() }).catch(
    (e: unknown) => e,
  )) as Refusal;
  expect(err).toBeInstanceOf(Refusal);
  expect(err.message).toBe('helm is not installed on this runner');
  expect(err.details.join('\n')).toMatch(/HELM_BIN[\s\S]*install\.helm\.version/);
});

test('a version the mirror does not have is refused without a retry', async () => {
  const cacheDir = freshCache();
  await expect(
    ensureHelm({ ...linux, bin: NO_HELM, cacheDir, downloadBase: base, pinned: { version: '3.8.1' } }),
  ).rejects.toThrow(/cannot download .*helm-v3\.8\.1-linux-amd64\.tar\.gz\.sha256sum: HTTP 404/);
  expect(requests).toEqual(['/helm-v3.8.1-linux-amd64.tar.gz.sha256sum']);
  expect(readdirSync(cacheDir)).toEqual([]);
});

test('a download server that is down gives a clear error after one retry', async () => {
  const down = createServer();
  await new Promise<void>((r) => down.listen(0, '127.0.0.1', r));
  const downloadBase = `http://127.0.0.1:${(down.address() as AddressInfo).port}`;
  await new Promise((r) => down.close(r));
  const cacheDir = freshCache();
  await expect(
    ensureHelm({ ...linux, bin: NO_HELM, cacheDir, downloadBase, pinned: { version: VERSION } }),
  ).rejects.toThrow(
    new RegExp(`cannot download ${downloadBase}/${ARCHIVE}\\.sha256sum \\(tried twice\\): .*ECONNREFUSED`),
  );
  expect(lines.join('\n')).toMatch(/retrying once/);
  expect(readdirSync(cacheDir)).toEqual([]);
});

test('an unsupported runner platform or a pin older than 3.8 is refused before any download', async () => {
  const opts = { log, bin: NO_HELM, cacheDir: freshCache(), downloadBase: base };
  await expect(
    ensureHelm({ ...opts, platform: 'win32', arch: 'x64', pinned: { version: VERSION } }),
  ).rejects.toThrow(/cannot install helm on win32/);
  await expect(
    ensureHelm({ ...opts, platform: 'linux', arch: 'x64', pinned: { version: '3.7.2' } }),
  ).rejects.toThrow(/3\.7\.2 is too old/);
  expect(requests).toEqual([]);
});
