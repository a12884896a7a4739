import { parse } from 'yaml';
import { Refusal } from '../../src/errors.ts';
import { canonicalizePolicy } from '../../src/plan/iam-policy.ts';
import {
  buildControllerPolicies,
  buildInterruptionRules,
  buildNodeRoleManagedPolicies,
  buildNodeRoleTrust,
  buildQueue,
  INTERRUPTION_RULE_TARGET_ID,
  isKnownBad,
  kubernetesRange,
  supportedVersions,
  versionData,
  type TemplateParams,
} from '../../src/versions/index.ts';
import { TEMPLATE_ROWS } from '../../src/versions/templates.ts';
import {
  read,
  templateFacts as readTemplate,
  type Json,
  type TemplateFacts,
} from '../helpers/cfn-template.ts';

const P: TemplateParams = {
  partition: 'aws-us-gov',
  region: 'us-gov-west-1',
  accountId: '123456789012',
  clusterName: 'demo',
  nodeRoleArn: 'arn:aws-us-gov:iam::123456789012:role/KarpenterNodeRole-demo',
  queueArn: 'arn:aws-us-gov:sqs:us-gov-west-1:123456789012:demo',
};

const templateFacts = (fixture: string): TemplateFacts => readTemplate(fixture, P);

function statement(facts: TemplateFacts, sid: string): Json {
  for (const p of facts.controllerPolicies) {
    const found = (p.document.Statement as Json[]).find((s) => s.Sid === sid);
    if (found) return found;
  }
  throw new Error(`no statement ${sid}`);
}

function removeStatement(facts: TemplateFacts, sid: string): void {
  for (const p of facts.controllerPolicies) {
    const list = p.document.Statement as Json[];
    const i = list.findIndex((s) => s.Sid === sid);
    if (i >= 0) {
      list.splice(i, 1);
      return;
    }
  }
  throw new Error(`no statement ${sid}`);
}

function removeFrom(s: Json, field: 'Action' | 'Resource', value: string): void {
  const list = s[field] as string[];
  const i = list.indexOf(value);
  if (i < 0) throw new Error(`${String(s.Sid)} has no ${field} ${value}`);
  list.splice(i, 1);
}

function removePolicy(facts: TemplateFacts, logicalId: string): void {
  const i = facts.controllerPolicies.findIndex((p) => p.logicalId === logicalId);
  if (i < 0) throw new Error(`no policy ${logicalId}`);
  facts.controllerPolicies.splice(i, 1);
}

function removeRule(facts: TemplateFacts, logicalId: string): void {
  const i = facts.rules.findIndex((r) => r.logicalId === logicalId);
  if (i < 0) throw new Error(`no rule ${logicalId}`);
  facts.rules.splice(i, 1);
}

const dropImagebuilderParameters = (f: TemplateFacts): void => {
  const s = statement(f, 'AllowSSMReadActions');
  expect(s.Resource).toEqual([
    `arn:${P.partition}:ssm:${P.region}::parameter/aws/service/*`,
    `arn:${P.partition}:ssm:${P.region}:${P.accountId}:parameter/imagebuilder/*`,
  ]);
  s.Resource = `arn:${P.partition}:ssm:${P.region}::parameter/aws/service/*`;
};
const without1_12 = (f: TemplateFacts): void => {
  removePolicy(f, 'ZonalShiftPolicy');
  removeStatement(f, 'AllowUnscopedEC2DescribeInstanceStatus');
};
const without1_11 = (f: TemplateFacts): void => {
  removeFrom(statement(f, 'AllowRegionalReadActions'), 'Action', 'ec2:DescribePlacementGroups');
  removeFrom(
    statement(f, 'AllowScopedEC2InstanceAccessActions'),
    'Resource',
    `arn:${P.partition}:ec2:${P.region}:*:placement-group/*`,
  );
};

/**
 * The documented differences each derived row applies to its base template, as executable edits:
 * they must say the same as the row's `derivation` notes.
 */
const DERIVATIONS: Record<string, (f: TemplateFacts) => void> = {
  'v1.0': (f) => {
    (statement(f, 'AllowRegionalReadActions').Action as string[]).unshift('ec2:DescribeAvailabilityZones');
  },
  'v1.4': dropImagebuilderParameters,
  'v1.7': dropImagebuilderParameters,
  'v1.9': (f) => {
    without1_12(f);
    without1_11(f);
    removeRule(f, 'CapacityReservationInterruptionRule');
  },
  'v1.10': (f) => {
    without1_12(f);
    without1_11(f);
  },
  'v1.11': without1_12,
  'v1.13': () => undefined,
};

