import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { LineCounter, parse, parseAllDocuments, parseDocument, stringify } from 'yaml';
import { convertRe2Pattern } from '../../src/manifests/schema-re2.ts';
import {
  buildYamlLocator,
  validateAgainstCrd,
  type CrdLike,
  type SchemaIssue,
  type SchemaProps,
} from '../../src/manifests/schema-validate.ts';

const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'crd-schema');
const loadCrd = (file: string): CrdLike => parse(readFileSync(join(FIXTURES, file), 'utf8')) as CrdLike;
const NODEPOOLS = loadCrd('karpenter-1.14.1-nodepools.yaml');
const NODECLASSES = loadCrd('karpenter-1.14.1-ec2nodeclasses.yaml');

/** Parses a multi-document YAML text and validates every document, with lines, as the config loader does. */
function validateYaml(text: string, crds: CrdLike[]): SchemaIssue[][] {
  const lc = new LineCounter();
  return parseAllDocuments(text, { lineCounter: lc }).map((doc) => {
    const obj = doc.toJS() as { kind?: string };
    const crd = crds.find((c) => c.spec?.names?.kind === obj.kind)!;
    return validateAgainstCrd(obj, crd, buildYamlLocator(doc, lc));
  });
}

/** A one-version CRD whose spec has the given schema, for exercising one rule at a time. */
function crdWith(spec: SchemaProps): CrdLike {
  return {
    spec: {
      group: 'example.com',
      names: { kind: 'Widget' },
      versions: [
        {
          name: 'v1',
          served: true,
          schema: {
            openAPIV3Schema: {
              type: 'object',
              properties: {
                apiVersion: { type: 'string' },
                kind: { type: 'string' },
                metadata: { type: 'object' },
                spec,
              },
            },
          },
        },
      ],
    },
  };
}

const widget = (spec: unknown) => ({
  apiVersion: 'example.com/v1',
  kind: 'Widget',
  metadata: { name: 'w' },
  spec,
});

const VALID = `apiVersion: karpenter.sh/v1
kind: NodePool
metadata:
  name: default
  labels:
    team: platform
spec:
  template:
    metadata:
      labels:
        workload: general
    spec:
      requirements:
        - key: kubernetes.io/arch
          operator: In
          values: ['amd64', 'arm64']
        - key: karpenter.k8s.aws/instance-generation
          operator: Gt
          values: ['2']
          minValues: 1
      nodeClassRef:
        group: karpenter.k8s.aws
        kind: EC2NodeClass
        name: default
      taints:
        - key: example.com/dedicated
          value: batch
          effect: NoSchedule
      expireAfter: 720h
      terminationGracePeriod: 48h
  limits:
    cpu: 1000
    memory: 1000Gi
  weight: 10
  disruption:
    consolidationPolicy: WhenEmptyOrUnderutilized
    consolidateAfter: 1m
    budgets:
      - nodes: 10%
      - nodes: '0'
        schedule: '0 9 * * mon-fri'
        duration: 8h
        reasons: [Drifted, Underutilized]
---
apiVersion: karpenter.k8s.aws/v1
kind: EC2NodeClass
metadata:
  name: default
spec:
  role: KarpenterNodeRole-weasel-eks
  amiSelectorTerms:
    - alias: al2023@v20240703
  subnetSelectorTerms:
    - tags:
        karpenter.sh/discovery: weasel-eks
    - id: subnet-0123456789abcdef0
  securityGroupSelectorTerms:
    - tags:
        karpenter.sh/discovery: weasel-eks
  kubelet:
    maxPods: 110
    systemReserved:
      cpu: 100m
      memory: 100Mi
    evictionHard:
      memory.available: 5%
  blockDeviceMappings:
    - deviceName: /dev/xvda
      ebs:
        volumeSize: 100Gi
        volumeType: gp3
        encrypted: true
  metadataOptions:
    httpEndpoint: enabled
    httpPutResponseHopLimit: 1
    httpTokens: required
  tags:
    team: platform
`;

