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
import { COMPATIBILITY } from '../../src/versions/compatibility.ts';
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
  // The 1.15 fixture is itself the derived template (the 1.14 text plus ec2:RebootInstances), so the
  // row is compared with it unchanged; that it is exactly that edit of the 1.14 fixture is checked below.
  'v1.15': () => undefined,
};

/** A fixture's comment header (before the prettier-ignore line), and the template text from that line on. */
const headerOf = (text: string): string => text.slice(0, text.indexOf('# prettier-ignore\n'));
const bodyOf = (text: string): string => text.slice(text.indexOf('# prettier-ignore\n'));

/** `a` compared with `b` as minor versions (`1.9` < `1.10`). */
const compareMinors = (a: string, b: string): number => {
  const [am, an] = a.split('.').map(Number) as [number, number];
  const [bm, bn] = b.split('.').map(Number) as [number, number];
  return am - bm || an - bn;
};
/** The supported minors from `minor` on, and those before it, from the data. */
const minorsFrom = (minor: string): string[] =>
  supportedVersions().filter((m) => compareMinors(m, minor) >= 0);
const minorsBefore = (minor: string): string[] =>
  supportedVersions().filter((m) => compareMinors(m, minor) < 0);
const NEWEST = supportedVersions().at(-1)!;

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
      // A fixture's header says either that its text is the source file, unchanged, or that it is derived.
      const full = headerOf(read(row.source.fixture)).replace(/\n# ?/g, ' ');
      expect(
        [/that file, unchanged/.test(full), /^# DERIVED, NOT READ\./.test(full)].filter(Boolean),
      ).toHaveLength(1);
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
    ['1.15.2', 6],
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
    for (const m of minorsBefore('1.12')) {
      expect(actionsOf(`${m}.0`)).not.toContain('ec2:DescribeInstanceStatus');
    }
    for (const m of minorsFrom('1.12')) expect(actionsOf(`${m}.0`)).toContain('ec2:DescribeInstanceStatus');
    expect(fixtureText('v1.7')).not.toContain('ec2:DescribeInstanceStatus');
    expect(fixtureText('v1.12')).toContain('"ec2:DescribeInstanceStatus"');
    expect(fixtureText('v1.14')).toContain('"ec2:DescribeInstanceStatus"');
  });

  it('allows iam:ListInstanceProfiles from 1.7', () => {
    for (const m of minorsBefore('1.7'))
      expect(actionsOf(`${m}.0`)).not.toContain('iam:ListInstanceProfiles');
    for (const m of minorsFrom('1.7')) expect(actionsOf(`${m}.0`)).toContain('iam:ListInstanceProfiles');
    expect(fixtureText('v1.5')).not.toContain('iam:ListInstanceProfiles');
    expect(fixtureText('v1.7')).toContain('iam:ListInstanceProfiles');
  });

  it('allows placement groups from 1.11', () => {
    const pg = `arn:${P.partition}:ec2:${P.region}:*:placement-group/*`;
    for (const m of minorsBefore('1.11')) {
      expect(actionsOf(`${m}.0`)).not.toContain('ec2:DescribePlacementGroups');
      expect(resourcesOf(`${m}.0`)).not.toContain(pg);
    }
    for (const m of minorsFrom('1.11')) {
      expect(actionsOf(`${m}.0`)).toContain('ec2:DescribePlacementGroups');
      expect(resourcesOf(`${m}.0`)).toContain(pg);
    }
  });

  it('allows ec2:RebootInstances from 1.15 only', () => {
    for (const m of minorsBefore('1.15')) expect(actionsOf(`${m}.0`)).not.toContain('ec2:RebootInstances');
    for (const m of minorsFrom('1.15')) expect(actionsOf(`${m}.0`)).toContain('ec2:RebootInstances');
  });

  it.each(supportedVersions())(
    'keeps unrelated values out of %s: the controller policies name only the given cluster, account and region',
    (minor) => {
      const text = JSON.stringify(buildControllerPolicies(`${minor}.0`, P));
      expect(text).not.toMatch(/\{[a-zA-Z]+\}/);
      expect(text).not.toContain('arn:aws:');
    },
  );
});

