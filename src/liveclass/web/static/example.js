// @ts-check
/**
 * A minimal client on the library: joins, sends camera and microphone, shows every remote
 * stream and the chat. Build your own UI the same way.
 */
import { LiveClassClient } from './liveclass-client.js';
import { openMedia } from './media-transport.js';

/** @typedef {import('./media-transport.js').MediaTransport} MediaTransport */

const params = new URLSearchParams(location.hash.slice(1));
// Declared types: in a checked JS file `x.onSomething = ...` on an untyped const would add a
// new property instead of setting the callback the type declares.
/** @type {LiveClassClient} */
const client = new LiveClassClient({
  sessionId: params.get('session') || '',
  accessToken: params.get('token') || '',
  baseUrl: location.origin,
});
// The join document names the media provider; its transport module does the rest.
const joined = await client.refreshToken();
/** @type {MediaTransport} */
const media = await openMedia(client, joined, { iceServers: await client.iceServers() });
client.useMedia(media);
const status = /** @type {HTMLElement} */ (document.getElementById('status'));
const videos = /** @type {HTMLElement} */ (document.getElementById('videos'));

client.onStatus = (s) => { status.textContent = s; };
client.onChat = (m) => {
  const li = document.createElement('li');
  li.textContent = `${m.name}: ${m.text}`; // textContent: what people type is never HTML
  document.getElementById('chat')?.append(li);
};
media.onRemoteStream = (pid, stream, kind) => {
  const id = `v-${pid}-${kind}`;
  let video = /** @type {HTMLVideoElement | null} */ (document.getElementById(id));
  if (!video) {
    video = document.createElement('video');
    video.id = id;
    video.autoplay = true;
    video.playsInline = true;
    videos.append(video);
  }
  video.srcObject = stream;
};
media.onRemoteStreamEnded = (pid, kind) => document.getElementById(`v-${pid}-${kind}`)?.remove();

if (joined.permissions.can_publish) {
  media.publish(await navigator.mediaDevices.getUserMedia({ audio: true, video: true }), 'camera');
}
client.connect();
