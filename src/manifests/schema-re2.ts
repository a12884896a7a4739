/**
 * CRD `pattern`s are Go RE2 expressions, checked by the API server with Go's `regexp`. JavaScript's
 * RegExp differs in a few places that matter for a faithful offline check: RE2's `\s` has no `\v`,
 * `.` excludes only `\n`, it accepts `\pL`, `\Q…\E`, `(?P<name>…)`, POSIX classes, octal escapes and
 * escaped punctuation anywhere. Everything compiles with the `u` flag so that lengths and `.` work
 * on code points, as RE2 does on UTF-8.
 */

const SYNTAX_CHARS = new Set([...'^$\\.*+?()[]{}|/']);
const RE2_SPACE = '\\t\\n\\f\\r ';
const POSIX_CLASSES: Record<string, string> = {
  alnum: '0-9A-Za-z',
  alpha: 'A-Za-z',
  ascii: '\\u0000-\\u007F',
  blank: '\\t ',
  cntrl: '\\u0000-\\u001F\\u007F',
  digit: '0-9',
  graph: '!-~',
  lower: 'a-z',
  print: ' -~',
  punct: '!-\\/:-@\\[-`{-~',
  space: '\\t\\n\\v\\f\\r ',
  upper: 'A-Z',
  word: '0-9A-Za-z_',
  xdigit: '0-9A-Fa-f',
};
/** Unicode general categories (`L`, `Lu`, `Nd`, …); any longer name is a script such as `Greek`. */
const GENERAL_CATEGORY = /^[CLMNPSZ][a-z]?$/;

const cache = new Map<string, RegExp | Error>();

/**
 * Converts a Go RE2 pattern into an equivalent JavaScript RegExp with unanchored search semantics
 * (as `regexp.MatchString`). Throws an Error naming the construct when the pattern uses RE2 syntax
 * that has no JavaScript equivalent, so a caller never checks against a silently different pattern.
 */
export function convertRe2Pattern(pattern: string): RegExp {
  const hit = cache.get(pattern);
  if (hit instanceof RegExp) return hit;
  if (hit) throw hit;
  try {
    const { source, flags } = translate(pattern);
    const re = new RegExp(source, `${flags}u`);
    cache.set(pattern, re);
    return re;
  } catch (e) {
    const err = new Error(
      `pattern ${JSON.stringify(pattern)} cannot be checked offline: ${(e as Error).message}`,
    );
    cache.set(pattern, err);
    throw err;
  }
}

function hexEscape(codePoint: number): string {
  return `\\u{${codePoint.toString(16).toUpperCase()}}`;
}

function literal(ch: string, inClass: boolean): string {
  return SYNTAX_CHARS.has(ch) || (inClass && ch === '-') ? `\\${ch}` : ch;
}

