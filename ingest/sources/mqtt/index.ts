/** The `mqtt` source plugin: JSON and Sparkplug B telemetry over MQTT 5 / 3.1.1. Reference: docs/mqtt.md. */
import type { SourcePlugin } from '../../source.ts';
import { MqttSourceConfig, validateMqttConfig } from './config.ts';
import { MqttSource } from './mqtt-source.ts';

export const mqttPlugin: SourcePlugin<MqttSourceConfig> = {
  kind: 'mqtt',
  configSchema: MqttSourceConfig,
  validate: validateMqttConfig,
  create: (config, ctx) => new MqttSource(config, ctx),
};
