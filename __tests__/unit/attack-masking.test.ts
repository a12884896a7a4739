import { diffFields } from '../../src/plan/field-diff.ts';
import type { Change, Plan } from '../../src/plan/model.ts';
import { parsePlanJson, renderPlanJson } from '../../src/render/json.ts';
import { renderJobSummary, renderPlanComment } from '../../src/render/markdown.ts';
import { renderPlanText } from '../../src/render/text.ts';
import { buildPlan, stage } from '../fixtures/render/plans.ts';

/**
 * An attacker who can read plan comments, job summaries, terminal output or the JSON plan artifact
 * (anyone with read access to the repository) looks there for secret values the plan carried.
 */
const SERVER_KEY = 'LS0tLS1CRUdJTiBQUklWQVRFIEtFWS0tLS0tCk1JSUV2Z0lCQURBTkJna3Foa2lHOXcwQkFRRUZBQVND';
const OLD_SERVER_KEY = 'T0xELUtFWS1NQVRFUklBTC1USEFULU1VU1QtTk9ULUxFQUs=';
const TOKEN_FILE = 'dG9rZW4tdmFsdWUtdGhhdC1pcy1zZWNyZXQ=';
const PROXY_PASSWORD = 'pr0xy-Pa55w0rd';
const SECRET_ACCESS_KEY = 'wJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLEKEY';
const PRIVATE_KEY_BODY = 'MIIEowIBAAKCAQEAattackerwantsthis';
const CREDENTIALS_FILE = 'aws_access_key_id_and_more';

const secretObject = (data: Record<string, string>) => ({
  apiVersion: 'v1',
  kind: 'Secret',
  metadata: { name: 'karpenter-cert', namespace: 'kube-system' },
  type: 'kubernetes.io/tls',
  data,
});

function buildAttackPlan(): Plan {
  const before = secretObject({ 'server-key.pem': OLD_SERVER_KEY, 'ca.crt': 'Y2E=' });
  const after = secretObject({ 'server-key.pem': SERVER_KEY, 'ca.crt': 'Y2E=', token: TOKEN_FILE });
  const secretUpdate: Change = {
    ref: 'k8s:v1/Secret/kube-system/karpenter-cert',
    stage: 'install',
    kind: 'Secret',
    name: 'karpenter-cert',
    action: 'update',
    before,
    after,
    fieldChanges: diffFields(before, after),
  };
  const valuesBefore = { settings: { clusterName: 'weasel-eks' } };
  const valuesAfter = {
    settings: { clusterName: 'weasel-eks' },
    credentials: CREDENTIALS_FILE,
    controller: {
      env: [
        { name: 'HTTPS_PROXY', value: `http://karpenter:${PROXY_PASSWORD}@proxy.internal:3128` },
        { name: 'AWS_CONFIG', value: `[default]\naws_secret_access_key=${SECRET_ACCESS_KEY}\n` },
      ],
    },
    webhook: { caBundle: `-----BEGIN PRIVATE KEY-----\n${PRIVATE_KEY_BODY}\n-----END PRIVATE KEY-----` },
  };
  const valuesUpdate: Change = {
    ref: 'helm:kube-system/karpenter',
    stage: 'install',
    kind: 'Helm release',
    name: 'karpenter',
    action: 'update',
    before: { values: valuesBefore },
    after: { values: valuesAfter },
    fieldChanges: diffFields({ values: valuesBefore }, { values: valuesAfter }),
  };
  return buildPlan([stage('install', [secretUpdate, valuesUpdate])]);
}

const LEAKS = [
  SERVER_KEY,
  OLD_SERVER_KEY,
  TOKEN_FILE,
  PROXY_PASSWORD,
  SECRET_ACCESS_KEY,
  PRIVATE_KEY_BODY,
  CREDENTIALS_FILE,
];

describe('attack: reading secrets out of a plan', () => {
  const plan = buildAttackPlan();
  const outputs: [string, string][] = [
    ['PR comment', renderPlanComment(plan)],
    ['job summary', renderJobSummary(plan)],
    ['terminal text', renderPlanText(plan, { color: false })],
    ['JSON plan', renderPlanJson(plan)],
  ];

  test('the dotted Secret key really reaches the field changes the attacker reads', () => {
    expect(plan.stages[0]?.changes[0]?.fieldChanges.map((f) => f.path)).toContain('data["server-key.pem"]');
  });

  test.each(outputs)('the %s shows no secret value', (_where, text) => {
    for (const value of LEAKS) expect(text).not.toContain(value);
  });

  test('the JSON plan says which Secret entries changed without their values', () => {
    const json = parsePlanJson(renderPlanJson(plan));
    const [secret, values] = json.stages[0]?.changes ?? [];
    expect(secret?.fieldChanges).toEqual([
      { path: 'data["server-key.pem"]', op: 'change', before: '(sensitive)', after: '(sensitive, changed)' },
      { path: 'data.token', op: 'add', after: '(sensitive)' },
    ]);
    expect(values?.fieldChanges).toContainEqual({
      path: 'values.credentials',
      op: 'add',
      after: '(sensitive)',
    });
  });

  test('the reader still sees what changed: the proxy host, the key names, the unchanged CA', () => {
    const text = renderPlanText(plan, { color: false });
    expect(text).toContain('http://karpenter:(sensitive)@proxy.internal:3128');
    expect(text).toContain('aws_secret_access_key=(sensitive)');
    expect(text).toContain('-----BEGIN PRIVATE KEY-----(sensitive)-----END PRIVATE KEY-----');
    expect(text).toContain('server-key.pem: (sensitive, changed)');
    expect(text).toContain('ca.crt: (sensitive)');
  });
});
