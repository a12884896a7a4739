import { homedir } from 'node:os';
import { join, resolve } from 'node:path';

/** Repository root, found from this file so scripts work from any working directory. */
export const ROOT = resolve(import.meta.dirname, '..', '..');

/** Per-checkout runtime state: env file, certificates, logs, data. Never committed. */
export const STATE_DIR = process.env.KARPENTER_ACTION_SANDBOX_DIR ?? join(ROOT, '.sandbox');

/**
 * Build outputs live outside the work tree, keyed by version and input hash, so a fresh clone or
 * `git clean` never forces the multi-minute Kubernetes build again.
 */
export const CACHE_DIR =
  process.env.KARPENTER_ACTION_CACHE ??
  join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'karpenter-action');

export const statePath = (...parts: string[]): string => join(STATE_DIR, ...parts);
export const cachePath = (...parts: string[]): string => join(CACHE_DIR, ...parts);
