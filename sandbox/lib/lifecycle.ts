import { spawn } from 'node:child_process';
import { mkdirSync, openSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, statePath } from './paths.ts';
import { readState, type SandboxState } from './state.ts';

async function alive(s: SandboxState): Promise<boolean> {
  try {
    process.kill(s.pid, 0);
  } catch {
    return false;
  }
  const res = await fetch(`${s.controlUrl}/status`, { signal: AbortSignal.timeout(3000) }).catch(
    () => undefined,
  );
  return res?.ok === true;
}

/**
 * Starts the supervisor detached (it outlives this command) and waits for its state file. The first
 * start on a machine builds the Go binaries, so the wait allows for that.
 */
export async function sandboxUp(
  log: (line: string) => void = () => {},
  timeoutMs = 45 * 60 * 1000,
): Promise<{ state: SandboxState; started: boolean }> {
  const existing = readState();
  if (existing && (await alive(existing))) return { state: existing, started: false };
  mkdirSync(statePath('logs'), { recursive: true });
  const logFile = statePath('logs', 'supervisor.log');
  const out = openSync(logFile, 'a');
  const start = statSync(logFile).size;
  const child = spawn(process.execPath, [join(ROOT, 'sandbox', 'supervisor.ts')], {
    detached: true,
    stdio: ['ignore', out, out],
    cwd: ROOT,
  });
  child.unref();
  let shown = start;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const text = readFileSync(logFile, 'utf8');
    if (text.length > shown) {
      for (const line of text.slice(shown).split('\n').filter(Boolean)) log(line);
      shown = text.length;
    }
    const s = readState();
    if (s && s.pid === child.pid) return { state: s, started: true };
    if (child.exitCode !== null || /FAILED:/.test(text.slice(start))) {
      throw new Error(`sandbox failed to start; see ${logFile}`);
    }
    try {
      process.kill(child.pid!, 0);
    } catch {
      throw new Error(`sandbox supervisor exited; see ${logFile}`);
    }
    if (Date.now() > deadline)
      throw new Error(`sandbox not ready after ${timeoutMs / 1000} s; see ${logFile}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** Asks the supervisor to stop everything it started and waits until it is gone. */
export async function sandboxDown(timeoutMs = 30000): Promise<boolean> {
  const s = readState();
  if (!s) return false;
  await fetch(`${s.controlUrl}/shutdown`, { method: 'POST' }).catch(() => undefined);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      process.kill(s.pid, 0);
    } catch {
      return true;
    }
    if (Date.now() > deadline) {
      process.kill(s.pid, 'SIGKILL');
      return true;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}
