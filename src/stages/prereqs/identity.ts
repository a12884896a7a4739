import {
  CreateOpenIDConnectProviderCommand,
  ListOpenIDConnectProvidersCommand,
  type IAMClient,
} from '@aws-sdk/client-iam';
import type { Change } from '../../plan/model.ts';
import type { AppliedChange } from '../types.ts';
import { sortedTags } from './tags.ts';

export type IdentityMode = 'pod-identity' | 'irsa';

/** Trust for EKS Pod Identity: the pods service assumes the role and tags the session (namespace, service account). */
export function buildPodIdentityTrust(): Record<string, unknown> {
  return {
    Version: '2012-10-17',
    Statement: [
      {
        Effect: 'Allow',
        Principal: { Service: 'pods.eks.amazonaws.com' },
        Action: ['sts:AssumeRole', 'sts:TagSession'],
      },
    ],
  };
}

/**
 * Trust for IRSA: only tokens the cluster's OIDC issuer signed for the controller's service account,
 * with the STS audience, may assume the role (the migration guide's conditions).
 */
export function buildIrsaTrust(p: {
  partition: string;
  accountId: string;
  issuer: string;
  namespace: string;
  serviceAccount: string;
}): Record<string, unknown> {
  const host = p.issuer.replace(/^https:\/\//, '');
  return {
    Version: '2012-10-17',
    Statement: [
      {
        Effect: 'Allow',
        Principal: { Federated: `arn:${p.partition}:iam::${p.accountId}:oidc-provider/${host}` },
        Action: 'sts:AssumeRoleWithWebIdentity',
        Condition: {
          StringEquals: {
            [`${host}:aud`]: 'sts.amazonaws.com',
            [`${host}:sub`]: `system:serviceaccount:${p.namespace}:${p.serviceAccount}`,
          },
        },
      },
    ],
  };
}

/** IRSA needs the cluster's issuer registered as an IAM OIDC provider; eksctl's `utils associate-iam-oidc-provider` step. */
export async function planOidcProvider(
  iam: IAMClient,
  p: { partition: string; accountId: string; issuer: string; tags?: Record<string, string> },
): Promise<Change[]> {
  const host = p.issuer.replace(/^https:\/\//, '');
  const arn = `arn:${p.partition}:iam::${p.accountId}:oidc-provider/${host}`;
  const list = await iam.send(new ListOpenIDConnectProvidersCommand({}));
  const ref = `aws:iam:oidc-provider/${host}`;
  if (list.OpenIDConnectProviderList?.some((x) => x.Arn === arn)) {
    return [
      {
        ref,
        stage: 'prereqs',
        kind: 'IAM OIDC provider',
        name: host,
        action: 'no-op',
        fieldChanges: [],
        reason: 'registered',
      },
    ];
  }
  return [
    {
      ref,
      stage: 'prereqs',
      kind: 'IAM OIDC provider',
      name: host,
      action: 'create',
      after: { Url: p.issuer, ClientIDList: ['sts.amazonaws.com'], tags: sortedTags(p.tags ?? {}) },
      fieldChanges: [],
      reason: "IRSA needs the cluster's OIDC issuer registered in IAM",
    },
  ];
}

export async function applyOidcProvider(
  iam: IAMClient,
  issuer: string,
  tags: Record<string, string>,
  change: Change,
): Promise<AppliedChange> {
  if (change.action === 'no-op') return { ref: change.ref, action: change.action, outcome: 'skipped' };
  try {
    await iam.send(
      new CreateOpenIDConnectProviderCommand({
        Url: issuer,
        ClientIDList: ['sts.amazonaws.com'],
        Tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })),
      }),
    );
  } catch (e) {
    if ((e as Error).name !== 'EntityAlreadyExistsException') throw e;
    return { ref: change.ref, action: change.action, outcome: 'done', message: 'already registered' };
  }
  return { ref: change.ref, action: change.action, outcome: 'done' };
}
