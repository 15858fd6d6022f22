/**
 * The hub's OPC UA PKI: its application instance certificate and its trust list, in one directory per source
 * (`<dataDir>/pki` unless configured), laid out as node-opcua-pki and most OPC UA tools lay it out:
 *
 *   own/certs/client_certificate.pem   the hub's certificate, made on first run (self-signed, 10 years)
 *   own/private/private_key.pem        its key (mode 0600)
 *   trusted/certs/                     server certificates the hub trusts
 *   issuers/certs/                     CA certificates, for servers with CA-signed certificates
 *   rejected/                          server certificates the hub saw and did not trust, named CN[thumbprint].pem
 *
 * Contract: a server certificate is trusted only when it (or its issuer) is in trusted/ — never on first use. Loaded
 * lazily (it imports node-opcua); one store per directory in the process, shared by every endpoint of every source
 * using it, and released when the last one is.
 */
import { chmodSync, existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { OPCUACertificateManager } from 'node-opcua-certificate-manager';
import { OPCUAClient } from 'node-opcua-client';
import { exploreCertificate, makeSHA1Thumbprint, split_der } from 'node-opcua-crypto';
import type { MessageSecurityMode } from 'node-opcua-client';

export interface Pki {
  readonly dir: string;
  readonly cm: OPCUACertificateManager;
  readonly certificateFile: string;
  readonly privateKeyFile: string;
  /** trusted/certs/ */
  readonly trustedDir: string;
  /** rejected/ */
  readonly rejectedDir: string;
  /** Re-reads trusted/ and rejected/ (after an administrator moved a file). */
  reload(): Promise<void>;
  release(): Promise<void>;
}

interface Shared {
  pki: Pki;
  refs: number;
  opening: Promise<void>;
}

const stores = new Map<string, Shared>();

export interface PkiApp {
  applicationName: string;
  applicationUri: string;
}

/** Opens (creating on first run) the PKI in `dir` and the hub's certificate in it. */
export async function openPki(dir: string, app: PkiApp): Promise<Pki> {
  const key = path.resolve(dir);
  let shared = stores.get(key);
  if (!shared) {
    const cm = new OPCUACertificateManager({ rootFolder: key, automaticallyAcceptUnknownCertificate: false, disableFileWatchers: true, name: 'warmgrid' });
    const certificateFile = path.join(key, 'own', 'certs', 'client_certificate.pem');
    const s: Shared = {
      refs: 0,
      opening: Promise.resolve(),
      pki: {
        dir: key,
        cm,
        certificateFile,
        privateKeyFile: cm.privateKey,
        trustedDir: cm.trustedFolder,
        rejectedDir: cm.rejectedFolder,
        reload: () => cm.reloadCertificates(),
        release: async () => {
          if (--s.refs > 0) return;
          stores.delete(key);
          await cm.dispose();
        },
      },
    };
    s.opening = (async () => {
      await cm.initialize();
      if (!existsSync(certificateFile)) {
        // node-opcua makes the certificate with the application name and URI of the client that asks for it.
        const maker = OPCUAClient.create({ applicationName: app.applicationName, applicationUri: app.applicationUri, clientCertificateManager: cm, certificateFile, privateKeyFile: cm.privateKey });
        await maker.createDefaultCertificate();
        await maker.disconnect();
      }
      if (existsSync(cm.privateKey)) chmodSync(cm.privateKey, 0o600);
    })();
    stores.set(key, s);
    shared = s;
  }
  shared.refs++;
  try {
    await shared.opening;
  } catch (err) {
    await shared.pki.release();
    throw err;
  }
  return shared.pki;
}

/** X.520 attribute names as they are usually written (RFC 4514). */
const SHORT_NAMES: Record<string, string> = {
  commonName: 'CN',
  organizationName: 'O',
  organizationalUnitName: 'OU',
  localityName: 'L',
  stateOrProvinceName: 'ST',
  countryName: 'C',
  domainComponent: 'DC',
};

export interface CertificateFacts {
  thumbprint: string;
  subject: string;
  notAfter: string;
  /** Where the hub's store put it (in rejected/), when found there. */
  rejectedFile: string | null;
}

/** SHA-1 thumbprint, subject and validity of a DER certificate (the first of a chain), and its file in rejected/. */
export function certificateFacts(der: Buffer, rejectedDir: string): CertificateFacts {
  const leaf = split_der(der)[0] ?? der;
  const thumbprint = makeSHA1Thumbprint(leaf).toString('hex');
  let subject = '?';
  let notAfter = '?';
  try {
    const tbs = exploreCertificate(leaf).tbsCertificate;
    subject = Object.entries(tbs.subject)
      .filter(([, v]) => typeof v === 'string' && v !== '')
      .map(([k, v]) => `${SHORT_NAMES[k] ?? k}=${String(v)}`)
      .join(', ');
    notAfter = tbs.validity.notAfter.toISOString();
  } catch {
    // An unparsable certificate is still named by its thumbprint.
  }
  const rejectedFile = existsSync(rejectedDir) ? (readdirSync(rejectedDir).find((f) => f.toLowerCase().includes(`[${thumbprint}]`)) ?? null) : null;
  return { thumbprint, subject, notAfter, rejectedFile: rejectedFile === null ? null : path.join(rejectedDir, rejectedFile) };
}

/**
 * The certificate a server presents on the endpoint with the given security, fetched with GetEndpoints over an
 * unsecured discovery connection (Part 4 §5.4.4: GetEndpoints needs no security). Null when it cannot be had.
 */
export async function fetchServerCertificate(url: string, mode: MessageSecurityMode, policyUri: string, timeoutMs: number): Promise<Buffer | null> {
  const client = OPCUAClient.create({ endpointMustExist: false, connectionStrategy: { maxRetry: 0, initialDelay: 100, maxDelay: 200 }, transportTimeout: timeoutMs, defaultTransactionTimeout: timeoutMs });
  try {
    await client.connect(url);
    const endpoints = await client.getEndpoints();
    const match = endpoints.find((e) => e.securityMode === mode && e.securityPolicyUri === policyUri) ?? endpoints.find((e) => e.serverCertificate && e.serverCertificate.length > 0);
    return match?.serverCertificate ?? null;
  } catch {
    return null;
  } finally {
    await client.disconnect().catch(() => undefined);
  }
}

/** The message an administrator reads when a server certificate is not trusted: what, where, and how to trust it. */
export function untrustedMessage(url: string, facts: CertificateFacts | null, pki: Pick<Pki, 'trustedDir' | 'rejectedDir'>): string {
  const trustedCerts = pki.trustedDir;
  if (!facts) {
    return (
      `the certificate of OPC UA server ${url} is not trusted (BadCertificateUntrusted). It was placed in ${pki.rejectedDir}; ` +
      `check its thumbprint with the server's administrator, then move it to ${trustedCerts}/ to trust it. The hub retries on its own.`
    );
  }
  const file = facts.rejectedFile ?? path.join(pki.rejectedDir, `<name>[${facts.thumbprint}].pem`);
  return (
    `the certificate of OPC UA server ${url} is not trusted: thumbprint (SHA-1) ${facts.thumbprint}, subject ${facts.subject}, valid until ${facts.notAfter}. ` +
    `It was placed in ${file}. If the server's administrator confirms this thumbprint, trust it with: mv '${file}' '${trustedCerts}/'. ` +
    'The hub retries with backoff and connects once it is trusted; no restart is needed.'
  );
}
