import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from './paths.ts';

export interface ActionRun {
  code: number | null;
  stdout: string;
  stderr: string;
  outputs: Record<string, string>;
  summary: string;
  /** Where RUNNER_TEMP pointed: the plan file and comment are written there. */
  runnerTemp: string;
}

/** Parses GITHUB_OUTPUT, including the heredoc form @actions/core writes for every value. */
export function parseOutputs(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const heredoc = /^([^<=]+)<<(.+)$/.exec(line);
    if (heredoc) {
      const [, name, delim] = heredoc;
      const value: string[] = [];
      while (++i < lines.length && lines[i] !== delim) value.push(lines[i]!);
      out[name!] = value.join('\n');
    } else if (line.includes('=')) {
      out[line.slice(0, line.indexOf('='))] = line.slice(line.indexOf('=') + 1);
    }
  }
  return out;
}

/**
 * Runs the bundled action the way the Actions runner does: `node dist/index.js` with INPUT_*
 * variables, GITHUB_OUTPUT, GITHUB_STEP_SUMMARY, RUNNER_TEMP and a workspace, and no other state
 * from the calling process than the environment given.
 */
export async function runAction(opts: {
  inputs: Record<string, string>;
  env: Record<string, string>;
  workspace: string;
}): Promise<ActionRun> {
  const dir = mkdtempSync(join(tmpdir(), 'ka-run-'));
  const outputFile = join(dir, 'output');
  const summaryFile = join(dir, 'summary');
  writeFileSync(outputFile, '');
  writeFileSync(summaryFile, '');
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? dir,
    GITHUB_OUTPUT: outputFile,
    GITHUB_STEP_SUMMARY: summaryFile,
    GITHUB_WORKSPACE: opts.workspace,
    RUNNER_TEMP: dir,
    GITHUB_ACTIONS: 'true',
    ...opts.env,
  };
  for (const [k, v] of Object.entries(opts.inputs)) env[`INPUT_${k.replace(/ /g, '_').toUpperCase()}`] = v;
  // KARPENTER_ACTION_BUNDLE runs another build of the bundle (a work-in-progress one) in place of dist/.
  const bundle = process.env.KARPENTER_ACTION_BUNDLE ?? join(ROOT, 'dist', 'index.js');
  const child = spawn(process.execPath, [bundle], { cwd: opts.workspace, env });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const code = await new Promise<number | null>((r) => child.on('close', r));
  return {
    code,
    stdout,
    stderr,
    outputs: parseOutputs(readFileSync(outputFile, 'utf8')),
    summary: existsSync(summaryFile) ? readFileSync(summaryFile, 'utf8') : '',
    runnerTemp: dir,
  };
}
