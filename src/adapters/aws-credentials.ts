import { STSClient } from '@aws-sdk/client-sts';
import type { AwsCredentialsLike } from './eks-token.ts';

/** The default AWS credential chain (environment, shared files, web identity, instance roles), as the SDK resolves it. */
export function defaultCredentials(region: string): () => Promise<AwsCredentialsLike> {
  const sts = new STSClient({ region });
  return async () => {
    const c = await sts.config.credentials();
    return { accessKeyId: c.accessKeyId, secretAccessKey: c.secretAccessKey, sessionToken: c.sessionToken };
  };
}