describe('Karpenter 1.14.1 CRDs', () => {
  test('a valid NodePool and EC2NodeClass pass', () => {
    expect(validateYaml(VALID, [NODEPOOLS, NODECLASSES])).toEqual([[], []]);
  });

  test('the repository example manifest passes', () => {
    const text = readFileSync(
      join(import.meta.dirname, '..', 'fixtures', 'manifests', 'valid-v1.yaml'),
      'utf8',
    );
    expect(validateYaml(text, [NODEPOOLS, NODECLASSES])).toEqual([[], []]);
  });

  test('a manifest with several problems reports all of them, each on its line in a multi-document file', () => {
    const text = `apiVersion: karpenter.k8s.aws/v1
kind: EC2NodeClass
metadata:
  name: default
spec:
  role: KarpenterNodeRole-weasel-eks
  amiSelectorTerms: []
  subnetSelectorTerms:
    - id: subnet-1
  securityGroupSelectorTerms:
    - id: sg-1
  metadataOptions:
    httpPutResponseHopLimit: 0
    httpTokens: sometimes
---
apiVersion: karpenter.sh/v1
kind: NodePool
metadata:
  name: Default_Pool
spec:
  weight: 200
  limits:
    cpu: 1.5
  template:
    spec:
      requirements:
        - key: kubernetes.io/arch
          operator: Equals
          values: [amd64]
      nodeClassRef:
        kind: EC2NodeClass
        name: default
      kubelet:
        maxPods: 110
      expireAfter: 30d
  disruption:
    consolidationPolicy: WhenUnderutilized
`;
    const [nodeClass, nodePool] = validateYaml(text, [NODEPOOLS, NODECLASSES]);
    expect(nodeClass).toEqual([
      {
        path: 'spec.amiSelectorTerms',
        line: 7,
        message: 'Invalid value: 0: spec.amiSelectorTerms in body should have at least 1 items',
      },
      {
        path: 'spec.metadataOptions.httpPutResponseHopLimit',
        line: 13,
        message:
          'Invalid value: 0: spec.metadataOptions.httpPutResponseHopLimit in body should be greater than or equal to 1',
      },
      {
        path: 'spec.metadataOptions.httpTokens',
        line: 14,
        message: 'Unsupported value: "sometimes": supported values: "required", "optional"',
      },
    ]);
    expect(nodePool).toEqual([
      {
        path: 'spec.weight',
        line: 21,
        message: 'Invalid value: 200: spec.weight in body should be less than or equal to 100',
      },
      {
        path: 'spec.limits[cpu]',
        line: 23,
        message: 'Invalid value: 1.5: spec.limits[cpu] in body must be of type integer or string: "number"',
      },
      {
        path: 'spec.template.spec.requirements[0].operator',
        line: 28,
        message:
          'Unsupported value: "Equals": supported values: "Gte", "Lte", "In", "NotIn", "Exists", "DoesNotExist", "Gt", "Lt"',
      },
      { path: 'spec.template.spec.nodeClassRef.group', line: 30, message: 'Required value' },
      { path: 'spec.template.spec.kubelet', line: 33, message: 'field not declared in schema' },
      {
        path: 'spec.template.spec.expireAfter',
        line: 35,
        message:
          'Invalid value: "30d": spec.template.spec.expireAfter in body should match \'^(([0-9]+(s|m|h))+|Never)$\'',
      },
      { path: 'spec.disruption.consolidateAfter', line: 36, message: 'Required value' },
      {
        path: 'spec.disruption.consolidationPolicy',
        line: 37,
        message:
          'Unsupported value: "WhenUnderutilized": supported values: "WhenEmpty", "WhenEmptyOrUnderutilized", "Balanced"',
      },
      {
        path: 'metadata.name',
        line: 19,
        message: expect.stringMatching(
          /^Invalid value: "Default_Pool": a lowercase RFC 1123 subdomain must consist of/,
        ) as string,
      },
    ]);
  });

  test('an apiVersion the CRD does not serve is one issue that names the served versions', () => {
    const obj = {
      apiVersion: 'karpenter.sh/v1beta1',
      kind: 'NodePool',
      metadata: { name: 'x' },
      spec: { bogus: 1 },
    };
    expect(validateAgainstCrd(obj, NODEPOOLS, () => 3)).toEqual([
      {
        path: 'apiVersion',
        line: 3,
        message:
          'no matches for kind "NodePool" in version "karpenter.sh/v1beta1": the CRD serves karpenter.sh/v1',
      },
    ]);
  });

  test('a CRD that serves several versions lists them all, and a version with served: false does not count', () => {
    const crd = loadCrd('karpenter-1.0.8-nodepools.yaml');
    const issues = validateAgainstCrd({ apiVersion: 'karpenter.sh/v1alpha5', kind: 'NodePool' }, crd);
    expect(issues.map((i) => i.message)).toEqual([
      'no matches for kind "NodePool" in version "karpenter.sh/v1alpha5": the CRD serves karpenter.sh/v1, karpenter.sh/v1beta1',
    ]);
    const unserved: CrdLike = {
      spec: { ...crd.spec, versions: crd.spec!.versions!.map((v) => ({ ...v, served: v.name === 'v1' })) },
    };
    expect(
      validateAgainstCrd({ apiVersion: 'karpenter.sh/v1beta1', kind: 'NodePool' }, unserved)[0]!.message,
    ).toContain('the CRD serves karpenter.sh/v1');
  });

  test('a kind that does not match the CRD is reported', () => {
    const obj = {
      apiVersion: 'karpenter.sh/v1',
      kind: 'NodeClaim',
      metadata: { name: 'x' },
      spec: { template: {} },
    };
    expect(validateAgainstCrd(obj, NODEPOOLS)).toContainEqual({
      path: 'kind',
      message: 'Unsupported value: "NodeClaim": supported values: "NodePool"',
    });
  });

  test('defaults fill absent fields before required is checked, as the API server does', () => {
    const nodePool = {
      apiVersion: 'karpenter.sh/v1',
      kind: 'NodePool',
      metadata: { name: 'default' },
      spec: {
        template: {
          spec: {
            requirements: [],
            nodeClassRef: { group: 'karpenter.k8s.aws', kind: 'EC2NodeClass', name: 'x' },
          },
        },
        disruption: { consolidateAfter: '1m', budgets: [{ schedule: '@daily', duration: '1h' }] },
      },
    };
    expect(validateAgainstCrd(nodePool, NODEPOOLS)).toEqual([]);
  });

  test('CEL rules are not evaluated offline', () => {
    const nodeClass = {
      apiVersion: 'karpenter.k8s.aws/v1',
      kind: 'EC2NodeClass',
      metadata: { name: 'default' },
      spec: {
        amiSelectorTerms: [{ alias: 'ubuntu@latest' }],
        subnetSelectorTerms: [],
        securityGroupSelectorTerms: [{ id: 'sg-1' }],
      },
    };
    expect(validateAgainstCrd(nodeClass, NODECLASSES)).toEqual([]);
  });

  test('every pattern in the Karpenter 1.14.1 CRDs compiles', () => {
    const patterns = JSON.parse(
      readFileSync(join(FIXTURES, 'karpenter-1.14.1-patterns.json'), 'utf8'),
    ) as string[];
    expect(patterns.length).toBeGreaterThan(20);
    for (const p of patterns) expect(() => convertRe2Pattern(p)).not.toThrow();
  });
});

