import { isMap, isScalar, isSeq, type Document, type LineCounter, type Node } from 'yaml';

/**
 * Maps a path inside a parsed YAML document to a 1-based line, falling back to the nearest parent
 * that exists, so every message about a value can name the line a person should look at.
 */
export function lineOf(
  doc: Document,
  lc: LineCounter,
  path: readonly (string | number)[],
): number | undefined {
  let node: unknown = doc.contents;
  let best = lineOfNode(node as Node | null, lc);
  for (const key of path) {
    let next: unknown;
    if (isMap(node)) {
      const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === String(key));
      if (!pair) break;
      const keyLine = isScalar(pair.key) ? lineOfNode(pair.key, lc) : undefined;
      next = pair.value;
      best = lineOfNode(next as Node | null, lc) ?? keyLine ?? best;
      if (keyLine !== undefined && (isMap(next) || isSeq(next))) best = keyLine;
    } else if (isSeq(node) && typeof key === 'number') {
      next = node.items[key];
      if (next === undefined) break;
      best = lineOfNode(next as Node, lc) ?? best;
    } else {
      break;
    }
    node = next;
  }
  return best;
}

function lineOfNode(node: Node | null | undefined, lc: LineCounter): number | undefined {
  const start = node?.range?.[0];
  return start === undefined ? undefined : lc.linePos(start).line;
}
