/** The `opcua` source plugin: OPC UA subscriptions (and reads where a server cannot subscribe) with setpoint writes. Reference: docs/opcua.md. */
import type { SourcePlugin } from '../../source.ts';
import { OpcuaSourceConfig, validateOpcuaConfig } from './config.ts';
import { OpcuaSource } from './opcua-source.ts';
import { validateOpcuaTemplate } from './template.ts';

export const opcuaPlugin: SourcePlugin<OpcuaSourceConfig> = {
  kind: 'opcua',
  configSchema: OpcuaSourceConfig,
  validate: validateOpcuaConfig,
  validateTemplate: validateOpcuaTemplate,
  create: (config, ctx) => new OpcuaSource(config, ctx),
};

export { OpcuaSource } from './opcua-source.ts';
