/**
 * Reads a Karpenter getting-started CloudFormation template the way CloudFormation would for given
 * parameters: what it creates, with !Sub, !GetAtt and !Ref resolved. Tests compare the action's
 * version data and the resources it created against this, so the template file is the reference.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse, type ScalarTag } from 'yaml';
import type { TemplateParams } from '../../src/versions/index.ts';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const read = (relative: string): string => readFileSync(`${ROOT}${relative}`, 'utf8');

export type Json = Record<string, unknown>;
const isMap = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The template's parameters and the account it is deployed to, as the version data takes them. */
export type TemplateParameters = TemplateParams;

const CFN_TAGS: ScalarTag[] = [
  { tag: '!Sub', resolve: (value: string) => ({ 'Fn::Sub': value }) },
  { tag: '!GetAtt', resolve: (value: string) => ({ 'Fn::GetAtt': value }) },
  { tag: '!Ref', resolve: (value: string) => ({ Ref: value }) },
];

function resolveIntrinsics(v: unknown, values: Record<string, string>): unknown {
  if (Array.isArray(v)) return v.map((x) => resolveIntrinsics(x, values));
  if (!isMap(v)) return v;
  if (typeof v['Fn::Sub'] === 'string') {
    return v['Fn::Sub'].replace(/\$\{([^}]+)\}/g, (_, name: string) => {
      const value = values[name];
      if (value === undefined) throw new Error(`template uses an unknown substitution \${${name}}`);
      return value;
    });
  }
  if (typeof v['Fn::GetAtt'] === 'string') {
    const value = values[v['Fn::GetAtt']];
    if (value === undefined) throw new Error(`template uses an unknown attribute ${v['Fn::GetAtt']}`);
    return value;
  }
  if (typeof v.Ref === 'string') return `ref:${v.Ref}`;
  return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, resolveIntrinsics(x, values)]));
}

export interface TemplateFacts {
  nodeRoleManagedPolicyArns: unknown;
  nodeRoleTrust: unknown;
  controllerPolicies: { logicalId: string; name: unknown; document: Json }[];
  rules: { logicalId: string; eventPattern: unknown; targets: unknown }[];
  queue: { name: unknown; attributes: Record<string, string>; policy: unknown; queues: unknown };
}

/** What a getting-started template creates, with the parameters substituted. */
export function templateFacts(fixture: string, p: TemplateParameters): TemplateFacts {
  const values: Record<string, string> = {
    'AWS::Partition': p.partition,
    'AWS::Region': p.region,
    'AWS::AccountId': p.accountId,
    'AWS::URLSuffix': p.partition === 'aws-cn' ? 'amazonaws.com.cn' : 'amazonaws.com',
    ClusterName: p.clusterName,
    'KarpenterNodeRole.Arn': p.nodeRoleArn,
    'KarpenterInterruptionQueue.Arn': p.queueArn,
  };
  const raw = parse(read(fixture), { customTags: CFN_TAGS }) as Json;
  const resources = resolveIntrinsics(raw.Resources, values) as Record<
    string,
    { Type: string; Properties: Json }
  >;
  const facts: TemplateFacts = {
    nodeRoleManagedPolicyArns: undefined,
    nodeRoleTrust: undefined,
    controllerPolicies: [],
    rules: [],
    queue: { name: undefined, attributes: {}, policy: undefined, queues: undefined },
  };
  const expectId = (logicalId: string, want: string) => {
    if (logicalId !== want) throw new Error(`template has ${logicalId} where ${want} was expected`);
  };
  for (const [logicalId, r] of Object.entries(resources)) {
    const props = r.Properties;
    switch (r.Type) {
      case 'AWS::IAM::Role':
        expectId(logicalId, 'KarpenterNodeRole');
        facts.nodeRoleManagedPolicyArns = props.ManagedPolicyArns;
        facts.nodeRoleTrust = props.AssumeRolePolicyDocument;
        break;
      case 'AWS::IAM::ManagedPolicy':
        facts.controllerPolicies.push({
          logicalId,
          name: props.ManagedPolicyName,
          document: JSON.parse(props.PolicyDocument as string) as Json,
        });
        break;
      case 'AWS::Events::Rule':
        facts.rules.push({ logicalId, eventPattern: props.EventPattern, targets: props.Targets });
        break;
      case 'AWS::SQS::Queue':
        expectId(logicalId, 'KarpenterInterruptionQueue');
        facts.queue.name = props.QueueName;
        facts.queue.attributes = {
          MessageRetentionPeriod: String(props.MessageRetentionPeriod),
          SqsManagedSseEnabled: String(props.SqsManagedSseEnabled),
        };
        break;
      case 'AWS::SQS::QueuePolicy':
        facts.queue.policy = props.PolicyDocument;
        facts.queue.queues = props.Queues;
        break;
      default:
        throw new Error(
          `template has a resource the version data does not describe: ${logicalId} (${r.Type})`,
        );
    }
  }
  return facts;
}
