/**
 * Child process for crash.int.test.ts: writes batches to an embedded store as fast as it can, sealing every few
 * batches while DuckDB checkpoints often, and prints `ack <n>` on stdout once batch n is durable. The test kills it
 * with SIGKILL at some moment and checks the file.
 *
 * Usage: node --import tsx store/embedded/crash-child.ts <dir> <first batch number>
 */
import { crashBatch, crashStoreOptions } from './crash-fixture.ts';
import { EmbeddedTelemetryStore } from './embedded-store.ts';

const [dir, first] = process.argv.slice(2);
if (!dir || first === undefined) {
  process.stderr.write('usage: crash-child.ts <dir> <first batch>\n');
  process.exit(2);
}
const store = new EmbeddedTelemetryStore(crashStoreOptions(dir));
await store.open();
process.stdout.write('open\n');
for (let n = Number(first); ; n++) {
  await store.write(crashBatch(n));
  // Pipes are synchronous on Linux, so the line is out before the next batch starts.
  process.stdout.write(`ack ${n}\n`);
  if (n % 3 === 0) await store.compact();
}
