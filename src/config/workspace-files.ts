import { closeSync, fstatSync, openSync, readFileSync, realpathSync } from 'node:fs';
import { isAbsolute, join, normalize, relative, resolve, sep } from 'node:path';
import { isAlias, isDocument, visit, type Document, type LineCounter } from 'yaml';

/**
 * The largest config or manifest file the action reads, 1 MiB. A NodePool or EC2NodeClass is a few
 * kilobytes and a fleet config a few dozen; anything near this size is a mistake or an attempt to
 * exhaust the runner, and is refused before it is read.
 */
export const MAX_INPUT_FILE_BYTES = 1024 * 1024;

/** How many alias references one YAML document may expand (the `yaml` package's own default). */
export const MAX_YAML_ALIASES = 100;

/** A file's text, or why it was not read. The problem never quotes the file's content. */
export type WorkspaceRead =
  { text: string; problem?: undefined } | { text?: undefined; problem: string; fix: string; code?: string };

const realOrResolved = (p: string): string => {
  try {
    return realpathSync(p);
  } catch {
    return resolve(p);
  }
};

/** Whether `inner` is `outer` or below it; both absolute and already resolved. */
export function isWithin(outer: string, inner: string): boolean {
  const rel = relative(outer, inner);
  return rel === '' || (!isAbsolute(rel) && rel !== '..' && !rel.startsWith(`..${sep}`));
}

/**
 * Whether a manifest glob, taken relative to the config's directory, stays inside the workspace as
 * written (`../karpenter/*.yaml` from `.github/` does, `../../x/*.yaml` does not), so a glob that
 * reaches out is refused before anything outside is even listed.
 */
export function globEscapesWorkspace(glob: string, configDir: string, workspace: string): boolean {
  if (isAbsolute(glob)) return true;
  const fromRoot = normalize(join(relative(resolve(workspace), resolve(configDir)), glob));
  return isAbsolute(fromRoot) || fromRoot === '..' || fromRoot.startsWith(`..${sep}`);
}

/**
 * Reads a config or manifest file only if the path, with every symlink resolved, is inside the
 * workspace and is a regular file of at most MAX_INPUT_FILE_BYTES. This is what keeps a pull request
 * from making the action read (and echo into errors and plans) a runner's credentials file or another
 * checkout through a symlink or a `../` glob, and from exhausting memory with a huge file.
 */
export function readWorkspaceFile(abs: string, workspace: string): WorkspaceRead {
  let real: string;
  try {
    real = realpathSync(abs);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return {
      problem: code === 'ENOENT' ? 'not found' : `cannot be read (${code ?? String(e)})`,
      fix: 'check the path',
      code,
    };
  }
  const root = realOrResolved(workspace);
  if (!isWithin(root, real)) {
    const via = real === resolve(abs) ? '' : ` (through a symlink, to ${real})`;
    return {
      problem: `is outside the workspace ${root}${via}; it was not read`,
      fix: 'keep config and manifests inside the repository, and make any symlink point inside it too',
    };
  }
  const fd = openSync(real, 'r');
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile()) {
      return { problem: 'is not a regular file; it was not read', fix: 'point at a YAML file' };
    }
    if (stat.size > MAX_INPUT_FILE_BYTES) {
      return {
        problem: `is ${stat.size} bytes, over the ${MAX_INPUT_FILE_BYTES}-byte (1 MiB) limit for a config or manifest file; it was not read`,
        fix: 'split it into smaller files, or check that the path names the file you meant',
      };
    }
    return { text: readFileSync(fd, 'utf8') };
  } finally {
    closeSync(fd);
  }
}

/** The 1-based line of the document's first alias, where an alias bomb starts expanding. */
function firstAliasLine(doc: Document, lc: LineCounter): number | undefined {
  let line: number | undefined;
  visit(doc, {
    Alias(_key, node) {
      if (isAlias(node) && node.range) line = lc.linePos(node.range[0]).line;
      return visit.BREAK;
    },
  });
  return line;
}

/**
 * A parsed YAML document as plain data, or, for a document whose aliases expand past
 * MAX_YAML_ALIASES (a "billion laughs" bomb), a problem with the line to look at instead of the
 * parser's bare exception.
 */
export function buildYamlValue(
  doc: Document,
  lc: LineCounter,
): { value: unknown; problem?: undefined } | { problem: string; line: number; fix: string } {
  try {
    return { value: doc.toJS({ maxAliasCount: MAX_YAML_ALIASES }) };
  } catch (e) {
    if (!(e instanceof ReferenceError) || !/alias count/i.test(e.message) || !isDocument(doc)) throw e;
    return {
      problem: `YAML anchors and aliases expand past the limit of ${MAX_YAML_ALIASES} alias references; refused as a resource-exhaustion ("billion laughs") pattern`,
      line: firstAliasLine(doc, lc) ?? 1,
      fix: 'write the repeated values out, or use fewer nested aliases',
    };
  }
}
