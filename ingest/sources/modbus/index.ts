/** The `modbus` source plugin: Modbus TCP polling with setpoint writes. Reference: docs/modbus.md. */
import type { SourcePlugin } from '../../source.ts';
import { ModbusSourceConfig, validateModbusConfig } from './config.ts';
import { ModbusSource } from './modbus-source.ts';
import { validateModbusTemplate } from './template.ts';

export const modbusPlugin: SourcePlugin<ModbusSourceConfig> = {
  kind: 'modbus',
  configSchema: ModbusSourceConfig,
  validate: validateModbusConfig,
  validateTemplate: validateModbusTemplate,
  create: (config, ctx) => new ModbusSource(config, ctx),
};

export { ModbusSource } from './modbus-source.ts';
