/** Unit tests are pure and fast; integration and e2e tests run against the sandbox's real servers. */
const transform = {
  '^.+\\.ts$': ['ts-jest', { useESM: true, tsconfig: 'tsconfig.json' }],
};
const common = {
  extensionsToTreatAsEsm: ['.ts'],
  transform,
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  testEnvironment: 'node',
  // etcd's data (.snap files among it) and the bundle are not the project's tests or snapshots
  modulePathIgnorePatterns: ['<rootDir>/.sandbox/', '<rootDir>/dist/'],
  watchPathIgnorePatterns: ['<rootDir>/.sandbox/'],
};

export default {
  projects: [
    { ...common, displayName: 'unit', testMatch: ['<rootDir>/__tests__/unit/**/*.test.ts'] },
    {
      ...common,
      displayName: 'sandbox',
      testMatch: ['<rootDir>/__tests__/{integration,e2e}/**/*.test.ts'],
      globalSetup: '<rootDir>/__tests__/helpers/global-setup.js',
      globalTeardown: '<rootDir>/__tests__/helpers/global-teardown.js',
    },
  ],
  testTimeout: 120000,
};
