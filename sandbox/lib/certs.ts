import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface Pki {
  dir: string;
  caCert: string;
  caKey: string;
  serverCert: string;
  serverKey: string;
  adminCert: string;
  adminKey: string;
  saPub: string;
  saKey: string;
}

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

/**
 * One CA per sandbox signs the API servers' serving certificate (loopback SANs) and an admin client
 * certificate in system:masters, which plays the part of Karpenter's controller in tests.
 */
export function ensurePki(dir: string): Pki {
  const p: Pki = {
    dir,
    caCert: join(dir, 'ca.crt'),
    caKey: join(dir, 'ca.key'),
    serverCert: join(dir, 'apiserver.crt'),
    serverKey: join(dir, 'apiserver.key'),
    adminCert: join(dir, 'admin.crt'),
    adminKey: join(dir, 'admin.key'),
    saPub: join(dir, 'sa.pub'),
    saKey: join(dir, 'sa.key'),
  };
  if (existsSync(p.saPub)) return p;
  mkdirSync(dir, { recursive: true });
  const days = '3650';
  openssl(
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      p.caKey,
      '-out',
      p.caCert,
      '-days',
      days,
      '-subj',
      '/CN=sandbox-eks-ca',
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign,digitalSignature',
    ],
    dir,
  );
  writeFileSync(
    join(dir, 'server.ext'),
    'subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default.svc\n' +
      'extendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature,keyEncipherment\n',
  );
  openssl(
    [
      'req',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      p.serverKey,
      '-out',
      'apiserver.csr',
      '-subj',
      '/CN=kube-apiserver',
    ],
    dir,
  );
  openssl(
    [
      'x509',
      '-req',
      '-in',
      'apiserver.csr',
      '-CA',
      p.caCert,
      '-CAkey',
      p.caKey,
      '-CAcreateserial',
      '-out',
      p.serverCert,
      '-days',
      days,
      '-extfile',
      'server.ext',
    ],
    dir,
  );
  writeFileSync(
    join(dir, 'client.ext'),
    'extendedKeyUsage=clientAuth\nkeyUsage=critical,digitalSignature,keyEncipherment\n',
  );
  openssl(
    [
      'req',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      p.adminKey,
      '-out',
      'admin.csr',
      '-subj',
      '/O=system:masters/CN=sandbox-admin',
    ],
    dir,
  );
  openssl(
    [
      'x509',
      '-req',
      '-in',
      'admin.csr',
      '-CA',
      p.caCert,
      '-CAkey',
      p.caKey,
      '-CAcreateserial',
      '-out',
      p.adminCert,
      '-days',
      days,
      '-extfile',
      'client.ext',
    ],
    dir,
  );
  openssl(['genrsa', '-out', p.saKey, '2048'], dir);
  openssl(['rsa', '-in', p.saKey, '-pubout', '-out', p.saPub], dir);
  return p;
}

export const readPem = (path: string): string => readFileSync(path, 'utf8');
