import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { loadConfig, selectCluster } from '../config/load.ts';
import { loadManifests } from '../config/manifests.ts';
import { renderIssue } from '../config/issues.ts';
import { Refusal } from '../errors.ts';
import { convertV1beta1, renderV1Yaml } from '../manifests/v1beta1.ts';

export interface ConvertResult {
  /** file → the v1 content for every file that held a v1beta1 object. */
  files: Map<string, string>;
  report: string[];
  errors: number;
}

/**
 * Converts the config's v1beta1 manifests to v1, file by file (placeholders kept as written). With
 * `write`, the files are replaced; comments in them are not carried over, which the report says.
 */
export function runConvert(opts: {
  config: string;
  cluster?: string;
  workspace: string;
  write: boolean;
}): ConvertResult {
  const loaded = loadConfig(opts.config, opts.workspace);
  if (!loaded.config) throw new Refusal(`invalid config ${opts.config}`, loaded.issues.map(renderIssue));
  const cluster = selectCluster(loaded.config, opts.cluster);
  const m = loadManifests(loaded.config, cluster, opts.workspace);
  if (m.issues.length > 0)
    throw new Refusal(`invalid manifests for ${cluster.cluster}`, m.issues.map(renderIssue));
  const conv = convertV1beta1(m.objects);
  const report = [
    ...conv.changes.map((c) => `${c.file}:${c.line}: ${c.ref} ${c.path}: ${c.message}`),
    ...conv.findings.map((f) => `${f.file}:${f.line}: ${f.level}: ${f.message} (${f.fix})`),
  ];
  const files = new Map<string, string>();
  const legacyFiles = new Set(m.objects.filter((o) => o.legacy).map((o) => o.file));
  for (const file of legacyFiles) {
    files.set(file, renderV1Yaml(conv.converted.filter((o) => o.file === file)));
  }
  const errors = conv.findings.filter((f) => f.level === 'error').length;
  if (opts.write && errors === 0) {
    for (const [file, text] of files) writeFileSync(resolve(opts.workspace, file), text);
    if (files.size > 0)
      report.push(`wrote ${[...files.keys()].join(', ')} (comments in those files are not kept)`);
  }
  return { files, report, errors };
}
