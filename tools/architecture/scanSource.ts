/** One string literal of a source file: its value and where it starts (offset of the quote). */
export interface StringLiteral {
  value: string;
  offset: number;
}

/** A TypeScript source with comments and string contents blanked, and its string literals. */
export interface ScannedSource {
  /** The source, same length, comments and the contents of strings/templates/regexes as spaces. */
  code: string;
  /** Single- and double-quoted string literals (the only form an import specifier takes). */
  strings: StringLiteral[];
}

/** Characters after which a `/` starts a regular expression rather than a division. */
const BEFORE_REGEX = new Set([...'(,=:[!&|?{};+-*%<>~^'.split(''), '']);

/**
 * Splits a TypeScript source into code and literals without a parser: comments are removed,
 * string, template and regex contents blanked (so that `from '@x'` inside a message or a comment
 * is not taken for an import, and `dataSync` in a comment is not a read-back). A `/` counts as a
 * regex start after an operator, an opening bracket or `return`.
 */
export function scanSource(src: string): ScannedSource {
  const out = src.split('');
  const strings: StringLiteral[] = [];
  const blank = (from: number, to: number): void => {
    for (let k = from; k < to; k++) if (out[k] !== '\n') out[k] = ' ';
  };
  let last = '';
  let i = 0;
  while (i < src.length) {
    const c = src[i]!;
    const next = src[i + 1];
    if (c === '/' && next === '/') {
      const end = src.indexOf('\n', i);
      const stop = end === -1 ? src.length : end;
      blank(i, stop);
      i = stop;
    } else if (c === '/' && next === '*') {
      const end = src.indexOf('*/', i + 2);
      const stop = end === -1 ? src.length : end + 2;
      blank(i, stop);
      i = stop;
    } else if (c === "'" || c === '"') {
      let j = i + 1;
      let value = '';
      while (j < src.length && src[j] !== c && src[j] !== '\n') {
        if (src[j] === '\\') {
          value += src[j + 1] ?? '';
          j += 2;
        } else value += src[j++];
      }
      strings.push({ value, offset: i });
      blank(i + 1, j);
      i = j + 1;
      last = c;
    } else if (c === '`') {
      let j = i + 1;
      let depth = 0;
      while (j < src.length) {
        if (src[j] === '\\') j += 2;
        else if (depth === 0 && src[j] === '`') break;
        else if (src[j] === '$' && src[j + 1] === '{') {
          depth++;
          j += 2;
        } else if (depth > 0 && src[j] === '}') {
          depth--;
          j++;
        } else j++;
      }
      blank(i + 1, j);
      i = j + 1;
      last = '`';
    } else if (c === '/' && (BEFORE_REGEX.has(last) || /\breturn\s*$/.test(src.slice(0, i)))) {
      let j = i + 1;
      let inClass = false;
      while (j < src.length && src[j] !== '\n') {
        const d = src[j];
        if (d === '/' && !inClass) break;
        if (d === '[') inClass = true;
        else if (d === ']') inClass = false;
        j += d === '\\' ? 2 : 1;
      }
      blank(i + 1, j);
      i = j + 1;
      last = '/';
    } else {
      if (!/\s/.test(c)) last = c;
      i++;
    }
  }
  return { code: out.join(''), strings };
}

/** A module specifier found in a source, with its 1-based line. */
export interface ImportSpecifier {
  specifier: string;
  line: number;
}

/**
 * Every module specifier of a source: `import … from 'x'`, `import 'x'`, `export … from 'x'`,
 * `import('x')`, `require('x')` (type-only imports included).
 */
export function importSpecifiers(src: string): ImportSpecifier[] {
  const { code, strings } = scanSource(src);
  const found: ImportSpecifier[] = [];
  for (const s of strings) {
    const before = code.slice(Math.max(0, s.offset - 40), s.offset);
    if (/(\bfrom|\bimport|\bimport\s*\(|\brequire\s*\()\s*$/.test(before)) {
      found.push({ specifier: s.value, line: lineOf(src, s.offset) });
    }
  }
  return found;
}

/** The 1-based line of `offset` in `src`. */
export function lineOf(src: string, offset: number): number {
  let line = 1;
  for (let k = 0; k < offset; k++) if (src.charCodeAt(k) === 10) line++;
  return line;
}
