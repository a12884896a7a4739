import { createHash } from 'node:crypto';
import { Refusal } from '../errors.ts';
import {
  COMPATIBILITY,
  KNOWN_BAD_RELEASES,
  type KnownBadRelease,
  type KubernetesRange,
} from './compatibility.ts';
import { compareReleases, parseRelease, type SemVer } from '../util/release.ts';
import type { PolicyDocument } from './policy.ts';
import { POLICY_VERSION, TEMPLATE_ROWS, type TemplateParams, type TemplateRow } from './templates.ts';

export type { PolicyDocument, PolicyStatement } from './policy.ts';
export type { KnownBadRelease, KubernetesRange } from './compatibility.ts';
export {
  INTERRUPTION_RULE_TARGET_ID,
  type TemplateParams,
  type TemplateRow,
  type TemplateSource,
} from './templates.ts';

/** A controller managed policy as the prereqs stage creates it. */
export interface ControllerPolicy {
  name: string;
  document: PolicyDocument;
}

/** An interruption rule as the prereqs stage puts it; its target is the interruption queue. */
export interface InterruptionRule {
  name: string;
  description: string;
  eventPattern: { source: string[]; 'detail-type': string[] };
}

/** The interruption queue as the prereqs stage creates it. */
export interface InterruptionQueue {
  name: string;
  attributes: Record<string, string>;
  policy: PolicyDocument;
}

/** A Karpenter version's `X.Y.Z` (a pre-release or build suffix belongs to its release's data). */
type ParsedVersion = SemVer;

function parseVersion(version: string): ParsedVersion {
  const v = parseRelease(version);
  if (!v)
    throw new Refusal(`"${version}" is not a Karpenter version (expected MAJOR.MINOR.PATCH, e.g. 1.14.1)`);
  return parseRelease(`${v.major}.${v.minor}.${v.patch}`)!;
}

const compareVersions = compareReleases;

const SUPPORTED_MINORS: readonly string[] = TEMPLATE_ROWS.flatMap((r) => r.minors);

/** The Karpenter minor versions this module has AWS prerequisite data for, oldest first. */
export function supportedVersions(): string[] {
  return [...SUPPORTED_MINORS];
}

function unsupported(version: string, v: ParsedVersion): Refusal {
  const below = SUPPORTED_MINORS.filter((s) => compareVersions(parseVersion(s), v) < 0).at(-1);
  const above = SUPPORTED_MINORS.find((s) => compareVersions(parseVersion(s), v) > 0);
  const nearest = [below, above].filter((s): s is string => s !== undefined);
  if (below !== undefined && above === undefined)
    return new Refusal(
      `karpenter-action has no AWS prerequisite data for Karpenter ${version}: it is newer than the newest release this karpenter-action knows (${below}.x); pin karpenter.version to ${below}.x, or update karpenter-action to a release that knows ${v.major}.${v.minor} (for its maintainers, \`npm run versions:check\` lists the data that is missing)`,
      [`supported: ${SUPPORTED_MINORS.join(', ')}`],
    );
  return new Refusal(
    `karpenter-action has no AWS prerequisite data for Karpenter ${version}; the nearest supported ${
      nearest.length === 1 ? 'version is' : 'versions are'
    } ${nearest.map((s) => `${s}.x`).join(' and ')}`,
    [`supported: ${SUPPORTED_MINORS.join(', ')}`],
  );
}

/**
 * The template row for a Karpenter version (`1.12.3`, `v1.12.3` or `1.12`), with where its facts
 * came from. A version without data is refused, naming the nearest supported ones.
 */
export function versionData(version: string): TemplateRow {
  const v = parseVersion(version);
  const minor = `${v.major}.${v.minor}`;
  const row = TEMPLATE_ROWS.find((r) => r.minors.includes(minor));
  if (!row) throw unsupported(version, v);
  return row;
}

const PLACEHOLDER = /\{(partition|region|accountId|clusterName|nodeRoleArn|queueArn)\}/g;

function fill<T>(value: T, params: Partial<TemplateParams>): T {
  const sub = (s: string): string =>
    s.replace(PLACEHOLDER, (whole, key: keyof TemplateParams) => {
      const v = params[key];
      if (v === undefined) throw new Error(`no value for ${whole}`);
      return v;
    });
  const walk = (v: unknown): unknown => {
    if (typeof v === 'string') return sub(v);
    if (Array.isArray(v)) return v.map(walk);
    if (v && typeof v === 'object') {
      return Object.fromEntries(Object.entries(v).map(([k, x]) => [sub(k), walk(x)]));
    }
    return v;
  };
  return walk(value) as T;
}

function requireValues(params: Record<string, string>): void {
  for (const [k, v] of Object.entries(params)) {
    if (typeof v !== 'string' || v.trim() === '') throw new Error(`${k} must be a non-empty string`);
  }
}

