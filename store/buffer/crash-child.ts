/**
 * Child process for crash.int.test.ts, standing in for a hub: writes batches through the buffered InfluxDB store as
 * fast as it can, printing `ack <n>` once batch n is durable (in the remote or in the buffer) and, every 20 ms,
 * `stats <buffered readings> <replayed readings>`. The test kills it with SIGKILL.
 *
 * Usage: node --import tsx store/buffer/crash-child.ts <dir> <url> <first batch number>
 */
import { crashBatch, crashStore } from './crash-fixture.ts';

const [dir, url, first] = process.argv.slice(2);
if (!dir || !url || first === undefined) {
  process.stderr.write('usage: crash-child.ts <dir> <url> <first batch>\n');
  process.exit(2);
}
const store = crashStore(dir, url);
await store.open();
process.stdout.write('open\n');
setInterval(() => {
  const s = store.stats();
  process.stdout.write(`stats ${s.bufferReadings} ${s.replayedReadings}\n`);
}, 20);
for (let n = Number(first); ; n++) {
  await store.write(crashBatch(n));
  // Pipes are synchronous on Linux, so the line is out before the next batch starts.
  process.stdout.write(`ack ${n}\n`);
}
