import type { KubeHttp } from './kube-http.ts';
import { KubeApiError } from './kube-http.ts';
import { withRetry } from '../util/concurrency.ts';

export type KubeObject = Record<string, unknown> & {
  apiVersion?: string;
  kind?: string;
  metadata?: {
    name?: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    uid?: string;
    resourceVersion?: string;
  };
};

/** A status condition, as Kubernetes and Karpenter write them. */
export interface Condition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
  observedGeneration?: number;
}

/** An object's status conditions (none when it has no status yet). */
export const conditionsOf = (o: KubeObject | undefined): Condition[] =>
  ((o?.status as { conditions?: Condition[] } | undefined)?.conditions ?? []).filter((c) => !!c.type);

/** One condition of an object, by type. */
export const conditionOf = (o: KubeObject | undefined, type: string): Condition | undefined =>
  conditionsOf(o).find((c) => c.type === type);

/** Where a kind lives in the API. */
export interface KubeResource {
  group: string;
  version: string;
  plural: string;
  kind: string;
  namespaced: boolean;
}

export const FIELD_MANAGER = 'karpenter-action';

/** The Kubernetes operations the stages need; the real one is KubeClient, tests may pass others for error paths. */
export interface KubePort {
  list(res: KubeResource, scope?: ListScope): Promise<KubeObject[]>;
  get(res: KubeResource, name: string, namespace?: string): Promise<KubeObject | undefined>;
  /** Server-side apply with the action's field manager, taking over conflicting fields (force). */
  apply(res: KubeResource, obj: KubeObject, opts: { dryRun: boolean }): Promise<KubeObject>;
  /** Creates the object; a 409 AlreadyExists comes back as KubeApiError. */
  create(res: KubeResource, obj: KubeObject): Promise<KubeObject>;
  /**
   * Replaces the object only if it is still at obj.metadata.resourceVersion: a concurrent writer makes
   * this fail with 409 Conflict instead of being overwritten.
   */
  replace(res: KubeResource, obj: KubeObject): Promise<KubeObject>;
  /** Deletes only the object with this uid, so a recreated object of the same name is never removed. */
  delete(
    res: KubeResource,
    name: string,
    opts: { namespace?: string; uid?: string; dryRun?: boolean },
  ): Promise<boolean>;
  readonly http: KubeHttp;
}

export function resourcePath(res: KubeResource, namespace?: string, name?: string): string {
  const base = res.group ? `/apis/${res.group}/${res.version}` : `/api/${res.version}`;
  const ns = res.namespaced && namespace ? `/namespaces/${encodeURIComponent(namespace)}` : '';
  return `${base}${ns}/${res.plural}${name ? `/${encodeURIComponent(name)}` : ''}`;
}

/** Throttling, server errors and dropped connections are worth another try; anything else is an answer. */
export function isTransientKubeError(e: unknown): boolean {
  if (e instanceof KubeApiError) return e.code === 429 || e.code >= 500;
  const code = (e as { code?: string }).code;
  return (
    typeof code === 'string' &&
    ['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'UND_ERR_SOCKET'].includes(code)
  );
}

/** Which objects of a kind a LIST or a watch selects; `namespace` is ignored for cluster-scoped kinds. */
export interface ListScope {
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
}

/**
 * Every page of a LIST (retried when transient), with the list's resourceVersion, from which a watch
 * goes on without missing a change.
 */
export async function readListPages(
  http: KubeHttp,
  res: KubeResource,
  scope: ListScope = {},
): Promise<{ items: KubeObject[]; resourceVersion: string }> {
  const items: KubeObject[] = [];
  let resourceVersion = '';
  let cont: string | undefined;
  do {
    const page = await withRetry(
      () =>
        http.request<{ items?: KubeObject[]; metadata?: { continue?: string; resourceVersion?: string } }>(
          'GET',
          resourcePath(res, scope.namespace),
          {
            query: {
              labelSelector: scope.labelSelector,
              fieldSelector: scope.fieldSelector,
              limit: '500',
              continue: cont,
            },
          },
        ),
      isTransientKubeError,
    );
    for (const it of page.items ?? [])
      items.push({
        apiVersion: `${res.group ? `${res.group}/` : ''}${res.version}`,
        kind: res.kind,
        ...it,
      });
    resourceVersion = page.metadata?.resourceVersion ?? resourceVersion;
    cont = page.metadata?.continue || undefined;
  } while (cont);
  return { items, resourceVersion };
}

export class KubeClient implements KubePort {
  readonly http: KubeHttp;
  constructor(http: KubeHttp) {
    this.http = http;
  }

  async list(res: KubeResource, scope: ListScope = {}): Promise<KubeObject[]> {
    return (await readListPages(this.http, res, scope)).items;
  }

  async get(res: KubeResource, name: string, namespace?: string): Promise<KubeObject | undefined> {
    try {
      return await withRetry(
        () => this.http.request<KubeObject>('GET', resourcePath(res, namespace, name)),
        isTransientKubeError,
      );
    } catch (e) {
      if (e instanceof KubeApiError && e.code === 404) return undefined;
      throw e;
    }
  }

  apply(res: KubeResource, obj: KubeObject, opts: { dryRun: boolean }): Promise<KubeObject> {
    const name = obj.metadata?.name ?? '';
    return withRetry(
      () =>
        this.http.request<KubeObject>('PATCH', resourcePath(res, obj.metadata?.namespace, name), {
          query: {
            fieldManager: FIELD_MANAGER,
            force: 'true',
            fieldValidation: 'Strict',
            dryRun: opts.dryRun ? 'All' : undefined,
          },
          contentType: 'application/apply-patch+yaml',
          body: obj,
        }),
      isTransientKubeError,
    );
  }

  create(res: KubeResource, obj: KubeObject): Promise<KubeObject> {
    return withRetry(
      () =>
        this.http.request<KubeObject>('POST', resourcePath(res, obj.metadata?.namespace), {
          query: { fieldManager: FIELD_MANAGER },
          body: obj,
        }),
      isTransientKubeError,
    );
  }

  replace(res: KubeResource, obj: KubeObject): Promise<KubeObject> {
    if (!obj.metadata?.resourceVersion) throw new Error('replace needs metadata.resourceVersion');
    return withRetry(
      () =>
        this.http.request<KubeObject>('PUT', resourcePath(res, obj.metadata?.namespace, obj.metadata?.name), {
          query: { fieldManager: FIELD_MANAGER },
          body: obj,
        }),
      isTransientKubeError,
    );
  }

  async delete(
    res: KubeResource,
    name: string,
    opts: { namespace?: string; uid?: string; dryRun?: boolean },
  ): Promise<boolean> {
    try {
      await withRetry(
        () =>
          this.http.request('DELETE', resourcePath(res, opts.namespace, name), {
            query: { dryRun: opts.dryRun ? 'All' : undefined },
            body: {
              kind: 'DeleteOptions',
              apiVersion: 'v1',
              ...(opts.uid ? { preconditions: { uid: opts.uid } } : {}),
            },
          }),
        isTransientKubeError,
      );
      return true;
    } catch (e) {
      if (e instanceof KubeApiError && e.code === 404) return false;
      throw e;
    }
  }
}