describe('each schema rule', () => {
  const S = (props: Record<string, SchemaProps>, extra: SchemaProps = {}): SchemaProps => ({
    type: 'object',
    properties: props,
    ...extra,
  });
  type Row = [string, SchemaProps, unknown, SchemaIssue[]];
  const rows: Row[] = [
    [
      'string type',
      S({ a: { type: 'string' } }),
      { a: 1 },
      [
        {
          path: 'spec.a',
          line: 6,
          message: 'Invalid value: 1: spec.a in body must be of type string: "integer"',
        },
      ],
    ],
    [
      'integer type rejects a fraction',
      S({ a: { type: 'integer' } }),
      { a: 1.5 },
      [
        {
          path: 'spec.a',
          line: 6,
          message: 'Invalid value: 1.5: spec.a in body must be of type integer: "number"',
        },
      ],
    ],
    ['number type accepts an integer', S({ a: { type: 'number' } }), { a: 2 }, []],
    [
      'boolean type',
      S({ a: { type: 'boolean' } }),
      { a: 'true' },
      [
        {
          path: 'spec.a',
          line: 6,
          message: 'Invalid value: "true": spec.a in body must be of type boolean: "string"',
        },
      ],
    ],
    [
      'array type',
      S({ a: { type: 'array', items: { type: 'string' } } }),
      { a: 'x' },
      [
        {
          path: 'spec.a',
          line: 6,
          message: 'Invalid value: "x": spec.a in body must be of type array: "string"',
        },
      ],
    ],
    [
      'object type',
      S({ a: S({}) }),
      { a: [] },
      [
        {
          path: 'spec.a',
          line: 6,
          message: 'Invalid value: []: spec.a in body must be of type object: "array"',
        },
      ],
    ],
    [
      'required',
      S({ a: { type: 'string' }, b: { type: 'string' } }, { required: ['a', 'b'] }),
      { a: 'x' },
      [{ path: 'spec.b', line: 5, message: 'Required value' }],
    ],
    [
      'unknown field',
      S({ a: { type: 'string' } }),
      { a: 'x', b: 'y' },
      [{ path: 'spec.b', line: 7, message: 'field not declared in schema' }],
    ],
    [
      'object without properties takes no fields',
      S({ a: { type: 'object' } }),
      { a: { x: 1 } },
      [{ path: 'spec.a.x', line: 7, message: 'field not declared in schema' }],
    ],
    [
      'preserve-unknown-fields keeps anything',
      S({ a: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } }),
      { a: { x: { y: 1 } } },
      [],
    ],
    [
      'additionalProperties: true keeps anything',
      S({ a: { type: 'object', additionalProperties: true } }),
      { a: { x: 1 } },
      [],
    ],
    [
      'additionalProperties: false',
      S({ a: { type: 'object', additionalProperties: false } }),
      { a: { x: 1 } },
      [{ path: 'spec.a.x', line: 7, message: 'field not declared in schema' }],
    ],
    [
      'additionalProperties schema',
      S({ tags: { type: 'object', additionalProperties: { type: 'string' } } }),
      { tags: { 'kubernetes.io/role': 1, ok: 'y' } },
      [
        {
          path: 'spec.tags[kubernetes.io/role]',
          line: 7,
          message:
            'Invalid value: 1: spec.tags[kubernetes.io/role] in body must be of type string: "integer"',
        },
      ],
    ],
    [
      'items',
      S({ a: { type: 'array', items: { type: 'integer' } } }),
      { a: [1, 'two'] },
      [
        {
          path: 'spec.a[1]',
          line: 8,
          message: 'Invalid value: "two": spec.a[1] in body must be of type integer: "string"',
        },
      ],
    ],
    [
      'enum',
      S({ a: { type: 'string', enum: ['A', 'B'] } }),
      { a: 'C' },
      [{ path: 'spec.a', line: 6, message: 'Unsupported value: "C": supported values: "A", "B"' }],
    ],
    [
      'pattern (unanchored, as Go)',
      S({ a: { type: 'string', pattern: 'sg-[0-9a-z]+' } }),
      { a: 'my-sg-abc' },
      [],
    ],
    [
      'pattern',
      S({ a: { type: 'string', pattern: '^[a-z]+$' } }),
      { a: 'A1' },
      [{ path: 'spec.a', line: 6, message: 'Invalid value: "A1": spec.a in body should match \'^[a-z]+$\'' }],
    ],
    [
      'pattern applies to strings only',
      S({ a: { type: 'array', items: { type: 'string' }, pattern: '^x$', maxLength: 1 } }),
      { a: ['long'] },
      [],
    ],
    [
      'maxLength counts characters',
      S({ a: { type: 'string', maxLength: 3 } }),
      { a: 'abcd' },
      [{ path: 'spec.a', line: 6, message: 'Too long: may not be more than 3 bytes' }],
    ],
    ['maxLength with multi-byte characters', S({ a: { type: 'string', maxLength: 3 } }), { a: 'äöü' }, []],
    [
      'minLength',
      S({ a: { type: 'string', minLength: 1 } }),
      { a: '' },
      [
        {
          path: 'spec.a',
          line: 6,
          message: 'Invalid value: "": spec.a in body should be at least 1 chars long',
        },
      ],
    ],
    [
      'minimum',
      S({ a: { type: 'integer', minimum: 1 } }),
      { a: 0 },
      [
        {
          path: 'spec.a',
          line: 6,
          message: 'Invalid value: 0: spec.a in body should be greater than or equal to 1',
        },
      ],
    ],
    [
      'maximum',
      S({ a: { type: 'integer', maximum: 64 } }),
      { a: 65 },
      [
        {
          path: 'spec.a',
          line: 6,
          message: 'Invalid value: 65: spec.a in body should be less than or equal to 64',
        },
      ],
    ],
    [
      'exclusiveMinimum (boolean, OpenAPI 3.0)',
      S({ a: { type: 'number', minimum: 0, exclusiveMinimum: true } }),
      { a: 0 },
      [{ path: 'spec.a', line: 6, message: 'Invalid value: 0: spec.a in body should be greater than 0' }],
    ],
    [
      'exclusiveMaximum (boolean, OpenAPI 3.0)',
      S({ a: { type: 'number', maximum: 1, exclusiveMaximum: true } }),
      { a: 1 },
      [{ path: 'spec.a', line: 6, message: 'Invalid value: 1: spec.a in body should be less than 1' }],
    ],
    [
      'exclusiveMinimum (number)',
      S({ a: { type: 'number', exclusiveMinimum: 5 } }),
      { a: 5 },
      [{ path: 'spec.a', line: 6, message: 'Invalid value: 5: spec.a in body should be greater than 5' }],
    ],
    ['exclusiveMaximum (number)', S({ a: { type: 'number', exclusiveMaximum: 5 } }), { a: 4.5 }, []],
    [
      'minItems',
      S({ a: { type: 'array', items: { type: 'string' }, minItems: 1 } }),
      { a: [] },
      [{ path: 'spec.a', line: 6, message: 'Invalid value: 0: spec.a in body should have at least 1 items' }],
    ],
    [
      'maxItems',
      S({ a: { type: 'array', items: { type: 'string' }, maxItems: 1 } }),
      { a: ['x', 'y'] },
      [{ path: 'spec.a', line: 6, message: 'Too many: 2: must have at most 1 items' }],
    ],
    [
      'maxProperties',
      S({ a: { type: 'object', additionalProperties: { type: 'string' }, maxProperties: 1 } }),
      { a: { x: '1', y: '2' } },
      [{ path: 'spec.a', line: 6, message: 'Too many: 2: must have at most 1 items' }],
    ],
    [
      'minProperties',
      S({ a: { type: 'object', additionalProperties: { type: 'string' }, minProperties: 1 } }),
      { a: {} },
      [
        {
          path: 'spec.a',
          line: 6,
          message: 'Invalid value: 0: spec.a in body should have at least 1 properties',
        },
      ],
    ],
    [
      'int-or-string accepts both',
      S({
        q: {
          'x-kubernetes-int-or-string': true,
          anyOf: [{ type: 'integer' }, { type: 'string' }],
          pattern: '^[0-9]+(Gi|Mi)?$',
        },
      }),
      { q: 5 },
      [],
    ],
    [
      'int-or-string checks the pattern of strings',
      S({
        q: {
          'x-kubernetes-int-or-string': true,
          anyOf: [{ type: 'integer' }, { type: 'string' }],
          pattern: '^[0-9]+(Gi|Mi)?$',
        },
      }),
      { q: '5Gb' },
      [
        {
          path: 'spec.q',
          line: 6,
          message: 'Invalid value: "5Gb": spec.q in body should match \'^[0-9]+(Gi|Mi)?$\'',
        },
      ],
    ],
    [
      'int-or-string rejects a boolean',
      S({ q: { 'x-kubernetes-int-or-string': true } }),
      { q: true },
      [
        {
          path: 'spec.q',
          line: 6,
          message: 'Invalid value: true: spec.q in body must be of type integer or string: "boolean"',
        },
      ],
    ],
    [
      'nullable keeps null',
      S({ a: { type: 'string', nullable: true } }, { required: ['a'] }),
      { a: null },
      [],
    ],
    [
      'a null non-nullable field is dropped, then required applies',
      S({ a: { type: 'string' } }, { required: ['a'] }),
      { a: null },
      [{ path: 'spec.a', line: 6, message: 'Required value' }],
    ],
    [
      'a null list item is a type error',
      S({ a: { type: 'array', items: { type: 'string' } } }),
      { a: [null] },
      [
        {
          path: 'spec.a[0]',
          line: 7,
          message: 'Invalid value: null: spec.a[0] in body must be of type string: "null"',
        },
      ],
    ],
    ['default satisfies required', S({ a: { type: 'string', default: 'x' } }, { required: ['a'] }), {}, []],
    [
      'anyOf',
      S({ a: { anyOf: [{ type: 'integer' }, { type: 'string', pattern: '^x' }] } }),
      { a: 'y' },
      [
        {
          path: 'spec.a',
          line: 6,
          message: 'Invalid value: "y": spec.a in body must validate at least one schema (anyOf)',
        },
      ],
    ],
    [
      'anyOf passes with one branch',
      S({ a: { anyOf: [{ type: 'integer' }, { type: 'string', pattern: '^x' }] } }),
      { a: 'xy' },
      [],
    ],
    [
      'oneOf rejects two matches',
      S({ a: { oneOf: [{ type: 'string' }, { pattern: '^x' }] } }),
      { a: 'xy' },
      [
        {
          path: 'spec.a',
          line: 6,
          message: 'Invalid value: "xy": spec.a in body must validate one and only one schema (oneOf)',
        },
      ],
    ],
    [
      'oneOf with one match',
      S({
        a: {
          oneOf: [{ required: ['x'] }, { required: ['y'] }],
          type: 'object',
          additionalProperties: { type: 'string' },
        },
      }),
      { a: { x: '1' } },
      [],
    ],
    [
      'allOf',
      S({ a: { type: 'string', allOf: [{ minLength: 2 }, { pattern: '^a' }] } }),
      { a: 'b' },
      [
        {
          path: 'spec.a',
          line: 6,
          message: 'Invalid value: "b": spec.a in body should be at least 2 chars long',
        },
        { path: 'spec.a', line: 6, message: 'Invalid value: "b": spec.a in body should match \'^a\'' },
      ],
    ],
    [
      'format date-time',
      S({ t: { type: 'string', format: 'date-time' } }),
      { t: 'yesterday' },
      [
        {
          path: 'spec.t',
          line: 6,
          message: 'Invalid value: "yesterday": spec.t in body must be of type date-time: "yesterday"',
        },
      ],
    ],
    [
      'format date-time accepts RFC 3339',
      S({ t: { type: 'string', format: 'date-time' } }),
      { t: '2024-07-03T10:00:00Z' },
      [],
    ],
    [
      'format int32',
      S({ n: { type: 'integer', format: 'int32' } }),
      { n: 2 ** 31 },
      [
        {
          path: 'spec.n',
          line: 6,
          message: 'Invalid value: 2147483648: spec.n in body must be of type int32: "2147483648"',
        },
      ],
    ],
    [
      'unknown formats are ignored',
      S({ s: { type: 'string', format: 'hostname' } }),
      { s: 'not a hostname!' },
      [],
    ],
    [
      'list-type set rejects duplicates',
      S({ a: { type: 'array', items: { type: 'string' }, 'x-kubernetes-list-type': 'set' } }),
      { a: ['x', 'y', 'x'] },
      [{ path: 'spec.a[2]', line: 9, message: 'Duplicate value: "x"' }],
    ],
    [
      'list-type atomic allows duplicates',
      S({ a: { type: 'array', items: { type: 'string' }, 'x-kubernetes-list-type': 'atomic' } }),
      { a: ['x', 'x'] },
      [],
    ],
    [
      'list-type map rejects duplicate keys',
      S({
        a: {
          type: 'array',
          'x-kubernetes-list-type': 'map',
          'x-kubernetes-list-map-keys': ['type'],
          items: S({ type: { type: 'string' }, status: { type: 'string' } }),
        },
      }),
      { a: [{ type: 'Ready', status: 'True' }, { type: 'Synced' }, { type: 'Ready', status: 'False' }] },
      [{ path: 'spec.a[2]', line: 10, message: 'Duplicate value: {"type":"Ready"}' }],
    ],
  ];
  test.each(rows)('%s', (_name, schema, spec, expected) => {
    const lc = new LineCounter();
    const doc = parseDocument(stringify(widget(spec)), { lineCounter: lc });
    expect(validateAgainstCrd(doc.toJS(), crdWith(schema), buildYamlLocator(doc, lc))).toEqual(expected);
  });

  test('a manifest that is not an object is one type issue', () => {
    expect(validateAgainstCrd('nodepool', crdWith({}))).toEqual([
      { path: '', message: 'Invalid value: "nodepool": <root> in body must be of type object: "string"' },
    ]);
  });
});

