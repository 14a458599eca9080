// A publisher that is not the bottleneck, for the inbound figures: every PUBLISH packet is
// built before the clock starts and written to the broker in one go over a raw MQTT 3.1.1
// socket (no flow control on the way in at QoS 0 and 1). What is measured is then the broker's
// delivery and the page's reading: mosquitto delivers these 20,000 messages to a native
// WebSocket subscriber at well over 50,000 msg/s here, several times what either page reads.
import net from 'node:net';
import { once } from 'node:events';
import { createRequire } from 'node:module';

const require = createRequire(new URL('../e2e/package.json', import.meta.url));
const mqttPacket = require('mqtt-packet');

export async function blaster(tcpPort, id) {
  const socket = net.connect({ host: '127.0.0.1', port: Number(tcpPort), noDelay: true });
  await once(socket, 'connect');
  socket.write(mqttPacket.generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean: true, clientId: id, keepalive: 0 }));
  const [ack] = await once(socket, 'data');
  if (ack[0] !== 0x20 || ack[3] !== 0) throw new Error(`the broker refused the publisher: ${ack.toString('hex')}`);
  socket.on('data', () => {}); // PUBACKs, read and dropped
  return {
    packets: (topic, n, qos, payload) => Buffer.concat(Array.from({ length: n }, (_, i) => mqttPacket.generate(
      { cmd: 'publish', topic, payload: payload(i), qos, messageId: qos ? (i % 65535) + 1 : undefined, retain: false, dup: false }))),
    send: (bytes) => socket.write(bytes),
    end: () => socket.end(),
  };
}

// The broker's own pace, as a reference for the inbound rows: the same packets to a native
// WebSocket subscriber (node, `ws`) that acknowledges each QoS 1 message at once.
export async function brokerPace(tcpPort, wsUrl, n, qos, payload) {
  const WebSocket = require('ws');
  const topic = `pace/${Math.floor(Math.random() * 1e9)}`;
  const ws = new WebSocket(wsUrl, 'mqtt');
  await once(ws, 'open');
  const parser = mqttPacket.parser({ protocolVersion: 5 });
  const opts = { protocolVersion: 5 };
  let count = 0;
  let connacked, subacked, finished;
  const states = [new Promise((r) => (connacked = r)), new Promise((r) => (subacked = r)), new Promise((r) => (finished = r))];
  parser.on('packet', (p) => {
    if (p.cmd === 'connack') connacked();
    else if (p.cmd === 'suback') subacked();
    else if (p.cmd === 'publish') {
      if (qos) ws.send(mqttPacket.generate({ cmd: 'puback', messageId: p.messageId }, opts));
      if (++count === n) finished();
    }
  });
  ws.on('message', (d) => parser.parse(d));
  ws.send(mqttPacket.generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 5, clean: true, clientId: `${topic}-sub`, keepalive: 0, properties: { receiveMaximum: 65535 } }, opts));
  await states[0];
  ws.send(mqttPacket.generate({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic, qos }] }, opts));
  await states[1];
  const pub = await blaster(tcpPort, `${topic}-pub`);
  const bytes = pub.packets(topic, n, qos, payload);
  const t0 = performance.now();
  pub.send(bytes);
  await Promise.race([states[2], new Promise((r) => setTimeout(r, 10_000))]);
  const rate = count / ((performance.now() - t0) / 1000);
  pub.end();
  ws.close();
  return { rate, count };
}

// The bench's flood: a shadow document with a counter.
export const floodPayload = (i) => `{"state":{"desired":{"n":${i}}},"n":${i}}`;

// Writes the flood and reads `counted()` until all n have come, or none for 3 s (a broker may
// drop QoS 0 for a slow reader): messages a second from the first byte out to the last seen.
export async function timedFlood(pub, bytes, n, counted) {
  const t0 = performance.now();
  pub.send(bytes);
  let count = 0;
  let last = t0;
  for (;;) {
    await new Promise((r) => setTimeout(r, 25));
    const now = await counted();
    if (now !== count) { count = now; last = performance.now(); }
    if (count >= n || performance.now() - last > 3000) break;
  }
  // thingsim's log also holds the device's own reports from the flood: at most n count.
  count = Math.min(count, n);
  return { rate: count / ((last - t0) / 1000), count, started: performance.timeOrigin + t0 };
}
