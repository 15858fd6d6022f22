/**
 * The docker-compose deployment cannot run here (no Docker engine), so its files are checked statically: the hub's
 * configuration in deploy/config loads with the environment .env.example gives, every variable the compose file and
 * the configuration need is in .env.example, the services have health checks and volumes, the broker keeps messages
 * for the hub, and secrets stay out of git and out of the image.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../config/load.ts';
import { SOURCE_PLUGINS } from '../ingest/sources/index.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const read = (f: string): string => readFileSync(path.join(root, f), 'utf8');

/** KEY=value lines of .env.example. */
function envExample(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of read('.env.example').split('\n')) {
    const m = /^([A-Z][A-Z0-9_]*)=(.*)$/.exec(line);
    if (m) env[m[1]!] = m[2]!;
  }
  return env;
}

/** Variables referenced as ${VAR}, ${VAR:?..} or ${VAR:-..}, and whether each has a default. */
function referenced(text: string): Map<string, boolean> {
  const out = new Map<string, boolean>();
  for (const m of text.matchAll(/(?<!\$)\$\{([A-Z][A-Z0-9_]*)(:?[-?])?/g)) out.set(m[1]!, (out.get(m[1]!) ?? false) || m[2]?.endsWith('-') === true);
  return out;
}

interface Service {
  image?: string;
  build?: string;
  profiles?: string[];
  healthcheck?: { test: string[] };
  volumes?: string[];
  environment?: Record<string, string>;
  command?: string[];
  entrypoint?: string[];
  network_mode?: string;
}

describe('docker-compose deployment', () => {
  const compose = parse(read('docker-compose.yml')) as { services: Record<string, Service>; volumes: Record<string, unknown> };
  const env = envExample();

  it('runs InfluxDB 2.7, Mosquitto and the hub with health checks; simulators and Grafana as profiles', () => {
    const s = compose.services;
    expect(s['influxdb']?.image).toBe('influxdb:2.7');
    expect(s['influxdb']?.healthcheck?.test.join(' ')).toContain('influx ping');
    expect(s['mosquitto']?.image).toMatch(/^eclipse-mosquitto:2/);
    expect(s['mosquitto']?.healthcheck?.test.join(' ')).toContain("mosquitto_sub -h 127.0.0.1 -p 1883");
    expect(s['mosquitto']?.healthcheck?.test.join(' ')).toContain("-t '$$SYS/#' -C 1");
    expect(s['hub']?.build).toBe('.');
    expect(s['hub']?.healthcheck?.test.join(' ')).toContain('/api/health');
    expect(s['hub']?.environment?.['STORE']).toBe('influx');
    expect(s['simulators']?.profiles).toEqual(['sim']);
    expect(s['simulators']?.command).toEqual(['npm', 'run', 'sim']);
    expect(s['simulators']?.network_mode).toBe('service:hub');
    expect(s['grafana']?.profiles).toEqual(['grafana']);
    for (const v of ['influxdb-data', 'mosquitto-data', 'hub-data']) expect(Object.keys(compose.volumes)).toContain(v);
    expect(s['hub']?.volumes).toContain('hub-data:/data');
    expect(s['influxdb']?.volumes).toContain('influxdb-data:/var/lib/influxdb2');
  });

  it('finds every variable it needs in .env.example', () => {
    for (const file of ['docker-compose.yml', 'deploy/config/hub.yaml', 'deploy/config/sources.yaml', 'deploy/grafana/datasources.yaml']) {
      for (const [name, hasDefault] of referenced(read(file))) {
        if (hasDefault || ['INFLUX_URL', 'MQTT_URL'].includes(name)) continue;
        expect(Object.keys(env), `${file} needs ${name}`).toContain(name);
      }
    }
  });

  it('gives the hub a configuration that loads: InfluxDB behind the buffer, Mosquitto with credentials', () => {
    const config = loadConfig({
      dir: path.join(root, 'deploy/config'),
      plugins: SOURCE_PLUGINS,
      env: { ...env, STORE: 'influx', INFLUX_URL: 'http://influxdb:8086', DATA_DIR: '/data', MQTT_URL: 'mqtt://mosquitto:1883' },
    });
    expect(config.hub.store).toMatchObject({ kind: 'influx', influx: { url: 'http://influxdb:8086', org: env['INFLUX_ORG'], bucket: env['INFLUX_BUCKET'], token: env['INFLUX_TOKEN'] } });
    expect(config.hub.store.buffer.maxBytes).toBe(2 * 1024 ** 3);
    expect(config.hub.dataDir).toBe('/data');
    const mqtt = config.sources.find((s) => s.entry.kind === 'mqtt')!.entry;
    expect(mqtt).toMatchObject({ url: 'mqtt://mosquitto:1883', username: env['MQTT_HUB_USER'], password: env['MQTT_HUB_PASSWORD'], protocolVersion: 5 });
    expect(config.assets.ofKind('substation')).toHaveLength(12);
  });

  it('has Mosquitto keep messages for the hub, with authentication', () => {
    const conf = read('deploy/mosquitto/mosquitto.conf');
    for (const line of ['allow_anonymous false', 'password_file /mosquitto/auth/passwd', 'acl_file /mosquitto/auth/acl', 'persistence true', 'max_inflight_messages 0', 'max_queued_messages 2000000']) {
      expect(conf.split('\n')).toContain(line);
    }
    const start = read('deploy/mosquitto/start.sh');
    const acl = read('deploy/mosquitto/acl').split('\n');
    expect(acl).toContain('user HUB_USER');
    expect(acl).toContain('user DEVICE_USER');
    expect(start).toContain('s/^user HUB_USER$/');
    expect(start).toContain('exec /usr/sbin/mosquitto -c /deploy/mosquitto.conf');
  });

  it('keeps secrets out of git and out of the image', () => {
    expect(read('.gitignore').split('\n')).toContain('.env');
    const ignore = read('.dockerignore').split('\n');
    expect(ignore).toContain('.env');
    expect(ignore).toContain('node_modules');
    const docker = read('Dockerfile');
    expect(docker).toMatch(/^FROM node:20-bookworm-slim/m);
    expect(docker).toContain('RUN npm ci');
    expect(docker).toContain('CMD ["npm", "run", "hub", "--", "--config", "/config"]');
  });
});
