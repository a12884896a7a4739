import {
  CreateAccessEntryCommand,
  DescribeAccessEntryCommand,
  ResourceInUseException,
  ResourceNotFoundException,
  type EKSClient,
} from '@aws-sdk/client-eks';
import { KubeApiError } from '../../adapters/kube-http.ts';
import type { KubeObject, KubePort } from '../../adapters/kube.ts';
import { CONFIGMAPS } from '../../adapters/kube-resources.ts';
import type { Change, Finding } from '../../plan/model.ts';
import type { AppliedChange } from '../types.ts';
import { sortedTags } from './tags.ts';
import { buildNodeRoleMapping, mergeRoleMapping } from './aws-auth.ts';

const AWS_AUTH = { name: 'aws-auth', namespace: 'kube-system' };

export type NodeAccessMethod = 'access-entry' | 'aws-auth';

export interface NodeAccessInput {
  cluster: string;
  /** DescribeCluster's accessConfig.authenticationMode. */
  authenticationMode: string;
  nodeRoleArn: string;
  /** `auto` picks an access entry whenever the cluster's authentication mode allows one. */
  method: 'auto' | NodeAccessMethod;
  tags: Record<string, string>;
}

/** Access entries when the mode includes API (what terraform-aws-eks does), else the aws-auth mapping. */
export function chooseNodeAccess(input: NodeAccessInput): { method: NodeAccessMethod; finding?: Finding } {
  const apiAllowed = input.authenticationMode === 'API' || input.authenticationMode === 'API_AND_CONFIG_MAP';
  const mapAllowed = input.authenticationMode !== 'API';
  if (input.method === 'access-entry' && !apiAllowed) {
    return {
      method: 'aws-auth',
      finding: {
        level: 'error',
        code: 'node-access-mode',
        message: `prereqs.nodeAccess is access-entry, but cluster ${input.cluster} authenticates with ${input.authenticationMode} only`,
        fix: 'switch the cluster to API_AND_CONFIG_MAP (aws eks update-cluster-config --access-config authenticationMode=API_AND_CONFIG_MAP), or use aws-auth',
      },
    };
  }
  if (input.method === 'aws-auth' && !mapAllowed) {
    return {
      method: 'access-entry',
      finding: {
        level: 'error',
        code: 'node-access-mode',
        message: `prereqs.nodeAccess is aws-auth, but cluster ${input.cluster} ignores aws-auth (authentication mode API)`,
        fix: 'use access-entry (the default) for this cluster',
      },
    };
  }
  return { method: input.method === 'auto' ? (apiAllowed ? 'access-entry' : 'aws-auth') : input.method };
}

const entryRef = (cluster: string, arn: string) => `aws:eks:access-entry/${cluster}/${arn}`;
const mappingRef = (arn: string) => `k8s:v1/ConfigMap/kube-system/aws-auth#mapRoles/${arn}`;

/**
 * Plans how Karpenter's nodes get into the cluster: an EC2_LINUX access entry for the node role, or
 * the node role's mapping in aws-auth. Reads only.
 */
