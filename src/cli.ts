import { buildEksToken } from './adapters/eks-token.ts';
import { runConvert } from './commands/convert.ts';
import { runIamPolicy } from './commands/iam-policy.ts';
import { defaultCredentials } from './adapters/aws-credentials.ts';
import { cliEnv, COMMAND_RUNNERS, run } from './main.ts';
import { checkCommandLine, flagsToInputs, USAGE, UsageError } from './cli-args.ts';
import { Refusal } from './errors.ts';

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (!command || command === '--help' || command === '-h' || command === 'help') {
    process.stdout.write(USAGE);
    return command ? 0 : 2;
  }
  let flags: Record<string, string>;
  try {
    flags = flagsToInputs(rest);
    checkCommandLine(command, flags);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    process.stderr.write(`${e.message}\n`);
    return 2;
  }
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
        ownerId: flags['owner-id'],
        repositoryId: flags['repository-id'],
        oidcSubject: flags['oidc-subject'],
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
  for (const [k, v] of Object.entries(flags)) process.env[`INPUT_${k.replace(/ /g, '_').toUpperCase()}`] = v;
  process.env.INPUT_COMMAND = command;
  await run(COMMAND_RUNNERS, cliEnv());
  return process.exitCode === undefined ? 0 : Number(process.exitCode);
}

/** The terminal entry: runs one command line and sets the exit code. */
export async function cliMain(argv: string[]): Promise<void> {
  try {
    process.exitCode = await main(argv);
  } catch (err) {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  }
}
