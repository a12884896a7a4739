import { buildEksToken } from './adapters/eks-token.ts';
import { runConvert } from './commands/convert.ts';
import { runIamPolicy } from './commands/iam-policy.ts';
import { defaultCredentials } from './adapters/aws-credentials.ts';
import { cliEnv, COMMAND_RUNNERS, run } from './main.ts';
import { COMMANDS } from './inputs.ts';
import { Refusal } from './errors.ts';

const USAGE = `usage: karpenter-action <command> [flags]

commands:
  plan | apply | drift | verify   the action's commands; flags are the action's inputs (--config, --cluster,
                                  --stages, --fingerprint, --aws-region, --kubeconfig, --comment, ...)
  convert [--config <path>] [--cluster <name>] [--write]
                                  show (or write) the v1 form of v1beta1 NodePools and EC2NodeClasses
  token --cluster <name> [--region <region>]
                                  print an EKS token as a kubectl ExecCredential (like aws eks get-token)
  iam-policy [--config <path>] [--cluster <name>] [--role plan|apply|both] [--account-id <12 digits>]
             [--repository owner/repo] [--environment <name>] [--default-branch <name>]
             [--format text|json|manifests]
                                  print the IAM permission and trust policies of the read-only plan role and
                                  the apply role, the EKS access entries both need, and the planner objects
                                  (manifests: those objects alone, for kubectl apply --server-side)
`;

/** Turns `--name value` / `--name=value` flags into the action's INPUT_* form, so both entries share one parser. */
export function flagsToInputs(args: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (!a.startsWith('--')) throw new Error(`unexpected argument "${a}"\n\n${USAGE}`);
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

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (!command || command === '--help' || command === '-h' || command === 'help') {
    process.stdout.write(USAGE);
    return command ? 0 : 2;
  }
  const flags = flagsToInputs(rest);
  if (command === 'token') {
    const cluster = flags.cluster;
    const region = flags.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION;
    if (!cluster || !region) throw new Error('token needs --cluster and --region (or AWS_REGION)');
    const t = await buildEksToken({
      clusterName: cluster,
      region,
      credentials: await defaultCredentials(region)(),
    });
    process.stdout.write(
      `${JSON.stringify({
        kind: 'ExecCredential',
        apiVersion: 'client.authentication.k8s.io/v1beta1',
        spec: {},
        status: { expirationTimestamp: t.expiresAt.toISOString(), token: t.token },
      })}\n`,
    );
    return 0;
  }
  if (command === 'convert') {
    const r = runConvert({
      config: flags.config ?? '.github/karpenter.yaml',
      cluster: flags.cluster,
      workspace: process.cwd(),
      write: flags.write === 'true',
    });
    for (const line of r.report) process.stderr.write(`${line}\n`);
    if (r.files.size === 0) process.stderr.write('no v1beta1 manifests found\n');
    if (flags.write !== 'true')
      for (const [file, text] of r.files) process.stdout.write(`# ${file}\n${text}`);
    return r.errors > 0 ? 1 : 0;
  }
  if (command === 'iam-policy') {
    try {
      const r = runIamPolicy({
        config: flags.config,
        cluster: flags.cluster,
        role: flags.role,
        accountId: flags['account-id'],
        repository: flags.repository,
        environment: flags.environment,
        defaultBranch: flags['default-branch'],
        format: flags.format,
        workspace: process.cwd(),
      });
      process.stdout.write(r.output);
      return 0;
    } catch (e) {
      if (!(e instanceof Refusal)) throw e;
      process.stderr.write(`${e.message}\n${e.details.map((d) => `  - ${d}\n`).join('')}`);
      return 1;
    }
  }
  if (!(COMMANDS as readonly string[]).includes(command)) {
    process.stderr.write(`unknown command "${command}"\n\n${USAGE}`);
    return 2;
  }
  for (const [k, v] of Object.entries(flags)) process.env[`INPUT_${k.replace(/ /g, '_').toUpperCase()}`] = v;
  process.env.INPUT_COMMAND = command;
  await run(COMMAND_RUNNERS, cliEnv());
  return process.exitCode === undefined ? 0 : Number(process.exitCode);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
