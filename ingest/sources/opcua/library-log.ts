/**
 * node-opcua writes its own warnings and errors to the console (coloured text, stack-derived context). In the hub they
 * go to the source's logger instead, at DEBUG: every condition that needs someone's attention is reported by the
 * source itself (loss, certificate, refused login), so the library's chatter is for troubleshooting only.
 *
 * The library keeps one logger per process; the first source to start installs this, and it stays for the process.
 * Must be called before node-opcua-client is first imported, or its load-time notices reach the console.
 */
import { setErrorLogger, setWarningLogger } from 'node-opcua-debug';
import type { Logger } from '../../../core/log.ts';

let installed = false;
/** Terminal colour codes (ESC [ … m) the library puts in its messages. */
const ANSI = new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, 'g');

function text(args: unknown[]): string {
  return args
    .map((a) => (typeof a === 'string' ? a : a instanceof Error ? a.message : typeof a === 'object' && a !== null && 'toString' in a ? String(a) : JSON.stringify(a)))
    .join(' ')
    .replace(ANSI, '')
    .slice(0, 2000);
}

export function routeLibraryLogs(log: Logger): void {
  if (installed) return;
  installed = true;
  const lib = log.child({ lib: 'node-opcua' });
  // The first argument is the library's caller context (file and line).
  setWarningLogger((...args: unknown[]) => lib.debug(text(args.slice(1))));
  setErrorLogger((...args: unknown[]) => lib.debug({ libLevel: 'error' }, text(args.slice(1))));
}
