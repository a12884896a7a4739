import * as core from '@actions/core';
import { describeError, Refusal } from './errors.ts';
import { readInputs, type Inputs } from './inputs.ts';

/** What each command does once inputs are read; filled in by the plan engine and the stages. */
export type CommandRunner = (inputs: Inputs) => Promise<void>;

const notYet =
  (command: string): CommandRunner =>
  () =>
    Promise.reject(
      new Refusal(`the "${command}" command is not available in this build of karpenter-action`),
    );

export const COMMAND_RUNNERS: Record<Inputs['command'], CommandRunner> = {
  plan: notYet('plan'),
  apply: notYet('apply'),
  drift: notYet('drift'),
  verify: notYet('verify'),
};

/**
 * The action's entry: reads every input once into a typed object, runs the command, and is the one
 * place where a refusal or an error becomes a failed step with a readable message.
 */
export async function run(
  runners: Record<Inputs['command'], CommandRunner> = COMMAND_RUNNERS,
): Promise<void> {
  try {
    const inputs = readInputs((name) => core.getInput(name));
    if (inputs.githubToken) core.setSecret(inputs.githubToken);
    await runners[inputs.command](inputs);
  } catch (err) {
    reportFailure(err);
  }
}

function reportFailure(err: unknown): void {
  if (err instanceof Refusal) {
    for (const d of err.details) core.error(d);
    core.setFailed(err.details.length > 0 ? `${err.message}:\n- ${err.details.join('\n- ')}` : err.message);
    return;
  }
  if (err instanceof Error && err.stack) core.debug(err.stack);
  core.setFailed(describeError(err));
}
