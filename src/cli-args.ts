/**
 * The CLI's command line: flags in the action's input names, checked against what each command takes
 * before anything runs.
 */
import { closest, distance } from 'fastest-levenshtein';
import { COMMANDS, INPUT_NAMES } from './inputs.ts';

export const USAGE = `usage: karpenter-action <command> [flags]

commands:
  plan | apply | drift | verify   the action's commands; flags are the action's inputs (--config, --cluster,
                                  --stages, --fingerprint, --aws-region, --kubeconfig, --comment, ...)
  convert [--config <path>] [--cluster <name>] [--write]
                                  show (or write) the v1 form of v1beta1 NodePools and EC2NodeClasses
  token --cluster <name> [--region <region>]
                                  print an EKS token as a kubectl ExecCredential (like aws eks get-token)
  iam-policy [--config <path>] [--cluster <name>] [--role plan|apply|both] [--account-id <12 digits>]
             [--repository owner/repo] [--oidc-subject <file> | --owner-id <id> --repository-id <id>]
             [--environment <name>] [--default-branch <name>]
             [--format text|json|manifests]
                                  print the IAM permission and trust policies of the read-only plan role and
                                  the apply role, the EKS access entries both need, and the planner objects
                                  (manifests: those objects alone, for kubectl apply --server-side)
`;

/** A command line the CLI does not understand: refused before anything runs. */
export class UsageError extends Error {}

/** Turns `--name value` / `--name=value` flags into the action's INPUT_* form, so both entries share one parser. */
export function flagsToInputs(args: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (!a.startsWith('--')) throw new UsageError(`unexpected argument "${a}"\n\n${USAGE}`);
    const eq = a.indexOf('=');
    if (eq > 0) {
      out[a.slice(2, eq)] = a.slice(eq + 1);
    } else {
      const next = args[i + 1];
      if (next === undefined || next.startsWith('--')) out[a.slice(2)] = 'true';
      else {
        out[a.slice(2)] = next;
        i++;
      }
    }
  }
  return out;
}

/** The flags each command takes: the action's inputs for its commands, and each tool's own. */
const COMMAND_FLAGS: Record<string, readonly string[]> = {
  ...Object.fromEntries(COMMANDS.map((c) => [c, INPUT_NAMES.filter((n) => n !== 'command')])),
  token: ['cluster', 'region'],
  convert: ['config', 'cluster', 'write'],
  'iam-policy': [
    'config',
    'cluster',
    'role',
    'account-id',
    'repository',
    'environment',
    'default-branch',
    'owner-id',
    'repository-id',
    'oidc-subject',
    'format',
  ],
};

/** The nearest of the known names, when it is near enough to be a typo. */
function didYouMean(word: string, known: readonly string[]): string | undefined {
  if (known.length === 0) return undefined;
  const best = closest(word, [...known]);
  return distance(word, best) <= Math.max(2, Math.floor(best.length / 3)) ? best : undefined;
}

/**
 * Refuses a command or flag the CLI does not know, naming the valid ones and the likely typo, so a
 * mistyped `--stagez pools` never runs every stage.
 */
export function checkCommandLine(command: string, flags: Record<string, string>): void {
  const known = COMMAND_FLAGS[command];
  if (!known) {
    const guess = didYouMean(command, Object.keys(COMMAND_FLAGS));
    throw new UsageError(
      `unknown command "${command}"${guess ? `; did you mean "${guess}"?` : ''}\n\n${USAGE}`,
    );
  }
  for (const flag of Object.keys(flags)) {
    if (known.includes(flag)) continue;
    const guess = didYouMean(flag, known);
    throw new UsageError(
      `unknown flag --${flag} for "${command}"${guess ? `; did you mean --${guess}?` : ''}\n` +
        `flags of ${command}: ${known.map((k) => `--${k}`).join(', ')}`,
    );
  }
}
