/** Every source plugin, by kind. Config entries pick one with `kind:`; an unknown kind is a config error. */
import type { SourcePlugin } from '../source.ts';
import { modbusPlugin } from './modbus/index.ts';
import { mqttPlugin } from './mqtt/index.ts';
import { opcuaPlugin } from './opcua/index.ts';

export const SOURCE_PLUGINS: ReadonlyMap<string, SourcePlugin> = new Map<string, SourcePlugin>([
  [mqttPlugin.kind, mqttPlugin as SourcePlugin],
  [modbusPlugin.kind, modbusPlugin as SourcePlugin],
  [opcuaPlugin.kind, opcuaPlugin as SourcePlugin],
]);
