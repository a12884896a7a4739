import { EC2Client } from '@aws-sdk/client-ec2';
import { EKSClient } from '@aws-sdk/client-eks';
import { IAMClient } from '@aws-sdk/client-iam';
import { STSClient } from '@aws-sdk/client-sts';

export const TEST_CREDENTIALS = { accessKeyId: 'testing', secretAccessKey: 'testing' } as const;
export const DEFAULT_ACCOUNT = '123456789012';
export const DEFAULT_REGION = 'us-east-1';

export interface AwsTarget {
  endpoint: string;
  region: string;
  /** moto keeps one state per account; a header picks it, which keeps tests apart. */
  accountId?: string;
}

type Middlewared = { middlewareStack: { add: (...args: never[]) => void } };

/** Sends every request of this client to the given moto account, so account-wide state stays the caller's own. */
export function withAccount<C extends Middlewared>(client: C, accountId: string | undefined): C {
  if (accountId && accountId !== DEFAULT_ACCOUNT) {
    const add = client.middlewareStack.add as unknown as (
      mw: (
        next: (args: { request: { headers: Record<string, string> } }) => unknown,
      ) => (args: { request: { headers: Record<string, string> } }) => unknown,
      opts: { step: string; name: string },
    ) => void;
    add(
      (next) => (args) => {
        args.request.headers['x-moto-account-id'] = accountId;
        return next(args);
      },
      { step: 'build', name: 'motoAccount' },
    );
  }
  return client;
}

/** SDK clients for the sandbox's own seeding, pointed explicitly at moto (the action uses AWS_ENDPOINT_URL). */
export function sandboxClients(t: AwsTarget) {
  const cfg = { region: t.region, endpoint: t.endpoint, credentials: TEST_CREDENTIALS, maxAttempts: 1 };
  return {
    ec2: withAccount(new EC2Client(cfg), t.accountId),
    eks: withAccount(new EKSClient(cfg), t.accountId),
    iam: withAccount(new IAMClient(cfg), t.accountId),
    sts: withAccount(new STSClient(cfg), t.accountId),
  };
}