/** Every controller statement of a version, keyed `<policy name>/<Sid>`. */
const statementsOf = (version: string): Map<string, unknown> =>
  new Map(
    buildControllerPolicies(version, P).flatMap((p) =>
      p.document.Statement.map((s) => [`${p.name}/${String(s.Sid)}`, s] as const),
    ),
  );
describe('1.15: the 1.14 template plus ec2:RebootInstances (derived)', () => {
  const REFERENCE_PAGE = 'website/content/en/v1.15/reference/cloudformation.md';
  const REFERENCE_COMMIT = 'd77d1a3a5a44d7ce9c041bcc51da1e567de3f2ec';

  it('versionData finds the 1.15 row, marked derived from the 1.14 template, with its derivation', () => {
    const row = versionData('1.15.2');
    expect(row.id).toBe('v1.15');
    expect(row.minors).toEqual(['1.15']);
    expect(versionData('v1.15.0')).toBe(row);
    expect(versionData('1.15')).toBe(row);
    const base = versionData('1.14.1').source;
    expect(row.source).toEqual({
      origin: 'derived',
      repository: 'aws/karpenter-provider-aws',
      file: base.file,
      commit: base.commit,
      fixture: '__tests__/fixtures/versions/cloudformation-v1.15.yaml',
      derivation: expect.any(Array) as unknown,
    });
    const derivation = row.source.derivation ?? [];
    expect(derivation[0]).toMatch(/^base: the 1\.14 template/);
    const reboot = derivation.find((d) => d.includes('ec2:RebootInstances'));
    expect(reboot).toContain('AllowScopedDeletion');
    expect(reboot).toContain(`${REFERENCE_PAGE} at ${REFERENCE_COMMIT}`);
    expect(reboot).toContain('rebootForRepair');
    const trust = derivation.find((d) => d.startsWith("the node role's Pod Identity trust"));
    expect(trust).toMatch(/kept from 1\.14 unverified/);
    expect(trust).toMatch(/reference pages show only its EC2 statement for both versions/);
  });

  it('adds ec2:RebootInstances to AllowScopedDeletion and changes nothing else in the controller policies', () => {
    const before = statementsOf('1.14.1');
    const after = statementsOf('1.15.2');
    expect([...after.keys()]).toEqual([...before.keys()]);
    const changed = [...after.keys()].filter(
      (k) => JSON.stringify(after.get(k)) !== JSON.stringify(before.get(k)),
    );
    expect(changed).toEqual([`KarpenterControllerNodeLifecyclePolicy-${P.clusterName}/AllowScopedDeletion`]);
    const deletion = before.get(changed[0]!) as { Action: string[] };
    expect(after.get(changed[0]!)).toEqual({
      ...deletion,
      Action: ['ec2:TerminateInstances', 'ec2:RebootInstances', 'ec2:DeleteLaunchTemplate'],
    });
    expect(deletion.Action).toEqual(['ec2:TerminateInstances', 'ec2:DeleteLaunchTemplate']);

    const withReboot = [...after.entries()].filter(([, s]) =>
      JSON.stringify(s).includes('ec2:RebootInstances'),
    );
    expect(withReboot.map(([k]) => k)).toEqual(changed);
    const added = actionsOf('1.15.2').filter((a) => !actionsOf('1.14.1').includes(a));
    expect(added).toEqual(['ec2:RebootInstances']);
    expect(resourcesOf('1.15.2')).toEqual(resourcesOf('1.14.1'));
  });

  it("keeps 1.14's node role, rules and queue", () => {
    expect(buildNodeRoleTrust('1.15.2', P.partition)).toEqual(buildNodeRoleTrust('1.14.1', P.partition));
    expect(JSON.stringify(buildNodeRoleTrust('1.15.2', P.partition))).toContain('pods.eks.amazonaws.com');
    expect(buildNodeRoleManagedPolicies('1.15.2', P.partition)).toEqual(
      buildNodeRoleManagedPolicies('1.14.1', P.partition),
    );
    expect(buildInterruptionRules('1.15.2', P.clusterName)).toEqual(
      buildInterruptionRules('1.14.1', P.clusterName),
    );
    expect(buildQueue('1.15.2', P.clusterName, P.queueArn)).toEqual(
      buildQueue('1.14.1', P.clusterName, P.queueArn),
    );
  });

  it('its fixture is the 1.14 fixture with that one line added, and says so', () => {
    const v14 = fixtureText('v1.14');
    const v15 = fixtureText('v1.15');
    const deletion = '                "ec2:TerminateInstances",\n';
    expect(bodyOf(v14).split(deletion)).toHaveLength(2);
    expect(bodyOf(v15)).toBe(
      bodyOf(v14).replace(deletion, `${deletion}                "ec2:RebootInstances",\n`),
    );
    const header = headerOf(v15).replace(/\n/g, ' ');
    expect(header).toMatch(/^# DERIVED, NOT READ/);
    expect(header).toContain(`${REFERENCE_PAGE} at ${REFERENCE_COMMIT}`);
    expect(header).toContain('AllowScopedDeletion');
    expect(header).toContain('pods.eks.amazonaws.com');
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
    ['1.14.3', '1.26', '1.36'],
    ['1.15.0', '1.26', '1.37'],
    ['v1.15.2', '1.26', '1.37'],
  ])('%s supports Kubernetes %s to %s', (version, min, max) => {
    expect(kubernetesRange(version)).toEqual({ min, max });
  });

  it('agrees with compatibility.yaml for every supported minor it has, and names the source of the others', () => {
    const text = read('__tests__/fixtures/versions/compatibility.yaml');
    const doc = parse(text, { schema: 'failsafe' }) as {
      compatibility: { appVersion: string; minK8sVersion: string; maxK8sVersion: string }[];
    };
    for (const minor of supportedVersions()) {
      const entry = doc.compatibility.find((c) => c.appVersion === `${minor}.x`);
      const data = COMPATIBILITY.find((e) => e.since === `${minor}.0`);
      expect(data).toBeDefined();
      if (entry) {
        expect(data?.source).toBeUndefined();
        expect(kubernetesRange(`${minor}.0`)).toEqual({ min: entry.minK8sVersion, max: entry.maxK8sVersion });
      } else {
        // Not in the file (1.15: the module's copy lags): the entry must say where its range is from.
        expect(data?.source).toMatch(/\S/);
      }
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

  it('knows of no bad 1.15 release', () => {
    for (const v of ['1.15.0', '1.15.1', '1.15.2']) expect(isKnownBad(v)).toBeUndefined();
  });

  it('takes Kubernetes 1.37 only from 1.15', () => {
    expect(kubernetesRange('1.15.0').max).toBe('1.37');
    for (const m of minorsBefore('1.15'))
      expect(compareMinors(kubernetesRange(`${m}.0`).max, '1.37')).toBeLessThan(0);
  });
});

describe('versions without data', () => {
  it('lists the supported minors: every minor of the rows, in order, from 1.0 with none missing', () => {
    const minors = supportedVersions();
    expect(minors).toEqual(TEMPLATE_ROWS.flatMap((r) => r.minors));
    expect(minors[0]).toBe('1.0');
    minors.slice(1).forEach((m, i) => {
      const [major, minor] = minors[i]!.split('.').map(Number) as [number, number];
      expect(m).toBe(`${major}.${minor + 1}`);
    });
    expect(NEWEST).toBe(TEMPLATE_ROWS.at(-1)!.minors.at(-1));
    for (const m of minors) expect(kubernetesRange(`${m}.0`)).toBeDefined();
  });

  it('refuses a release newer than the data, naming the newest known one and what to do', () => {
    const [major, minor] = NEWEST.split('.').map(Number) as [number, number];
    const next = `${major}.${minor + 1}.0`;
    expect(() => versionData(next)).toThrow(Refusal);
    expect(() => buildControllerPolicies(next, P)).toThrow(
      `karpenter-action has no AWS prerequisite data for Karpenter ${next}: it is newer than the newest release this karpenter-action knows (${NEWEST}.x); pin karpenter.version to ${NEWEST}.x, or update karpenter-action to a release that knows ${major}.${minor + 1} (for its maintainers, \`npm run versions:check\` lists the data that is missing)`,
    );
    const refusal = (() => {
      try {
        versionData(next);
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(refusal).toBeInstanceOf(Refusal);
    expect((refusal as Refusal).details).toEqual([`supported: ${supportedVersions().join(', ')}`]);
    expect(() => kubernetesRange('2.0.0')).toThrow(
      `newer than the newest release this karpenter-action knows (${NEWEST}.x); pin karpenter.version to ${NEWEST}.x`,
    );
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
