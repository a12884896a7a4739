/** A problem in the user's files, always with the file, line and field, and how to fix it. */
export interface ConfigIssue {
  file: string;
  line?: number;
  field?: string;
  message: string;
  fix?: string;
}

/** `file:line: field: message (fix)`, the form editors and GitHub annotations understand. */
export function renderIssue(i: ConfigIssue): string {
  const where = i.line !== undefined ? `${i.file}:${i.line}` : i.file;
  const field = i.field ? `${i.field}: ` : '';
  return `${where}: ${field}${i.message}${i.fix ? ` (${i.fix})` : ''}`;
}
