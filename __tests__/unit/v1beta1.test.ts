import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { LineCounter, parse, parseAllDocuments } from 'yaml';
import { buildYamlLocator, validateAgainstCrd, type CrdLike } from '../../src/manifests/schema-validate.ts';
import { convertV1beta1, renderV1Yaml, type ManifestObject } from '../../src/manifests/v1beta1.ts';

const FIXTURES = join(import.meta.dirname, '..', 'fixtures');
const loadCrd = (file: string): CrdLike =>
  parse(readFileSync(join(FIXTURES, 'crd-schema', file), 'utf8')) as CrdLike;
const V1_CRDS = [loadCrd('karpenter-1.14.1-nodepools.yaml'), loadCrd('karpenter-1.14.1-ec2nodeclasses.yaml')];
const V1BETA1_CRDS = [
  loadCrd('karpenter-1.0.8-nodepools.yaml'),
  loadCrd('karpenter-1.0.8-ec2nodeclasses.yaml'),
];

/** Reads a fixture the way the config loader does: one object per document, with its line and a locator. */
function load(name: string): ManifestObject[] {
  const file = `karpenter/${name}`;
  const lc = new LineCounter();
  const text = readFileSync(join(FIXTURES, 'v1beta1', name), 'utf8');
  return parseAllDocuments(text, { lineCounter: lc }).map((doc) => {
    const locate = buildYamlLocator(doc, lc);
    return { obj: doc.toJS() as Record<string, unknown>, file, line: locate([]) ?? 1, locate };
  });
}

/** Reads a nested field of a converted object without asserting its whole shape. */
const at = (value: unknown, ...path: string[]): unknown =>
  path.reduce<unknown>(
    (v, k) => (v && typeof v === 'object' ? (v as Record<string, unknown>)[k] : undefined),
    value,
  );

function schemaIssues(objects: ManifestObject[], crds: CrdLike[]): unknown[] {
  return objects.flatMap((m) => {
    const crd = crds.find((c) => c.spec?.names?.kind === m.obj.kind);
    return crd ? validateAgainstCrd(m.obj, crd).map((i) => ({ kind: m.obj.kind, ...i })) : [];
  });
}

const nodePool = (
  spec: Record<string, unknown>,
  metadata: Record<string, unknown> = { name: 'default' },
) => ({
  obj: { apiVersion: 'karpenter.sh/v1beta1', kind: 'NodePool', metadata, spec },
  file: 'pools.yaml',
  line: 1,
});
const nodeClass = (spec: Record<string, unknown>, name = 'default') => ({
  obj: { apiVersion: 'karpenter.k8s.aws/v1beta1', kind: 'EC2NodeClass', metadata: { name }, spec },
  file: 'pools.yaml',
  line: 40,
});
const template = (extra: Record<string, unknown> = {}) => ({
  spec: { requirements: [], nodeClassRef: { name: 'default' }, ...extra },
});
const v1Template = (extra: Record<string, unknown> = {}) => ({
  spec: {
    requirements: [],
    nodeClassRef: { group: 'karpenter.k8s.aws', kind: 'EC2NodeClass', name: 'default' },
    ...extra,
  },
});
const SELECTORS = {
  role: 'KarpenterNodeRole-weasel-eks',
  subnetSelectorTerms: [{ tags: { 'karpenter.sh/discovery': 'weasel-eks' } }],
  securityGroupSelectorTerms: [{ tags: { 'karpenter.sh/discovery': 'weasel-eks' } }],
};
const IMDS_V1BETA1 = {
  httpEndpoint: 'enabled',
  httpProtocolIPv6: 'disabled',
  httpPutResponseHopLimit: 2,
  httpTokens: 'required',
};

