import { diffLines, diffObjects, renderYamlForDiff } from '../../src/plan/text-diff.ts';

const lines = (...l: string[]): string => l.map((s) => `${s}\n`).join('');

/** Applies a diff body to `before`, checking every context and removed line against it. */
function applyDiff(before: string, diff: string): string {
  const src = before === '' ? [] : before.replace(/\n$/, '').split('\n');
  const out: string[] = [];
  let pos = 0;
  for (const line of diff === '' ? [] : diff.split('\n')) {
    const header = /^@@ -(\d+)(?:,(\d+))? \+\d+(?:,\d+)? @@$/.exec(line);
    if (header) {
      const startLine = Number(header[1]);
      const count = header[2] === undefined ? 1 : Number(header[2]);
      const target = count === 0 ? startLine : startLine - 1;
      while (pos < target) out.push(src[pos++] ?? '');
      continue;
    }
    const op = line[0];
    const text = line.slice(1);
    if (op === ' ' || op === '-') {
      expect(src[pos]).toBe(text);
      pos++;
      if (op === ' ') out.push(text);
    } else if (op === '+') {
      out.push(text);
    } else {
      throw new Error(`unexpected diff line ${JSON.stringify(line)}`);
    }
  }
  while (pos < src.length) out.push(src[pos++] ?? '');
  return out.length === 0 ? '' : `${out.join('\n')}\n`;
}

function lcsLength(a: readonly string[], b: readonly string[]): number {
  let prev = new Array<number>(b.length + 1).fill(0);
  for (const x of a) {
    const row = [0];
    for (let j = 0; j < b.length; j++) {
      row.push(x === b[j] ? (prev[j] ?? 0) + 1 : Math.max(prev[j + 1] ?? 0, row[j] ?? 0));
    }
    prev = row;
  }
  return prev[b.length] ?? 0;
}

