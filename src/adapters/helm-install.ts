import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmod, mkdir, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Refusal } from '../errors.ts';
import type { Logger } from '../stages/types.ts';
import { detectHelm, MIN_HELM, type HelmInfo } from './helm.ts';
import { isBeforeMinor, parseRelease } from '../util/release.ts';

const run = promisify(execFile);

export const DEFAULT_HELM_DOWNLOAD_BASE = 'https://get.helm.sh';

export interface PinnedHelm {
  /** A released helm version, with or without the leading `v`. */
  version: string;
  /** The archive's sha256; without it the `.sha256sum` published next to the archive is trusted. */
  sha256?: string;
}

export interface EnsureHelmOptions {
  pinned?: PinnedHelm;
  /** Where downloaded helm binaries are kept between runs (a tool cache on the runner). */
  cacheDir: string;
  downloadBase?: string;
  platform?: NodeJS.Platform;
  arch?: string;
  log: Logger;
  /** The helm to try first; detectHelm's default (HELM_BIN, else `helm` on the PATH) when unset. */
  bin?: string;
  /** Per attempt, covering the whole body; each download is tried twice. */
  fetchTimeoutMs?: number;
}

interface CacheMarker {
  archive: string;
  archiveSha256: string;
  binarySha256: string;
}

const MARKER = 'verified.json';

/**
 * The helm the install stage runs: the runner's own when it is 3.8 or newer, else a pinned release
 * downloaded from get.helm.sh (or a mirror), checked against its sha256 and cached, so a missing or old
 * helm is either a clear refusal or a reproducible install, never whatever happens to be on the PATH.
 */
export async function ensureHelm(opts: EnsureHelmOptions): Promise<HelmInfo> {
  let reason: Refusal;
  try {
    return await detectHelm(opts.bin);
  } catch (e) {
    if (!(e instanceof Refusal)) throw e;
    reason = e;
  }
  if (!opts.pinned) {
    throw new Refusal(reason.message, [
      ...reason.details,
      'or set install.helm.version (and install.helm.sha256) so the action installs that helm release itself',
    ]);
  }
  const version = opts.pinned.version.replace(/^v/, '');
  const parsed = /^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$/.test(version) ? parseRelease(version) : undefined;
  if (!parsed) {
    throw new Refusal(`install.helm.version "${opts.pinned.version}" is not a helm release version`, [
      'use a version such as 3.17.3',
    ]);
  }
  if (isBeforeMinor(version, MIN_HELM.slice(0, 2).join('.'))) {
    throw new Refusal(`install.helm.version ${version} is too old`, [
      `Karpenter charts are OCI charts and need helm ${MIN_HELM.slice(0, 2).join('.')} or newer`,
    ]);
  }
  const expectedSha = opts.pinned.sha256?.trim().toLowerCase();
  if (expectedSha !== undefined && !/^[0-9a-f]{64}$/.test(expectedSha)) {
    throw new Refusal(`install.helm.sha256 "${opts.pinned.sha256}" is not a sha256 hex digest`);
  }
  const target = `${helmOs(opts.platform ?? process.platform)}-${helmArch(opts.arch ?? process.arch)}`;
  const archive = `helm-v${version}-${target}.tar.gz`;
  const finalDir = join(opts.cacheDir, `helm-${version}`);
  opts.log.info(`${reason.message}: using the pinned helm ${version}`);

  const cached = await readCachedHelm(finalDir, archive, version, expectedSha);
  if (cached) {
    opts.log.info(`helm ${version} found verified in ${finalDir}`);
    return cached;
  }

  const base = (opts.downloadBase ?? DEFAULT_HELM_DOWNLOAD_BASE).replace(/\/+$/, '');
  const url = `${base}/${archive}`;
  const timeoutMs = opts.fetchTimeoutMs ?? 120_000;
  await mkdir(opts.cacheDir, { recursive: true });
  const staging = await mkdtemp(join(opts.cacheDir, `.helm-${version}-`));
  try {
    const expected =
      expectedSha ?? (await readPublishedSum(`${url}.sha256sum`, archive, timeoutMs, opts.log));
    opts.log.info(`downloading ${url}`);
    const body = await download(url, timeoutMs, opts.log);
    const actual = sha256(body);
    if (actual !== expected) {
      throw new Refusal(`${archive} from ${base} has sha256 ${actual}, expected ${expected}`, [
        expectedSha
          ? 'install.helm.sha256 must be the sha256 of this exact archive (the .sha256sum file published next to it)'
          : 'the download does not match its published checksum: check the mirror or pin install.helm.sha256',
        'the download was deleted',
      ]);
    }
    const archivePath = join(staging, archive);
    await writeFile(archivePath, body);
    try {
      await run('tar', ['-xzf', archivePath, '-C', staging, `${target}/helm`], { timeout: 120_000 });
    } catch (e) {
      throw new Error(`extracting ${target}/helm from ${archive} failed: ${(e as Error).message}`, {
        cause: e,
      });
    }
    await rm(archivePath);
    const extracted = join(staging, target, 'helm');
    await rename(extracted, join(staging, 'helm'));
    await rm(join(staging, target), { recursive: true, force: true });
    await chmod(join(staging, 'helm'), 0o755);
    const marker: CacheMarker = {
      archive,
      archiveSha256: actual,
      binarySha256: sha256(await readFile(join(staging, 'helm'))),
    };
    await writeFile(join(staging, MARKER), `${JSON.stringify(marker, null, 2)}\n`);
    await rm(finalDir, { recursive: true, force: true });
    await rename(staging, finalDir);
  } catch (e) {
    await rm(staging, { recursive: true, force: true });
    throw e;
  }
  const installed = await readCachedHelm(finalDir, archive, version, expectedSha);
  if (!installed) {
    await rm(finalDir, { recursive: true, force: true });
    throw new Refusal(
      `the downloaded helm ${version} (${archive}) does not run as helm ${version} on this runner`,
    );
  }
  opts.log.info(`helm ${installed.version} installed in ${finalDir}`);
  return installed;
}

