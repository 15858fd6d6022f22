/**
 * Pages and who sees them. Every page but the login needs a session (a display token's session is enough for the
 * wall); the guard loads "who am I" once and sends a caller without a session to the login page with the way back.
 * What a role may *do* on a page (acknowledge, approve, assign) is decided on the page and, in the end, by the hub.
 */
import { createRouter, createWebHistory, type RouteLocationNormalized } from 'vue-router';
import type { Role } from './api/types.ts';
import { onUnauthenticated } from './api/http.ts';
import { prestartLiveWorker } from './composables/live-transport.ts';
import { clearSession, hasRole, homeFor, loadSession } from './composables/session.ts';
import type { MessageKey } from './i18n/index.ts';

declare module 'vue-router' {
  interface RouteMeta {
    public?: boolean;
    /** A kiosk page: no navigation bar, no scrolling. */
    kiosk?: boolean;
    /** Roles that may open the page (any of them); all logged-in users when absent. */
    roles?: Role[];
    title?: MessageKey;
  }
}

const PEOPLE: Role[] = ['operator', 'engineer', 'service', 'admin'];

export const router = createRouter({
  history: createWebHistory(),
  routes: [
    { path: '/', name: 'home', component: { render: () => null } },
    { path: '/login', name: 'login', component: () => import('./views/LoginView.vue'), meta: { public: true, title: 'nav.login' } },
    { path: '/wall', name: 'wall', component: () => import('./views/WallView.vue'), meta: { kiosk: true, title: 'nav.wall' } },
    { path: '/alarms', name: 'alarms', component: () => import('./views/AlarmsView.vue'), meta: { roles: PEOPLE, title: 'nav.alarms' } },
    { path: '/service', name: 'service', component: () => import('./views/ServiceView.vue'), meta: { roles: PEOPLE, title: 'nav.service' } },
    { path: '/control', name: 'control', component: () => import('./views/ControlView.vue'), meta: { roles: PEOPLE, title: 'nav.control' } },
    { path: '/substations', name: 'substations', component: () => import('./views/SubstationView.vue'), meta: { roles: PEOPLE, title: 'nav.substations' } },
    { path: '/substations/:id', name: 'substation', component: () => import('./views/SubstationView.vue'), meta: { roles: PEOPLE, title: 'nav.substations' } },
    { path: '/:rest(.*)*', redirect: '/' },
  ],
});

// The first page's code loads while "who am I" is asked, not after (the wall's charts are most of the bundle), and the
// wall's live worker starts meanwhile too.
const firstRoute = router.resolve(window.location.pathname);
const first = firstRoute.matched[0]?.components?.['default'];
if (typeof first === 'function') void (first as () => Promise<unknown>)().catch(() => undefined);
if (firstRoute.name === 'wall') prestartLiveWorker();

router.beforeEach(async (to: RouteLocationNormalized) => {
  if (to.meta.public) return true;
  let me;
  try {
    me = await loadSession();
  } catch {
    // The hub is unreachable: show the login page, which says so when it tries.
    me = null;
  }
  if (!me) return { name: 'login', query: to.fullPath !== '/' ? { next: to.fullPath } : {} };
  if (to.name === 'home') return homeFor(me);
  if (to.meta.roles && !hasRole(me, ...to.meta.roles)) return homeFor(me);
  return true;
});

onUnauthenticated(() => {
  clearSession();
  const cur = router.currentRoute.value;
  if (!cur.meta.public) void router.replace({ name: 'login', query: { next: cur.fullPath } });
});
