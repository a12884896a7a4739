import {
  parsePlanMarker,
  planMarker,
  renderJobSummary,
  renderPlanComment,
} from '../../src/render/markdown.ts';
import type { Change, Plan } from '../../src/plan/model.ts';
import { expectGolden } from '../fixtures/render/golden.ts';
import {
  CLUSTER,
  FINGERPRINT,
  HEAD_SHA,
  buildHugePlan,
  buildMixedPlan,
  buildNoChangesPlan,
  buildPlan,
  ec2NodeClass,
  nodePool,
  nodePoolCreate,
  stage,
} from '../fixtures/render/plans.ts';

const RUN_URL = 'https://github.com/acme/infra/actions/runs/123456789';
const APPLY_HINT =
  'To apply, merge this pull request; the `apply` job waits for approval in the `production` environment.';

/** The body with the content of fenced code blocks removed; throws on a fence left open. */
function outsideCode(body: string): string {
  const kept: string[] = [];
  let fence: string | undefined;
  for (const line of body.split('\n')) {
    const ticks = /^(`{3,})/.exec(line)?.[1];
    if (fence === undefined) {
      kept.push(line);
      if (ticks) fence = ticks;
    } else if (ticks && ticks.length >= fence.length && line.trim() === ticks) {
      kept.push(line);
      fence = undefined;
    }
  }
  if (fence !== undefined) throw new Error('a code block is left open');
  return kept.join('\n');
}

/**
 * Fenced blocks open and close in pairs and every `<details>` is closed. Tags count where GitHub
 * reads them as HTML blocks: at the start of a line outside code blocks.
 */
function expectBalanced(body: string): void {
  const markup = outsideCode(body);
  const opened = markup.match(/^<details( open)?>$/gm)?.length ?? 0;
  expect(markup.match(/^<\/details>$/gm)?.length ?? 0).toBe(opened);
  expect(markup.match(/^<summary>.*<\/summary>$/gm)?.length ?? 0).toBe(opened);
  expect(markup).not.toMatch(/^<(?!details|\/details|summary|sub|!--)/m);
}

function changeLines(body: string): string[] {
  return body.split('\n').filter((l) => /^\*\*[+~±-] (create|update|replace|delete)\*\*/.test(l));
}

describe('renderPlanComment', () => {
  test('mixed plan (golden)', () => {
    const body = renderPlanComment(buildMixedPlan(), { detailsUrl: RUN_URL, applyHint: APPLY_HINT });
    expectGolden('mixed-comment.golden.md', body);
    expectBalanced(body);
  });

  test('no-changes plan (golden)', () => {
    const body = renderPlanComment(buildNoChangesPlan(), { detailsUrl: RUN_URL });
    expectGolden('no-changes-comment.golden.md', body);
    expect(body).toContain('\nNo changes. The cluster matches the repository.\n');
    expect(body).not.toContain('| Stage |');
    expect(body).not.toContain('<details');
  });

  test('the hidden marker is the first line and carries cluster, fingerprint and head', () => {
    const body = renderPlanComment(buildMixedPlan());
    const first = body.split('\n')[0];
    expect(first).toBe(
      `<!-- karpenter-action:plan cluster=${CLUSTER} fingerprint=${FINGERPRINT} head=${HEAD_SHA} -->`,
    );
    expect(first?.startsWith(planMarker(CLUSTER))).toBe(true);
  });

  test('the mixed plan shows counts, every change, the blocking error and each warning', () => {
    const body = renderPlanComment(buildMixedPlan());
    expect(body).toContain('## Karpenter plan for `weasel-eks` (us-east-1, Karpenter 1.14.1)');
    expect(body).toContain(
      '**Plan: +2 ~2 -1**, 2 to create, 2 to update, 1 to delete. **Apply is blocked by 1 error.**',
    );
    expect(body).toContain('| pools | 1 | 2 | 0 | 1 |');
    expect(changeLines(body)).toEqual([
      '**+ create** IAM role `KarpenterNodeRole-weasel-eks` — not in the account',
      '**+ create** NodePool `default` — not in the cluster (karpenter/default.yaml:1)',
      '**~ update** EC2NodeClass `default` — spec differs from the manifest (karpenter/default.yaml:34)',
      '**~ update** NodePool `gpu` — spec differs from the manifest (karpenter/gpu.yaml:1)',
      '**- delete** NodePool `legacy` — manifest removed and pruning is enabled',
    ]);
    const errors = body.slice(body.indexOf('### ⛔ Errors'), body.indexOf('### ⚠️ Warnings'));
    expect(errors).toContain('`k8s-version-unsupported` in **prereqs**');
    expect(errors).toContain('**Fix:** Upgrade the cluster');
    const warnings = body.slice(body.indexOf('### ⚠️ Warnings'), body.indexOf('<details'));
    expect(warnings).toContain(
      '- **Deletes** NodePool `legacy` in **pools**: manifest removed and pruning is enabled',
    );
    expect(warnings).toContain(
      '- **Replaces nodes:** EC2NodeClass `default` in **pools**: spec.amiSelectorTerms changes',
    );
    expect(warnings).not.toContain('`gpu`');
    expect(warnings).toContain('`cluster-autoscaler-running` in **install**');
    expect(warnings).toContain('**Fix:** Set migration.scaleDownClusterAutoscaler: true');
  });

  test('stages with deletions or node replacements start open, the others closed', () => {
    const body = renderPlanComment(buildMixedPlan());
    expect(body).toContain('<details>\n<summary><b>prereqs</b> · +1 ~0 -0</summary>');
    expect(body).toContain('<details open>\n<summary><b>pools</b> · +1 ~2 -1</summary>');
    const poolsOnlyLimits = buildPlan([stage('pools', [buildMixedPlan().stages[2]?.changes[2] as Change])]);
    expect(renderPlanComment(poolsOnlyLimits)).toContain('<details>\n<summary><b>pools</b>');
  });

  test('each change is followed by its diff', () => {
    const body = renderPlanComment(buildMixedPlan());
    expect(body).toContain(
      '```diff\n@@ -4,7 +4,7 @@\n   name: default\n spec:\n   amiSelectorTerms:\n-    - alias: al2023@v20260701\n+    - alias: al2023@v20260815\n',
    );
    expect(body).toContain('-    cpu: 100\n+    cpu: 200');
    expect(body).toContain('```diff\n-apiVersion: karpenter.sh/v1\n-kind: NodePool\n-metadata:');
  });

  test('the job summary is the same report without the marker and the apply hint', () => {
    const plan = buildMixedPlan();
    const summary = renderJobSummary(plan);
    const comment = renderPlanComment(plan);
    expect(summary.startsWith('## Karpenter plan for')).toBe(true);
    expect(summary).not.toContain('<!--');
    expect(comment.split('\n').slice(2).join('\n')).toBe(summary);
  });

  test('rendering is deterministic and ignores key insertion order', () => {
    const plan = buildMixedPlan();
    const shuffled = JSON.parse(JSON.stringify(plan), function (this: unknown, _key, value: unknown) {
      if (value && typeof value === 'object' && !Array.isArray(value)) {
        return Object.fromEntries(Object.entries(value).reverse());
      }
      return value;
    }) as Plan;
    expect(renderPlanComment(plan)).toBe(renderPlanComment(buildMixedPlan()));
    expect(renderPlanComment(shuffled)).toBe(renderPlanComment(plan));
  });
});