describe('the Karpenter 0.37 getting-started manifests', () => {
  const input = load('getting-started-0.37.yaml');
  const before = structuredClone(input.map((m) => m.obj));
  const result = convertV1beta1(input);

  test('are valid v1beta1 to begin with', () => {
    expect(schemaIssues(input, V1BETA1_CRDS)).toEqual([]);
  });

  test('convert to the v1 NodePool and EC2NodeClass in full', () => {
    expect(result.converted.map((m) => m.obj)).toEqual([
      {
        apiVersion: 'karpenter.sh/v1',
        kind: 'NodePool',
        metadata: { name: 'default' },
        spec: {
          template: {
            spec: {
              requirements: [
                { key: 'kubernetes.io/arch', operator: 'In', values: ['amd64'] },
                { key: 'kubernetes.io/os', operator: 'In', values: ['linux'] },
                { key: 'karpenter.sh/capacity-type', operator: 'In', values: ['spot'] },
                { key: 'karpenter.k8s.aws/instance-category', operator: 'In', values: ['c', 'm', 'r'] },
                { key: 'karpenter.k8s.aws/instance-generation', operator: 'Gt', values: ['2'] },
              ],
              nodeClassRef: { group: 'karpenter.k8s.aws', kind: 'EC2NodeClass', name: 'default' },
              expireAfter: '720h',
            },
          },
          limits: { cpu: 1000 },
          disruption: { consolidationPolicy: 'WhenEmptyOrUnderutilized', consolidateAfter: '0s' },
        },
      },
      {
        apiVersion: 'karpenter.k8s.aws/v1',
        kind: 'EC2NodeClass',
        metadata: { name: 'default' },
        spec: {
          amiSelectorTerms: [{ alias: 'al2@latest' }],
          role: 'KarpenterNodeRole-weasel-eks',
          subnetSelectorTerms: [{ tags: { 'karpenter.sh/discovery': 'weasel-eks' } }],
          securityGroupSelectorTerms: [{ tags: { 'karpenter.sh/discovery': 'weasel-eks' } }],
          metadataOptions: IMDS_V1BETA1,
        },
      },
    ]);
  });

  test('explain every required change on the line of the field it concerns', () => {
    expect(result.changes.map((c) => [c.ref, c.path, c.line])).toEqual([
      ['NodePool/default', 'apiVersion', 3],
      ['NodePool/default', 'spec.disruption.consolidationPolicy', 33],
      ['NodePool/default', 'spec.disruption.expireAfter', 34],
      ['NodePool/default', 'spec.disruption', 32],
      ['NodePool/default', 'spec.template.spec.nodeClassRef', 26],
      ['EC2NodeClass/default', 'apiVersion', 36],
      ['EC2NodeClass/default', 'spec.amiFamily', 41],
      ['EC2NodeClass/default', 'spec', 40],
    ]);
    expect(result.changes.every((c) => c.file === 'karpenter/getting-started-0.37.yaml')).toBe(true);
    expect(result.changes[2]!.message).toContain('expiry is forceful');
    expect(result.changes[2]!.message).toContain('drifts');
    // consolidateAfter: required by the v1 CRDs of 1.0 to 1.14, defaulted to 0s from 1.15
    expect(result.changes[3]!.message).toContain('Karpenter 1.0 to 1.14 require consolidateAfter');
    expect(result.changes[3]!.message).toContain('1.15 defaults it to 0s');
  });

  test('warn about @latest and the IMDS hop limit, and report no errors', () => {
    expect(result.findings.map((f) => [f.level, f.line])).toEqual([
      ['warning', 41],
      ['warning', 40],
    ]);
    expect(result.findings[0]!.message).toContain('al2@latest');
    expect(result.findings[0]!.fix).toContain('pin');
    expect(result.findings[1]!.message).toContain('hop limit 2');
    expect(result.findings[1]!.fix).toContain('httpPutResponseHopLimit: 1');
  });

  test('the v1 objects pass the Karpenter 1.14.1 schema', () => {
    expect(schemaIssues(result.converted, V1_CRDS)).toEqual([]);
  });

  test('render as the expected multi-document YAML', () => {
    const golden = readFileSync(join(FIXTURES, 'v1beta1', 'getting-started-0.37.v1.yaml'), 'utf8');
    expect(renderV1Yaml(result.converted)).toBe(golden);
  });

  test('leave the input objects untouched', () => {
    expect(input.map((m) => m.obj)).toEqual(before);
  });
});

