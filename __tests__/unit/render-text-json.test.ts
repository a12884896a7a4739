import { parsePlanJson, renderPlanJson } from '../../src/render/json.ts';
import { renderPlanText } from '../../src/render/text.ts';
import type { Plan } from '../../src/plan/model.ts';
import { expectGolden } from '../fixtures/render/golden.ts';
import {
  FINGERPRINT,
  buildMixedPlan,
  buildNoChangesPlan,
  buildPlan,
  nodePoolCreate,
  stage,
} from '../fixtures/render/plans.ts';

const ESC = '\u001b';

describe('renderPlanText', () => {
  test('mixed plan without colour (golden)', () => {
    const text = renderPlanText(buildMixedPlan(), { color: false });
    expectGolden('mixed.golden.txt', text);
    expect(text).not.toContain(ESC);
  });

  test('no-changes plan (golden)', () => {
    const text = renderPlanText(buildNoChangesPlan(), { color: false });
    expectGolden('no-changes.golden.txt', text);
    expect(text).toContain('\nNo changes. The cluster matches the repository.\n');
  });

  test('sections, symbols, indented diffs, findings with fixes, summary and fingerprint last', () => {
    const lines = renderPlanText(buildMixedPlan(), { color: false }).trimEnd().split('\n');
    expect(lines).toContain('== pools == +1 ~2 -1');
    expect(lines).toContain('  + create NodePool default — not in the cluster (karpenter/default.yaml:1)');
    expect(lines).toContain(
      '  ~ update EC2NodeClass default — spec differs from the manifest (karpenter/default.yaml:34)',
    );
    expect(lines).toContain('  - delete NodePool legacy — manifest removed and pruning is enabled');
    expect(lines).toContain('      -    - alias: al2023@v20260701');
    expect(lines).toContain('      +    - alias: al2023@v20260815');
    expect(lines.some((l) => l.startsWith('    replaces nodes: spec.amiSelectorTerms changes'))).toBe(true);
    expect(lines).toContain(
      '    fix: Upgrade the cluster to Kubernetes 1.29 or later, or set karpenter.version to a release that supports 1.28.',
    );
    expect(lines.slice(-6)).toEqual([
      'Plan: +2 ~2 -1 (2 to create, 2 to update, 1 to delete)',
      '1 resource will be deleted.',
      '1 change will make Karpenter replace nodes.',
      'Apply is blocked by 1 error.',
      '1 warning.',
      `Fingerprint: ${FINGERPRINT}`,
    ]);
  });

  test('compact leaves out the bodies of created and deleted objects, and keeps the diffs of updates', () => {
    const full = renderPlanText(buildMixedPlan(), { color: false }).split('\n');
    const compact = renderPlanText(buildMixedPlan(), { color: false, compact: true }).split('\n');
    const createAt = compact.indexOf(
      '  + create NodePool default — not in the cluster (karpenter/default.yaml:1)',
    );
    expect(compact[createAt + 1]).toMatch(/^ {6}\(\d+ lines of new object\)$/);
    const createBody = full
      .slice(full.indexOf(compact[createAt]!) + 1)
      .findIndex((l) => !l.startsWith('      '));
    expect(compact[createAt + 1]).toBe(`      (${createBody} lines of new object)`);
    expect(compact).toContain('      -    - alias: al2023@v20260701');
    expect(compact).toContain('      +    - alias: al2023@v20260815');
    expect(compact.length).toBeLessThan(full.length);
    expect(compact.slice(-6)).toEqual(full.slice(-6));
  });

  test('a replace uses ± and is counted with the deletions', () => {
    const plan = buildPlan([
      stage('pools', [
        {
          ...nodePoolCreate(),
          action: 'replace',
          before: {},
          reason: 'spec.template.spec.nodeClassRef.group cannot be changed in place',
        },
      ]),
    ]);
    const text = renderPlanText(plan, { color: false });
    expect(text).toContain(
      '  ± replace NodePool default — spec.template.spec.nodeClassRef.group cannot be changed in place',
    );
    expect(text).toContain('Plan: +0 ~0 ±1 -0 (1 to replace)');
    expect(text).toContain('1 resource will be deleted or recreated.');
  });

  test('colour only when asked, with the same text underneath', () => {
    const plain = renderPlanText(buildMixedPlan(), { color: false });
    const colored = renderPlanText(buildMixedPlan(), { color: true });
    expect(colored).toContain(`${ESC}[32m+ create${ESC}[0m`);
    expect(colored).toContain(`${ESC}[31m      -    - alias: al2023@v20260701${ESC}[0m`);
    expect(colored).toContain(`${ESC}[31merror${ESC}[0m [k8s-version-unsupported]`);
    const stripped = colored
      .split(ESC)
      .map((part, i) => (i === 0 ? part : part.replace(/^\[\d+m/, '')))
      .join('');
    expect(stripped).toBe(plain);
  });

  test('control characters in names and values cannot drive the terminal', () => {
    const evil = `${ESC}[2J${ESC}]0;owned\u0007`;
    const plan = buildPlan([
      stage('pools', [
        { ...nodePoolCreate(), name: `x${evil}`, after: { metadata: { name: evil } }, reason: `a\nb${evil}` },
      ]),
    ]);
    const text = renderPlanText(plan, { color: false });
    expect(text).not.toContain(ESC);
    expect(text).not.toContain('\u0007');
    expect(text).toContain('  + create NodePool x\\u001b[2J\\u001b]0;owned\\u0007 — a b\\u001b[2J');
  });

  test('secret values are masked', () => {
    const plan = buildPlan([
      stage('install', [
        {
          ...nodePoolCreate(),
          stage: 'install',
          kind: 'Helm release',
          after: { values: { webhook: { token: 'ghp_example' } } },
        },
      ]),
    ]);
    const text = renderPlanText(plan, { color: false });
    expect(text).not.toContain('ghp_example');
    expect(text).toContain('      +    token: (sensitive)');
  });
});

describe('renderPlanJson and parsePlanJson', () => {
  test('round trip', () => {
    const plan = buildMixedPlan();
    const text = renderPlanJson(plan);
    expect(text.endsWith('}\n')).toBe(true);
    expect(parsePlanJson(text)).toEqual(plan);
    expect(renderPlanJson(parsePlanJson(text))).toBe(text);
  });

  test('pretty, with the model key order whatever the input order', () => {
    const plan = buildMixedPlan();
    const reverse = <T extends object>(o: T): T => Object.fromEntries(Object.entries(o).reverse()) as T;
    const reversed = reverse({
      ...plan,
      tool: reverse(plan.tool),
      counts: reverse(plan.counts),
      stages: plan.stages.map((st) =>
        reverse({
          ...st,
          findings: st.findings.map(reverse),
          changes: st.changes.map((c) =>
            reverse({
              ...c,
              fieldChanges: c.fieldChanges.map(reverse),
              ...(c.impact && { impact: reverse(c.impact) }),
            }),
          ),
        }),
      ),
    });
    expect(Object.keys(reversed)[0]).toBe('fingerprint');
    const text = renderPlanJson(reversed);
    expect(text).toBe(renderPlanJson(plan));
    expect(Object.keys(JSON.parse(text) as object)).toEqual([
      'formatVersion',
      'tool',
      'cluster',
      'region',
      'karpenterVersion',
      'headSha',
      'createdAt',
      'stages',
      'counts',
      'fingerprint',
    ]);
    expect(text).toContain('\n  "formatVersion": 1,\n  "tool": {\n    "name": "karpenter-action",');
    const change = (JSON.parse(text) as Plan).stages[2]?.changes[1];
    expect(Object.keys(change ?? {})).toEqual([
      'ref',
      'stage',
      'kind',
      'name',
      'action',
      'before',
      'after',
      'fieldChanges',
      'reason',
      'impact',
      'source',
    ]);
  });

  test('secret values are masked in the file too', () => {
    const plan = buildPlan([
      stage('install', [
        {
          ...nodePoolCreate(),
          stage: 'install',
          after: { credentials: { secretAccessKey: 'wJalrXUtnFEMI' } },
          fieldChanges: [{ path: 'credentials.secretAccessKey', op: 'add', after: 'wJalrXUtnFEMI' }],
        },
      ]),
    ]);
    const text = renderPlanJson(plan);
    expect(text).not.toContain('wJalrXUtnFEMI');
    expect(text).toContain('"secretAccessKey": "(sensitive)"');
    expect(parsePlanJson(text).stages[0]?.changes[0]?.fieldChanges[0]?.after).toBe('(sensitive)');
  });

  const DELETE = Symbol('delete');
  /** The mixed plan's JSON with the field at a dotted path set to `value`, or removed. */
  const broken = (path: string, value: unknown): string => {
    const root = JSON.parse(renderPlanJson(buildMixedPlan())) as Record<string, unknown>;
    const keys = path.split('.');
    const last = keys.pop() ?? '';
    const parent = keys.reduce((o, k) => o[k] as Record<string, unknown>, root);
    if (value === DELETE) delete parent[last];
    else parent[last] = value;
    return JSON.stringify(root);
  };

  test.each([
    ['not JSON', '{"formatVersion": 1,', /^invalid plan file: not JSON \(/],
    ['not an object', '[]', 'invalid plan file: plan must be an object, not an array'],
    [
      'a newer format',
      broken('formatVersion', 2),
      'invalid plan file: plan.formatVersion is 2; this version of karpenter-action reads 1',
    ],
    ['no format version', broken('formatVersion', DELETE), 'plan.formatVersion is missing'],
    [
      'another tool',
      broken('tool.name', 'terraform'),
      'plan.tool.name is "terraform"; expected "karpenter-action"',
    ],
    ['no stages', broken('stages', DELETE), 'plan.stages must be an array, not missing'],
    [
      'an unknown stage',
      broken('stages.1.stage', 'nodes'),
      'plan.stages[1].stage is "nodes"; expected one of prereqs, install, pools, verify',
    ],
    [
      'an unknown action',
      broken('stages.2.changes.3.action', 'destroy'),
      'plan.stages[2].changes[3].action is "destroy"; expected one of create, update, replace, delete, no-op',
    ],
    [
      'a change under the wrong stage',
      broken('stages.2.changes.0.stage', 'install'),
      'plan.stages[2].changes[0].stage is "install" but the change is listed under "pools"',
    ],
    [
      'a field change without path',
      broken('stages.2.changes.1.fieldChanges.0.path', DELETE),
      'plan.stages[2].changes[1].fieldChanges[0].path must be a string, not missing',
    ],
    [
      'an impact without a boolean',
      broken('stages.2.changes.1.impact.replacesNodes', 'yes'),
      'plan.stages[2].changes[1].impact.replacesNodes must be true or false, not "yes"',
    ],
    [
      'a bad source line',
      broken('stages.2.changes.0.source.line', -1),
      'plan.stages[2].changes[0].source.line must be a whole number ≥ 0, not -1',
    ],
    [
      'a bad finding level',
      broken('stages.0.findings.0.level', 'fatal'),
      'plan.stages[0].findings[0].level is "fatal"; expected one of error, warning, info',
    ],
    [
      'a note that is not text',
      broken('stages.2.notes.0', 42),
      'plan.stages[2].notes[0] must be a string, not 42',
    ],
    [
      'counts that disagree with the stages',
      broken('counts.delete', 0),
      'plan.counts.delete is 0 but the stages list 1',
    ],
    ['no fingerprint', broken('fingerprint', DELETE), 'plan.fingerprint must be a string, not missing'],
    ['a head commit that is not text', broken('headSha', 7), 'plan.headSha must be a string, not 7'],
  ])('%s is refused with the field named', (_what, text, message) => {
    expect(() => parsePlanJson(text)).toThrow(message);
  });

  test('a plan without a head commit round-trips without the key', () => {
    const plan = buildPlan([], { headSha: undefined });
    const text = renderPlanJson(plan);
    expect(text).not.toContain('headSha');
    expect(parsePlanJson(text)).toEqual(plan);
    expect('headSha' in parsePlanJson(text)).toBe(false);
  });
});
