/**
 * Child process of bench/ingest-mqtt: the embedded broker (aedes) in its own process, as a separate broker machine
 * would be. Prints nothing; talks to the parent over IPC: sends { type: 'ready', url }, stops on { type: 'stop' } or
 * when the parent goes away.
 */
import { silentLogger } from '../core/log.ts';
import { startEmbeddedBroker } from '../ingest/broker/embedded-broker.ts';

const broker = await startEmbeddedBroker({ port: 0, log: silentLogger() });
const stop = async (): Promise<void> => {
  await broker.close();
  process.exit(0);
};
process.on('message', (m: { type?: string }) => {
  if (m.type === 'stop') void stop();
});
process.on('disconnect', () => void stop());
process.send!({ type: 'ready', url: broker.url });
