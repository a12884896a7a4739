import { Refusal } from './errors.ts';
import { APPLY_REQUIREMENTS, type ApplyRequirement } from './github/approval.ts';

export const COMMANDS = ['plan', 'apply', 'drift', 'verify', 'matrix'] as const;

/** The action's inputs as action.yml declares them; the CLI takes the same names as flags. */
export const INPUT_NAMES = [
  'command',
  'config',
  'cluster',
  'stages',
  'role-to-assume',
  'role-session-name',
  'aws-region',
  'kubeconfig',
  'github-token',
  'comment',
  'fail-on-drift',
  'fingerprint',
  'auto-approve',
  'lock-wait',
  'approvals',
  'apply-requirements',
  'base-branch',
  'plan-dir',
  'pull-request',
] as const;
export type Command = (typeof COMMANDS)[number];

export const STAGES = ['prereqs', 'install', 'pools', 'verify'] as const;
export type StageName = (typeof STAGES)[number];

/** Every input of action.yml, read once and validated, so nothing deeper reads the environment. */
export interface Inputs {
  command: Command;
  config: string;
  cluster: string | undefined;
  stages: StageName[];
  roleToAssume: string | undefined;
  roleSessionName: string;
  awsRegion: string | undefined;
  kubeconfig: string | undefined;
  githubToken: string | undefined;
  comment: boolean;
  failOnDrift: boolean;
  fingerprint: string | undefined;
  /** Apply the fresh plan without an approved fingerprint (terminal use and trusted automation only). */
  autoApprove: boolean;
  planDir: string | undefined;
  /** Seconds an apply waits for another apply's lock on the cluster before refusing. */
  lockWait: number;
  /** Approvals on the PR's head commit that a `/karpenter apply` comment needs. */
  approvals: number;
  /** What a `/karpenter apply` must satisfy besides a fresh plan; all three unless narrowed. */
  applyRequirements: ApplyRequirement[];
  /**
   * The branch pull requests must target for `/karpenter apply` and whose pushes apply; undefined
   * means the repository's default branch.
   */
  baseBranch: string | undefined;
  /**
   * `plan` only, outside a `pull_request` run: the pull request whose head is checked out, which gets
   * the plan comment (a maintainer's `workflow_dispatch` plan of a fork's pull request).
   */
  pullRequest: number | undefined;
}

export type InputReader = (name: string) => string;

