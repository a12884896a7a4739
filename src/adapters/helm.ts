import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { Refusal } from '../errors.ts';
import { isBeforeMinor, readLeadingRelease } from '../util/release.ts';

const run = promisify(execFile);

export const MIN_HELM = [3, 8, 0] as const;

export interface HelmInfo {
  path: string;
  version: string;
}

/** Finds helm on the PATH and checks it can pull OCI charts (3.8 or newer). */
export async function detectHelm(bin = process.env.HELM_BIN ?? 'helm'): Promise<HelmInfo> {
  let out: string;
  try {
    out = (await run(bin, ['version', '--short'], { timeout: 30_000 })).stdout.trim();
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new Refusal(
      code === 'ENOENT'
        ? 'helm is not installed on this runner'
        : `helm does not run: ${(e as Error).message}`,
      ['install helm 3.8 or newer before this step (GitHub-hosted runners have it), or set HELM_BIN'],
    );
  }
  const v = readLeadingRelease(out);
  if (!v) throw new Refusal(`cannot read helm's version from "${out}"`);
  if (isBeforeMinor(v.version, MIN_HELM.slice(0, 2).join('.')))
    throw new Refusal(`helm ${out} is too old`, [
      'Karpenter charts are OCI charts and need helm 3.8 or newer',
    ]);
  return { path: bin, version: `${v.major}.${v.minor}.${v.patch}` };
}

export interface ChartRef {
  /** What helm is given: a local chart directory or an `oci://` reference. */
  chart: string;
  /** `--version`, for repository charts. */
  version?: string;
}

/**
 * Where a chart of the target release comes from: the public OCI registry by default, or a mirror; a
 * local directory (holding `karpenter/` and `karpenter-crd/`) must be that exact release.
 */
export function resolveChart(
  repository: string,
  name: 'karpenter' | 'karpenter-crd',
  version: string,
  baseDir: string,
): ChartRef {
  if (/^(oci|https?):\/\//.test(repository)) {
    return { chart: `${repository.replace(/\/$/, '')}/${name}`, version };
  }
  const dir = isAbsolute(repository) ? join(repository, name) : resolve(baseDir, repository, name);
  const chartYaml = join(dir, 'Chart.yaml');
  if (!existsSync(chartYaml)) throw new Refusal(`chart ${name} not found in ${repository} (no ${chartYaml})`);
  const v = /^version:\s*["']?([^"'\s]+)/m.exec(readFileSync(chartYaml, 'utf8'))?.[1];
  if (v !== version) {
    throw new Refusal(`the ${name} chart in ${repository} is version ${v ?? 'unknown'}, not ${version}`, [
      'point karpenter.chartRepository at the charts of the target release',
    ]);
  }
  return { chart: dir };
}

export async function templateChart(
  helm: HelmInfo,
  ref: ChartRef,
  opts: {
    release: string;
    namespace: string;
    values?: Record<string, unknown>;
    kubeVersion?: string;
    includeCrds?: boolean;
  },
): Promise<string> {
  const args = ['template', opts.release, ref.chart, '--namespace', opts.namespace];
  if (ref.version) args.push('--version', ref.version);
  if (opts.kubeVersion) args.push('--kube-version', opts.kubeVersion);
  if (opts.includeCrds) args.push('--include-crds');
  if (opts.values) args.push('--values', '-');
  return new Promise((resolvePromise, reject) => {
    const child = execFile(
      helm.path,
      args,
      { maxBuffer: 64 * 1024 * 1024, timeout: 120_000 },
      (err, stdout, stderr) => {
        if (err) reject(new Error(`helm template ${ref.chart} failed: ${stderr.trim() || err.message}`));
        else resolvePromise(stdout);
      },
    );
    if (opts.values) child.stdin?.end(JSON.stringify(opts.values));
    else child.stdin?.end();
  });
}

/** The chart's own `values.yaml`, as helm shows it: the keys that chart version knows. */
export async function readChartValues(helm: HelmInfo, ref: ChartRef): Promise<string> {
  const args = ['show', 'values', ref.chart];
  if (ref.version) args.push('--version', ref.version);
  try {
    return (await run(helm.path, args, { maxBuffer: 16 * 1024 * 1024, timeout: 120_000 })).stdout;
  } catch (e) {
    const err = e as Error & { stderr?: string };
    throw new Error(`helm show values ${ref.chart} failed: ${err.stderr?.trim() || err.message}`, {
      cause: e,
    });
  }
}