/** A small deterministic generator (mulberry32), so failures reproduce. */
function random(seed: number): () => number {
  let s = seed;
  return () => {
    s = (s + 0x6d2b79f5) | 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('diffLines', () => {
  test('equal texts give an empty diff', () => {
    expect(diffLines('a\nb\n', 'a\nb\n')).toBe('');
    expect(diffLines('', '')).toBe('');
  });

  test('one changed line with three lines of context on each side', () => {
    const before = lines('1', '2', '3', '4', '5', '6', '7', '8', '9');
    const after = lines('1', '2', '3', '4', 'five', '6', '7', '8', '9');
    expect(diffLines(before, after)).toBe(
      ['@@ -2,7 +2,7 @@', ' 2', ' 3', ' 4', '-5', '+five', ' 6', ' 7', ' 8'].join('\n'),
    );
  });

  test('changes far apart get separate hunks, close ones share a hunk', () => {
    const base = Array.from({ length: 20 }, (_, i) => `line ${i + 1}`);
    const far = [...base];
    far[1] = 'changed 2';
    far[17] = 'changed 18';
    const farDiff = diffLines(lines(...base), lines(...far));
    expect(farDiff.split('\n').filter((l) => l.startsWith('@@'))).toEqual([
      '@@ -1,5 +1,5 @@',
      '@@ -15,6 +15,6 @@',
    ]);

    const near = [...base];
    near[4] = 'changed 5';
    near[10] = 'changed 11';
    const nearDiff = diffLines(lines(...base), lines(...near));
    expect(nearDiff.split('\n').filter((l) => l.startsWith('@@'))).toEqual(['@@ -2,13 +2,13 @@']);
  });

  test('the context size is honoured', () => {
    const before = lines('a', 'b', 'c', 'd', 'e');
    const after = lines('a', 'b', 'X', 'd', 'e');
    expect(diffLines(before, after, 0)).toBe('@@ -3 +3 @@\n-c\n+X');
    expect(diffLines(before, after, 1)).toBe('@@ -2,3 +2,3 @@\n b\n-c\n+X\n d');
  });

  test('pure insertions and deletions use the line before the gap as start', () => {
    expect(diffLines('', lines('a', 'b'))).toBe('@@ -0,0 +1,2 @@\n+a\n+b');
    expect(diffLines(lines('a', 'b'), '')).toBe('@@ -1,2 +0,0 @@\n-a\n-b');
    expect(diffLines(lines('a', 'b'), lines('a', 'b', 'c'), 0)).toBe('@@ -2,0 +3 @@\n+c');
    expect(diffLines(lines('a', 'b', 'c'), lines('a', 'c'), 0)).toBe('@@ -2 +1,0 @@\n-b');
  });

  test('a moved block is one removal and one insertion, not a positional cascade', () => {
    const before = lines('alpha', 'beta', 'gamma', 'delta', 'epsilon', 'zeta');
    const after = lines('beta', 'gamma', 'delta', 'epsilon', 'zeta', 'alpha');
    const diff = diffLines(before, after);
    expect(diff.split('\n').filter((l) => l.startsWith('-') || l.startsWith('+'))).toEqual([
      '-alpha',
      '+alpha',
    ]);
  });

  test('an inserted list item shows as one added line', () => {
    const before = lines('values:', '- c', '- m', '- r');
    const after = lines('values:', '- c', '- g', '- m', '- r');
    expect(diffLines(before, after)).toBe('@@ -1,4 +1,5 @@\n values:\n - c\n+- g\n - m\n - r');
  });

  test('a missing final newline does not count as a difference', () => {
    expect(diffLines('a\nb', 'a\nb\n')).toBe('');
  });

  test('random edits: the script is minimal and applies back to the target', () => {
    const rnd = random(42);
    const alphabet = ['a', 'b', 'c', 'd', 'e'];
    for (let round = 0; round < 300; round++) {
      const pick = (): string[] =>
        Array.from({ length: Math.floor(rnd() * 14) }, () => alphabet[Math.floor(rnd() * 5)] ?? 'a');
      const a = pick();
      const b = pick();
      const before = a.length ? lines(...a) : '';
      const after = b.length ? lines(...b) : '';
      const diff = diffLines(before, after, Math.floor(rnd() * 4));
      expect(applyDiff(before, diff)).toBe(after);
      const body = diff.split('\n');
      const removed = body.filter((l) => l.startsWith('-')).length;
      const added = body.filter((l) => l.startsWith('+')).length;
      const lcs = lcsLength(a, b);
      expect([removed, added]).toEqual([a.length - lcs, b.length - lcs]);
    }
  });

  test('thousands of lines diff quickly, also when nothing matches', () => {
    const rnd = random(7);
    const base = Array.from({ length: 4000 }, (_, i) => `key${i}: ${Math.floor(rnd() * 1e6)}`);
    const edited = base.map((l, i) => (i % 97 === 0 ? `${l} # edited` : l));
    edited.splice(1500, 40);
    edited.splice(3000, 0, 'inserted: 1', 'inserted: 2');
    const t0 = performance.now();
    const diff = diffLines(lines(...base), lines(...edited));
    expect(applyDiff(lines(...base), diff)).toBe(lines(...edited));

    const other = Array.from({ length: 3000 }, (_, i) => `other${i}`);
    const disjoint = diffLines(lines(...base.slice(0, 3000)), lines(...other));
    expect(disjoint.split('\n').filter((l) => l.startsWith('-'))).toHaveLength(3000);
    expect(performance.now() - t0).toBeLessThan(5000);
  });
});

describe('renderYamlForDiff', () => {
  test('keys are sorted, Kubernetes objects keep apiVersion, kind, metadata, spec on top', () => {
    const text = renderYamlForDiff({
      status: { ready: true },
      spec: { zeta: 1, alpha: 2 },
      metadata: { name: 'default', labels: { b: '2', a: '1' } },
      kind: 'NodePool',
      apiVersion: 'karpenter.sh/v1',
    });
    expect(text).toBe(
      [
        'apiVersion: karpenter.sh/v1',
        'kind: NodePool',
        'metadata:',
        '  labels:',
        '    a: "1"',
        '    b: "2"',
        '  name: default',
        'spec:',
        '  alpha: 2',
        '  zeta: 1',
        'status:',
        '  ready: true',
        '',
      ].join('\n'),
    );
  });

  test('maps that are not Kubernetes objects are simply sorted, even with a kind key', () => {
    expect(renderYamlForDiff({ name: 'default', kind: 'EC2NodeClass', group: 'karpenter.k8s.aws' })).toBe(
      'group: karpenter.k8s.aws\nkind: EC2NodeClass\nname: default\n',
    );
  });

  test('equal objects built in different orders render identically', () => {
    const a = { b: [{ y: 1, x: 2 }], a: { d: null, c: 'x' } };
    const b = { a: { c: 'x', d: null }, b: [{ x: 2, y: 1 }] };
    expect(renderYamlForDiff(a)).toBe(renderYamlForDiff(b));
  });

  test('long strings are not folded and multi-line strings are literal blocks', () => {
    const long = 'arn:aws:iam::123456789012:policy/' + 'x'.repeat(200);
    const text = renderYamlForDiff({ long, userData: 'line one\nline two\n' });
    expect(text).toContain(`long: ${long}\n`);
    expect(text).toContain('userData: |\n  line one\n  line two\n');
  });

  test('a shared object is written out twice, never as an anchor and alias', () => {
    const shared = { key: 'karpenter.sh/discovery', value: 'weasel-eks' };
    const text = renderYamlForDiff({ subnets: [shared], securityGroups: [shared] });
    expect(text).not.toMatch(/[&*]a\d/);
    expect(text.match(/karpenter\.sh\/discovery/g)).toHaveLength(2);
  });

  test('undefined renders as nothing, undefined map values are left out', () => {
    expect(renderYamlForDiff(undefined)).toBe('');
    expect(renderYamlForDiff({ a: undefined, b: 1 })).toBe('b: 1\n');
  });
});

describe('diffObjects', () => {
  const before = {
    apiVersion: 'karpenter.sh/v1',
    kind: 'NodePool',
    metadata: { name: 'gpu' },
    spec: { limits: { cpu: 100 } },
  };

  test('a create is the whole object as + lines', () => {
    expect(diffObjects(undefined, before)).toBe(
      [
        '+apiVersion: karpenter.sh/v1',
        '+kind: NodePool',
        '+metadata:',
        '+  name: gpu',
        '+spec:',
        '+  limits:',
        '+    cpu: 100',
      ].join('\n'),
    );
  });

  test('a delete is the whole object as - lines', () => {
    expect(
      diffObjects(before, undefined)
        .split('\n')
        .every((l) => l.startsWith('-')),
    ).toBe(true);
  });

  test('an update is a hunk of the two renders', () => {
    const after = { ...before, spec: { limits: { cpu: 200 } } };
    expect(diffObjects(before, after)).toBe(
      ['@@ -4,4 +4,4 @@', '   name: gpu', ' spec:', '   limits:', '-    cpu: 100', '+    cpu: 200'].join(
        '\n',
      ),
    );
  });

  test('nothing to nothing is empty', () => {
    expect(diffObjects(undefined, undefined)).toBe('');
    expect(diffObjects(before, structuredClone(before))).toBe('');
  });
});
