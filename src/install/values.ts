import type { ConfigIssue } from '../config/issues.ts';
import type { ClusterConfig } from '../config/load.ts';

/** Node label Karpenter puts on every node it launches; the controller must never run there. */
export const NODEPOOL_LABEL = 'karpenter.sh/nodepool';
/** Node label EKS managed node groups carry; migration mode pins the controller to these groups. */
export const NODEGROUP_LABEL = 'eks.amazonaws.com/nodegroup';

export interface ValuesInput {
  cluster: ClusterConfig;
  /** IRSA: the controller role the service account is annotated with. */
  irsaRoleArn?: string;
  /** Migration mode: the node groups the controller is pinned to. */
  nodeGroups?: string[];
}

type Json = Record<string, unknown>;
const isMap = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

function merge(base: Json, over: Json): Json {
  const out: Json = { ...base };
  for (const [k, v] of Object.entries(over)) out[k] = isMap(v) && isMap(out[k]) ? merge(out[k], v) : v;
  return out;
}

type Requirement = { key: string; operator: string; values?: string[] };
type Term = { matchExpressions?: Requirement[]; matchFields?: unknown[] };

/**
 * The chart values the action sets: cluster name and interruption queue, replicas and resources, the
 * IRSA annotation, and an affinity that keeps the controller off Karpenter's own nodes (and, in
 * migration mode, on the existing node groups). The config's free-form values are merged last, but the
 * off-Karpenter rule is put back into every node selector term they give, since a controller on a node
 * it manages can disrupt itself.
 */
export function buildChartValues(input: ValuesInput): Json {
  const c = input.cluster;
  const required: Requirement[] = [{ key: NODEPOOL_LABEL, operator: 'DoesNotExist' }];
  if (input.nodeGroups && input.nodeGroups.length > 0)
    required.push({ key: NODEGROUP_LABEL, operator: 'In', values: [...input.nodeGroups].sort() });
  let values: Json = {
    settings: { clusterName: c.cluster, interruptionQueue: c.prereqs.interruptionQueue },
    affinity: {
      nodeAffinity: {
        requiredDuringSchedulingIgnoredDuringExecution: {
          nodeSelectorTerms: [{ matchExpressions: required }],
        },
      },
      podAntiAffinity: {
        requiredDuringSchedulingIgnoredDuringExecution: [{ topologyKey: 'kubernetes.io/hostname' }],
      },
    },
  };
  if (c.install.replicas !== undefined) values.replicas = c.install.replicas;
  if (c.install.resources) values.controller = { resources: c.install.resources };
  if (input.irsaRoleArn)
    values.serviceAccount = { annotations: { 'eks.amazonaws.com/role-arn': input.irsaRoleArn } };
  values = merge(values, structuredClone(c.install.values));
  const terms = (
    ((values.affinity as Json | undefined)?.nodeAffinity as Json | undefined)
      ?.requiredDuringSchedulingIgnoredDuringExecution as { nodeSelectorTerms?: Term[] } | undefined
  )?.nodeSelectorTerms;
  if (Array.isArray(terms)) {
    for (const t of terms) {
      const exprs = (t.matchExpressions ??= []);
      if (!exprs.some((e) => e.key === NODEPOOL_LABEL && e.operator === 'DoesNotExist'))
        exprs.unshift({ key: NODEPOOL_LABEL, operator: 'DoesNotExist' });
    }
  } else {
    values = merge(values, {
      affinity: {
        nodeAffinity: {
          requiredDuringSchedulingIgnoredDuringExecution: {
            nodeSelectorTerms: [{ matchExpressions: required }],
          },
        },
      },
    });
  }
  return values;
}

/** Values keys that older guides use and that the target chart no longer has, with what to write instead. */
const RENAMED: readonly { pattern: RegExp; fix: (path: string) => string }[] = [
  {
    pattern: /^settings\.aws\.interruptionQueueName$/,
    fix: () => 'prereqs.interruptionQueue sets settings.interruptionQueue (the queue name); remove this key',
  },
  {
    pattern: /^settings\.aws\.clusterName$/,
    fix: () => 'the action sets settings.clusterName from "cluster"; remove this key',
  },
  {
    pattern: /^settings\.aws\.defaultInstanceProfile$/,
    fix: () => 'removed with v1beta1: set spec.role (or spec.instanceProfile) on the EC2NodeClass instead',
  },
  {
    pattern: /^settings\.aws\.(.+)$/,
    fix: (p) =>
      `settings.aws.* was removed in 0.32; look for settings.${p.split('.').pop() ?? ''} in the chart's values`,
  },
  {
    pattern: /^webhook(\..*)?$/,
    fix: () => 'the conversion webhook was removed in 1.1 (v1beta1 is gone); remove this key',
  },
  {
    pattern: /^interruptionQueueName$/,
    fix: () => 'prereqs.interruptionQueue sets settings.interruptionQueue; remove this key',
  },
];

/** Keys the action sets from the config itself; setting them in values would contradict it. */
const OWNED: Record<string, string> = {
  'settings.clusterName': 'the action sets it from "cluster"',
  'settings.interruptionQueue': 'the action sets it from prereqs.interruptionQueue',
};

/**
 * Checks the config's extra values against the keys of the target chart's `values.yaml`: a key the
 * chart does not have is an error with its file and line (helm would ignore it silently), unless it
 * sits under a map the chart leaves open (`podAnnotations: {}`, `nodeSelector`, ...).
 */
export function checkValuesKeys(
  values: Json,
  lines: Record<string, number>,
  chartValues: Json,
  where: { file: string; chart: string },
): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const walk = (v: unknown, chart: unknown, path: string[]) => {
    if (!isMap(v)) return;
    for (const [k, x] of Object.entries(v)) {
      const p = [...path, k];
      const dotted = p.join('.');
      const line = lines[dotted] ?? firstLineUnder(lines, dotted);
      if (OWNED[dotted]) {
        issues.push({
          file: where.file,
          line,
          field: `install.values.${dotted}`,
          message: `is set by the action: ${OWNED[dotted]}`,
          fix: 'remove it from install.values',
        });
        continue;
      }
      if (isMap(chart) && !(k in chart)) {
        if (Object.keys(chart).length === 0) continue;
        const leaves = Object.keys(lines).filter((l) => l === dotted || l.startsWith(`${dotted}.`));
        const leaf = [dotted, ...leaves].find((l) => RENAMED.some((r) => r.pattern.test(l))) ?? dotted;
        const renamed = RENAMED.find((r) => r.pattern.test(leaf));
        issues.push({
          file: where.file,
          line,
          field: `install.values.${dotted}`,
          message: `is not a value of the ${where.chart} chart`,
          fix: renamed ? renamed.fix(leaf) : `check the chart's values.yaml for the key's current name`,
        });
        continue;
      }
      if (isMap(chart)) walk(x, chart[k], p);
    }
  };
  walk(values, chartValues, []);
  return issues;
}

function firstLineUnder(lines: Record<string, number>, prefix: string): number {
  const found = Object.entries(lines)
    .filter(([k]) => k === prefix || k.startsWith(`${prefix}.`))
    .map(([, l]) => l);
  return found.length > 0 ? Math.min(...found) : 1;
}