describe('size limit', () => {
  const plan = buildHugePlan();

  test('the huge plan is far over the limit when rendered in full', () => {
    expect(renderJobSummary(plan).length).toBeGreaterThan(120000);
  });

  test('the comment stays within 60,000 characters and keeps every change line, warning and the marker', () => {
    const full = renderJobSummary(plan);
    const body = renderPlanComment(plan, { detailsUrl: RUN_URL, applyHint: APPLY_HINT });
    expect(body.length).toBeLessThanOrEqual(60000);
    expect(parsePlanMarker(body)).toEqual({ cluster: CLUSTER, fingerprint: FINGERPRINT, head: HEAD_SHA });
    expect(changeLines(body)).toEqual(changeLines(full));
    expect(changeLines(body)).toHaveLength(61);
    const warnings = full.slice(full.indexOf('### ⚠️ Warnings'), full.indexOf('<details'));
    expect(body).toContain(warnings);
    expect(body).toContain('### ⛔ Errors: apply is blocked');
    expect(body).toContain(`every change is in [the full plan](${RUN_URL})`);
    expect(body).toMatch(
      /_Diff of \d+ lines omitted to fit the comment; see \[the full plan\]\(https:\/\/github\.com\/acme/,
    );
    expect(body).toContain(APPLY_HINT);
    expectBalanced(body);
  });

  test('the largest diffs go first and only as many as needed', () => {
    const body = renderPlanComment(plan, { detailsUrl: RUN_URL });
    const omitted = body.match(/_Diff of \d+ lines omitted/g)?.length ?? 0;
    expect(omitted).toBeGreaterThan(0);
    expect(body).toContain('```diff\n+AssumeRolePolicyDocument:');
    expect(body.length).toBeGreaterThan(50000);
  });

  test('when omitting diffs is not enough, stages collapse to their counts', () => {
    const body = renderPlanComment(plan, { maxChars: 12000, detailsUrl: RUN_URL });
    expect(body.length).toBeLessThanOrEqual(12000);
    expect(body).toContain('**pools**: +54 ~0 -6. Details omitted to fit the comment; see [the full plan]');
    expect(body).toContain('- **Deletes** NodePool `team-009` in **pools**');
    expect(body.split('\n')[0]).toMatch(/^<!-- karpenter-action:plan /);
    expectBalanced(body);
  });

  test('when even that is too long, the lists are shortened and still point to the full plan', () => {
    const body = renderPlanComment(plan, { maxChars: 1500 });
    expect(body.length).toBeLessThanOrEqual(1500);
    expect(body).toMatch(/- … and \d+ more; see the full plan in the job summary of this workflow run\./);
    expect(parsePlanMarker(body)?.fingerprint).toBe(FINGERPRINT);
    expectBalanced(body);
  });

  test('any limit is honoured without cutting a code block or tag', () => {
    for (const maxChars of [400, 1000, 5000, 20000, 40000]) {
      const body = renderPlanComment(plan, { maxChars });
      expect(body.length).toBeLessThanOrEqual(maxChars);
      expectBalanced(body);
    }
  });

  test('a plan that fits is not shortened', () => {
    const body = renderPlanComment(buildMixedPlan(), { detailsUrl: RUN_URL });
    expect(body).not.toContain('omitted');
    expect(body).not.toContain('[!NOTE]');
  });
});

describe('plan marker', () => {
  test('round trip', () => {
    const body = renderPlanComment(buildMixedPlan());
    expect(parsePlanMarker(body)).toEqual({ cluster: CLUSTER, fingerprint: FINGERPRINT, head: HEAD_SHA });
  });

  test('a plan without a head commit says none and reads back as undefined', () => {
    const body = renderPlanComment(buildPlan([], { headSha: undefined }));
    expect(body.split('\n')[0]).toContain(' head=none -->');
    expect(parsePlanMarker(body)).toEqual({ cluster: CLUSTER, fingerprint: FINGERPRINT, head: undefined });
  });

  test('odd cluster names are encoded so they cannot end the comment or fake a field', () => {
    const cluster = 'a b --> fingerprint=x';
    const body = renderPlanComment(buildPlan([], { cluster }));
    const first = body.split('\n')[0] ?? '';
    expect(first.startsWith(planMarker(cluster))).toBe(true);
    expect(first.match(/-->/g)).toHaveLength(1);
    expect(parsePlanMarker(body)?.cluster).toBe(cluster);
  });

  test('the prefix of one cluster does not match another whose name extends it', () => {
    const body = renderPlanComment(buildPlan([], { cluster: 'weasel-eks-2' }));
    expect(body.startsWith(planMarker('weasel-eks'))).toBe(false);
    expect(body.startsWith(planMarker('weasel-eks-2'))).toBe(true);
  });

  test('CRLF bodies as returned by some clients still parse', () => {
    const body = renderPlanComment(buildMixedPlan()).replace(/\n/g, '\r\n');
    expect(parsePlanMarker(body)?.head).toBe(HEAD_SHA);
  });

  test.each([
    ['an ordinary comment', 'LGTM'],
    [
      'a marker that is not on the first line',
      `hello\n<!-- karpenter-action:plan cluster=a fingerprint=b head=none -->`,
    ],
    ['another tool', '<!-- Sticky Pull Request Comment -->'],
    ['a broken encoding', '<!-- karpenter-action:plan cluster=%E0%A4%A fingerprint=b head=none -->'],
    ['a missing field', '<!-- karpenter-action:plan cluster=a head=none -->'],
  ])('%s is not our marker', (_what, body) => {
    expect(parsePlanMarker(body)).toBeUndefined();
  });
});

describe('escaping', () => {
  const hostile: Change = {
    ...nodePoolCreate(),
    name: 'pool`</details><script>x|y',
    kind: 'NodePool',
    reason: 'reason with *stars*, _under_, [link](http://x) and a | pipe\n## not a heading\n</details>',
    source: { file: 'karpenter/<evil>.yaml', line: 3 },
    after: nodePool('x', { categories: ['```', '</details>'] }),
  };
  const plan = buildPlan([
    stage(
      'pools',
      [hostile],
      [{ level: 'warning', code: 'x`y', message: 'a <b>bold</b> claim\n- fake item', fix: 'do `this`' }],
    ),
  ]);
  const body = renderPlanComment(plan);

  test('names are code spans that backticks cannot end', () => {
    expect(body).toContain('**+ create** NodePool ``pool`</details><script>x|y``');
  });

  test('messages cannot open tags, start blocks or format text', () => {
    expect(body).toContain(
      ' — reason with \\*stars\\*, \\_under\\_, \\[link\\](http://x) and a \\| pipe \\#\\# not a heading &lt;/details&gt; (karpenter/&lt;evil&gt;.yaml:3)',
    );
    expect(body).toContain('a &lt;b&gt;bold&lt;/b&gt; claim - fake item<br>**Fix:** do \\`this\\`');
    expect(body).not.toMatch(/^## not a heading/m);
    expect(body).not.toMatch(/^- fake item/m);
  });

  test('tags stay balanced and a code fence in a value does not end the diff block', () => {
    expectBalanced(body);
    expect(body).toContain('````diff\n');
    expect(outsideCode(body).match(/^<\/details>$/gm)).toHaveLength(1);
  });
});

describe('secrets', () => {
  const secretKey = 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY';
  const plan = buildPlan([
    stage('install', [
      {
        ref: 'k8s:v1/Secret/kube-system/karpenter-webhook',
        stage: 'install',
        kind: 'Secret',
        name: 'karpenter-webhook',
        action: 'update',
        before: {
          apiVersion: 'v1',
          kind: 'Secret',
          metadata: { name: 'karpenter-webhook' },
          data: { 'tls.key': 'b2xkLWtleQ==', 'ca.crt': 'c2FtZQ==' },
        },
        after: {
          apiVersion: 'v1',
          kind: 'Secret',
          metadata: { name: 'karpenter-webhook' },
          data: { 'tls.key': 'bmV3LWtleQ==', 'ca.crt': 'c2FtZQ==' },
        },
        fieldChanges: [
          { path: 'data.tls\\.key', op: 'change', before: 'b2xkLWtleQ==', after: 'bmV3LWtleQ==' },
        ],
      },
      {
        ref: 'helm:kube-system/karpenter',
        stage: 'install',
        kind: 'Helm release',
        name: 'karpenter',
        action: 'create',
        after: {
          values: {
            settings: { clusterName: CLUSTER },
            credentials: {
              secretAccessKey: secretKey,
              sessionToken: 'FwoGZXIvYXdzEXAMPLE',
              accessKeyId: 'AKIDEXAMPLE',
            },
            webhook: { password: 'hunter2', token: 'ghp_example' },
            env: [{ name: 'AWS_SECRET_ACCESS_KEY', value: secretKey }],
          },
        },
        fieldChanges: [],
      },
    ]),
  ]);
  const body = renderJobSummary(plan);

  test('values under secret-looking keys and Secret data never appear', () => {
    for (const value of [
      secretKey,
      'FwoGZXIvYXdzEXAMPLE',
      'hunter2',
      'ghp_example',
      'b2xkLWtleQ==',
      'bmV3LWtleQ==',
      'c2FtZQ==',
    ]) {
      expect(body).not.toContain(value);
    }
    expect(body).toContain('+    secretAccessKey: (sensitive)');
    expect(body).toContain('+    password: (sensitive)');
    expect(body).toContain('+      value: (sensitive)');
    expect(body).toContain('+    accessKeyId: (sensitive)');
  });

  test('a changed secret shows as changed, an unchanged one does not', () => {
    expect(body).toContain('-  tls.key: (sensitive)\n+  tls.key: (sensitive, changed)');
    expect(body).toContain('   ca.crt: (sensitive)');
  });

  test('configuration that only sounds like a secret stays readable', () => {
    const nodeClass = {
      ...nodePoolCreate(),
      kind: 'EC2NodeClass',
      after: ec2NodeClass('default', 'al2023@latest'),
    };
    expect(renderJobSummary(buildPlan([stage('pools', [nodeClass])]))).toContain('+    httpTokens: required');
  });
});
