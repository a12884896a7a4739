/** Line breaks and control characters in a name or message would start a new markdown block. */
function oneLine(text: string): string {
  return text.replace(/[\r\n\u2028\u2029\t]+/g, ' ').replace(/\p{Cc}/gu, '');
}

/**
 * Text from the config, the cluster or AWS, made inert in markdown: it cannot open a tag, a code
 * span, emphasis, a link or a table cell, and cannot start a block of its own.
 */
export function escapeMarkdown(text: string): string {
  return oneLine(text)
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/[\\`*_[\]|~#]/g, '\\$&');
}

function longestRun(text: string, char: string): number {
  let longest = 0;
  let run = 0;
  for (const c of text) {
    run = c === char ? run + 1 : 0;
    if (run > longest) longest = run;
  }
  return longest;
}

/**
 * A code span around any text: the delimiter is longer than any backtick run inside, so a name with
 * backticks stays one span. Not for table cells, where GitHub splits on `|` before reading spans.
 */
export function codeSpan(text: string): string {
  const body = oneLine(text);
  const ticks = '`'.repeat(longestRun(body, '`') + 1);
  const pad = body.startsWith('`') || body.endsWith('`') || (body.startsWith(' ') && body.endsWith(' '));
  return pad ? `${ticks} ${body} ${ticks}` : `${ticks}${body}${ticks}`;
}

/** A fenced code block whose fence no line of the content can close. */
export function codeFence(content: string, lang = ''): string {
  const fence = '`'.repeat(Math.max(3, longestRun(content, '`') + 1));
  return `${fence}${lang}\n${content}\n${fence}`;
}

/** A link target that cannot end the link early or break out of the markdown. */
export function escapeUrl(url: string): string {
  return oneLine(url).replace(
    /[\s()<>[\]"'`]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`,
  );
}

/** Text for HTML contexts such as `<summary>`, where markdown escapes do not apply. */
export function escapeHtml(text: string): string {
  return oneLine(text)
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;');
}
