// @ts-check
/**
 * A minimal client on the library: joins, sends camera and microphone, shows every remote
 * stream and the chat. Build your own UI the same way.
 */
import { LiveClassClient } from './liveclass-client.js';
import { MeshMedia } from './mesh-media.js';

const params = new URLSearchParams(location.hash.slice(1));
const client = new LiveClassClient({
  sessionId: params.get('session') || '',
  accessToken: params.get('token') || '',
  baseUrl: location.origin,
});
const media = new MeshMedia(client, { iceServers: await client.iceServers() });
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

const joined = await client.refreshToken();
if (joined.permissions.can_publish) {
  media.publish(await navigator.mediaDevices.getUserMedia({ audio: true, video: true }), 'camera');
}
client.connect();
