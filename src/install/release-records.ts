import { Refusal } from '../errors.ts';
import { parseChartLabel } from './detect.ts';

/** One revision of a release as `helm history` prints it; only what the check reads. */
export interface ReleaseRevision {
  revision: number;
  status: string;
  /** `<chart>-<version>`, as helm prints it. */
  chart: string;
}

/**
 * A release the install stage's apply is about to act on, with Helm's records of it (oldest first).
 * `upgrade` is a `helm upgrade --install` of `chart`; `uninstall` and `forget` act on a release the plan
 * took for one of `chart` from its objects' labels and annotations.
 */
export interface ReleaseRecords {
  name: string;
  namespace: string;
  use: 'upgrade' | 'uninstall' | 'forget';
  chart: 'karpenter' | 'karpenter-crd';
  history: readonly ReleaseRevision[];
}

/**
 * What only Helm's release records know, checked where they may be read: by the apply identity, before
 * the install stage's first write. The plan derives releases from live objects and reads no Secret,
 * so an interrupted Helm operation (a `pending-*` latest revision, which Helm refuses to build on) or a
 * release that is not of the chart its objects suggest (an umbrella chart, whose subchart labels its
 * objects `karpenter-…`) is caught here, with the fix, and nothing is changed.
 */
export function evaluateReleaseRecords(records: readonly ReleaseRecords[]): Refusal | undefined {
  const problems: { message: string; fix: string }[] = [];
  for (const r of records) {
    const id = `${r.namespace}/${r.name}`;
    const latest = r.history.at(-1);
    if (!latest) {
      if (r.use === 'uninstall')
        problems.push({
          message: `Helm release ${id} has no release records, though its objects are annotated with it`,
          fix: `remove the meta.helm.sh/release-name and meta.helm.sh/release-namespace annotations from the objects of ${id} (the release no longer exists), then plan again`,
        });
      continue;
    }
    const chart = parseChartLabel(latest.chart)?.name ?? latest.chart;
    if (chart !== r.chart) {
      problems.push({
        message: `Helm release ${id} is a release of chart ${latest.chart}, not of the ${r.chart} chart its objects' labels suggest (an umbrella chart, or another project's release)`,
        fix:
          r.use === 'upgrade'
            ? `install Karpenter under another release name or namespace, or take Karpenter out of release ${id}, then plan again`
            : `take Karpenter out of release ${id} (its other objects are not the action's to remove), then plan again`,
      });
      continue;
    }
    if (!latest.status.startsWith('pending-')) continue;
    const deployed = [...r.history].reverse().find((x) => x.status === 'deployed');
    const fix =
      deployed && deployed.revision !== latest.revision
        ? `roll back to the last deployed revision: \`helm rollback ${r.name} ${deployed.revision} -n ${r.namespace}\``
        : `delete the record of the interrupted operation: \`kubectl delete secret -n ${r.namespace} sh.helm.release.v1.${r.name}.v${latest.revision}\`${
            r.chart === 'karpenter-crd'
              ? ' (never `helm uninstall` the CRD release: it deletes the CRDs)'
              : ''
          }`;
    problems.push({
      message: `Helm release ${id} is ${latest.status} at revision ${latest.revision}: an install, upgrade or rollback was interrupted and Helm refuses another`,
      fix,
    });
  }
  if (problems.length === 0) return undefined;
  return new Refusal(
    `Helm's release records stop the install stage; nothing in it was applied: ${problems.map((p) => p.message).join('; ')}`,
    [
      ...problems.map((p) => p.fix),
      'the plan reads no Secret, so it cannot show this; the apply checks Helm release records before its first write',
    ],
  );
}
