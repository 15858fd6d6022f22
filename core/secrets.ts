/**
 * Secrets the hub makes for itself (the cookie-signing key): from the environment when set, else generated on first
 * run and kept in `<dataDir>/secrets/` with mode 0600. Never a constant in the code.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export function loadOrCreateSecret(dataDir: string, name: string, fromEnv: string | undefined): string {
  if (fromEnv !== undefined && fromEnv !== '') {
    if (fromEnv.length < 32) throw new Error(`the ${name} secret from the environment must have at least 32 characters`);
    return fromEnv;
  }
  const dir = path.join(dataDir, 'secrets');
  const file = path.join(dir, `${name}.key`);
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const secret = randomBytes(48).toString('base64url');
  writeFileSync(file, `${secret}\n`, { mode: 0o600, flag: 'wx' });
  chmodSync(file, 0o600);
  return secret;
}