function translate(p: string): { source: string; flags: string } {
  let i = 0;
  let flags = '';
  for (let m = /^\(\?([a-zA-Z]+)\)/.exec(p); m; m = /^\(\?([a-zA-Z]+)\)/.exec(p.slice(i))) {
    for (const f of m[1]!) {
      if (f === 'i' || f === 's' || f === 'm') {
        if (!flags.includes(f)) flags += f;
      } else {
        throw new Error(`flag (?${f}) is not supported`);
      }
    }
    i += m[0].length;
  }
  const dotAll = flags.includes('s');
  let out = '';
  let inClass = false;
  let prevClassAtom: 'none' | 'char' | 'set' = 'none';

  const propertyEscape = (negated: boolean): string => {
    let name: string;
    if (p[i] === '{') {
      const end = p.indexOf('}', i);
      if (end < 0) throw new Error('unterminated \\p{…}');
      name = p.slice(i + 1, end);
      i = end + 1;
    } else {
      name = p[i] ?? '';
      i += 1;
    }
    if (name.startsWith('^')) {
      negated = !negated;
      name = name.slice(1);
    }
    if (name === 'Any') {
      if (inClass) throw new Error('\\p{Any} inside a character class is not supported');
      return negated ? '[^\\s\\S]' : '[\\s\\S]';
    }
    const body = GENERAL_CATEGORY.test(name) ? name : `Script=${name}`;
    return `\\${negated ? 'P' : 'p'}{${body}}`;
  };

  const escape = (): { text: string; kind: 'char' | 'set' } => {
    const n = p[i + 1];
    if (n === undefined) throw new Error('trailing backslash');
    i += 2;
    switch (n) {
      case 'd':
      case 'D':
      case 'w':
      case 'W':
        return { text: `\\${n}`, kind: 'set' };
      case 's':
        return { text: inClass ? RE2_SPACE : `[${RE2_SPACE}]`, kind: 'set' };
      case 'S':
        return { text: inClass ? '\\S' : `[^${RE2_SPACE}]`, kind: 'set' };
      case 'b':
      case 'B':
        if (inClass) throw new Error(`\\${n} inside a character class is not supported`);
        return { text: `\\${n}`, kind: 'set' };
      case 'A':
        if (inClass) throw new Error('\\A inside a character class');
        return { text: '(?<![\\s\\S])', kind: 'set' };
      case 'z':
        if (inClass) throw new Error('\\z inside a character class');
        return { text: '(?![\\s\\S])', kind: 'set' };
      case 'p':
      case 'P':
        return { text: propertyEscape(n === 'P'), kind: 'set' };
      case 'a':
        return { text: '\\u{7}', kind: 'char' };
      case 'f':
      case 't':
      case 'n':
      case 'r':
      case 'v':
        return { text: `\\${n}`, kind: 'char' };
      case 'x': {
        const braced = /^\{([0-9A-Fa-f]{1,6})\}/.exec(p.slice(i));
        const plain = /^[0-9A-Fa-f]{2}/.exec(p.slice(i));
        const hex = braced ? braced[1]! : plain?.[0];
        if (hex === undefined) throw new Error('malformed \\x escape');
        i += braced ? braced[0].length : 2;
        return { text: hexEscape(parseInt(hex, 16)), kind: 'char' };
      }
      case 'Q': {
        if (inClass) throw new Error('\\Q inside a character class is not supported');
        const end = p.indexOf('\\E', i);
        const text = end < 0 ? p.slice(i) : p.slice(i, end);
        i = end < 0 ? p.length : end + 2;
        return { text: [...text].map((ch) => literal(ch, false)).join(''), kind: 'set' };
      }
      default:
        break;
    }
    if (n >= '0' && n <= '7') {
      const oct = /^[0-7]{1,3}/.exec(p.slice(i - 1))![0];
      if (n !== '0' && oct.length === 1) throw new Error(`backreference \\${n} is not supported by RE2`);
      i += oct.length - 1;
      return { text: hexEscape(parseInt(oct, 8)), kind: 'char' };
    }
    if (/[A-Za-z0-9]/.test(n)) throw new Error(`escape \\${n} is not valid RE2`);
    return { text: literal(n, inClass), kind: 'char' };
  };

  while (i < p.length) {
    const c = p[i]!;
    if (inClass) {
      if (c === ']') {
        out += ']';
        inClass = false;
        i += 1;
        continue;
      }
      if (c === '[' && p[i + 1] === ':') {
        const m = /^\[:(\^?)([a-z]+):\]/.exec(p.slice(i));
        if (!m || POSIX_CLASSES[m[2]!] === undefined) throw new Error(`unknown POSIX class at ${i}`);
        if (m[1]) throw new Error('negated POSIX classes are not supported');
        out += POSIX_CLASSES[m[2]!];
        i += m[0].length;
        prevClassAtom = 'set';
        continue;
      }
      if (c === '\\') {
        const { text, kind } = escape();
        out += text;
        prevClassAtom = kind;
        continue;
      }
      if (c === '-') {
        const next = p[i + 1];
        const nextIsSet = next === '\\' && /[dDwWsSpP]/.test(p[i + 2] ?? '');
        if (prevClassAtom === 'char' && next !== undefined && next !== ']' && !nextIsSet) {
          out += '-';
          i += 1;
          const after = p[i];
          if (after === '\\') {
            out += escape().text;
          } else if (after !== undefined) {
            out += literal(after, true);
            i += 1;
          }
          prevClassAtom = 'set';
          continue;
        }
        out += '\\-';
        prevClassAtom = 'char';
        i += 1;
        continue;
      }
      out += literal(c, true);
      prevClassAtom = 'char';
      i += 1;
      continue;
    }
    switch (c) {
      case '\\':
        out += escape().text;
        continue;
      case '[': {
        out += '[';
        i += 1;
        if (p[i] === '^') {
          out += '^';
          i += 1;
        }
        inClass = true;
        prevClassAtom = 'none';
        if (p[i] === ']') {
          out += '\\]';
          prevClassAtom = 'char';
          i += 1;
        }
        continue;
      }
      case '.':
        out += dotAll ? '[\\s\\S]' : '[^\\n]';
        i += 1;
        continue;
      case '(': {
        if (p[i + 1] !== '?') {
          out += '(';
          i += 1;
          continue;
        }
        const rest = p.slice(i);
        const named = /^\(\?P?<([A-Za-z_][A-Za-z0-9_]*)>/.exec(rest);
        if (named) {
          out += `(?<${named[1]}>`;
          i += named[0].length;
          continue;
        }
        if (rest.startsWith('(?:')) {
          out += '(?:';
          i += 3;
          continue;
        }
        const modifier = /^\(\?([ims]*)(?:-([ims]*))?:/.exec(rest);
        if (modifier) {
          out += modifier[0];
          i += modifier[0].length;
          continue;
        }
        throw new Error(`group syntax ${rest.slice(0, 4)}… is not supported`);
      }
      case '{': {
        const rep = /^\{(\d+)(,(\d*))?\}/.exec(p.slice(i));
        if (rep) {
          out += rep[0];
          i += rep[0].length;
        } else {
          out += '\\{';
          i += 1;
        }
        continue;
      }
      case '}':
      case ']':
        out += `\\${c}`;
        i += 1;
        continue;
      default:
        out += c;
        i += 1;
    }
  }
  if (inClass) throw new Error('missing closing ]');
  return { source: out, flags: flags.replace('s', '') };
}
