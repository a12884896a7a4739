import { spawn, type ChildProcess } from 'node:child_process';
import { openSync } from 'node:fs';
import { createServer } from 'node:net';

/** A free loopback port, chosen by the kernel. */
/** Ports this process has handed out: the kernel may offer a just-closed port again at once. */
const issued = new Set<number>();

/**
 * A port free on 127.0.0.1 now and not handed out before by this process, so two servers started one
 * after the other (etcd's client and peer ports) never get the same one.
 */
export async function freePort(): Promise<number> {
  for (;;) {
    const port = await new Promise<number>((resolve, reject) => {
      const srv = createServer();
      srv.unref();
      srv.on('error', reject);
      srv.listen(0, '127.0.0.1', () => {
        const addr = srv.address();
        const p = typeof addr === 'object' && addr ? addr.port : 0;
        srv.close(() => resolve(p));
      });
    });
    if (!issued.has(port)) {
      issued.add(port);
      return port;
    }
  }
}

export interface Managed {
  name: string;
  child: ChildProcess;
  logFile: string;
  exited: Promise<number | null>;
}

/** Starts a server process with its output in a log file; the caller owns stopping it. */
export function startProcess(
  name: string,
  cmd: string,
  args: string[],
  logFile: string,
  env?: NodeJS.ProcessEnv,
): Managed {
  const fd = openSync(logFile, 'a');
  const child = spawn(cmd, args, { stdio: ['ignore', fd, fd], env: env ?? process.env });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { name, child, logFile, exited };
}

/** SIGTERM, then SIGKILL if the process is still there after the grace period. */
export async function stopProcess(m: Managed, graceMs = 5000): Promise<void> {
  if (m.child.exitCode !== null || m.child.signalCode !== null) return;
  m.child.kill('SIGTERM');
  const timer = setTimeout(() => m.child.kill('SIGKILL'), graceMs);
  await m.exited;
  clearTimeout(timer);
}

/**
 * Polls until probe gives a value (anything but undefined or false) and returns it; a probe that
 * throws counts as not yet. Fails early with the log's path if the process died.
 */
export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined | false>,
  opts: { timeoutMs: number; proc?: Managed; intervalMs?: number },
): Promise<T> {
  const deadline = Date.now() + opts.timeoutMs;
  for (;;) {
    if (opts.proc && opts.proc.child.exitCode !== null) {
      throw new Error(`${what}: process exited with ${opts.proc.child.exitCode}; see ${opts.proc.logFile}`);
    }
    const value = await probe().catch(() => undefined);
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`${what}: not ready after ${opts.timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, opts.intervalMs ?? 100));
  }
}