describe('metadata', () => {
  type Row = [string, unknown, { path: string; message: string }[]];
  const rows: Row[] = [
    ['a valid name', { name: 'default.pool-1' }, []],
    ['generateName instead of name', { generateName: 'pool-' }, []],
    [
      'no metadata',
      undefined,
      [{ path: 'metadata.name', message: 'Required value: name or generateName is required' }],
    ],
    [
      'no name',
      { labels: { a: 'b' } },
      [{ path: 'metadata.name', message: 'Required value: name or generateName is required' }],
    ],
    [
      'a name longer than 253',
      { name: 'a'.repeat(254) },
      [
        {
          path: 'metadata.name',
          message: expect.stringContaining('must be no more than 253 characters') as string,
        },
      ],
    ],
    [
      'a name that is not a DNS-1123 subdomain',
      { name: 'Pool' },
      [
        {
          path: 'metadata.name',
          message: expect.stringContaining('a lowercase RFC 1123 subdomain') as string,
        },
      ],
    ],
    [
      'a label value that is not a string',
      { name: 'p', labels: { replicas: 3 } },
      [
        {
          path: 'metadata.labels[replicas]',
          message: 'Invalid value: 3: metadata.labels[replicas] in body must be of type string: "integer"',
        },
      ],
    ],
    [
      'an annotation value that is not a string',
      { name: 'p', annotations: { 'example.com/on': true } },
      [
        {
          path: 'metadata.annotations[example.com/on]',
          message: expect.stringContaining('must be of type string: "boolean"') as string,
        },
      ],
    ],
    [
      'labels that are a list',
      { name: 'p', labels: ['a'] },
      [
        {
          path: 'metadata.labels',
          message: 'Invalid value: ["a"]: metadata.labels in body must be of type object: "array"',
        },
      ],
    ],
    [
      'an unknown metadata field',
      { name: 'p', label: { a: 'b' } },
      [{ path: 'metadata.label', message: 'field not declared in schema' }],
    ],
  ];
  test.each(rows)('%s', (_name, metadata, expected) => {
    const obj = { apiVersion: 'example.com/v1', kind: 'Widget', metadata, spec: {} };
    expect(validateAgainstCrd(obj, crdWith({ type: 'object' }))).toEqual(expected);
  });
});

