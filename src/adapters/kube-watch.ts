import { KubeApiError } from './kube-http.ts';
import { resourcePath, type KubeObject, type KubePort, type KubeResource } from './kube.ts';

export interface WatchResult {
  /** True when the predicate held before the deadline. */
  ok: boolean;
  /** The object as last seen (undefined when it does not exist). */
  last: KubeObject | undefined;
  /** Milliseconds from the start until the predicate held, or until the deadline. */
  elapsedMs: number;
}

interface WatchEvent {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  object: KubeObject & { code?: number };
}

/**
 * Waits until one object satisfies `done`, by watching it rather than polling: a GET for the current
 * state and resourceVersion, then a watch from there that resumes from the last resourceVersion when
 * the server closes the stream, and starts over with a fresh GET when that version is gone (410).
 */
export async function watchUntil(
  kube: KubePort,
  res: KubeResource,
  target: { name: string; namespace?: string },
  done: (obj: KubeObject | undefined) => boolean,
  timeoutMs: number,
): Promise<WatchResult> {
  const started = Date.now();
  const deadline = started + timeoutMs;
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), timeoutMs);
  let last: KubeObject | undefined;
  try {
    for (;;) {
      last = await kube.get(res, target.name, target.namespace);
      if (done(last)) return { ok: true, last, elapsedMs: Date.now() - started };
      let rv = last?.metadata?.resourceVersion ?? (await listVersion(kube, res, target.namespace));
      let restart = false;
      while (!restart) {
        if (Date.now() >= deadline) return { ok: false, last, elapsedMs: Date.now() - started };
        let matched = false;
        const remaining = Math.max(1, Math.ceil((deadline - Date.now()) / 1000));
        try {
          await kube.http.stream(
            resourcePath(res, target.namespace),
            {
              query: {
                watch: 'true',
                fieldSelector: `metadata.name=${target.name}`,
                resourceVersion: rv,
                allowWatchBookmarks: 'true',
                timeoutSeconds: String(Math.min(remaining, 300)),
              },
              signal: abort.signal,
            },
            (e) => {
              const ev = e as WatchEvent;
              if (ev.type === 'ERROR') {
                if (ev.object.code === 410) restart = true;
                return;
              }
              if (ev.object.metadata?.resourceVersion) rv = ev.object.metadata.resourceVersion;
              if (ev.type === 'BOOKMARK') return;
              last = ev.type === 'DELETED' ? undefined : ev.object;
              if (!matched && done(last)) {
                matched = true;
                abort.abort();
              }
            },
          );
        } catch (e) {
          if (e instanceof KubeApiError && e.code === 410) restart = true;
          else if (!abort.signal.aborted) throw e;
        }
        if (matched) return { ok: true, last, elapsedMs: Date.now() - started };
        if (abort.signal.aborted) return { ok: false, last, elapsedMs: Date.now() - started };
      }
    }
  } finally {
    clearTimeout(timer);
  }
}

async function listVersion(kube: KubePort, res: KubeResource, namespace?: string): Promise<string> {
  const list = await kube.http.request<{ metadata?: { resourceVersion?: string } }>(
    'GET',
    resourcePath(res, namespace),
    { query: { limit: '1' } },
  );
  return list.metadata?.resourceVersion ?? '0';
}