export async function planNodeAccess(
  deps: { eks: EKSClient; kube: KubePort },
  input: NodeAccessInput,
): Promise<{ changes: Change[]; findings: Finding[] }> {
  const findings: Finding[] = [];
  const chosen = chooseNodeAccess(input);
  if (chosen.finding) findings.push(chosen.finding);
  if (chosen.method === 'access-entry') {
    const ref = entryRef(input.cluster, input.nodeRoleArn);
    const after = { principalArn: input.nodeRoleArn, type: 'EC2_LINUX' };
    try {
      const cur = (
        await deps.eks.send(
          new DescribeAccessEntryCommand({ clusterName: input.cluster, principalArn: input.nodeRoleArn }),
        )
      ).accessEntry;
      const before = { principalArn: cur?.principalArn, type: cur?.type };
      if (cur?.type !== 'EC2_LINUX') {
        findings.push({
          level: 'error',
          code: 'node-access-entry-type',
          message: `the node role's access entry has type ${cur?.type ?? 'unknown'}; Karpenter's nodes need EC2_LINUX (a STANDARD entry cannot carry the system:nodes group)`,
          fix: `delete it (aws eks delete-access-entry --cluster-name ${input.cluster} --principal-arn ${input.nodeRoleArn}) and plan again`,
          ref,
        });
      }
      return {
        changes: [
          {
            ref,
            stage: 'prereqs',
            kind: 'EKS access entry',
            name: input.nodeRoleArn,
            action: 'no-op',
            before,
            after: before,
            fieldChanges: [],
            reason: 'exists',
          },
        ],
        findings,
      };
    } catch (e) {
      if (!(e instanceof ResourceNotFoundException)) throw e;
      return {
        changes: [
          {
            ref,
            stage: 'prereqs',
            kind: 'EKS access entry',
            name: input.nodeRoleArn,
            action: 'create',
            after: { ...after, tags: sortedTags(input.tags) },
            fieldChanges: [],
            reason: 'the node role has no access entry',
          },
        ],
        findings,
      };
    }
  }
  const ref = mappingRef(input.nodeRoleArn);
  const cm = await deps.kube.get(CONFIGMAPS, AWS_AUTH.name, AWS_AUTH.namespace);
  const mapRoles = (cm?.data as Record<string, string> | undefined)?.mapRoles;
  const merged = mergeRoleMapping(mapRoles, buildNodeRoleMapping(input.nodeRoleArn));
  if (merged.conflict)
    findings.push({
      level: 'error',
      code: 'aws-auth-conflict',
      message: merged.conflict,
      fix: 'correct that aws-auth entry by hand; this action never overwrites one',
      ref,
    });
  const after = buildNodeRoleMapping(input.nodeRoleArn);
  if (merged.mapRoles === undefined) {
    return {
      changes: [
        {
          ref,
          stage: 'prereqs',
          kind: 'aws-auth mapping',
          name: input.nodeRoleArn,
          action: 'no-op',
          fieldChanges: [],
          reason: merged.reason,
        },
      ],
      findings,
    };
  }
  return {
    changes: [
      {
        ref,
        stage: 'prereqs',
        kind: 'aws-auth mapping',
        name: input.nodeRoleArn,
        action: merged.before ? 'update' : 'create',
        ...(merged.before ? { before: merged.before } : {}),
        after,
        fieldChanges: [],
        reason: cm ? merged.reason : 'kube-system/aws-auth does not exist yet',
      },
    ],
    findings,
  };
}

/**
 * Applies the planned node access. The aws-auth merge reads, merges and writes with the read
 * resourceVersion; when someone else wrote in between, the API server answers 409 and the merge runs
 * again on their version, so a concurrent edit is kept, never overwritten.
 */
export async function applyNodeAccess(
  deps: { eks: EKSClient; kube: KubePort },
  input: NodeAccessInput,
  change: Change,
): Promise<AppliedChange> {
  if (change.action === 'no-op') return { ref: change.ref, action: change.action, outcome: 'skipped' };
  if (change.kind === 'EKS access entry') {
    try {
      await deps.eks.send(
        new CreateAccessEntryCommand({
          clusterName: input.cluster,
          principalArn: input.nodeRoleArn,
          type: 'EC2_LINUX',
          tags: input.tags,
        }),
      );
    } catch (e) {
      if (!(e instanceof ResourceInUseException)) throw e;
    }
    return { ref: change.ref, action: change.action, outcome: 'done' };
  }
  for (let attempt = 1; ; attempt++) {
    const cm = await deps.kube.get(CONFIGMAPS, AWS_AUTH.name, AWS_AUTH.namespace);
    const data = (cm?.data as Record<string, string> | undefined) ?? {};
    const merged = mergeRoleMapping(data.mapRoles, buildNodeRoleMapping(input.nodeRoleArn));
    if (merged.conflict) throw new Error(merged.conflict);
    if (merged.mapRoles === undefined)
      return { ref: change.ref, action: change.action, outcome: 'done', message: 'already mapped' };
    try {
      if (!cm) {
        const obj: KubeObject = {
          apiVersion: 'v1',
          kind: 'ConfigMap',
          metadata: { ...AWS_AUTH },
          data: { mapRoles: merged.mapRoles },
        };
        await deps.kube.create(CONFIGMAPS, obj);
      } else {
        await deps.kube.replace(CONFIGMAPS, { ...cm, data: { ...data, mapRoles: merged.mapRoles } });
      }
      return {
        ref: change.ref,
        action: change.action,
        outcome: 'done',
        ...(attempt > 1 ? { message: `merged after ${attempt - 1} concurrent edit(s)` } : {}),
      };
    } catch (e) {
      if (!(e instanceof KubeApiError && e.code === 409) || attempt >= 8) throw e;
    }
  }
}
