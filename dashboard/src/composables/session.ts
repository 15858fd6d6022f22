/**
 * Who is logged in (GET /api/auth/me), with their roles; login and logout. One module-level state shared by the app:
 * the router guard loads it once, pages read `hasRole`.
 */
import { computed, shallowRef } from 'vue';
import { api, ApiError } from '../api/http.ts';
import type { Me, Role } from '../api/types.ts';

const me = shallowRef<Me | null>(null);
let loading: Promise<Me | null> | null = null;

export async function loadSession(force = false): Promise<Me | null> {
  if (!force && me.value) return me.value;
  if (!force && loading) return loading;
  loading = api<Me>('/api/auth/me', { quiet401: true })
    .then((m) => (me.value = m))
    .catch((err: unknown) => {
      if (err instanceof ApiError && (err.status === 401 || err.status === 403)) {
        me.value = null;
        return null;
      }
      throw err;
    })
    .finally(() => (loading = null));
  return loading;
}

export async function login(username: string, password: string): Promise<Me | null> {
  await api('/api/auth/login', { method: 'POST', body: { username, password }, quiet401: true });
  return loadSession(true);
}

export async function logout(): Promise<void> {
  try {
    await api('/api/auth/logout', { method: 'POST', body: {}, quiet401: true });
  } finally {
    me.value = null;
  }
}

export function clearSession(): void {
  me.value = null;
}

export function hasRole(m: Me | null, ...roles: Role[]): boolean {
  return !!m && roles.some((r) => m.roles.includes(r));
}

/** The page a user lands on after login: their main task. */
export function homeFor(m: Me | null): string {
  if (!m) return '/login';
  if (m.roles.length === 1 && m.roles[0] === 'display') return '/wall';
  if (hasRole(m, 'service') && !hasRole(m, 'operator', 'engineer', 'admin')) return '/service';
  if (hasRole(m, 'engineer') && !hasRole(m, 'operator', 'admin')) return '/control';
  if (hasRole(m, 'operator', 'admin')) return '/alarms';
  return '/wall';
}

export function useSession() {
  return {
    me: computed(() => me.value),
    can: {
      /** Acknowledge and shelve alarms (server: operator, admin). */
      operateAlarms: computed(() => hasRole(me.value, 'operator', 'admin')),
      /** Change tickets (server: service, admin). */
      editTickets: computed(() => hasRole(me.value, 'service', 'admin')),
      /** Approve advice, write setpoints, switch auto mode (server: engineer only). */
      control: computed(() => hasRole(me.value, 'engineer')),
    },
  };
}