const ROLE_ARN = /^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]{1,512}$/;
const REGION = /^[a-z]{2}(-[a-z]+)+-\d$/;
const SESSION_NAME = /^[\w+=,.@-]{2,64}$/;
const FINGERPRINT = /^[0-9a-f]{64}$/;
const BRANCH = /^(?!\/|.*(?:\/\/|\.\.|@\{|\/$|\.lock$|\.$))[^\s~^:?*[\\\p{Cc}]{1,255}$/u;

/**
 * Parses the action inputs. All problems are collected and reported together, each naming the input
 * and the accepted values, so one run tells the user everything to fix.
 */
export function readInputs(get: InputReader): Inputs {
  const problems: string[] = [];
  const text = (name: string): string | undefined => {
    const v = get(name).trim();
    return v === '' ? undefined : v;
  };
  const bool = (name: string, fallback: boolean): boolean => {
    const v = text(name);
    if (v === undefined) return fallback;
    if (/^(true|yes|1)$/i.test(v)) return true;
    if (/^(false|no|0)$/i.test(v)) return false;
    problems.push(`input "${name}" is "${v}"; use true or false`);
    return fallback;
  };

  const commandText = text('command') ?? 'plan';
  const command = (COMMANDS as readonly string[]).includes(commandText) ? (commandText as Command) : 'plan';
  if (command !== commandText) {
    problems.push(`input "command" is "${commandText}"; use one of ${COMMANDS.join(', ')}`);
  }

  const stages: StageName[] = [];
  for (const raw of (text('stages') ?? '').split(',')) {
    const s = raw.trim();
    if (s === '') continue;
    if (!(STAGES as readonly string[]).includes(s)) {
      problems.push(`input "stages" names "${s}"; use a comma list out of ${STAGES.join(', ')}`);
    } else if (!stages.includes(s as StageName)) {
      stages.push(s as StageName);
    }
  }

  const roleToAssume = text('role-to-assume');
  if (roleToAssume !== undefined && !ROLE_ARN.test(roleToAssume)) {
    problems.push(
      `input "role-to-assume" is not an IAM role ARN ("${roleToAssume}"); expected arn:aws:iam::<12-digit account>:role/<name>`,
    );
  }
  const roleSessionName = text('role-session-name') ?? 'karpenter-action';
  if (!SESSION_NAME.test(roleSessionName)) {
    problems.push(`input "role-session-name" must be 2-64 characters of letters, digits and +=,.@_-`);
  }
  const awsRegion = text('aws-region');
  if (awsRegion !== undefined && !REGION.test(awsRegion)) {
    problems.push(`input "aws-region" is "${awsRegion}"; expected a region such as us-east-1`);
  }
  const fingerprint = text('fingerprint')?.toLowerCase();
  if (fingerprint !== undefined && !FINGERPRINT.test(fingerprint)) {
    problems.push(`input "fingerprint" must be the 64-character hex fingerprint printed by plan`);
  }

  const applyRequirements: ApplyRequirement[] = [];
  const requirementsText = text('apply-requirements');
  for (const raw of (requirementsText ?? APPLY_REQUIREMENTS.join(',')).split(',')) {
    const r = raw.trim();
    if (r === '') continue;
    if (!(APPLY_REQUIREMENTS as readonly string[]).includes(r)) {
      problems.push(
        `input "apply-requirements" names "${r}"; use a comma list out of ${APPLY_REQUIREMENTS.join(', ')}`,
      );
    } else if (!applyRequirements.includes(r as ApplyRequirement)) {
      applyRequirements.push(r as ApplyRequirement);
    }
  }
  if (requirementsText !== undefined && applyRequirements.length === 0 && problems.length === 0)
    problems.push(
      `input "apply-requirements" names no requirement; use a comma list out of ${APPLY_REQUIREMENTS.join(', ')}`,
    );

  const baseBranch = text('base-branch')?.replace(/^refs\/heads\//, '');
  if (baseBranch !== undefined && !BRANCH.test(baseBranch)) {
    problems.push(
      `input "base-branch" is "${baseBranch}", which is not a branch name; name a branch such as main`,
    );
  }

  const whole = (name: string, fallback: number, min: number, max: number): number => {
    const v = text(name);
    if (v === undefined) return fallback;
    if (!/^\d+$/.test(v) || Number(v) < min || Number(v) > max) {
      problems.push(`input "${name}" is "${v}"; use a whole number from ${min} to ${max}`);
      return fallback;
    }
    return Number(v);
  };

  const inputs: Inputs = {
    command,
    config: text('config') ?? '.github/karpenter.yaml',
    cluster: text('cluster'),
    stages: stages.length > 0 ? STAGES.filter((s) => stages.includes(s)) : [...STAGES],
    roleToAssume,
    roleSessionName,
    awsRegion,
    kubeconfig: text('kubeconfig'),
    githubToken: text('github-token'),
    comment: bool('comment', true),
    failOnDrift: bool('fail-on-drift', true),
    fingerprint,
    autoApprove: bool('auto-approve', false),
    planDir: text('plan-dir'),
    lockWait: whole('lock-wait', 300, 0, 3600),
    approvals: whole('approvals', 1, 1, 10),
    applyRequirements: APPLY_REQUIREMENTS.filter((r) => applyRequirements.includes(r)),
    baseBranch,
    pullRequest: undefined,
  };
  const pull = text('pull-request')?.replace(/^#/, '');
  if (pull !== undefined) {
    if (!/^[1-9]\d{0,9}$/.test(pull))
      problems.push(`input "pull-request" is "${pull}"; use the pull request's number, e.g. 123`);
    else if (command !== 'plan')
      problems.push(
        `input "pull-request" is for the plan command only; the ${command} command finds its pull request itself`,
      );
    else inputs.pullRequest = Number(pull);
  }
  if (problems.length > 0) {
    throw new Refusal(`invalid action inputs (${problems.length})`, problems);
  }
  return inputs;
}
