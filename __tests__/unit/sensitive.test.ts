import {
  SENSITIVE,
  SENSITIVE_CHANGED,
  isSensitiveKey,
  maskChange,
  maskSecrets,
  maskSensitive,
  readPathSegments,
} from '../../src/render/sensitive.ts';
import type { Change } from '../../src/plan/model.ts';

describe('isSensitiveKey', () => {
  test.each([
    'password',
    'db_password',
    'adminpassword',
    'githubtoken',
    'passphrase',
    'token',
    'sessionToken',
    'secret',
    'clientSecret',
    'credentials',
    'awsCredentials',
    'credential',
    'creds',
    'apiKey',
    'api_key',
    'privateKey',
    'private-key',
    'secretAccessKey',
    'AWS_SECRET_ACCESS_KEY',
    'accessKey',
    'signingKey',
    'encryptionKey',
    'sshKey',
    'tls.key',
    'server-key.pem',
    'keystore.jks',
    'cert.p12',
    'id_rsa',
    'id_ed25519',
    'kubeconfig',
    '.dockerconfigjson',
  ])('%s is sensitive', (key) => {
    expect(isSensitiveKey(key)).toBe(true);
  });

  test.each([
    'key',
    'topologyKey',
    'labelKey',
    'matchLabelKeys',
    'kmsKeyID',
    'kmsKey',
    'keyName',
    'keyId',
    'AWS_ACCESS_KEY_ID',
    'accessKeyId',
    'secretName',
    'secretRef',
    'secretsManagerArn',
    'tokens',
    'httpTokens',
    'tokenExpirationSeconds',
    'id_rsa.pub',
    'tls.crt',
    'ca.crt',
    'clusterName',
    'name',
    'value',
  ])('%s stays readable', (key) => {
    expect(isSensitiveKey(key)).toBe(false);
  });
});

describe('maskSecrets', () => {
  test.each([
    [
      'https://deploy:hunter2@git.example.com/org/repo.git',
      'https://deploy:(sensitive)@git.example.com/org/repo.git',
    ],
    ['proxy http://u:p%40ss@10.0.0.1:3128 set', 'proxy http://u:(sensitive)@10.0.0.1:3128 set'],
    ['aws_secret_access_key=wJalrXUtnFEMIK7MDENG', 'aws_secret_access_key=(sensitive)'],
    ['export AWS_SECRET_ACCESS_KEY="wJalrXUtnFEMIK7MDENG"', 'export AWS_SECRET_ACCESS_KEY="(sensitive)"'],
    ['aws_session_token = FwoGZXIvYXdzEXAMPLE', 'aws_session_token = (sensitive)'],
    ['id AKIAIOSFODNN7EXAMPLE', 'id (sensitive)'],
    ['k8s-aws-v1.aHR0cHM6Ly9zdHM', 'k8s-aws-v1.(sensitive)'],
    ['Authorization: Bearer abc.def.ghi', 'Authorization: Bearer (sensitive)'],
    ['ghp_0123456789abcdefghijABCDEFGHIJ', 'ghp_(sensitive)'],
    [
      '-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA\n-----END RSA PRIVATE KEY-----\n',
      '-----BEGIN RSA PRIVATE KEY-----(sensitive)-----END RSA PRIVATE KEY-----\n',
    ],
    [
      '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEA',
      '-----BEGIN OPENSSH PRIVATE KEY-----(sensitive)-----END OPENSSH PRIVATE KEY-----',
    ],
    ['{"password":"hunter2","user":"bob"}', `{"password":"${SENSITIVE}","user":"bob"}`],
  ])('%j', (input, masked) => {
    expect(maskSecrets(input)).toBe(masked);
  });

  test.each([
    'https://github.com/aws/karpenter-provider-aws',
    'ssh://git@github.com/org/repo.git',
    'arn:aws:iam::123456789012:role/KarpenterNodeRole-weasel-eks',
    '-----BEGIN CERTIFICATE-----\nMIIC\n-----END CERTIFICATE-----',
    'al2023@latest',
    'secret_access_key_rotation_days',
  ])('%j stays as it is', (text) => {
    expect(maskSecrets(text)).toBe(text);
  });
});

describe('readPathSegments', () => {
  test.each([
    ['data["server-key.pem"]', ['data', 'server-key.pem']],
    ['data.tls\\.key', ['data', 'tls.key']],
    ['spec.template.spec.requirements', ['spec', 'template', 'spec', 'requirements']],
    ['Statement[AllowScoped].Action', ['Statement', 'AllowScoped', 'Action']],
    ['items[0].value', ['items', 0, 'value']],
    ['["a \\"b\\" c"].d', ['a "b" c', 'd']],
    ['', []],
  ])('%s', (path, segments) => {
    expect(readPathSegments(path)).toEqual(segments);
  });
});

