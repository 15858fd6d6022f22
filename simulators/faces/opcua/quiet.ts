/**
 * node-opcua writes its warnings to the console (coloured text), some of them while its modules load. The face hands
 * them to its logger at DEBUG instead, and drops those that come before a face has a logger. Imported first by
 * index.ts so that it is in place before node-opcua loads. The library keeps one logger per process: a hub in the same
 * process may install its own afterwards.
 */
import { setErrorLogger, setWarningLogger } from 'node-opcua-debug';

let sink: ((message: string) => void) | null = null;

/** Terminal colour codes (ESC [ … m). */
const ANSI = new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, 'g');

function forward(...args: unknown[]): void {
  // The first argument is the library's caller context.
  if (sink) sink(args.slice(1).map(String).join(' ').replace(ANSI, '').slice(0, 2000));
}

setWarningLogger(forward);
setErrorLogger(forward);

export function setLibrarySink(fn: (message: string) => void): void {
  sink = fn;
}
