import { DescribeImagesCommand, EC2Client } from '@aws-sdk/client-ec2';
import { EKSClient } from '@aws-sdk/client-eks';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { IAMClient } from '@aws-sdk/client-iam';
import { SQSClient } from '@aws-sdk/client-sqs';
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { abortError } from '../errors.ts';
import type { AwsCredentialsLike } from './eks-token.ts';

/**
 * The AWS clients of one run, built once for the region and the run's credentials. Endpoints come
 * from the SDK's own configuration (AWS_ENDPOINT_URL and friends); there is no other override.
 */
export interface AwsClients {
  region: string;
  eks: EKSClient;
  ec2: EC2Client;
  ssm: SSMClient;
  sts: STSClient;
  iam: IAMClient;
  sqs: SQSClient;
  events: EventBridgeClient;
  credentials: () => Promise<AwsCredentialsLike>;
  /** Calls sent, by `Service.Operation`; the benchmark reports them. */
  calls: Record<string, number>;
}

type Counted = {
  middlewareStack: { add: (...a: never[]) => void };
  send: (...a: never[]) => Promise<unknown>;
};

type AddMiddleware = (
  mw: (
    next: (a: unknown) => Promise<unknown>,
    ctx: { commandName?: string },
  ) => (a: unknown) => Promise<unknown>,
  o: { step: string; name: string; priority?: string },
) => void;

const abortReason = (signal: AbortSignal) => abortError(signal, 'AWS calls were stopped');

/**
 * Counts calls, and fences the client: once `signal` aborts, no call (nor a retry of one) is sent, and
 * a call in flight is cut off, each rejecting with the signal's reason.
 */
function instrument<C extends Counted>(
  client: C,
  service: string,
  calls: Record<string, number>,
  signal: AbortSignal | undefined,
): C {
  const add = client.middlewareStack.add as unknown as AddMiddleware;
  add(
    (next, ctx) => (args) => {
      if (signal?.aborted) return Promise.reject(abortReason(signal));
      const key = `${service}.${(ctx.commandName ?? 'Unknown').replace(/Command$/, '')}`;
      calls[key] = (calls[key] ?? 0) + 1;
      return next(args);
    },
    { step: 'initialize', name: 'karpenterActionCallCounter' },
  );
  if (!signal) return client;
  // each attempt passes here, after the retry middleware of the same step
  add((next) => (args) => (signal.aborted ? Promise.reject(abortReason(signal)) : next(args)), {
    step: 'finalizeRequest',
    name: 'karpenterActionFence',
    priority: 'low',
  });
  const send = (client.send as unknown as (cmd: unknown, o?: unknown) => Promise<unknown>).bind(client);
  (client as { send: unknown }).send = async (cmd: unknown, o?: { abortSignal?: AbortSignal }) => {
    const joined = o?.abortSignal ? AbortSignal.any([o.abortSignal, signal]) : signal;
    try {
      return await send(cmd, { ...o, abortSignal: joined });
    } catch (e) {
      throw signal.aborted ? abortReason(signal) : e;
    }
  };
  return client;
}

/**
 * The clients for a region and credentials. With `signal`, every call of every client honours it: an
 * apply that lost its lock sends nothing more to AWS.
 */
export function buildAwsClients(
  region: string,
  credentials?: () => Promise<AwsCredentialsLike>,
  signal?: AbortSignal,
): AwsClients {
  const cfg = { region, ...(credentials ? { credentials } : {}), maxAttempts: 5 };
  const calls: Record<string, number> = {};
  const wrap = <C extends Counted>(client: C, service: string) => instrument(client, service, calls, signal);
  const sts = wrap(new STSClient(cfg), 'STS');
  const creds =
    credentials ??
    (async () => {
      const c = await sts.config.credentials();
      return { accessKeyId: c.accessKeyId, secretAccessKey: c.secretAccessKey, sessionToken: c.sessionToken };
    });
  return {
    region,
    eks: wrap(new EKSClient(cfg), 'EKS'),
    ec2: wrap(new EC2Client(cfg), 'EC2'),
    ssm: wrap(new SSMClient(cfg), 'SSM'),
    sts,
    iam: wrap(new IAMClient(cfg), 'IAM'),
    sqs: wrap(new SQSClient(cfg), 'SQS'),
    events: wrap(new EventBridgeClient(cfg), 'EventBridge'),
    credentials: creds,
    calls,
  };
}

export async function readAccountId(
  aws: AwsClients,
): Promise<{ account: string; arn: string; partition: string }> {
  const who = await aws.sts.send(new GetCallerIdentityCommand({}));
  return { account: who.Account ?? '', arn: who.Arn ?? '', partition: who.Arn?.split(':')[1] ?? 'aws' };
}

/**
 * The release of the current EKS-optimized AL2023 AMI for a Kubernetes version (`v20260101`), as the
 * getting-started guide derives ALIAS_VERSION: SSM parameter, then the image's name.
 */
export async function readAl2023AliasVersion(aws: AwsClients, k8sVersion: string): Promise<string> {
  const p = await aws.ssm.send(
    new GetParameterCommand({
      Name: `/aws/service/eks/optimized-ami/${k8sVersion}/amazon-linux-2023/x86_64/standard/recommended/image_id`,
    }),
  );
  const id = p.Parameter?.Value;
  if (!id) throw new Error(`no AL2023 AMI is published for Kubernetes ${k8sVersion}`);
  const img = await aws.ec2.send(new DescribeImagesCommand({ ImageIds: [id] }));
  const name = img.Images?.[0]?.Name ?? '';
  const m = /-(v\d{8})(?:$|[^0-9])/.exec(name);
  if (!m) throw new Error(`cannot read the release from AMI name "${name}"`);
  return m[1]!;
}
