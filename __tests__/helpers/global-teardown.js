import { sandboxDown } from '../../sandbox/lib/lifecycle.ts';

export default async function globalTeardown() {
  if (globalThis.__sandboxStartedByJest) await sandboxDown();
}
