import { appendFileSync, readFileSync } from 'node:fs';
import { hostname, tmpdir, userInfo } from 'node:os';
import * as core from '@actions/core';
import { runApplyCommand, runDriftCommand, runMatrixCommand, runPlanCommand } from './commands/github.ts';
import { runVerifyCommand } from './commands/plan.ts';
import type { RunEnv } from './commands/prepare.ts';
import { describeError, Refusal } from './errors.ts';
import { readInputs, type Inputs } from './inputs.ts';

/** What each command does once inputs are read. */
export type CommandRunner = (inputs: Inputs, env: RunEnv) => Promise<void>;

export const COMMAND_RUNNERS: Record<Inputs['command'], CommandRunner> = {
  plan: runPlanCommand,
  apply: runApplyCommand,
  drift: runDriftCommand,
  verify: async (inputs, env) => {
    await runVerifyCommand(inputs, env);
  },
  matrix: runMatrixCommand,
};

/**
 * The commit a plan is for: on a pull request the PR's head (GITHUB_SHA is then a merge commit that
 * nobody reviews), otherwise the pushed or scheduled commit.
 */
export function readHeadSha(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env.GITHUB_EVENT_PATH) {
    try {
      const event = JSON.parse(readFileSync(env.GITHUB_EVENT_PATH, 'utf8')) as {
        pull_request?: { head?: { sha?: string } };
      };
      if (event.pull_request?.head?.sha) return event.pull_request.head.sha;
    } catch {
      // no readable event: fall back to GITHUB_SHA
    }
  }
  return env.GITHUB_SHA;
}

/** The runner's environment: outputs, step summary and annotations through @actions/core. */
export function actionsEnv(): RunEnv {
  return {
    workspace: process.env.GITHUB_WORKSPACE ?? process.cwd(),
    tempDir: process.env.RUNNER_TEMP ?? tmpdir(),
    headSha: readHeadSha(),
    identity: `${process.env.GITHUB_REPOSITORY ?? 'unknown repository'} run ${process.env.GITHUB_RUN_ID ?? '?'}/${process.env.GITHUB_RUN_ATTEMPT ?? '1'} by ${process.env.GITHUB_ACTOR ?? 'unknown'}`,
    log: { info: (l) => core.info(l), warn: (l) => core.warning(l), debug: (l) => core.debug(l) },
    setOutput: (name, value) => core.setOutput(name, value),
    writeSummary: async (md) => {
      if (process.env.GITHUB_STEP_SUMMARY) await core.summary.addRaw(md, true).write();
    },
    annotate: (level, message, where) => {
      const props = where ? { file: where.file, startLine: where.line } : {};
      if (level === 'error') core.error(message, props);
      else core.warning(message, props);
    },
  };
}

/** The terminal's environment: text on stdout, outputs as `name=value` lines on stderr. */
export function cliEnv(): RunEnv {
  return {
    workspace: process.cwd(),
    tempDir: process.cwd(),
    identity: `${userInfo().username}@${hostname()} pid ${process.pid}`,
    // stdout is the plan; the runner reads workflow commands on stderr too, and a terminal needs none
    mask: (secret) => {
      if (process.env.GITHUB_ACTIONS === 'true') process.stderr.write(`::add-mask::${secret}\n`);
    },
    log: {
      info: (l) => process.stderr.write(`${l}\n`),
      warn: (l) => process.stderr.write(`warning: ${l}\n`),
      debug: (l) => {
        if (process.env.KARPENTER_ACTION_DEBUG) process.stderr.write(`debug: ${l}\n`);
      },
    },
    setOutput: (name, value) => {
      if (process.env.GITHUB_OUTPUT) appendFileSync(process.env.GITHUB_OUTPUT, `${name}=${value}\n`);
      else process.stderr.write(`${name}=${value}\n`);
    },
    writeSummary: () => Promise.resolve(),
    annotate: (level, message, where) =>
      process.stderr.write(
        `${level}: ${where ? `${where.file}${where.line ? `:${where.line}` : ''}: ` : ''}${message}\n`,
      ),
    print: (text) => process.stdout.write(text.endsWith('\n') ? text : `${text}\n`),
    ...(process.env.GITHUB_ACTIONS === 'true'
      ? {}
      : {
          fail: (message: string, stack?: string) => {
            process.stderr.write(`error: ${message}\n`);
            if (stack && process.env.KARPENTER_ACTION_DEBUG) process.stderr.write(`${stack}\n`);
            process.exitCode = 1;
          },
        }),
  };
}

/**
 * The action's entry: reads every input once into a typed object, runs the command, and is the one
 * place where a refusal or an error becomes a failed step with a readable message.
 */
export async function run(
  runners: Record<Inputs['command'], CommandRunner> = COMMAND_RUNNERS,
  env: RunEnv = actionsEnv(),
): Promise<void> {
  try {
    const inputs = readInputs((name) => core.getInput(name));
    if (inputs.githubToken) (env.mask ?? core.setSecret)(inputs.githubToken);
    await runners[inputs.command](inputs, env);
  } catch (err) {
    reportFailure(err, env);
  }
}

function reportFailure(err: unknown, env: RunEnv): void {
  const message =
    err instanceof Refusal
      ? err.details.length > 0
        ? `${err.message}:\n- ${err.details.join('\n- ')}`
        : err.message
      : describeError(err);
  const stack = !(err instanceof Refusal) && err instanceof Error ? err.stack : undefined;
  if (env.fail) return env.fail(message, stack);
  if (stack) core.debug(stack);
  core.setFailed(message);
}
