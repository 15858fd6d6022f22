/**
 * First-run and demo accounts, and the lines the start-up banner prints about them.
 *
 * - A hub without an admin creates one from WARMGRID_ADMIN_PASSWORD (user WARMGRID_ADMIN_USER, default "admin"), or
 *   prints a one-time setup link (valid 24 h). There is no default password.
 * - The demo (`npm start`) gives one account per role a new random password at every start and prints them once,
 *   with a link that opens the wall display with a fresh display-only token (the previous one is revoked).
 */
import type { Hub } from './hub.ts';

export interface Accounts {
  demoUsers?: Record<string, string>;
  wallToken?: string;
  setupToken?: string;
  adminFromEnv?: string;
}

const DEMO_WALL_TOKEN = 'demo wall display';

export async function prepareAccounts(hub: Hub, demo: boolean, env: NodeJS.ProcessEnv = process.env): Promise<Accounts> {
  const { auth } = hub.services;
  const out: Accounts = {};
  if (demo) {
    out.demoUsers = await auth.resetDemoUsers();
    await auth.revokeTokensNamed(DEMO_WALL_TOKEN);
    out.wallToken = (await auth.createToken({ name: DEMO_WALL_TOKEN, roles: ['display'] }, 'system')).token;
  }
  if (!(await auth.hasAdmin())) {
    const password = env['WARMGRID_ADMIN_PASSWORD'];
    if (password) {
      const username = env['WARMGRID_ADMIN_USER'] || 'admin';
      await auth.createUser({ username, password, roles: ['admin'] }, 'system');
      out.adminFromEnv = username;
    } else {
      const token = await auth.ensureSetupToken();
      if (token) out.setupToken = token;
    }
  }
  return out;
}

export function accountLines(a: Accounts, url: string): string[] {
  const lines: string[] = [];
  if (a.demoUsers && Object.keys(a.demoUsers).length > 0) {
    lines.push('  demo accounts (new passwords at every start; shown only now):');
    for (const [user, pw] of Object.entries(a.demoUsers)) lines.push(`    ${user.padEnd(10)} ${pw}`);
    lines.push('');
  }
  if (a.wallToken) lines.push(`  wall display ${url}/api/auth/display?token=${a.wallToken}`, '');
  if (a.adminFromEnv) lines.push(`  created admin "${a.adminFromEnv}" from WARMGRID_ADMIN_PASSWORD`, '');
  if (a.setupToken) lines.push('  no admin yet: create one within 24 h at', `    ${url}/setup.html#token=${a.setupToken}`, '  (or start with WARMGRID_ADMIN_PASSWORD set)', '');
  return lines;
}