describe('maskSensitive', () => {
  test('a secret-looking key hides every leaf under it and keeps the keys', () => {
    expect(
      maskSensitive({ credentials: { accessKeyId: 'AKIDEXAMPLE', list: ['a', 1] }, region: 'us-east-1' }),
    ).toEqual({ credentials: { accessKeyId: SENSITIVE, list: [SENSITIVE, SENSITIVE] }, region: 'us-east-1' });
  });

  test('secrets inside string values are masked where they sit', () => {
    expect(
      maskSensitive({ env: [{ name: 'HTTPS_PROXY', value: 'http://proxy:s3cr3t@10.0.0.1:3128' }] }),
    ).toEqual({ env: [{ name: 'HTTPS_PROXY', value: 'http://proxy:(sensitive)@10.0.0.1:3128' }] });
  });

  test('taints and requirements keep their keys readable', () => {
    const taint = { key: 'example.com/special', value: 'true', effect: 'NoSchedule' };
    expect(maskSensitive({ taints: [taint] })).toEqual({ taints: [taint] });
  });
});

describe('maskChange', () => {
  const secretChange = (fieldChanges: Change['fieldChanges'], extra: Partial<Change> = {}): Change => ({
    ref: 'k8s:v1/Secret/kube-system/webhook-cert',
    stage: 'install',
    kind: 'Secret',
    name: 'webhook-cert',
    action: 'update',
    fieldChanges,
    ...extra,
  });

  test.each([['data["server-key.pem"]'], ['data.tls\\.key'], ['stringData.config'], ['data.plain']])(
    'a Secret field change at %s is masked whatever its key',
    (path) => {
      const masked = maskChange(secretChange([{ path, op: 'change', before: 'b2xk', after: 'bmV3' }]));
      expect(masked.fieldChanges).toEqual([
        { path, op: 'change', before: SENSITIVE, after: SENSITIVE_CHANGED },
      ]);
    },
  );

  test('a Secret field change that adds the whole data map masks each entry', () => {
    const masked = maskChange(
      secretChange([{ path: 'data', op: 'add', after: { 'server-key.pem': 'a2V5' } }]),
    );
    expect(masked.fieldChanges[0]?.after).toEqual({ 'server-key.pem': SENSITIVE });
  });

  test('a Secret found by its ref alone, with objects lacking kind, is masked', () => {
    const masked = maskChange(
      secretChange([], {
        kind: 'Kubernetes object',
        before: { data: { 'a.b': 'b2xk' }, metadata: { name: 'x' } },
        after: { data: { 'a.b': 'bmV3' }, metadata: { name: 'x' } },
      }),
    );
    expect(masked.before).toEqual({ data: { 'a.b': SENSITIVE }, metadata: { name: 'x' } });
    expect(masked.after).toEqual({ data: { 'a.b': SENSITIVE_CHANGED }, metadata: { name: 'x' } });
  });

  test("a Secret's metadata stays readable", () => {
    const masked = maskChange(
      secretChange([{ path: 'metadata.labels.app', op: 'change', before: 'a', after: 'b' }]),
    );
    expect(masked.fieldChanges[0]).toEqual({
      path: 'metadata.labels.app',
      op: 'change',
      before: 'a',
      after: 'b',
    });
  });

  test('a field change under a secret-looking key anywhere in its path is masked', () => {
    const masked = maskChange({
      ...secretChange([{ path: 'values.credentials.region', op: 'change', before: 'x', after: 'y' }]),
      ref: 'helm:kube-system/karpenter',
      kind: 'Helm release',
    });
    expect(masked.fieldChanges[0]).toMatchObject({ before: SENSITIVE, after: SENSITIVE_CHANGED });
  });

  test('two URLs that differ only in their password show as changed', () => {
    const masked = maskChange({
      ...secretChange([
        { path: 'values.proxy', op: 'change', before: 'http://u:old@h:1', after: 'http://u:new@h:1' },
      ]),
      ref: 'helm:kube-system/karpenter',
      kind: 'Helm release',
    });
    expect(masked.fieldChanges[0]).toMatchObject({
      before: 'http://u:(sensitive)@h:1',
      after: `http://u:(sensitive)@h:1 ${SENSITIVE_CHANGED}`,
    });
  });
});