describe('NodePool changes', () => {
  const REF = 'spec.template.spec.nodeClassRef';
  type Row = [string, Record<string, unknown>, Record<string, unknown>, string[]];
  const rows: Row[] = [
    [
      'WhenUnderutilized becomes WhenEmptyOrUnderutilized',
      {
        template: template(),
        disruption: { consolidationPolicy: 'WhenUnderutilized', consolidateAfter: '1m' },
      },
      {
        template: v1Template(),
        disruption: { consolidationPolicy: 'WhenEmptyOrUnderutilized', consolidateAfter: '1m' },
      },
      ['spec.disruption.consolidationPolicy', REF],
    ],
    [
      'WhenEmpty stays',
      { template: template(), disruption: { consolidationPolicy: 'WhenEmpty', consolidateAfter: '30s' } },
      { template: v1Template(), disruption: { consolidationPolicy: 'WhenEmpty', consolidateAfter: '30s' } },
      [REF],
    ],
    [
      'expireAfter moves to the template and consolidateAfter becomes explicit',
      { template: template(), disruption: { expireAfter: 'Never' } },
      { template: v1Template({ expireAfter: 'Never' }), disruption: { consolidateAfter: '0s' } },
      ['spec.disruption.expireAfter', 'spec.disruption', REF],
    ],
    [
      'no disruption block stays without one (the v1 defaults match v1beta1)',
      { template: template() },
      { template: v1Template() },
      [REF],
    ],
    [
      'nodeClassRef takes its group from the old apiVersion',
      { template: template({ nodeClassRef: { apiVersion: 'example.com/v2', kind: 'MyClass', name: 'x' } }) },
      { template: v1Template({ nodeClassRef: { group: 'example.com', kind: 'MyClass', name: 'x' } }) },
      [REF],
    ],
    [
      'the empty resources field is removed',
      { template: template({ resources: {} }) },
      { template: v1Template() },
      [REF, 'spec.template.spec.resources'],
    ],
  ];
  test.each(rows)('%s', (_name, spec, expected, paths) => {
    const result = convertV1beta1([nodePool(spec)]);
    expect(result.converted[0]!.obj).toEqual({
      apiVersion: 'karpenter.sh/v1',
      kind: 'NodePool',
      metadata: { name: 'default' },
      spec: expected,
    });
    expect(result.changes.map((c) => c.path)).toEqual(['apiVersion', ...paths]);
    expect(result.changes.every((c) => c.ref === 'NodePool/default' && c.line === 1)).toBe(true);
    expect(result.findings).toEqual([]);
    expect(schemaIssues(result.converted, V1_CRDS)).toEqual([]);
  });

  test('removed annotations become karpenter.sh/do-not-disrupt, in place, once', () => {
    const result = convertV1beta1([
      nodePool(
        {
          template: {
            metadata: {
              annotations: {
                'karpenter.sh/do-not-evict': 'true',
                'karpenter.sh/do-not-consolidate': 'true',
                team: 'a',
              },
            },
            spec: { requirements: [], nodeClassRef: { name: 'default' } },
          },
        },
        {
          name: 'default',
          annotations: { 'karpenter.sh/do-not-consolidate': 'true', 'karpenter.sh/do-not-disrupt': 'true' },
        },
      ),
    ]);
    const obj = result.converted[0]!.obj;
    expect(at(obj, 'metadata', 'annotations')).toEqual({ 'karpenter.sh/do-not-disrupt': 'true' });
    expect(Object.entries(at(obj, 'spec', 'template', 'metadata', 'annotations') as object)).toEqual([
      ['karpenter.sh/do-not-disrupt', 'true'],
      ['team', 'a'],
    ]);
    expect(result.changes.map((c) => c.path).filter((p) => p.includes('annotations'))).toEqual([
      'metadata.annotations[karpenter.sh/do-not-consolidate]',
      'spec.template.metadata.annotations[karpenter.sh/do-not-consolidate]',
      'spec.template.metadata.annotations[karpenter.sh/do-not-evict]',
    ]);
  });
});

