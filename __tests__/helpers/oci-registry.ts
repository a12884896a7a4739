import { createHash, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';

/**
 * An in-memory OCI distribution registry over HTTPS, enough for `helm push` and `helm pull`: the
 * sandbox has no registry, and the test needs one that can serve other content under the same tag.
 * It implements the distribution spec's pull and monolithic push endpoints and nothing else.
 */
export interface OciRegistry {
  /** `host:port`, for `oci://host:port/<repo>`. */
  host: string;
  /** Every request, as `METHOD path`. */
  requests: string[];
  /** Points `repo:tag` at a manifest the registry holds, as a registry admin moving a tag would. */
  retag(repo: string, tag: string, digest: string): void;
  close(): Promise<void>;
}

const digestOf = (data: Buffer) => `sha256:${createHash('sha256').update(data).digest('hex')}`;

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/** Starts the registry on 127.0.0.1 with the given serving certificate (one the client's CA trusts). */
export async function startOciRegistry(tls: { cert: string; key: string }): Promise<OciRegistry> {
  const blobs = new Map<string, Buffer>();
  const manifests = new Map<string, { body: Buffer; type: string }>();
  const uploads = new Map<string, Buffer>();
  const requests: string[] = [];

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'https://registry');
    const method = req.method ?? 'GET';
    requests.push(`${method} ${url.pathname}`);
    const body = await readBody(req);
    const send = (status: number, headers: Record<string, string> = {}, data?: Buffer) => {
      res.writeHead(status, { 'Docker-Distribution-API-Version': 'registry/2.0', ...headers });
      res.end(method === 'HEAD' ? undefined : data);
    };
    if (url.pathname === '/v2/' || url.pathname === '/v2') return send(200, {}, Buffer.from('{}'));
    const m =
      /^\/v2\/(.+)\/(blobs\/uploads\/?(.*)|blobs\/(sha256:[0-9a-f]{64})|manifests\/(.+)|tags\/list)$/.exec(
        url.pathname,
      );
    if (!m) return send(404);
    const repo = m[1]!;
    if (m[2]!.startsWith('blobs/uploads')) {
      const id = m[3];
      if (method === 'POST') {
        const session = randomUUID();
        uploads.set(session, Buffer.alloc(0));
        return send(202, { Location: `/v2/${repo}/blobs/uploads/${session}`, 'Content-Length': '0' });
      }
      if (!id || !uploads.has(id)) return send(404);
      const data = Buffer.concat([uploads.get(id)!, body]);
      if (method === 'PATCH') {
        uploads.set(id, data);
        return send(202, { Location: `/v2/${repo}/blobs/uploads/${id}`, Range: `0-${data.length - 1}` });
      }
      const digest = url.searchParams.get('digest');
      if (method !== 'PUT' || !digest || digestOf(data) !== digest) return send(400);
      uploads.delete(id);
      blobs.set(digest, data);
      return send(201, { Location: `/v2/${repo}/blobs/${digest}`, 'Docker-Content-Digest': digest });
    }
    if (m[4]) {
      const blob = blobs.get(m[4]);
      if (!blob) return send(404);
      return send(
        200,
        {
          'Content-Type': 'application/octet-stream',
          'Content-Length': String(blob.length),
          'Docker-Content-Digest': m[4],
        },
        blob,
      );
    }
    if (m[5]) {
      const ref = m[5];
      if (method === 'PUT') {
        const stored = {
          body,
          type: req.headers['content-type'] ?? 'application/vnd.oci.image.manifest.v1+json',
        };
        const digest = digestOf(body);
        manifests.set(`${repo}@${digest}`, stored);
        if (!ref.startsWith('sha256:')) manifests.set(`${repo}:${ref}`, stored);
        return send(201, { Location: `/v2/${repo}/manifests/${digest}`, 'Docker-Content-Digest': digest });
      }
      const found = manifests.get(ref.startsWith('sha256:') ? `${repo}@${ref}` : `${repo}:${ref}`);
      if (!found) return send(404);
      return send(
        200,
        {
          'Content-Type': found.type,
          'Content-Length': String(found.body.length),
          'Docker-Content-Digest': digestOf(found.body),
        },
        found.body,
      );
    }
    const tags = [...manifests.keys()]
      .filter((k) => k.startsWith(`${repo}:`))
      .map((k) => k.slice(repo.length + 1));
    return send(
      200,
      { 'Content-Type': 'application/json' },
      Buffer.from(JSON.stringify({ name: repo, tags })),
    );
  };

  const server = createServer({ cert: readFileSync(tls.cert), key: readFileSync(tls.key) }, (req, res) => {
    handle(req, res).catch(() => {
      res.writeHead(500);
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    host: `127.0.0.1:${port}`,
    requests,
    retag: (repo, tag, digest) => {
      const found = manifests.get(`${repo}@${digest}`);
      if (!found) throw new Error(`the registry has no manifest ${repo}@${digest}`);
      manifests.set(`${repo}:${tag}`, found);
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
