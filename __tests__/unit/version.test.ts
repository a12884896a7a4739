import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Plan } from '../../src/plan/model.ts';
import { renderJobSummary, renderPlanComment } from '../../src/render/markdown.ts';
import { TOOL_VERSION } from '../../src/version.ts';
import { buildNoChangesPlan } from '../fixtures/render/plans.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };

test("the version the action reports is package.json's", () => {
  expect(pkg.version).toMatch(/^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$/);
  expect(TOOL_VERSION).toBe(pkg.version);
});

test('the plan comment and the job summary name the version in their footer', () => {
  const plan: Plan = { ...buildNoChangesPlan(), tool: { name: 'karpenter-action', version: TOOL_VERSION } };
  for (const body of [renderPlanComment(plan), renderJobSummary(plan)]) {
    const footer = body.split('\n').find((l) => l.startsWith('<sub>Plan fingerprint'));
    expect(footer).toContain(` · karpenter-action ${TOOL_VERSION}</sub>`);
  }
});