const ROW_CASES = TEMPLATE_ROWS.flatMap((row) => row.minors.map((minor) => [`${minor}.0`, row] as const));

describe('version data equals the getting-started templates', () => {
  it.each(TEMPLATE_ROWS.map((r) => [r.id, r] as const))(
    '%s names its source file and commit in its fixture',
    (_, row) => {
      const header = read(row.source.fixture).split('\n').slice(0, 2).join(' ');
      expect(header).toContain(`${row.source.repository} ${row.source.file}`);
      expect(header).toContain(`at commit ${row.source.commit}`);
      expect(row.source.origin === 'derived').toBe(row.id in DERIVATIONS);
      expect((row.source.derivation ?? []).length > 0).toBe(row.source.origin === 'derived');
    },
  );

  it.each(ROW_CASES)('%s: policies, node role, rules and queue match the template', (version, row) => {
    const facts = templateFacts(row.source.fixture);
    DERIVATIONS[row.id]?.(facts);

    expect(buildNodeRoleManagedPolicies(version, P.partition)).toEqual(facts.nodeRoleManagedPolicyArns);
    expect(canonicalizePolicy(buildNodeRoleTrust(version, P.partition))).toEqual(
      canonicalizePolicy(facts.nodeRoleTrust),
    );

    expect(buildControllerPolicies(version, P)).toEqual(
      facts.controllerPolicies.map((p) => ({ name: p.name, document: p.document })),
    );

    const rules = buildInterruptionRules(version, P.clusterName);
    expect(rules.map((r) => r.name)).toEqual(
      facts.rules.map((r) => `Karpenter-${P.clusterName}-${r.logicalId}`),
    );
    expect(rules.map((r) => r.eventPattern)).toEqual(facts.rules.map((r) => r.eventPattern));
    for (const r of facts.rules) {
      expect(r.targets).toEqual([{ Id: INTERRUPTION_RULE_TARGET_ID, Arn: P.queueArn }]);
    }

    const queue = buildQueue(version, P.clusterName, P.queueArn);
    expect(queue).toEqual({
      name: facts.queue.name,
      attributes: facts.queue.attributes,
      policy: facts.queue.policy,
    });
    expect(facts.queue.queues).toEqual(['ref:KarpenterInterruptionQueue']);
  });
});

const actionsOf = (version: string): string[] =>
  buildControllerPolicies(version, P).flatMap((p) =>
    p.document.Statement.flatMap((s) => (typeof s.Action === 'string' ? [s.Action] : (s.Action ?? []))),
  );
const resourcesOf = (version: string): string[] =>
  buildControllerPolicies(version, P).flatMap((p) =>
    p.document.Statement.flatMap((s) => (typeof s.Resource === 'string' ? [s.Resource] : (s.Resource ?? []))),
  );
const fixtureText = (id: string): string => read(`__tests__/fixtures/versions/cloudformation-${id}.yaml`);