describe('RE2 patterns', () => {
  test.each([
    [
      '^(\\+|-)?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\\+|-)?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))))?$',
      ['1000Gi', '1.5', '100m', '1e3'],
      ['1.5.5', '10GB', 'ten'],
    ],
    ['^(([0-9]+(s|m|h))+|Never)$', ['720h', '1h30m', 'Never'], ['30d', 'never', '']],
    [
      '^(@(annually|yearly|monthly|weekly|daily|midnight|hourly))|((.+)\\s(.+)\\s(.+)\\s(.+)\\s(.+))$',
      ['@daily', '0 9 * * mon-fri'],
      ['0 9 * *'],
    ],
    ['(?i)^al2023$', ['AL2023', 'al2023'], ['al2']],
    ['^\\s$', [' ', '\t'], ['\v']],
    ['^a.b$', ['a\rb', 'a€b'], ['a\nb']],
    ['(?s)^a.b$', ['a\nb'], []],
    ['^\\pL+$', ['Ärger'], ['a1']],
    ['^\\p{Greek}+$', ['αβ'], ['ab']],
    ['^[[:alpha:]_-]+$', ['a_b-c'], ['a1']],
    ['^\\Qa.b\\E$', ['a.b'], ['axb']],
    ['^(?P<family>[a-z0-9]+)@.+$', ['al2@latest'], ['@latest']],
    ['^[\\w-.]+$', ['a-b.c'], ['a b']],
    ['^\\x{41}\\101\\-$', ['AA-'], ['AB-']],
    ['\\Aab\\z', ['ab'], ['ab\n']],
    ['^a{,2}$', ['a{,2}'], ['aa']],
  ])('%s', (pattern, matches, rejects) => {
    const re = convertRe2Pattern(pattern);
    for (const s of matches) expect(re.test(s)).toBe(true);
    for (const s of rejects) expect(re.test(s)).toBe(false);
  });

  test.each([
    ['(a)\\1', 'backreference'],
    ['(?U)a+', 'flag (?U)'],
    ['[[:^alpha:]]', 'negated POSIX'],
    ['[a', 'missing closing ]'],
  ])('%s is refused rather than guessed', (pattern, reason) => {
    expect(() => convertRe2Pattern(pattern)).toThrow(reason);
  });

  test('a CRD pattern that cannot be translated is skipped, not reported against the manifest', () => {
    const crd = crdWith({ type: 'object', properties: { a: { type: 'string', pattern: '(a)\\1' } } });
    expect(validateAgainstCrd(widget({ a: 'zzz' }), crd)).toEqual([]);
  });
});

