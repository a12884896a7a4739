import { Hash } from '@smithy/hash-node';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';

export interface AwsCredentialsLike {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

export interface EksToken {
  token: string;
  /** Refresh before this: EKS accepts a token for 15 minutes after signing; one minute is kept in hand. */
  expiresAt: Date;
}

/** The STS endpoint the token is presigned for: the SDK's environment overrides, else the regional endpoint. */
export function stsEndpoint(region: string, env: NodeJS.ProcessEnv = process.env): URL {
  return new URL(env.AWS_ENDPOINT_URL_STS ?? env.AWS_ENDPOINT_URL ?? `https://sts.${region}.amazonaws.com`);
}

/**
 * Builds the bearer token EKS accepts (what `aws eks get-token` prints): a presigned STS
 * GetCallerIdentity URL whose signature covers the `x-k8s-aws-id` header, which binds the token to one
 * cluster, encoded as `k8s-aws-v1.` + unpadded base64url.
 */
export async function buildEksToken(opts: {
  clusterName: string;
  region: string;
  credentials: AwsCredentialsLike;
  endpoint?: URL;
  now?: Date;
}): Promise<EksToken> {
  const endpoint = opts.endpoint ?? stsEndpoint(opts.region);
  const now = opts.now ?? new Date();
  const signer = new SignatureV4({
    credentials: opts.credentials,
    region: opts.region,
    service: 'sts',
    sha256: Hash.bind(null, 'sha256'),
  });
  const host = endpoint.host;
  const request = new HttpRequest({
    method: 'GET',
    protocol: endpoint.protocol,
    hostname: endpoint.hostname,
    port: endpoint.port ? Number(endpoint.port) : undefined,
    path: endpoint.pathname.endsWith('/') ? endpoint.pathname : `${endpoint.pathname}/`,
    query: { Action: 'GetCallerIdentity', Version: '2011-06-15' },
    headers: { host, 'x-k8s-aws-id': opts.clusterName },
  });
  const signed = await signer.presign(request, { expiresIn: 60, signingDate: now });
  const query = Object.entries(signed.query ?? {})
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`)
    .join('&');
  const url = `${endpoint.protocol}//${host}${signed.path}?${query}`;
  return {
    token: `k8s-aws-v1.${Buffer.from(url).toString('base64url')}`,
    expiresAt: new Date(now.getTime() + 14 * 60 * 1000),
  };
}