describe('changes between releases', () => {
  it.each([
    ['1.0.8', 1],
    ['1.3.0', 1],
    ['1.6.2', 1],
    ['1.8.2', 1],
    ['1.9.0', 5],
    ['1.11.1', 5],
    ['1.12.0', 6],
    ['1.14.1', 6],
  ])('%s has %i controller policies', (version, count) => {
    expect(buildControllerPolicies(version, P)).toHaveLength(count);
  });

  it('names the policies as the templates do', () => {
    expect(buildControllerPolicies('1.8.2', P).map((p) => p.name)).toEqual([
      'KarpenterControllerPolicy-demo',
    ]);
    expect(buildControllerPolicies('1.9.0', P).map((p) => p.name)).toEqual([
      'KarpenterControllerNodeLifecyclePolicy-demo',
      'KarpenterControllerIAMIntegrationPolicy-demo',
      'KarpenterControllerEKSIntegrationPolicy-demo',
      'KarpenterControllerInterruptionPolicy-demo',
      'KarpenterControllerResourceDiscoveryPolicy-demo',
    ]);
    expect(buildControllerPolicies('1.12.0', P).map((p) => p.name)).toContain(
      'KarpenterControllerZonalShiftPolicy-demo',
    );
  });

  it('switches the node role to AmazonEC2ContainerRegistryPullOnly at 1.4', () => {
    expect(buildNodeRoleManagedPolicies('1.3.4', 'aws')).toEqual([
      'arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy',
      'arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy',
      'arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly',
      'arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore',
    ]);
    expect(buildNodeRoleManagedPolicies('1.4.0', 'aws-cn')).toEqual([
      'arn:aws-cn:iam::aws:policy/AmazonEKS_CNI_Policy',
      'arn:aws-cn:iam::aws:policy/AmazonEKSWorkerNodePolicy',
      'arn:aws-cn:iam::aws:policy/AmazonEC2ContainerRegistryPullOnly',
      'arn:aws-cn:iam::aws:policy/AmazonSSMManagedInstanceCore',
    ]);
    expect(fixtureText('v1.3')).toContain('AmazonEC2ContainerRegistryReadOnly');
    expect(fixtureText('v1.5')).toContain('AmazonEC2ContainerRegistryPullOnly');
  });

  it('adds the Capacity Reservation interruption rule at 1.10', () => {
    expect(buildInterruptionRules('1.9.3', 'demo')).toHaveLength(4);
    const rules = buildInterruptionRules('1.10.0', 'demo');
    expect(rules).toHaveLength(5);
    expect(rules.at(-1)).toEqual({
      name: 'Karpenter-demo-CapacityReservationInterruptionRule',
      description: expect.stringContaining(
        'EC2 Capacity Reservation Instance Interruption Warning',
      ) as string,
      eventPattern: {
        source: ['aws.ec2'],
        'detail-type': ['EC2 Capacity Reservation Instance Interruption Warning'],
      },
    });
  });

  it('requires ec2:DescribeInstanceStatus from 1.12, as the templates do', () => {
    for (const v of ['1.0.0', '1.3.0', '1.7.0', '1.9.0', '1.10.0', '1.11.0']) {
      expect(actionsOf(v)).not.toContain('ec2:DescribeInstanceStatus');
    }
    for (const v of ['1.12.0', '1.13.0', '1.14.1'])
      expect(actionsOf(v)).toContain('ec2:DescribeInstanceStatus');
    expect(fixtureText('v1.7')).not.toContain('ec2:DescribeInstanceStatus');
    expect(fixtureText('v1.12')).toContain('"ec2:DescribeInstanceStatus"');
    expect(fixtureText('v1.14')).toContain('"ec2:DescribeInstanceStatus"');
  });

  it('allows iam:ListInstanceProfiles from 1.7', () => {
    expect(actionsOf('1.6.0')).not.toContain('iam:ListInstanceProfiles');
    for (const v of ['1.7.0', '1.8.2', '1.9.0', '1.14.1'])
      expect(actionsOf(v)).toContain('iam:ListInstanceProfiles');
    expect(fixtureText('v1.5')).not.toContain('iam:ListInstanceProfiles');
    expect(fixtureText('v1.7')).toContain('iam:ListInstanceProfiles');
  });

  it('allows placement groups from 1.11', () => {
    const pg = `arn:${P.partition}:ec2:${P.region}:*:placement-group/*`;
    for (const v of ['1.8.0', '1.9.0', '1.10.0']) {
      expect(actionsOf(v)).not.toContain('ec2:DescribePlacementGroups');
      expect(resourcesOf(v)).not.toContain(pg);
    }
    for (const v of ['1.11.0', '1.12.0', '1.14.1']) {
      expect(actionsOf(v)).toContain('ec2:DescribePlacementGroups');
      expect(resourcesOf(v)).toContain(pg);
    }
  });

  it('keeps unrelated values out: the controller policies name only the given cluster, account and region', () => {
    const text = JSON.stringify(buildControllerPolicies('1.14.1', P));
    expect(text).not.toMatch(/\{[a-zA-Z]+\}/);
    expect(text).not.toContain('arn:aws:');
  });
});

describe('compatibility and known-bad releases', () => {
  it.each([
    ['1.0.0', '1.25', '1.30'],
    ['1.0.4', '1.25', '1.30'],
    ['1.0.5', '1.25', '1.31'],
    ['1.1.2', '1.25', '1.31'],
    ['1.4.0', '1.25', '1.32'],
    ['1.5.0', '1.26', '1.33'],
    ['1.6.3', '1.26', '1.34'],
    ['1.8.4', '1.26', '1.34'],
    ['1.9.0', '1.26', '1.35'],
    ['1.12.1', '1.26', '1.35'],
    ['1.13.1', '1.26', '1.36'],
    ['v1.14.1', '1.26', '1.36'],
  ])('%s supports Kubernetes %s to %s', (version, min, max) => {
    expect(kubernetesRange(version)).toEqual({ min, max });
  });

  it('agrees with compatibility.yaml for every supported minor', () => {
    const text = read('__tests__/fixtures/versions/compatibility.yaml');
    const doc = parse(text, { schema: 'failsafe' }) as {
      compatibility: { appVersion: string; minK8sVersion: string; maxK8sVersion: string }[];
    };
    for (const minor of supportedVersions()) {
      const entry = doc.compatibility.find((c) => c.appVersion === `${minor}.x`);
      expect(entry).toBeDefined();
      expect(kubernetesRange(`${minor}.0`)).toEqual({ min: entry?.minK8sVersion, max: entry?.maxK8sVersion });
    }
    const patch = doc.compatibility.find((c) => c.appVersion === '1.0.5');
    expect(kubernetesRange('1.0.5')).toEqual({ min: patch?.minK8sVersion, max: patch?.maxK8sVersion });
  });

  it('marks 1.8.4 as known bad, with the reason', () => {
    expect(isKnownBad('1.8.4')).toEqual({
      version: '1.8.4',
      reason: expect.stringContaining('TopologySpreadConstraint') as string,
      reference: 'kubernetes-sigs/karpenter#2785',
    });
    expect(isKnownBad('v1.8.4')?.version).toBe('1.8.4');
    expect(isKnownBad('1.8.3')).toBeUndefined();
    expect(isKnownBad('1.8.5')).toBeUndefined();
  });
});

