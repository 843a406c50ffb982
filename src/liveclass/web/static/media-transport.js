// @ts-check
/**
 * The seam between the classroom protocol (`LiveClassClient`) and whatever moves media.
 *
 * Every transport module (`mesh-media.js`, `janus-media.js`, ...) exports one factory,
 * `createMedia(client, joined, options)`, that returns a `MediaTransport`; `openMedia` picks
 * the module the join document's `media.provider` names. The page then hands the transport to
 * the client (`client.useMedia(media)`), which drives it from the classroom socket, and sets
 * the transport's `on*` callbacks to show what arrives. DOM-free.
 */

import * as mesh from './mesh-media.js';

/** @typedef {import('./liveclass-client.js').LiveClassClient} LiveClassClient */
/** @typedef {import('./liveclass-client.js').JoinDocument} JoinDocument */
/** @typedef {import('./liveclass-client.js').PeerInfo} PeerInfo */
/** @typedef {import('./liveclass-client.js').Permissions} Permissions */
/** @typedef {import('./liveclass-client.js').Welcome} Welcome */

/** @typedef {'camera'|'screen'} StreamKind */

/**
 * A peer's session description, relayed by the classroom socket (mesh only).
 * @typedef {Object} DescriptionSignal
 * @property {'offer'|'answer'} type
 * @property {string} from  the sender's participant id
 * @property {string} sdp
 * @property {Record<string, StreamKind>} [streams]  stream id -> kind, with offers
 */

/**
 * A peer's ICE candidate (`null`: it has no more), relayed by the classroom socket.
 * @typedef {Object} CandidateSignal
 * @property {'candidate'} type
 * @property {string} from
 * @property {RTCIceCandidateInit | null} candidate
 */

/** @typedef {DescriptionSignal | CandidateSignal} SignalMessage */

/** @typedef {{iceServers?: RTCIceServer[]}} MediaOptions */

/**
 * What a media transport offers the client and the page. The mesh transport moves media peer
 * to peer over our signaling; an SFU transport ignores `signal` and talks to its server.
 *
 * The client calls the methods; the page calls `publish`, `unpublish` and `close`, and sets
 * the callbacks (each starts as a no-op).
 * @typedef {Object} MediaTransport
 * @property {(welcome: Welcome) => void} start  (re)build media for the roster of a welcome
 * @property {(peer: PeerInfo) => void} peerJoined  a new socket of this peer (first or again)
 * @property {(participantId: string) => void} peerLeft
 * @property {(participantId: string, role: string, permissions: Permissions) => void} roleChanged
 * @property {(message: SignalMessage) => void} signal  an `offer`, `answer` or `candidate` for us
 * @property {(stream: MediaStream, kind: StreamKind) => void} publish  send it while we may
 * @property {(kind: StreamKind) => void} unpublish
 * @property {(kind: 'audio'|'video', enabled: boolean) => void} trackEnabled  the page turned the
 *   camera stream's microphone or camera on or off (`track.enabled`); an SFU may also mute it there
 * @property {() => void} close  stop everything; `start` builds again
 * @property {() => RTCPeerConnection[]} peerConnections  every one open now (for getStats)
 * @property {(participantId: string, stream: MediaStream, kind: StreamKind) => void} onRemoteStream
 *   a stream of this peer arrived (again: the same stream may be announced more than once)
 * @property {(participantId: string, kind: StreamKind) => void} onRemoteStreamEnded
 * @property {(participantId: string, state: RTCPeerConnectionState) => void} onPeerState
 *   a connection carrying this peer's media changed state
 * @property {(error: string) => void} onMediaError  media failed in a way the page should say
 */

/**
 * The one entry point of every transport module.
 * @typedef {(client: LiveClassClient, joined: JoinDocument, options?: MediaOptions) => MediaTransport} MediaFactory
 */

/**
 * Mesh, the default, loads with the page; an SFU's module only when a class uses it.
 * @type {Record<string, () => Promise<{createMedia: MediaFactory}>>}
 */
const TRANSPORTS = {
  mesh: async () => mesh,
  janus: () => import('./janus-media.js'),
  livekit: () => import('./livekit-transport.js'),
};

/**
 * The transport for the provider a join document names (mesh when it names none).
 * @param {LiveClassClient} client @param {JoinDocument} joined @param {MediaOptions} [options]
 * @returns {Promise<MediaTransport>}
 */
export async function openMedia(client, joined, options = {}) {
  const provider = joined.media?.provider || 'mesh';
  const load = Object.hasOwn(TRANSPORTS, provider) ? TRANSPORTS[provider] : undefined;
  if (!load) throw new Error(`this page has no media transport for provider "${provider}"`);
  const { createMedia } = await load();
  return createMedia(client, joined, options);
}