describe('kubelet moves to the EC2NodeClass', () => {
  test('NodePools that agree move their kubelet to the class they share', () => {
    const input = load('kubelet-move.yaml');
    const result = convertV1beta1(input);
    const [a, b, cls] = result.converted.map((m) => m.obj as { spec: Record<string, unknown> });
    const kubelet = { maxPods: 58, systemReserved: { cpu: '200m', memory: '200Mi' } };
    expect(cls!.spec.kubelet).toEqual(kubelet);
    for (const pool of [a!, b!]) {
      expect((pool.spec.template as { spec: Record<string, unknown> }).spec).not.toHaveProperty('kubelet');
    }
    expect(
      result.changes.filter((c) => c.message.includes('kubelet')).map((c) => [c.ref, c.path, c.line]),
    ).toEqual([
      ['NodePool/gpu-a', 'spec.template.spec.kubelet', 20],
      ['NodePool/gpu-b', 'spec.template.spec.kubelet', 45],
      ['EC2NodeClass/gpu', 'spec', 55],
    ]);
    expect(result.findings.filter((f) => f.level === 'error')).toEqual([]);
    expect(schemaIssues(result.converted, V1_CRDS)).toEqual([]);
  });

  test('the class that already pins its hop limit keeps it, without an IMDS warning', () => {
    const result = convertV1beta1(load('kubelet-move.yaml'));
    const cls = result.converted[2]!.obj as { spec: Record<string, unknown> };
    expect(cls.spec.metadataOptions).toEqual({ httpPutResponseHopLimit: 1 });
    expect(result.findings.map((f) => f.message).join('\n')).not.toContain('IMDS');
  });

  test('NodePools that share a class with different kubelets are an error, and nothing is moved', () => {
    const input = load('kubelet-shared.yaml');
    const result = convertV1beta1(input);
    const errors = result.findings.filter((f) => f.level === 'error');
    expect(errors).toEqual([
      {
        level: 'error',
        file: 'karpenter/kubelet-shared.yaml',
        line: 16,
        message: expect.stringContaining('each kubelet configuration needs its own EC2NodeClass') as string,
        fix: expect.stringContaining('drifts (replaces) the nodes') as string,
      },
    ]);
    expect(errors[0]!.message).toContain('NodePool/general, NodePool/batch share EC2NodeClass/default');
    expect(result.converted[2]!.obj.spec).not.toHaveProperty('kubelet');
    expect(schemaIssues(result.converted, V1_CRDS)).toEqual([
      { kind: 'NodePool', path: 'spec.template.spec.kubelet', message: 'field not declared in schema' },
      { kind: 'NodePool', path: 'spec.template.spec.kubelet', message: 'field not declared in schema' },
    ]);
  });

  test('a v1 NodePool without kubelet on the same class conflicts with a v1beta1 NodePool that has one', () => {
    const v1Pool = {
      obj: {
        apiVersion: 'karpenter.sh/v1',
        kind: 'NodePool',
        metadata: { name: 'v1-pool' },
        spec: {
          template: {
            spec: {
              requirements: [],
              nodeClassRef: { group: 'karpenter.k8s.aws', kind: 'EC2NodeClass', name: 'default' },
            },
          },
        },
      },
      file: 'v1.yaml',
      line: 1,
    };
    const result = convertV1beta1([
      nodePool({ template: template({ kubelet: { maxPods: 20 } }) }),
      v1Pool,
      nodeClass({ amiFamily: 'AL2023', ...SELECTORS }),
    ]);
    expect(result.findings.filter((f) => f.level === 'error').map((f) => f.message)).toEqual([
      expect.stringContaining('NodePool/default, NodePool/v1-pool share EC2NodeClass/default'),
    ]);
  });

  test('a class that is not among the manifests is an error', () => {
    const result = convertV1beta1([nodePool({ template: template({ kubelet: { maxPods: 20 } }) })]);
    expect(result.findings).toEqual([
      {
        level: 'error',
        file: 'pools.yaml',
        line: 1,
        message: expect.stringContaining('EC2NodeClass/default is not among the manifests') as string,
        fix: expect.stringContaining('spec.kubelet') as string,
      },
    ]);
  });

  test.each([
    ['the same kubelet is simply dropped from the NodePool', { maxPods: 20 }, []],
    ['a different kubelet is an error', { maxPods: 30 }, ['error']],
  ])('a v1 class: %s', (_name, classKubelet, levels) => {
    const v1Class = {
      obj: {
        apiVersion: 'karpenter.k8s.aws/v1',
        kind: 'EC2NodeClass',
        metadata: { name: 'default' },
        spec: { amiSelectorTerms: [{ alias: 'al2023@v20240703' }], ...SELECTORS, kubelet: classKubelet },
      },
      file: 'v1.yaml',
      line: 1,
    };
    const result = convertV1beta1([nodePool({ template: template({ kubelet: { maxPods: 20 } }) }), v1Class]);
    expect(result.findings.map((f) => f.level)).toEqual(levels);
    expect(result.converted[1]).toBe(v1Class);
    expect(at(result.converted[0]!.obj, 'spec', 'template', 'spec', 'kubelet') !== undefined).toBe(
      levels.length > 0,
    );
  });
});

