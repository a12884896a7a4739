import { Document, isScalar, visit } from 'yaml';
import type { Pair, YAMLMap } from 'yaml';

type Op = ' ' | '-' | '+';

interface Edit {
  op: Op;
  text: string;
  /** Lines of `before` that precede this edit. */
  oldIndex: number;
  /** Lines of `after` that precede this edit. */
  newIndex: number;
}

function splitLines(text: string): string[] {
  if (text === '') return [];
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return lines;
}

/** Equal lines get equal small integers, so the search compares numbers instead of strings. */
function toIds(before: readonly string[], after: readonly string[]): [Int32Array, Int32Array] {
  const ids = new Map<string, number>();
  const idOf = (line: string): number => {
    let id = ids.get(line);
    if (id === undefined) {
      id = ids.size;
      ids.set(line, id);
    }
    return id;
  };
  return [Int32Array.from(before, idOf), Int32Array.from(after, idOf)];
}

/** Diagonals k = x - y that a path with `d` edits can end on inside an n×m grid. */
function diagonals(d: number, n: number, m: number): [number, number] {
  let lo = Math.max(-d, -m);
  if (((d - lo) & 1) !== 0) lo++;
  let hi = Math.min(d, n);
  if (((d - hi) & 1) !== 0) hi--;
  return [lo, hi];
}

/**
 * A point (x, y) of the sub-grid a[aLo, aHi) × b[bLo, bHi) that lies on a shortest edit path, found
 * by running Myers' greedy search from both corners until the two frontiers meet (the "middle snake"
 * of Myers 1986, section 4b). The frontier arrays are indexed by diagonal and reused between calls,
 * which keeps memory linear in the input size.
 */
function splitPoint(
  a: Int32Array,
  b: Int32Array,
  aLo: number,
  aHi: number,
  bLo: number,
  bHi: number,
  fwd: Int32Array,
  bwd: Int32Array,
  offset: number,
): [number, number] {
  const n = aHi - aLo;
  const m = bHi - bLo;
  const delta = n - m;
  const odd = (delta & 1) !== 0;
  let fLo = 0;
  let fHi = -1;
  let rLo = 0;
  let rHi = -1;

  for (let d = 0; d <= n + m; d++) {
    const [lo, hi] = diagonals(d, n, m);
    for (let k = lo; k <= hi; k += 2) {
      const x = start(fwd, offset, d, k, fLo, fHi, n, m);
      if (x < 0) {
        fwd[offset + k] = -1;
        continue;
      }
      let fx = x;
      let fy = x - k;
      while (fx < n && fy < m && a[aLo + fx] === b[bLo + fy]) {
        fx++;
        fy++;
      }
      fwd[offset + k] = fx;
      const kr = delta - k;
      if (odd && kr >= rLo && kr <= rHi) {
        const rx = bwd[offset + kr] ?? -1;
        if (rx >= 0 && fx + rx >= n) return [fx, fy];
      }
    }
    fLo = lo;
    fHi = hi;

    for (let kr = lo; kr <= hi; kr += 2) {
      const x = start(bwd, offset, d, kr, rLo, rHi, n, m);
      if (x < 0) {
        bwd[offset + kr] = -1;
        continue;
      }
      let rx = x;
      let ry = x - kr;
      while (rx < n && ry < m && a[aHi - 1 - rx] === b[bHi - 1 - ry]) {
        rx++;
        ry++;
      }
      bwd[offset + kr] = rx;
      const k = delta - kr;
      if (!odd && k >= fLo && k <= fHi) {
        const fx = fwd[offset + k] ?? -1;
        if (fx >= 0 && fx + rx >= n) return [n - rx, m - ry];
      }
    }
    rLo = lo;
    rHi = hi;
  }
  return [n, 0];
}

/** Where a path with `d` edits on diagonal k starts its snake, or -1 when no such path stays in the grid. */
function start(
  v: Int32Array,
  offset: number,
  d: number,
  k: number,
  prevLo: number,
  prevHi: number,
  n: number,
  m: number,
): number {
  if (d === 0) return 0;
  let x = -1;
  if (k + 1 >= prevLo && k + 1 <= prevHi) {
    const px = v[offset + k + 1] ?? -1;
    if (px >= 0 && px - (k + 1) < m) x = px;
  }
  if (k - 1 >= prevLo && k - 1 <= prevHi) {
    const px = v[offset + k - 1] ?? -1;
    if (px >= 0 && px < n && px + 1 > x) x = px + 1;
  }
  return x;
}

/** Marks which lines of `a` are removed and which of `b` are added in a shortest edit script. */
function markChanges(a: Int32Array, b: Int32Array): { removed: Uint8Array; added: Uint8Array } {
  const removed = new Uint8Array(a.length);
  const added = new Uint8Array(b.length);
  const offset = b.length + 1;
  const fwd = new Int32Array(a.length + b.length + 3);
  const bwd = new Int32Array(a.length + b.length + 3);
  const work: [number, number, number, number][] = [[0, a.length, 0, b.length]];
  for (let job = work.pop(); job !== undefined; job = work.pop()) {
    let [aLo, aHi, bLo, bHi] = job;
    while (aLo < aHi && bLo < bHi && a[aLo] === b[bLo]) {
      aLo++;
      bLo++;
    }
    while (aLo < aHi && bLo < bHi && a[aHi - 1] === b[bHi - 1]) {
      aHi--;
      bHi--;
    }
    if (aLo === aHi) {
      added.fill(1, bLo, bHi);
    } else if (bLo === bHi) {
      removed.fill(1, aLo, aHi);
    } else {
      const [x, y] = splitPoint(a, b, aLo, aHi, bLo, bHi, fwd, bwd, offset);
      work.push([aLo + x, aHi, bLo + y, bHi], [aLo, aLo + x, bLo, bLo + y]);
    }
  }
  return { removed, added };
}

