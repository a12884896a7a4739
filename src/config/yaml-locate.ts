import { isAlias, isMap, isNode, isScalar, isSeq, type Document, type LineCounter } from 'yaml';

/**
 * Maps a path inside a parsed YAML document to the 1-based line of its key (or list item), falling
 * back to the nearest parent that exists, so every message about a value can name the line a person
 * should look at.
 */
export function lineOf(
  doc: Document,
  lc: LineCounter,
  path: readonly (string | number)[],
): number | undefined {
  const at = (node: unknown): number | undefined => {
    const start = isNode(node) ? node.range?.[0] : undefined;
    return start === undefined ? undefined : lc.linePos(start).line;
  };
  let node: unknown = doc.contents;
  let best = at(node);
  for (const key of path) {
    if (isAlias(node)) node = node.resolve(doc);
    if (isMap(node)) {
      const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === String(key));
      if (!pair) break;
      best = at(pair.key) ?? at(pair.value) ?? best;
      node = pair.value;
    } else if (isSeq(node) && typeof key === 'number') {
      const item: unknown = node.items[key];
      if (item === undefined) break;
      best = at(item) ?? best;
      node = item;
    } else {
      break;
    }
  }
  return best;
}
