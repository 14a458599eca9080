// The host side of thingsim's embed API: load three iframes that name this page's origin in
// `hosts=`, then drive them with postMessage and show what they post back. Copy what you need.
const params = new URLSearchParams(location.search);
const app = new URL(params.get('app') ?? 'http://127.0.0.1:8080/');
// ?theme=dark on this page passes on to the embeds (a docs site with a dark mode would).
const theme = params.get('theme') ? `&theme=${encodeURIComponent(params.get('theme'))}` : '';
const frames = {};
for (const frame of document.querySelectorAll('iframe[data-query]')) {
  frame.src = `${app.href}?${frame.dataset.query}${theme}&hosts=${encodeURIComponent(location.origin)}`;
  frames[frame.id] = frame;
}

let next = 1;
function call(name, message) {
  // Only the app's origin may read it; the app listens only to origins in its hosts=.
  frames[name].contentWindow.postMessage({ id: next++, ...message }, app.origin);
}

window.addEventListener('message', (event) => {
  if (event.origin !== app.origin) return;
  const name = Object.keys(frames).find((n) => frames[n].contentWindow === event.source);
  const message = event.data;
  if (!name || typeof message?.type !== 'string') return;
  if (message.type === 'thingsim:ready') {
    // The lock's messages too: the page shows the events it publishes.
    call(name, { type: 'thingsim:subscribe', state: true, messages: name === 'lock' });
  } else if (message.type === 'thingsim:message' && message.direction === 'out' && message.topic.includes('/events/')) {
    document.getElementById(`${name}-published`).textContent = `${message.topic} ${message.payload}`;
  } else if (message.type === 'thingsim:state' && name === 'light') {
    document.getElementById('light-state').textContent = JSON.stringify(message.reported);
  } else if (message.type === 'thingsim:result' && name !== 'light') {
    document.getElementById(`${name}-result`).textContent = `${message.ok ? 'ok' : 'refused'}: ${message.text}`;
  }
});

const on = (id, f) => document.getElementById(id).addEventListener('click', f);
on('light-on', () => call('light', { type: 'thingsim:setDesired', state: { on: true, brightness: 80, color: '#ff8c00' } }));
on('light-off', () => call('light', { type: 'thingsim:setDesired', state: { on: false } }));
on('thermostat-target', () => call('thermostat', { type: 'thingsim:setDesired', state: { targetTemperature: 24 } }));
on('thermostat-command', () => call('thermostat', { type: 'thingsim:sendCommand', action: 'setTemperature', params: { value: 18 } }));
on('lock-event', () => call('lock', { type: 'thingsim:publishEvent', kind: 'doorbell', payload: { rang: true } }));
on('lock-job', () => call('lock', { type: 'thingsim:createJob', document: { action: 'updateFirmware', params: { version: '3.1.0' } } }));