describe('EC2NodeClass changes', () => {
  test.each([
    ['AL2', 'al2@latest', 'pin a tested release, e.g. al2@v'],
    ['AL2023', 'al2023@latest', 'pin a tested release, e.g. al2023@v20240703'],
    ['Bottlerocket', 'bottlerocket@latest', 'pin a tested release, e.g. bottlerocket@v1.20.4'],
    ['Windows2019', 'windows2019@latest', 'Windows aliases accept only @latest'],
    ['Windows2022', 'windows2022@latest', 'Windows aliases accept only @latest'],
  ])('amiFamily %s alone becomes the alias %s, without amiFamily, and a warning', (family, alias, fix) => {
    const result = convertV1beta1([
      nodeClass({ amiFamily: family, ...SELECTORS, metadataOptions: { httpPutResponseHopLimit: 1 } }),
    ]);
    const spec = result.converted[0]!.obj.spec;
    expect(spec.amiSelectorTerms).toEqual([{ alias }]);
    expect(spec).not.toHaveProperty('amiFamily');
    expect(Object.keys(spec)[0]).toBe('amiSelectorTerms');
    expect(result.findings).toEqual([
      {
        level: 'warning',
        file: 'pools.yaml',
        line: 40,
        message: `EC2NodeClass/default now follows ${alias}: every new ${family.startsWith('Windows') ? 'Windows ' : ''}AMI release drifts (replaces) all of its nodes.`,
        fix: expect.stringContaining(fix) as string,
      },
    ]);
    expect(schemaIssues(result.converted, V1_CRDS)).toEqual([]);
  });

  test('explicit amiSelectorTerms and amiFamily stay as they are', () => {
    const spec = {
      amiFamily: 'AL2023',
      amiSelectorTerms: [{ id: 'ami-0123456789abcdef0' }],
      ...SELECTORS,
      metadataOptions: { httpPutResponseHopLimit: 2 },
    };
    const result = convertV1beta1([nodeClass(spec)]);
    expect(result.converted[0]!.obj.spec).toEqual(spec);
    expect(result.changes.map((c) => c.path)).toEqual(['apiVersion']);
    expect(result.findings).toEqual([]);
  });

  test.each([
    [
      'Ubuntu',
      { amiFamily: 'Ubuntu' },
      'error',
      'amiFamily Ubuntu, which Karpenter v1 removed',
      'amiFamily AL2',
    ],
    [
      'Ubuntu with AMIs',
      { amiFamily: 'Ubuntu', amiSelectorTerms: [{ name: 'ubuntu-eks/*', owner: '099720109477' }] },
      'error',
      'amiFamily Ubuntu',
      'or Custom',
    ],
    [
      'Custom without AMIs',
      { amiFamily: 'Custom' },
      'error',
      'amiFamily Custom without amiSelectorTerms',
      'add amiSelectorTerms',
    ],
    ['no amiFamily and no AMIs', {}, 'error', 'neither amiFamily nor amiSelectorTerms', 'alias'],
    [
      'AMIs without amiFamily',
      { amiSelectorTerms: [{ id: 'ami-1' }] },
      'error',
      'no amiFamily',
      'set amiFamily',
    ],
    [
      'an amiFamily v1 does not know',
      { amiFamily: 'Flatcar' },
      'error',
      'amiFamily Flatcar, which v1 does not know',
      'alias',
    ],
  ])('%s is an error finding and the field is left alone', (_name, ami, level, message, fix) => {
    const result = convertV1beta1([
      nodeClass({ ...ami, ...SELECTORS, metadataOptions: { httpPutResponseHopLimit: 1 } }),
    ]);
    expect(result.findings.filter((f) => f.level === level)).toEqual([
      {
        level,
        file: 'pools.yaml',
        line: 40,
        message: expect.stringContaining(message) as string,
        fix: expect.stringContaining(fix) as string,
      },
    ]);
    const spec = result.converted[0]!.obj.spec;
    expect(spec.amiFamily).toEqual((ami as { amiFamily?: string }).amiFamily);
    expect(spec.amiSelectorTerms).toEqual((ami as { amiSelectorTerms?: unknown }).amiSelectorTerms);
  });

  test('Custom with AMIs converts, with a warning about the registration taint in the user data', () => {
    const spec = {
      amiFamily: 'Custom',
      amiSelectorTerms: [{ id: 'ami-1' }],
      userData: '#!/bin/bash',
      ...SELECTORS,
      metadataOptions: { httpPutResponseHopLimit: 1 },
    };
    const result = convertV1beta1([nodeClass(spec)]);
    expect(result.converted[0]!.obj.spec).toEqual(spec);
    expect(result.findings).toEqual([
      {
        level: 'warning',
        file: 'pools.yaml',
        line: 40,
        message: expect.stringContaining('karpenter.sh/unregistered:NoExecute') as string,
        fix: expect.stringContaining('--register-with-taints') as string,
      },
    ]);
  });

  test.each([
    ['no metadataOptions', undefined, IMDS_V1BETA1, true],
    [
      'metadataOptions without a hop limit',
      { httpTokens: 'optional' },
      { ...IMDS_V1BETA1, httpTokens: 'optional' },
      true,
    ],
    ['an explicit hop limit of 1', { httpPutResponseHopLimit: 1 }, { httpPutResponseHopLimit: 1 }, false],
    [
      'an explicit hop limit of 2',
      { httpPutResponseHopLimit: 2, httpTokens: 'required' },
      { httpPutResponseHopLimit: 2, httpTokens: 'required' },
      false,
    ],
  ])('IMDS: %s', (_name, metadataOptions, expected, warns) => {
    const spec: Record<string, unknown> = {
      amiFamily: 'AL2023',
      amiSelectorTerms: [{ id: 'ami-1' }],
      ...SELECTORS,
    };
    if (metadataOptions) spec.metadataOptions = metadataOptions;
    const result = convertV1beta1([nodeClass(spec)]);
    expect(result.converted[0]!.obj.spec.metadataOptions).toEqual(expected);
    const warnings = result.findings.filter((f) => f.message.includes('IMDS'));
    expect(warnings).toHaveLength(warns ? 1 : 0);
    if (warns) {
      expect(warnings[0]!.message).toContain('pods that call IMDS without hostNetwork');
      expect(warnings[0]!.fix).toContain('the hardened choice');
      expect(result.changes.map((c) => c.message).join('\n')).toContain('v1 changed the default from 2 to 1');
    }
  });
});

