/**
 * A pull request controls the config and manifests the action reads. An attacker uses that to make
 * the runner read files outside the checkout (a credentials file, another repository's checkout) and
 * echo them into errors, annotations and plans, or to exhaust the runner with a huge file or a YAML
 * alias bomb. Each case must be refused before anything outside is read, with the config file and
 * line to fix, and without a byte of the outside file in any message.
 */
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { prepare, type RunEnv } from '../../src/commands/prepare.ts';
import { renderIssue } from '../../src/config/issues.ts';
import { loadConfig } from '../../src/config/load.ts';
import { loadManifests } from '../../src/config/manifests.ts';
import { MAX_INPUT_FILE_BYTES } from '../../src/config/workspace-files.ts';
import { Refusal } from '../../src/errors.ts';
import { readInputs } from '../../src/inputs.ts';

const CANARY = 'AKIAOUTSIDECANARY000';
const SECRET_FILE = `apiVersion: ${CANARY}\nkind: ${CANARY}\nmetadata:\n  name: ${CANARY}\n`;

const CONFIG = (manifests: string) =>
  `cluster: weasel-eks\nregion: us-east-1\nkarpenter:\n  version: 1.14.1\nmanifests:\n  - ${manifests}\n`;

const NODE_POOL = `apiVersion: karpenter.sh/v1
kind: NodePool
metadata:
  name: default
spec:
  template:
    spec:
      nodeClassRef: {group: karpenter.k8s.aws, kind: EC2NodeClass, name: default}
      requirements: []
`;

/** A runner's disk: the checkout, and next to it a secret file and another repository's checkout. */
function buildRunner(): { workspace: string; secret: string; outsideDir: string } {
  const root = mkdtempSync(join(tmpdir(), 'ka-attack-ws-'));
  const workspace = join(root, 'repo');
  const outsideDir = join(root, 'other-checkout', 'x');
  mkdirSync(join(workspace, '.github'), { recursive: true });
  mkdirSync(join(workspace, 'karpenter'), { recursive: true });
  mkdirSync(outsideDir, { recursive: true });
  const secret = join(root, 'credentials.yaml');
  writeFileSync(secret, SECRET_FILE);
  writeFileSync(join(outsideDir, 'leak.yaml'), SECRET_FILE);
  return { workspace, secret, outsideDir };
}

interface Attempt {
  refusal: Refusal;
  annotations: string[];
  logs: string[];
}

/** Runs the plan command's preparation as the action does and returns what the user reads. */
async function attemptPlan(workspace: string, config = '.github/karpenter.yaml'): Promise<Attempt> {
  const annotations: string[] = [];
  const logs: string[] = [];
  const env: RunEnv = {
    workspace,
    tempDir: workspace,
    log: { info: (l) => logs.push(l), warn: (l) => logs.push(l), debug: (l) => logs.push(l) },
    setOutput: (n, v) => logs.push(`${n}=${v}`),
    writeSummary: (md) => {
      logs.push(md);
      return Promise.resolve();
    },
    annotate: (level, message, where) =>
      annotations.push(`${level} ${where?.file ?? ''}:${where?.line ?? ''} ${message}`),
  };
  const inputs = readInputs((name) => ({ config, stages: 'pools' })[name] ?? '');
  const refusal = await prepare(inputs, env).then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(refusal instanceof Refusal)) throw new Error(`expected a refusal, got ${String(refusal)}`);
  return { refusal, annotations, logs };
}

function expectNoLeak(a: Attempt): void {
  const everything = [a.refusal.message, ...a.refusal.details, ...a.annotations, ...a.logs].join('\n');
  expect(everything).not.toContain(CANARY);
}

