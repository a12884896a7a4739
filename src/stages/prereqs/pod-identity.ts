import {
  CreateAddonCommand,
  CreatePodIdentityAssociationCommand,
  DescribeAddonCommand,
  DescribePodIdentityAssociationCommand,
  ListPodIdentityAssociationsCommand,
  ResourceInUseException,
  ResourceNotFoundException,
  UpdatePodIdentityAssociationCommand,
  type EKSClient,
} from '@aws-sdk/client-eks';
import type { Change } from '../../plan/model.ts';
import type { AppliedChange } from '../types.ts';
import { sortedTags } from './tags.ts';

export const POD_IDENTITY_AGENT = 'eks-pod-identity-agent';

export interface PodIdentityInput {
  cluster: string;
  namespace: string;
  serviceAccount: string;
  roleArn: string;
  tags: Record<string, string>;
}

const assocRef = (i: PodIdentityInput) =>
  `aws:eks:pod-identity-association/${i.cluster}/${i.namespace}/${i.serviceAccount}`;
const addonRef = (cluster: string) => `aws:eks:addon/${cluster}/${POD_IDENTITY_AGENT}`;

/**
 * Plans what EKS Pod Identity needs for Karpenter's controller: the association of its service account
 * with the controller role, and the agent addon that hands pods their credentials.
 */
export async function planPodIdentity(eks: EKSClient, i: PodIdentityInput): Promise<Change[]> {
  const changes: Change[] = [];
  const found = await eks.send(
    new ListPodIdentityAssociationsCommand({
      clusterName: i.cluster,
      namespace: i.namespace,
      serviceAccount: i.serviceAccount,
    }),
  );
  const cur = found.associations?.[0];
  const after = { namespace: i.namespace, serviceAccount: i.serviceAccount, roleArn: i.roleArn };
  const name = `${i.namespace}/${i.serviceAccount}`;
  if (!cur) {
    changes.push({
      ref: assocRef(i),
      stage: 'prereqs',
      kind: 'EKS Pod Identity association',
      name,
      action: 'create',
      after: { ...after, tags: sortedTags(i.tags) },
      fieldChanges: [],
      reason: 'the controller has no Pod Identity association',
    });
  } else {
    const d = (
      await eks.send(
        new DescribePodIdentityAssociationCommand({
          clusterName: i.cluster,
          associationId: cur.associationId,
        }),
      )
    ).association;
    const before = {
      namespace: d?.namespace,
      serviceAccount: d?.serviceAccount,
      roleArn: d?.roleArn,
      associationId: cur.associationId,
    };
    if (d?.roleArn === i.roleArn) {
      changes.push({
        ref: assocRef(i),
        stage: 'prereqs',
        kind: 'EKS Pod Identity association',
        name,
        action: 'no-op',
        fieldChanges: [],
        reason: 'exists',
      });
    } else {
      changes.push({
        ref: assocRef(i),
        stage: 'prereqs',
        kind: 'EKS Pod Identity association',
        name,
        action: 'update',
        before,
        after: { ...after, associationId: cur.associationId },
        fieldChanges: [{ path: 'roleArn', op: 'change', before: d?.roleArn, after: i.roleArn }],
        reason: 'the association points at another role',
      });
    }
  }
  try {
    const addon = (
      await eks.send(new DescribeAddonCommand({ clusterName: i.cluster, addonName: POD_IDENTITY_AGENT }))
    ).addon;
    changes.push({
      ref: addonRef(i.cluster),
      stage: 'prereqs',
      kind: 'EKS addon',
      name: POD_IDENTITY_AGENT,
      action: 'no-op',
      fieldChanges: [],
      reason: `installed (${addon?.status ?? 'unknown'})`,
    });
  } catch (e) {
    if (!(e instanceof ResourceNotFoundException)) throw e;
    changes.push({
      ref: addonRef(i.cluster),
      stage: 'prereqs',
      kind: 'EKS addon',
      name: POD_IDENTITY_AGENT,
      action: 'create',
      after: { addonName: POD_IDENTITY_AGENT, tags: sortedTags(i.tags) },
      fieldChanges: [],
      reason: 'Pod Identity needs its agent on every node',
    });
  }
  return changes;
}

export async function applyPodIdentity(
  eks: EKSClient,
  i: PodIdentityInput,
  change: Change,
): Promise<AppliedChange> {
  const done = (message?: string): AppliedChange => ({
    ref: change.ref,
    action: change.action,
    outcome: 'done',
    ...(message ? { message } : {}),
  });
  if (change.action === 'no-op') return { ref: change.ref, action: change.action, outcome: 'skipped' };
  if (change.kind === 'EKS addon') {
    try {
      await eks.send(
        new CreateAddonCommand({ clusterName: i.cluster, addonName: POD_IDENTITY_AGENT, tags: i.tags }),
      );
      return done();
    } catch (e) {
      if (e instanceof ResourceInUseException) return done('already installed');
      throw e;
    }
  }
  if (change.action === 'update') {
    const id = (change.after as { associationId: string }).associationId;
    await eks.send(
      new UpdatePodIdentityAssociationCommand({
        clusterName: i.cluster,
        associationId: id,
        roleArn: i.roleArn,
      }),
    );
    return done();
  }
  try {
    await eks.send(
      new CreatePodIdentityAssociationCommand({
        clusterName: i.cluster,
        namespace: i.namespace,
        serviceAccount: i.serviceAccount,
        roleArn: i.roleArn,
        tags: i.tags,
      }),
    );
    return done();
  } catch (e) {
    if (e instanceof ResourceInUseException) return done('already associated');
    throw e;
  }
}
