/** IRSA's OIDC provider against moto: registered when missing, once; the seeded cluster already has one. */
import {
  DeleteOpenIDConnectProviderCommand,
  IAMClient,
  ListOpenIDConnectProvidersCommand,
} from '@aws-sdk/client-iam';
import { applyOidcProvider, buildIrsaTrust, planOidcProvider } from '../../src/stages/prereqs/identity.ts';
import { deleteCluster, newCluster, useAwsEnv, type ClusterInfo } from '../helpers/sandbox.ts';

let restore: () => void;
let cluster: ClusterInfo;
beforeAll(async () => {
  restore = useAwsEnv();
  cluster = await newCluster({ withClusterAutoscaler: false });
});
afterAll(async () => {
  await deleteCluster(cluster.name);
  restore();
});

test('the seeded provider is found; a missing one is planned, created once, and found again', async () => {
  const iam = new IAMClient({});
  const p = { partition: 'aws', accountId: '123456789012', issuer: cluster.oidcIssuer };
  expect((await planOidcProvider(iam, p)).map((c) => c.action)).toEqual(['no-op']);
  await iam.send(
    new DeleteOpenIDConnectProviderCommand({ OpenIDConnectProviderArn: cluster.oidcProviderArn }),
  );
  const plan = await planOidcProvider(iam, p);
  expect(plan.map((c) => c.action)).toEqual(['create']);
  expect(await applyOidcProvider(iam, cluster.oidcIssuer, {}, plan[0]!)).toMatchObject({ outcome: 'done' });
  expect(await applyOidcProvider(iam, cluster.oidcIssuer, {}, plan[0]!)).toMatchObject({
    outcome: 'done',
    message: 'already registered',
  });
  const arns = (await iam.send(new ListOpenIDConnectProvidersCommand({}))).OpenIDConnectProviderList!.map(
    (x) => x.Arn,
  );
  expect(arns.filter((a) => a === cluster.oidcProviderArn)).toHaveLength(1);
  expect((await planOidcProvider(iam, p)).map((c) => c.action)).toEqual(['no-op']);
});

test('the IRSA trust names the provider and pins audience and service account', () => {
  const t = buildIrsaTrust({
    partition: 'aws',
    accountId: '123456789012',
    issuer: 'https://oidc.eks.us-east-1.amazonaws.com/id/ABC',
    namespace: 'kube-system',
    serviceAccount: 'karpenter',
  });
  expect(t).toEqual({
    Version: '2012-10-17',
    Statement: [
      {
        Effect: 'Allow',
        Principal: {
          Federated: 'arn:aws:iam::123456789012:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/ABC',
        },
        Action: 'sts:AssumeRoleWithWebIdentity',
        Condition: {
          StringEquals: {
            'oidc.eks.us-east-1.amazonaws.com/id/ABC:aud': 'sts.amazonaws.com',
            'oidc.eks.us-east-1.amazonaws.com/id/ABC:sub': 'system:serviceaccount:kube-system:karpenter',
          },
        },
      },
    ],
  });
});
