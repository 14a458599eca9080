// mqtt.js's packet layer (mqtt-packet, what mqtt.js parses and generates with) on the same
// workload as crates/mqtt/examples/bench.rs: decode N MQTT 5 PUBLISH packets fed in 16 KiB
// chunks (QoS 1 also generates the PUBACK), and encode N publishes. One `name msgs/s` line each.
import { createRequire } from 'node:module';

const require = createRequire(new URL('../e2e/package.json', import.meta.url));
const mqttPacket = require('mqtt-packet');

const N = 200_000;
const PAYLOAD = Buffer.from('{"state":{"reported":{"temperature":21.5,"humidity":40}},"clientToken":"t-1"}');
const TOPIC = '$emqx/things/thermostat-001/shadow/update';
const opts = { protocolVersion: 5 };

for (const qos of [0, 1]) {
  const parts = [];
  for (let i = 0; i < N; i++) {
    parts.push(mqttPacket.generate({
      cmd: 'publish', topic: TOPIC, payload: PAYLOAD, qos, messageId: qos ? (i % 65535) + 1 : undefined,
      retain: false, dup: false, properties: {},
    }, opts));
  }
  const bytes = Buffer.concat(parts);
  const parser = mqttPacket.parser(opts);
  let received = 0;
  let acked = 0;
  parser.on('packet', (p) => {
    received++;
    if (p.qos === 1) acked += mqttPacket.generate({ cmd: 'puback', messageId: p.messageId }, opts).length;
  });
  const start = process.hrtime.bigint();
  for (let off = 0; off < bytes.length; off += 16 * 1024) parser.parse(bytes.subarray(off, off + 16 * 1024));
  const secs = Number(process.hrtime.bigint() - start) / 1e9;
  if (received !== N) throw new Error(`decoded ${received} of ${N}`);
  console.log(`mqtt.js decode qos${qos} ${(N / secs).toFixed(0)}`);
}

{
  let bytes = 0;
  const start = process.hrtime.bigint();
  for (let i = 0; i < N; i++) {
    bytes += mqttPacket.generate({ cmd: 'publish', topic: TOPIC, payload: PAYLOAD, qos: 0, retain: false, dup: false }, opts).length;
  }
  const secs = Number(process.hrtime.bigint() - start) / 1e9;
  console.log(`mqtt.js encode qos0 ${(N / secs).toFixed(0)}`);
}
