/**
 * What only Helm's release records tell, checked by the install stage's apply before its first write
 * (the plan reads no Secret): an interrupted operation, and a release that is another chart's.
 */
import { Refusal } from '../../src/errors.ts';
import { evaluateReleaseRecords, type ReleaseRecords } from '../../src/install/release-records.ts';

const records = (o: Partial<ReleaseRecords> = {}): ReleaseRecords => ({
  name: 'karpenter',
  namespace: 'kube-system',
  use: 'upgrade',
  chart: 'karpenter',
  history: [
    { revision: 1, status: 'superseded', chart: 'karpenter-1.8.2' },
    { revision: 2, status: 'deployed', chart: 'karpenter-1.8.2' },
  ],
  ...o,
});

test('deployed, failed, uninstalled and missing releases pass', () => {
  expect(evaluateReleaseRecords([records()])).toBeUndefined();
  expect(
    evaluateReleaseRecords([
      records({ history: [{ revision: 1, status: 'failed', chart: 'karpenter-1.8.2' }] }),
      records({ name: 'karpenter-crd', chart: 'karpenter-crd', history: [] }),
      records({ use: 'forget', history: [] }),
    ]),
  ).toBeUndefined();
});

test('an interrupted helm upgrade stops the apply, with a rollback to the last deployed revision', () => {
  const r = evaluateReleaseRecords([
    records({
      history: [
        { revision: 3, status: 'deployed', chart: 'karpenter-1.8.2' },
        { revision: 4, status: 'pending-upgrade', chart: 'karpenter-1.14.1' },
      ],
    }),
  ]);
  expect(r).toBeInstanceOf(Refusal);
  expect(r!.message).toBe(
    "Helm's release records stop the install stage; nothing in it was applied: Helm release kube-system/karpenter is pending-upgrade at revision 4: an install, upgrade or rollback was interrupted and Helm refuses another",
  );
  expect(r!.details[0]).toBe(
    'roll back to the last deployed revision: `helm rollback karpenter 3 -n kube-system`',
  );
});

test('an interrupted first install of the CRD release is never fixed by uninstalling it', () => {
  const r = evaluateReleaseRecords([
    records({
      name: 'karpenter-crd',
      chart: 'karpenter-crd',
      history: [{ revision: 1, status: 'pending-install', chart: 'karpenter-crd-1.8.2' }],
    }),
  ]);
  expect(r!.details[0]).toMatch(
    /kubectl delete secret -n kube-system sh\.helm\.release\.v1\.karpenter-crd\.v1/,
  );
  expect(r!.details[0]).toMatch(/never `helm uninstall` the CRD release/);
});

test('a release the objects’ labels took for Karpenter’s but whose record names another chart is refused', () => {
  const r = evaluateReleaseRecords([
    records({
      name: 'platform',
      use: 'uninstall',
      history: [{ revision: 7, status: 'deployed', chart: 'platform-2.3.0' }],
    }),
  ]);
  expect(r!.message).toContain(
    'Helm release kube-system/platform is a release of chart platform-2.3.0, not of the karpenter chart',
  );
  expect(r!.details[0]).toMatch(/take Karpenter out of release kube-system\/platform/);
  const gone = evaluateReleaseRecords([records({ name: 'old', use: 'uninstall', history: [] })]);
  expect(gone!.message).toContain('Helm release kube-system/old has no release records');
});