describe('buildYamlLocator', () => {
  const text = `# pools
apiVersion: karpenter.sh/v1
kind: NodePool
metadata:
  name: a
---
apiVersion: karpenter.sh/v1
kind: NodePool
metadata:
  name: b
spec:
  template:
    spec:
      requirements:
        - key: kubernetes.io/arch
          operator: In
          values: [amd64, arm64]
        -
          key: karpenter.sh/capacity-type
  limits: {cpu: 10}
`;
  const lc = new LineCounter();
  const docs = parseAllDocuments(text, { lineCounter: lc });
  const second = buildYamlLocator(docs[1]!, lc);

  test.each([
    [[], 7],
    [['metadata', 'name'], 10],
    [['spec', 'template', 'spec', 'requirements'], 14],
    [['spec', 'template', 'spec', 'requirements', 0], 15],
    [['spec', 'template', 'spec', 'requirements', 0, 'values', 1], 17],
    [['spec', 'template', 'spec', 'requirements', 1, 'key'], 19],
    [['spec', 'limits', 'cpu'], 20],
    [['spec', 'template', 'spec', 'nodeClassRef', 'name'], 13],
    [['spec', 'template', 'spec', 'requirements', 5], 14],
  ] as [(string | number)[], number][])('%j is on line %d of the second document', (path, line) => {
    expect(second(path)).toBe(line);
  });

  test('the first document has its own lines', () => {
    expect(buildYamlLocator(docs[0]!, lc)(['metadata', 'name'])).toBe(5);
  });
});