/**
 * The controller's managed policies for a Karpenter version, named and worded as that release's
 * getting-started template has them: one `KarpenterControllerPolicy-<cluster>` up to 1.8, five from
 * 1.9, six from 1.12 (ZonalShift).
 */
export function buildControllerPolicies(version: string, p: TemplateParams): ControllerPolicy[] {
  const row = versionData(version);
  requireValues({ ...p });
  return row.controllerPolicies.map((policy) => ({
    name: `${policy.namePrefix}-${p.clusterName}`,
    document: { Version: POLICY_VERSION, Statement: fill([...policy.statements], p) },
  }));
}

/** The AWS managed policies the node role gets, as ARNs in the given partition (ECR PullOnly from 1.4). */
export function buildNodeRoleManagedPolicies(version: string, partition: string): string[] {
  const row = versionData(version);
  requireValues({ partition });
  return row.nodeRoleManagedPolicies.map((name) => `arn:${partition}:iam::aws:policy/${name}`);
}

/** The DNS suffix of service principals in a partition (CloudFormation's AWS::URLSuffix). */
export function urlSuffix(partition: string): string {
  return partition === 'aws-cn' ? 'amazonaws.com.cn' : 'amazonaws.com';
}

/**
 * The node role's trust policy as the version's template writes it: EC2 may assume it; from the 1.14
 * template EKS Pod Identity may too (assume and tag the session).
 */
export function buildNodeRoleTrust(version: string, partition: string): PolicyDocument {
  const row = versionData(version);
  requireValues({ partition });
  const statements: PolicyDocument['Statement'] = [
    {
      Effect: 'Allow',
      Principal: { Service: `ec2.${urlSuffix(partition)}` },
      Action: ['sts:AssumeRole'],
    },
  ];
  if (row.nodeRoleTrust === 'ec2-and-pod-identity') {
    statements.push({
      Effect: 'Allow',
      Principal: { Service: 'pods.eks.amazonaws.com' },
      Action: ['sts:AssumeRole', 'sts:TagSession'],
    });
  }
  return { Version: POLICY_VERSION, Statement: statements };
}

const RULE_NAME_MAX = 64;

/**
 * CloudFormation names the template's rules `<stack>-<logical id>-<random>` with the stack
 * `Karpenter-<cluster>`; this keeps that name without the random part, so it is stable across runs.
 * A name over EventBridge's 64 characters is shortened and made unique with a hash of the full name.
 */
function ruleName(clusterName: string, logicalId: string): string {
  const full = `Karpenter-${clusterName}-${logicalId}`;
  if (full.length <= RULE_NAME_MAX) return full;
  const hash = createHash('sha256').update(full).digest('hex').slice(0, 8);
  const room = RULE_NAME_MAX - logicalId.length - hash.length - 2;
  return `${`Karpenter-${clusterName}`.slice(0, room)}-${logicalId}-${hash}`;
}

/**
 * The EventBridge rules that feed the interruption queue: four up to 1.9, five from 1.10 (Capacity
 * Reservation interruption warnings). The template gives its rules no description; the one here says
 * which cluster and event a rule is for, so a rule found in the account explains itself.
 */
export function buildInterruptionRules(version: string, clusterName: string): InterruptionRule[] {
  const row = versionData(version);
  requireValues({ clusterName });
  return row.interruptionRules.map((r) => ({
    name: ruleName(clusterName, r.logicalId),
    description: `Karpenter interruption handling for ${clusterName}: ${r.detailType} events`,
    eventPattern: { source: [r.source], 'detail-type': [r.detailType] },
  }));
}

/** The interruption queue: named after the cluster, short retention, SSE, and a policy that admits only EventBridge/SQS over TLS. */
export function buildQueue(version: string, clusterName: string, queueArn: string): InterruptionQueue {
  const row = versionData(version);
  requireValues({ clusterName, queueArn });
  return {
    name: clusterName,
    attributes: { ...row.queue.attributes },
    policy: fill(row.queue.policy, { clusterName, queueArn }),
  };
}

/** The Kubernetes minor versions a Karpenter release supports, from Karpenter's compatibility data. */
export function kubernetesRange(version: string): KubernetesRange {
  versionData(version);
  const v = parseVersion(version);
  const entry = COMPATIBILITY.filter((e) => compareVersions(parseVersion(e.since), v) <= 0).at(-1);
  if (!entry) throw unsupported(version, v);
  return { ...entry.range };
}

/** A release the upgrade guide warns against, with the reason, or undefined for any other version. */
export function isKnownBad(version: string): KnownBadRelease | undefined {
  const normalized = version.trim().replace(/^v/, '');
  const bad = KNOWN_BAD_RELEASES.find((r) => r.version === normalized);
  return bad ? { ...bad } : undefined;
}