function buildEdits(before: readonly string[], after: readonly string[]): Edit[] {
  const [a, b] = toIds(before, after);
  const { removed, added } = markChanges(a, b);
  const edits: Edit[] = [];
  let i = 0;
  let j = 0;
  while (i < before.length || j < after.length) {
    if (i < before.length && removed[i] === 1) {
      edits.push({ op: '-', text: before[i] ?? '', oldIndex: i, newIndex: j });
      i++;
    } else if (j < after.length && (added[j] === 1 || i >= before.length)) {
      edits.push({ op: '+', text: after[j] ?? '', oldIndex: i, newIndex: j });
      j++;
    } else {
      edits.push({ op: ' ', text: before[i] ?? '', oldIndex: i, newIndex: j });
      i++;
      j++;
    }
  }
  return edits;
}

function range(first: Edit, lines: number, side: 'old' | 'new'): string {
  const preceding = side === 'old' ? first.oldIndex : first.newIndex;
  const startLine = lines === 0 ? preceding : preceding + 1;
  return lines === 1 ? `${startLine}` : `${startLine},${lines}`;
}

/**
 * A unified diff body (hunks with `@@ -a,b +c,d @@` headers and ` `/`-`/`+` lines, no file headers)
 * computed from a shortest edit script, so a moved block or a changed list item reads as the
 * reviewer expects instead of as a cascade of line-by-line differences. Empty when equal.
 */
export function diffLines(before: string, after: string, context = 3): string {
  const edits = buildEdits(splitLines(before), splitLines(after));
  const ctx = Math.max(0, Math.floor(context));
  const out: string[] = [];
  let idx = 0;
  while (idx < edits.length) {
    while (idx < edits.length && edits[idx]?.op === ' ') idx++;
    if (idx >= edits.length) break;
    const first = Math.max(0, idx - ctx);
    let lastChange = idx;
    let j = idx + 1;
    while (j < edits.length) {
      if (edits[j]?.op !== ' ') {
        lastChange = j;
        j++;
        continue;
      }
      let runEnd = j;
      while (runEnd < edits.length && edits[runEnd]?.op === ' ') runEnd++;
      if (runEnd < edits.length && runEnd - j <= 2 * ctx) {
        j = runEnd;
        continue;
      }
      break;
    }
    const end = Math.min(edits.length, lastChange + ctx + 1);
    const hunk = edits.slice(first, end);
    const head = hunk[0];
    if (head !== undefined) {
      const oldLines = hunk.filter((e) => e.op !== '+').length;
      const newLines = hunk.filter((e) => e.op !== '-').length;
      out.push(`@@ -${range(head, oldLines, 'old')} +${range(head, newLines, 'new')} @@`);
      for (const e of hunk) out.push(`${e.op}${e.text}`);
    }
    idx = end;
  }
  return out.join('\n');
}

const KUBE_FIRST = ['apiVersion', 'kind', 'metadata', 'spec'];

function keyOf(pair: Pair): string {
  const key: unknown = pair.key;
  if (isScalar(key)) return String(key.value);
  return String(key);
}

function isKubeLike(map: YAMLMap): boolean {
  let apiVersion = false;
  let kind = false;
  for (const pair of map.items) {
    const key = keyOf(pair);
    if (!isScalar(pair.value) || typeof pair.value.value !== 'string') continue;
    if (key === 'apiVersion') apiVersion = true;
    if (key === 'kind') kind = true;
  }
  return apiVersion && kind;
}

function compareKeys(kube: boolean): (a: Pair, b: Pair) => number {
  return (p, q) => {
    const a = keyOf(p);
    const b = keyOf(q);
    if (kube) {
      const ra = KUBE_FIRST.indexOf(a);
      const rb = KUBE_FIRST.indexOf(b);
      if (ra !== rb) return (ra < 0 ? KUBE_FIRST.length : ra) - (rb < 0 ? KUBE_FIRST.length : rb);
    }
    return a < b ? -1 : a > b ? 1 : 0;
  };
}

/**
 * YAML text that depends only on the value, never on key insertion order: map keys sorted by code
 * unit (Kubernetes objects keep `apiVersion, kind, metadata, spec` on top, as reviewers know them),
 * no line folding, no anchors. Equal objects give equal text, so diffs show only real differences.
 */
export function renderYamlForDiff(value: unknown): string {
  if (value === undefined) return '';
  const doc = new Document(value, { aliasDuplicateObjects: false });
  visit(doc, {
    Map(_, map) {
      map.items.sort(compareKeys(isKubeLike(map)));
    },
  });
  return doc.toString({ lineWidth: 0, minContentWidth: 0, blockQuote: 'literal' });
}

/**
 * The diff a reviewer reads for one change: the YAML of a created object as `+` lines, of a deleted
 * object as `-` lines, and hunks of the two renders for anything else.
 */
export function diffObjects(before: unknown, after: unknown): string {
  const beforeText = renderYamlForDiff(before);
  const afterText = renderYamlForDiff(after);
  if (before === undefined || after === undefined) {
    const prefix = before === undefined ? '+' : '-';
    return splitLines(before === undefined ? afterText : beforeText)
      .map((line) => prefix + line)
      .join('\n');
  }
  return diffLines(beforeText, afterText);
}
