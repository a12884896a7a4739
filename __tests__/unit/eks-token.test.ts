import { buildEksToken, stsEndpoint } from '../../src/adapters/eks-token.ts';

const credentials = {
  accessKeyId: 'AKIDEXAMPLE',
  secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY',
};
const now = new Date('2026-11-28T10:00:00Z');

function decode(token: string): URL {
  expect(token.startsWith('k8s-aws-v1.')).toBe(true);
  const b64 = token.slice('k8s-aws-v1.'.length);
  expect(b64).not.toMatch(/[=+/]/);
  return new URL(Buffer.from(b64, 'base64url').toString('utf8'));
}

test('the token is a presigned STS GetCallerIdentity URL bound to the cluster by a signed header', async () => {
  const t = await buildEksToken({
    clusterName: 'weasel-eks',
    region: 'us-east-1',
    credentials,
    endpoint: new URL('https://sts.us-east-1.amazonaws.com'),
    now,
  });
  const url = decode(t.token);
  expect(url.origin).toBe('https://sts.us-east-1.amazonaws.com');
  expect(url.searchParams.get('Action')).toBe('GetCallerIdentity');
  expect(url.searchParams.get('Version')).toBe('2011-06-15');
  expect(url.searchParams.get('X-Amz-Algorithm')).toBe('AWS4-HMAC-SHA256');
  expect(url.searchParams.get('X-Amz-Credential')).toBe('AKIDEXAMPLE/20261128/us-east-1/sts/aws4_request');
  expect(url.searchParams.get('X-Amz-Date')).toBe('20261128T100000Z');
  expect(url.searchParams.get('X-Amz-Expires')).toBe('60');
  expect(url.searchParams.get('X-Amz-SignedHeaders')).toBe('host;x-k8s-aws-id');
  expect(url.searchParams.get('X-Amz-Signature')).toMatch(/^[0-9a-f]{64}$/);
  expect(t.expiresAt.toISOString()).toBe('2026-11-28T10:14:00.000Z');
});

test('different clusters give different signatures; the same inputs give the same token', async () => {
  const a = await buildEksToken({
    clusterName: 'a',
    region: 'us-east-1',
    credentials,
    now,
    endpoint: new URL('https://sts.us-east-1.amazonaws.com'),
  });
  const a2 = await buildEksToken({
    clusterName: 'a',
    region: 'us-east-1',
    credentials,
    now,
    endpoint: new URL('https://sts.us-east-1.amazonaws.com'),
  });
  const b = await buildEksToken({
    clusterName: 'b',
    region: 'us-east-1',
    credentials,
    now,
    endpoint: new URL('https://sts.us-east-1.amazonaws.com'),
  });
  expect(a.token).toBe(a2.token);
  expect(decode(a.token).searchParams.get('X-Amz-Signature')).not.toBe(
    decode(b.token).searchParams.get('X-Amz-Signature'),
  );
});

test('a session token is carried in the URL', async () => {
  const t = await buildEksToken({
    clusterName: 'a',
    region: 'eu-west-1',
    credentials: { ...credentials, sessionToken: 'SESSION/TOKEN+1' },
    now,
    endpoint: new URL('https://sts.eu-west-1.amazonaws.com'),
  });
  expect(decode(t.token).searchParams.get('X-Amz-Security-Token')).toBe('SESSION/TOKEN+1');
});

test('the STS endpoint honours the SDK endpoint variables, most specific first', () => {
  expect(stsEndpoint('eu-west-1', {}).href).toBe('https://sts.eu-west-1.amazonaws.com/');
  expect(stsEndpoint('eu-west-1', { AWS_ENDPOINT_URL: 'http://127.0.0.1:5000' }).href).toBe(
    'http://127.0.0.1:5000/',
  );
  expect(
    stsEndpoint('eu-west-1', {
      AWS_ENDPOINT_URL: 'http://127.0.0.1:5000',
      AWS_ENDPOINT_URL_STS: 'http://127.0.0.1:6000',
    }).href,
  ).toBe('http://127.0.0.1:6000/');
});
