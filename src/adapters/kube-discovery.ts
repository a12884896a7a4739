import { KubeApiError, type KubeHttp } from './kube-http.ts';
import type { KubeResource } from './kube.ts';

interface ApiResourceList {
  resources?: { name: string; kind: string; namespaced: boolean }[];
}

/**
 * Finds where a kind lives (plural, namespaced) through the API server's discovery documents, one
 * request per group version, as kubectl does; rendered chart objects can be of any kind.
 */
export class KubeDiscovery {
  private readonly http: KubeHttp;
  private readonly cache = new Map<string, Promise<ApiResourceList | undefined>>();

  constructor(http: KubeHttp) {
    this.http = http;
  }

  private groupVersion(apiVersion: string): Promise<ApiResourceList | undefined> {
    let p = this.cache.get(apiVersion);
    if (!p) {
      const path = apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
      p = this.http.request<ApiResourceList>('GET', path).catch((e: unknown) => {
        if (e instanceof KubeApiError && e.code === 404) return undefined;
        throw e;
      });
      this.cache.set(apiVersion, p);
    }
    return p;
  }

  /** Forgets what was learned, e.g. after CRDs were installed. */
  reset(): void {
    this.cache.clear();
  }

  /** The resource of `apiVersion`/`kind`, or undefined when the API server does not serve it (yet). */
  async resolve(apiVersion: string, kind: string): Promise<KubeResource | undefined> {
    const list = await this.groupVersion(apiVersion);
    const r = list?.resources?.find((x) => x.kind === kind && !x.name.includes('/'));
    if (!r) return undefined;
    const [group, version] = apiVersion.includes('/') ? apiVersion.split('/') : ['', apiVersion];
    return { group: group!, version: version!, plural: r.name, kind, namespaced: r.namespaced };
  }
}
