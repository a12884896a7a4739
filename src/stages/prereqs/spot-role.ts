import {
  CreateServiceLinkedRoleCommand,
  GetRoleCommand,
  NoSuchEntityException,
  type IAMClient,
} from '@aws-sdk/client-iam';
import type { Change } from '../../plan/model.ts';
import type { AppliedChange } from '../types.ts';

export const SPOT_ROLE = 'AWSServiceRoleForEC2Spot';
const REF = `aws:iam:service-linked-role/${SPOT_ROLE}`;

/**
 * The EC2 Spot service-linked role, needed once per account before any spot launch. Without it,
 * Karpenter (since 1.5) silently falls back to on-demand, so a spot NodePool looks healthy but is not.
 */
export async function planSpotRole(iam: IAMClient, needed: boolean): Promise<Change[]> {
  if (!needed) return [];
  try {
    await iam.send(new GetRoleCommand({ RoleName: SPOT_ROLE }));
    return [
      {
        ref: REF,
        stage: 'prereqs',
        kind: 'IAM service-linked role',
        name: SPOT_ROLE,
        action: 'no-op',
        fieldChanges: [],
        reason: 'exists',
      },
    ];
  } catch (e) {
    if (!(e instanceof NoSuchEntityException)) throw e;
    return [
      {
        ref: REF,
        stage: 'prereqs',
        kind: 'IAM service-linked role',
        name: SPOT_ROLE,
        action: 'create',
        after: { AWSServiceName: 'spot.amazonaws.com' },
        fieldChanges: [],
        reason: 'a NodePool may launch spot capacity and the account has no Spot service-linked role',
      },
    ];
  }
}

/** Creating it is idempotent in effect: AWS's "has been taken" answer means another run (or person) already did. */
export async function applySpotRole(iam: IAMClient, change: Change): Promise<AppliedChange> {
  if (change.action === 'no-op') return { ref: change.ref, action: change.action, outcome: 'skipped' };
  try {
    await iam.send(new CreateServiceLinkedRoleCommand({ AWSServiceName: 'spot.amazonaws.com' }));
    return { ref: change.ref, action: change.action, outcome: 'done' };
  } catch (e) {
    const err = e as Error;
    if (err.name === 'InvalidInputException' && /has been taken/.test(err.message)) {
      return { ref: change.ref, action: change.action, outcome: 'done', message: 'already existed' };
    }
    throw e;
  }
}

/**
 * Whether any NodePool may run spot: it allows `spot` in a `karpenter.sh/capacity-type` requirement,
 * or has no capacity-type requirement at all (which allows both).
 */
export function anyPoolMayUseSpot(nodePools: readonly Record<string, unknown>[]): boolean {
  return nodePools.some((np) => {
    const reqs = (
      (
        np.spec as
          | {
              template?: {
                spec?: { requirements?: { key?: string; operator?: string; values?: string[] }[] };
              };
            }
          | undefined
      )?.template?.spec?.requirements ?? []
    ).filter((r) => r.key === 'karpenter.sh/capacity-type');
    if (reqs.length === 0) return true;
    return reqs.every((r) => {
      if (r.operator === 'In') return (r.values ?? []).includes('spot');
      if (r.operator === 'NotIn') return !(r.values ?? []).includes('spot');
      return r.operator !== 'DoesNotExist';
    });
  });
}