describe('objects that are not v1beta1', () => {
  test('v1 objects and other kinds pass through untouched', () => {
    const input = load('getting-started-0.37.yaml');
    const v1 = parseAllDocuments(readFileSync(join(FIXTURES, 'manifests', 'valid-v1.yaml'), 'utf8')).map(
      (d, i) => ({
        obj: d.toJS() as Record<string, unknown>,
        file: 'valid-v1.yaml',
        line: i * 30 + 1,
      }),
    );
    const other = {
      obj: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x' } },
      file: 'cm.yaml',
      line: 1,
    };
    const result = convertV1beta1([...v1, other]);
    expect(result.converted).toHaveLength(3);
    result.converted.forEach((m, i) => expect(m).toBe([...v1, other][i]));
    expect(result.changes).toEqual([]);
    expect(result.findings).toEqual([]);
    expect(convertV1beta1(convertV1beta1(input).converted).changes).toEqual([]);
  });

  test('Provisioner and AWSNodeTemplate are error findings that point at the 0.32 migration, and pass through', () => {
    const input = load('pre-v1beta1.yaml');
    const result = convertV1beta1(input);
    expect(result.converted.map((m) => m.obj)).toEqual(input.map((m) => m.obj));
    expect(result.changes).toEqual([]);
    expect(result.findings).toEqual([
      {
        level: 'error',
        file: 'karpenter/pre-v1beta1.yaml',
        line: 2,
        message:
          'Provisioner/default (karpenter.sh/v1alpha5) predates v1beta1 and cannot be converted to v1 directly; Provisioner was replaced by NodePool.',
        fix: 'migrate it to a v1beta1 NodePool first as the Karpenter 0.32 upgrade guide describes (or rewrite it as a v1 NodePool), then convert',
      },
      {
        level: 'error',
        file: 'karpenter/pre-v1beta1.yaml',
        line: 18,
        message:
          'AWSNodeTemplate/default (karpenter.k8s.aws/v1alpha1) predates v1beta1 and cannot be converted to v1 directly; AWSNodeTemplate was replaced by EC2NodeClass.',
        fix: 'migrate it to a v1beta1 EC2NodeClass first as the Karpenter 0.32 upgrade guide describes (or rewrite it as a v1 EC2NodeClass), then convert',
      },
    ]);
  });

  test("extra fields of the caller's objects are kept on the converted ones", () => {
    const tagged = { ...nodePool({ template: template() }), legacy: true };
    const [out] = convertV1beta1([tagged]).converted;
    expect(out).toMatchObject({ legacy: true, file: 'pools.yaml', line: 1 });
    expect(out!.obj.apiVersion).toBe('karpenter.sh/v1');
  });
});

