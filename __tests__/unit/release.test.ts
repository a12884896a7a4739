import {
  compareMinors,
  compareReleases,
  isBeforeMinor,
  minorOf,
  parseRelease,
  readLeadingRelease,
} from '../../src/util/release.ts';

test('parseRelease reads X.Y.Z with a leading v, pre-releases and X.Y unless strict', () => {
  expect(parseRelease('1.15.2')?.version).toBe('1.15.2');
  expect(parseRelease(' v1.15.2 ')?.version).toBe('1.15.2');
  expect(parseRelease('1.15')?.version).toBe('1.15.0');
  expect(parseRelease('1.15.0-rc.1')?.prerelease).toEqual(['rc', 1]);
  expect(parseRelease('1.15', { strict: true })).toBeUndefined();
  expect(parseRelease('1.15.0-rc.1', { strict: true })).toBeUndefined();
  expect(parseRelease('v1.15.2', { strict: true })?.version).toBe('1.15.2');
  for (const bad of ['', 'latest', '1', '1.x', 'vv1.2.3', undefined])
    expect(parseRelease(bad)).toBeUndefined();
});

test('releases compare as semver, minors by X.Y alone', () => {
  const v = (s: string) => parseRelease(s)!;
  expect(
    ['1.15.2', '1.9.0', '1.15.0-rc.1', '1.15.0', '0.37.7']
      .map(v)
      .sort(compareReleases)
      .map((x) => x.version),
  ).toEqual(['0.37.7', '1.9.0', '1.15.0-rc.1', '1.15.0', '1.15.2']);
  expect(minorOf(v('1.15.2'))).toBe('1.15');
  expect(compareMinors('1.30.2', '1.30')).toBe(0);
  expect(compareMinors('1.9', '1.30')).toBeLessThan(0);
  expect(isBeforeMinor('1.6.3', '1.7')).toBe(true);
  expect(isBeforeMinor('1.7.0', '1.7')).toBe(false);
});

test('readLeadingRelease takes the version off the front of a tool version string', () => {
  expect(readLeadingRelease('v3.22.0+g1a2b3c4')?.version).toBe('3.22.0');
  expect(readLeadingRelease('helm v3')).toBeUndefined();
});