/** A cached helm counts only if its marker matches this archive and pin, its bytes are unchanged, and it runs as that version. */
async function readCachedHelm(
  dir: string,
  archive: string,
  version: string,
  expectedSha: string | undefined,
): Promise<HelmInfo | undefined> {
  let marker: CacheMarker;
  let binary: Buffer;
  try {
    marker = JSON.parse(await readFile(join(dir, MARKER), 'utf8')) as CacheMarker;
    binary = await readFile(join(dir, 'helm'));
  } catch {
    return undefined;
  }
  if (marker.archive !== archive) return undefined;
  if (expectedSha !== undefined && marker.archiveSha256 !== expectedSha) return undefined;
  if (sha256(binary) !== marker.binarySha256) return undefined;
  try {
    const info = await detectHelm(join(dir, 'helm'));
    return info.version === version.replace(/-.*$/, '') ? info : undefined;
  } catch {
    return undefined;
  }
}

async function readPublishedSum(
  url: string,
  archive: string,
  timeoutMs: number,
  log: Logger,
): Promise<string> {
  const text = (await download(url, timeoutMs, log)).toString('utf8');
  const sum = /^\s*([0-9a-fA-F]{64})\b/.exec(text)?.[1];
  if (!sum) throw new Error(`${url} does not hold a sha256 sum for ${archive}`);
  return sum.toLowerCase();
}

/** One GET with a timeout and a single retry for network errors, timeouts and 5xx answers. */
async function download(url: string, timeoutMs: number, log: Logger): Promise<Buffer> {
  let last = '';
  for (let attempt = 1; attempt <= 2; attempt++) {
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs), redirect: 'follow' });
      if (res.ok) return Buffer.from(await res.arrayBuffer());
      last = `HTTP ${res.status} ${res.statusText}`.trim();
      if (res.status < 500 && res.status !== 429) {
        throw new Refusal(`cannot download ${url}: ${last}`, [
          'check that install.helm.version names a released helm version and that the download mirror has it',
        ]);
      }
    } catch (e) {
      if (e instanceof Refusal) throw e;
      last = fetchFailure(e);
    }
    if (attempt === 1) {
      log.warn(`downloading ${url} failed (${last}); retrying once`);
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
  throw new Error(`cannot download ${url} (tried twice): ${last}`);
}

function fetchFailure(e: unknown): string {
  const err = e as { name?: unknown; message?: unknown; cause?: unknown } | null;
  if (typeof err !== 'object' || err === null) return String(e);
  if (err.name === 'TimeoutError') return 'timed out';
  const cause = err.cause as { code?: unknown; message?: unknown; errors?: { code?: unknown }[] } | undefined;
  const code = cause?.code ?? cause?.errors?.[0]?.code;
  const message = typeof cause?.message === 'string' && cause.message ? cause.message : String(err.message);
  return typeof code === 'string' && !message.includes(code) ? `${code}: ${message}` : message;
}

function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

function helmOs(platform: NodeJS.Platform): string {
  if (platform === 'linux' || platform === 'darwin') return platform;
  throw new Refusal(`the action cannot install helm on ${platform} runners`, [
    'install helm 3.8 or newer before this step',
  ]);
}

function helmArch(arch: string): string {
  const names: Record<string, string> = {
    x64: 'amd64',
    arm64: 'arm64',
    arm: 'arm',
    ia32: '386',
    ppc64: 'ppc64le',
    s390x: 's390x',
    riscv64: 'riscv64',
  };
  const name = names[arch];
  if (!name) {
    throw new Refusal(`the action cannot install helm on ${arch} runners`, [
      'install helm 3.8 or newer before this step',
    ]);
  }
  return name;
}