describe('versions without data', () => {
  it('lists the supported minors', () => {
    expect(supportedVersions()).toEqual([
      '1.0',
      '1.1',
      '1.2',
      '1.3',
      '1.4',
      '1.5',
      '1.6',
      '1.7',
      '1.8',
      '1.9',
      '1.10',
      '1.11',
      '1.12',
      '1.13',
      '1.14',
    ]);
  });

  it('refuses a newer release, naming the nearest supported one', () => {
    expect(() => buildControllerPolicies('1.15.0', P)).toThrow(Refusal);
    expect(() => buildControllerPolicies('1.15.0', P)).toThrow(
      'karpenter-action has no AWS prerequisite data for Karpenter 1.15.0; the nearest supported version is 1.14.x',
    );
    expect(() => kubernetesRange('2.0.0')).toThrow(/nearest supported version is 1\.14\.x/);
  });

  it('refuses an older release, naming the nearest supported one', () => {
    expect(() => buildQueue('0.37.7', 'demo', P.queueArn)).toThrow(
      /Karpenter 0\.37\.7; the nearest supported version is 1\.0\.x/,
    );
  });

  it('refuses something that is not a version', () => {
    expect(() => versionData('latest')).toThrow('"latest" is not a Karpenter version');
  });

  it('accepts v-prefixed and minor-only versions', () => {
    expect(versionData('v1.12.3').id).toBe('v1.12');
    expect(versionData('1.5').id).toBe('v1.4');
  });
});

describe('builders', () => {
  it('builds the queue named after the cluster, with its policy on the given queue', () => {
    const q = buildQueue('1.14.1', 'prod', 'arn:aws:sqs:eu-west-1:111122223333:prod');
    expect(q.name).toBe('prod');
    expect(q.attributes).toEqual({ MessageRetentionPeriod: '300', SqsManagedSseEnabled: 'true' });
    expect(q.policy.Statement).toEqual([
      {
        Effect: 'Allow',
        Principal: { Service: ['events.amazonaws.com', 'sqs.amazonaws.com'] },
        Action: 'sqs:SendMessage',
        Resource: 'arn:aws:sqs:eu-west-1:111122223333:prod',
      },
      {
        Sid: 'DenyHTTP',
        Effect: 'Deny',
        Action: 'sqs:*',
        Resource: 'arn:aws:sqs:eu-west-1:111122223333:prod',
        Condition: { Bool: { 'aws:SecureTransport': false } },
        Principal: '*',
      },
    ]);
  });

  it('keeps rule names within 64 characters for long cluster names, stable and distinct', () => {
    const long = 'a-very-long-cluster-name-that-goes-on-and-on-for-quite-a-while';
    const names = buildInterruptionRules('1.14.1', long).map((r) => r.name);
    for (const n of names) expect(n.length).toBeLessThanOrEqual(64);
    expect(new Set(names).size).toBe(names.length);
    expect(buildInterruptionRules('1.14.1', long).map((r) => r.name)).toEqual(names);
    expect(names[0]).toMatch(/^Karpenter-a-very-long-cl.*-ScheduledChangeRule-[0-9a-f]{8}$/);
  });

  it('refuses empty parameters', () => {
    expect(() => buildControllerPolicies('1.14.1', { ...P, accountId: '' })).toThrow('accountId');
    expect(() => buildNodeRoleManagedPolicies('1.14.1', ' ')).toThrow('partition');
  });

  it('returns fresh objects, so callers cannot change the data', () => {
    const a = buildControllerPolicies('1.14.1', P);
    (a[0]?.document.Statement[0]?.Action as string[]).push('ec2:Everything');
    expect(actionsOf('1.14.1')).not.toContain('ec2:Everything');
  });
});