describe('attack: making the action read files outside the workspace', () => {
  test('a manifest that is a symlink to a secret file is not read', async () => {
    const { workspace, secret } = buildRunner();
    writeFileSync(join(workspace, '.github', 'karpenter.yaml'), CONFIG('../karpenter/*.yaml'));
    writeFileSync(join(workspace, 'karpenter', 'default.yaml'), NODE_POOL);
    symlinkSync(secret, join(workspace, 'karpenter', 'zz-leak.yaml'));
    const a = await attemptPlan(workspace);
    expectNoLeak(a);
    expect(a.refusal.message).toBe('invalid manifests for weasel-eks: 1 problem; nothing was changed');
    expect(a.refusal.details).toEqual([
      `.github/karpenter.yaml:6: manifests[0]: "../karpenter/*.yaml" matches karpenter/zz-leak.yaml, which is outside the workspace ${workspace} (through a symlink, to ${secret}); it was not read (keep config and manifests inside the repository, and make any symlink point inside it too)`,
    ]);
    expect(a.annotations).toHaveLength(1);
    expect(a.annotations[0]).toMatch(/^error \.github\/karpenter\.yaml:6 manifests\[0\]: /);
  });

  test('a manifest directory that is a symlink out of the workspace is not read', async () => {
    const { workspace, outsideDir } = buildRunner();
    writeFileSync(join(workspace, '.github', 'karpenter.yaml'), CONFIG('../pools/*.yaml'));
    symlinkSync(outsideDir, join(workspace, 'pools'));
    const a = await attemptPlan(workspace);
    expectNoLeak(a);
    expect(a.refusal.details).toHaveLength(1);
    expect(a.refusal.details[0]).toContain(
      '.github/karpenter.yaml:6: manifests[0]: "../pools/*.yaml" matches pools/leak.yaml, which is outside the workspace',
    );
  });

  test('a glob that climbs out of the workspace is refused before anything is listed', async () => {
    const { workspace } = buildRunner();
    writeFileSync(join(workspace, '.github', 'karpenter.yaml'), CONFIG('../../other-checkout/x/*.yaml'));
    const a = await attemptPlan(workspace);
    expectNoLeak(a);
    expect(a.refusal.message).toBe('invalid config .github/karpenter.yaml: 1 problem; nothing was changed');
    expect(a.refusal.details).toEqual([
      '.github/karpenter.yaml:6: manifests[0]: "../../other-checkout/x/*.yaml" reaches outside the workspace; nothing outside the repository is read (keep manifests inside the repository; globs are relative to the config file)',
    ]);
  });

  test('a config file that is a symlink out of the workspace is not read', async () => {
    const { workspace, secret } = buildRunner();
    symlinkSync(secret, join(workspace, '.github', 'karpenter.yaml'));
    const a = await attemptPlan(workspace);
    expectNoLeak(a);
    expect(a.refusal.details).toEqual([
      `.github/karpenter.yaml: config file is outside the workspace ${workspace} (through a symlink, to ${secret}); it was not read (keep config and manifests inside the repository, and make any symlink point inside it too)`,
    ]);
  });

  test('a config path that climbs out of the workspace is not read', async () => {
    const { workspace } = buildRunner();
    const a = await attemptPlan(workspace, '../credentials.yaml');
    expectNoLeak(a);
    expect(a.refusal.details).toEqual([
      `../credentials.yaml: config file is outside the workspace ${workspace}; it was not read (keep config and manifests inside the repository, and make any symlink point inside it too)`,
    ]);
  });

  test('a manifest over 1 MiB is refused unread, one at the limit is read', async () => {
    const { workspace } = buildRunner();
    writeFileSync(join(workspace, '.github', 'karpenter.yaml'), CONFIG('../karpenter/*.yaml'));
    const padded = (bytes: number) => {
      const head = `${NODE_POOL}# `;
      return `${head}${'x'.repeat(bytes - head.length - 1)}\n`;
    };
    writeFileSync(join(workspace, 'karpenter', 'big.yaml'), padded(MAX_INPUT_FILE_BYTES + 1));
    const a = await attemptPlan(workspace);
    expect(a.refusal.details).toEqual([
      `.github/karpenter.yaml:6: manifests[0]: "../karpenter/*.yaml" matches karpenter/big.yaml, which is ${MAX_INPUT_FILE_BYTES + 1} bytes, over the ${MAX_INPUT_FILE_BYTES}-byte (1 MiB) limit for a config or manifest file; it was not read (split it into smaller files, or check that the path names the file you meant)`,
    ]);

    writeFileSync(join(workspace, 'karpenter', 'big.yaml'), padded(MAX_INPUT_FILE_BYTES));
    const loaded = loadConfig('.github/karpenter.yaml', workspace);
    const m = loadManifests(loaded.config!, loaded.config!.clusters[0]!, workspace);
    expect(m.issues.map(renderIssue)).toEqual([]);
    expect(m.objects.map((o) => o.file)).toEqual(['karpenter/big.yaml']);
  });

  test('a config over 1 MiB is refused unread', async () => {
    const { workspace } = buildRunner();
    writeFileSync(
      join(workspace, '.github', 'karpenter.yaml'),
      `${CONFIG('../karpenter/*.yaml')}# ${'x'.repeat(MAX_INPUT_FILE_BYTES)}\n`,
    );
    const a = await attemptPlan(workspace);
    expect(a.refusal.details).toHaveLength(1);
    expect(a.refusal.details[0]).toMatch(
      /^\.github\/karpenter\.yaml: config file is \d+ bytes, over the 1048576-byte \(1 MiB\) limit/,
    );
  });

  test('a YAML alias bomb in a manifest is refused with its file and line', async () => {
    const { workspace } = buildRunner();
    writeFileSync(join(workspace, '.github', 'karpenter.yaml'), CONFIG('../karpenter/*.yaml'));
    const levels = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i'];
    const bomb = levels
      .map((l, i) =>
        i === 0
          ? `    ${l}: &${l} [${Array(10).fill('"lol"').join(', ')}]`
          : `    ${l}: &${l} [${Array(10)
              .fill(`*${levels[i - 1]!}`)
              .join(', ')}]`,
      )
      .join('\n');
    writeFileSync(
      join(workspace, 'karpenter', 'bomb.yaml'),
      `apiVersion: karpenter.sh/v1\nkind: NodePool\nmetadata:\n  name: bomb\n  annotations:\n${bomb}\n`,
    );
    const a = await attemptPlan(workspace);
    expect(a.refusal.details).toEqual([
      'karpenter/bomb.yaml:7: YAML anchors and aliases expand past the limit of 100 alias references; refused as a resource-exhaustion ("billion laughs") pattern (write the repeated values out, or use fewer nested aliases)',
    ]);
  });

  test('symlinks that stay inside the workspace keep working', () => {
    const { workspace } = buildRunner();
    writeFileSync(join(workspace, '.github', 'karpenter.yaml'), CONFIG('../pools/*.yaml'));
    writeFileSync(join(workspace, 'karpenter', 'default.yaml'), NODE_POOL);
    symlinkSync(join(workspace, 'karpenter'), join(workspace, 'pools'));
    const loaded = loadConfig('.github/karpenter.yaml', workspace);
    const m = loadManifests(loaded.config!, loaded.config!.clusters[0]!, workspace);
    expect(m.issues).toEqual([]);
    expect(m.objects.map((o) => `${o.file}:${o.line}`)).toEqual(['pools/default.yaml:1']);
  });
});
