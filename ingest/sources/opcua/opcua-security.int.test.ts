/**
 * Security of the OPC UA source against a face that offers only SignAndEncrypt (Basic256Sha256) and user name logins:
 * a server certificate the hub does not trust is refused with a message naming its thumbprint and where it was put;
 * trusting it the way docs/opcua.md says (moving the file) lets the hub connect without a restart, with the user name
 * and password from the environment; a wrong password is reported as a refused login.
 */
import { X509Certificate } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MessageSecurityMode } from 'node-opcua-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG_DIR } from '../../../config/load.ts';
import { startOpcuaFace, type OpcuaFace } from '../../../simulators/faces/opcua/index.ts';
import { createNetworkModel, loadNetworkFile, type NetworkModel } from '../../../simulators/model/index.ts';
import { startTestHub, type TestHub } from '../../../test/helpers/hub.ts';
import type { OpcuaSource } from './opcua-source.ts';

let dir: string;
let model: NetworkModel;
let face: OpcuaFace;
let t: TestHub;
let stepper: NodeJS.Timeout;

const src = (id: string): OpcuaSource => t.hub.services.sources.find((s) => s.id === id) as OpcuaSource;

async function until(what: string, cond: () => boolean, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'warmgrid-opcua-sec-'));
  model = createNetworkModel(loadNetworkFile(path.join(DEFAULT_CONFIG_DIR, 'network.yaml')), { settleHours: 1, start: Date.now() });
  stepper = setInterval(() => model.step((Date.now() - model.now()) / 1000), 250);
  face = await startOpcuaFace(model, {
    port: 0,
    substations: ['ss11', 'ss12'],
    pkiDir: path.join(dir, 'face'),
    securityModes: ['SignAndEncrypt'],
    users: { operator: 'correct horse battery staple' },
    allowAnonymous: false,
  });
  const entry = (id: string, asset: string, passwordVar: string): string => `
  - id: ${id}
    kind: opcua
    pki: { dir: ${JSON.stringify(path.join(dir, 'hub-pki'))} }
    reconnect: { minMs: 100, maxMs: 500 }
    defaults:
      template: substation-opcua
      endpointUrl: ${face.endpointUrl}
      security: { mode: SignAndEncrypt, policy: Basic256Sha256 }
      user: { username: operator, password: "\${${passwordVar}}" }
    devices:
      - { asset: ${asset} }`;
  t = await startTestHub({
    env: { OPCUA_PASSWORD: 'correct horse battery staple', OPCUA_WRONG_PASSWORD: 'Tr0ub4dor&3' },
    files: { 'sources.yaml': `sources:${entry('ua-secure', 'ss11', 'OPCUA_PASSWORD')}${entry('ua-wrong', 'ss12', 'OPCUA_WRONG_PASSWORD')}\n` },
  });
}, 60_000);

afterAll(async () => {
  clearInterval(stepper);
  await t?.close();
  await face?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('OPC UA security', () => {
  let rejectedFile = '';

  it('refuses a server certificate it does not trust, naming its thumbprint, where it was put and how to trust it', async () => {
    const thumbprint = new X509Certificate(readFileSync(face.certificateFile)).fingerprint.replace(/:/g, '').toLowerCase();
    await until('certificate refused', () => src('ua-secure').endpointStats()[0]?.untrustedCertificate === thumbprint);
    const health = src('ua-secure').health();
    expect(health.status).toBe('down');
    const message = String(health['detail']);
    expect(message).toContain(`thumbprint (SHA-1) ${thumbprint}`);
    expect(message).toMatch(/It was placed in .*rejected\/.*\[[0-9a-f]{40}\]\.pem/);
    expect(message).toContain(path.join(dir, 'hub-pki', 'trusted', 'certs'));
    rejectedFile = /It was placed in (.*\.pem)\./.exec(message)![1]!;
    expect(existsSync(rejectedFile)).toBe(true);
    expect(face.sessionsCreated()).toBe(0);
    expect(t.hub.services.pipeline.status('ss11')?.quality).toBe('bad');
  });

  it('connects with SignAndEncrypt and the user from the environment once the certificate is moved to trusted/', async () => {
    renameSync(rejectedFile, path.join(dir, 'hub-pki', 'trusted', 'certs', path.basename(rejectedFile)));
    await until('values from ss11', () => (t.hub.services.pipeline.latest('ss11')?.size ?? 0) === 33 && t.hub.services.pipeline.status('ss11')?.quality === 'good');
    const sessions = face.server!.engine.getSessions().filter((s) => s.status === 'active');
    expect(sessions).toHaveLength(1);
    expect(sessions[0]!.channel!.securityMode).toBe(MessageSecurityMode.SignAndEncrypt);
    expect((sessions[0]!.userIdentityToken as { userName?: string }).userName).toBe('operator');
    expect(src('ua-secure').health().status).toBe('up');
  });

  it('reports a refused login with the user name, not the password', async () => {
    await until('login refused', () => /refused the login of user operator/.test(src('ua-wrong').endpointStats()[0]?.lastError ?? ''));
    const err = src('ua-wrong').endpointStats()[0]!.lastError!;
    expect(err).not.toContain('Tr0ub4dor');
    expect(face.sessionCount()).toBe(1);
  });
});
