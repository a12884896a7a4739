import { KubeApiError, KubeWatchLineError } from './kube-http.ts';
import {
  isTransientKubeError,
  readListPages,
  resourcePath,
  type KubeObject,
  type KubePort,
  type KubeResource,
  type ListScope,
} from './kube.ts';

export interface WatchResult {
  /** True when the predicate held before the deadline. */
  ok: boolean;
  /** The object as last seen (undefined when it does not exist). */
  last: KubeObject | undefined;
  /** Milliseconds from the start until the predicate held, or until the deadline. */
  elapsedMs: number;
}

export interface CollectionWatchResult {
  ok: boolean;
  /** The matching objects as last seen, in creation order. */
  items: KubeObject[];
  elapsedMs: number;
}

interface WatchEvent {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  object: KubeObject & { code?: number };
}

/** Malformed streams in a row after which a watch gives up rather than relisting forever. */
const MAX_BAD_LINES = 3;
const keyOf = (o: KubeObject) =>
  o.metadata?.uid ?? `${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''}`;
const createdAt = (o: KubeObject) =>
  Date.parse((o.metadata as { creationTimestamp?: string } | undefined)?.creationTimestamp ?? '') || 0;
const ordered = (m: Map<string, KubeObject>) => [...m.values()].sort((a, b) => createdAt(a) - createdAt(b));

/**
 * Waits until the objects a scope selects satisfy `done`, by watching rather than polling: a LIST for
 * the current state and its resourceVersion, then a watch from there that resumes from the last
 * resourceVersion when the server closes the stream, and lists afresh when that version is gone (410).
 * A line that is not JSON (a proxy's error page) also lists afresh; three such streams in a row
 * without one good event in between fail the wait with the line's first bytes.
 * An external signal ends the wait early, as a timeout does.
 */
export async function watchCollectionUntil(
  kube: KubePort,
  res: KubeResource,
  scope: ListScope,
  done: (items: KubeObject[]) => boolean,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<CollectionWatchResult> {
  const started = Date.now();
  const deadline = started + timeoutMs;
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), timeoutMs);
  const onOuterAbort = () => abort.abort();
  signal?.addEventListener('abort', onOuterAbort);
  if (signal?.aborted) abort.abort();
  const path = resourcePath(res, scope.namespace);
  const seen = new Map<string, KubeObject>();
  let badLines = 0;
  const result = (ok: boolean) => ({ ok, items: ordered(seen), elapsedMs: Date.now() - started });
  try {
    for (;;) {
      seen.clear();
      const listed = await readListPages(kube.http, res, scope);
      for (const o of listed.items) seen.set(keyOf(o), o);
      let rv = listed.resourceVersion;
      if (done(ordered(seen))) return result(true);
      let restart = false;
      while (!restart) {
        if (abort.signal.aborted || Date.now() >= deadline) return result(false);
        let matched = false;
        const remaining = Math.max(1, Math.ceil((deadline - Date.now()) / 1000));
        try {
          await kube.http.stream(
            path,
            {
              query: {
                labelSelector: scope.labelSelector,
                fieldSelector: scope.fieldSelector,
                watch: 'true',
                resourceVersion: rv,
                allowWatchBookmarks: 'true',
                timeoutSeconds: String(Math.min(remaining, 300)),
              },
              signal: abort.signal,
            },
            (e) => {
              const ev = e as WatchEvent;
              if (typeof ev?.object !== 'object' || ev.object === null)
                throw new KubeWatchLineError(path, JSON.stringify(e) ?? String(e));
              badLines = 0;
              if (ev.type === 'ERROR') {
                if (ev.object.code === 410) restart = true;
                return;
              }
              if (ev.object.metadata?.resourceVersion) rv = ev.object.metadata.resourceVersion;
              if (ev.type === 'BOOKMARK') return;
              if (ev.type === 'DELETED') seen.delete(keyOf(ev.object));
              else seen.set(keyOf(ev.object), ev.object);
              if (!matched && done(ordered(seen))) {
                matched = true;
                abort.abort();
              }
            },
          );
        } catch (e) {
          if (e instanceof KubeApiError && e.code === 410) restart = true;
          else if (abort.signal.aborted) return result(matched);
          else if (e instanceof KubeWatchLineError && ++badLines < MAX_BAD_LINES) {
            await new Promise((r) => setTimeout(r, 200 * badLines));
            restart = true;
          } else if (isTransientKubeError(e)) await new Promise((r) => setTimeout(r, 500));
          else throw e;
        }
        if (matched) return result(true);
      }
    }
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener('abort', onOuterAbort);
  }
}

/** Waits until one object (or its absence: `done(undefined)`) satisfies `done`; see watchCollectionUntil. */
export async function watchUntil(
  kube: KubePort,
  res: KubeResource,
  target: { name: string; namespace?: string },
  done: (obj: KubeObject | undefined) => boolean,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<WatchResult> {
  const r = await watchCollectionUntil(
    kube,
    res,
    { namespace: target.namespace, fieldSelector: `metadata.name=${target.name}` },
    (items) => done(items[0]),
    timeoutMs,
    signal,
  );
  return { ok: r.ok, last: r.items[0], elapsedMs: r.elapsedMs };
}