describe('renderV1Yaml', () => {
  test('puts apiVersion, kind, metadata and spec first, name first in metadata, and is deterministic', () => {
    const obj = {
      spec: { b: 1, a: 2 },
      metadata: { labels: { x: 'y' }, name: 'n' },
      kind: 'NodePool',
      apiVersion: 'karpenter.sh/v1',
    };
    const text = renderV1Yaml([
      { obj, file: 'f', line: 1 },
      { obj, file: 'f', line: 1 },
    ]);
    expect(text).toBe(
      [
        'apiVersion: karpenter.sh/v1',
        'kind: NodePool',
        'metadata:',
        '  name: n',
        '  labels:',
        '    x: y',
        'spec:',
        '  b: 1',
        '  a: 2',
        '---',
        'apiVersion: karpenter.sh/v1',
        'kind: NodePool',
        'metadata:',
        '  name: n',
        '  labels:',
        '    x: y',
        'spec:',
        '  b: 1',
        '  a: 2',
        '',
      ].join('\n'),
    );
    expect(renderV1Yaml([{ obj, file: 'f', line: 1 }])).toBe(
      renderV1Yaml([{ obj: structuredClone(obj), file: 'g', line: 9 }]),
    );
  });

  test('strings that look like numbers stay strings', () => {
    const text = renderV1Yaml([
      { obj: { apiVersion: 'v1', kind: 'X', spec: { values: ['2'], n: 2 } }, file: 'f', line: 1 },
    ]);
    expect(parse(text)).toEqual({ apiVersion: 'v1', kind: 'X', spec: { values: ['2'], n: 2 } });
  });
});
