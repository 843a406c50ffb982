// @ts-check
/**
 * Janus media: publish and subscribe through a Janus VideoRoom (an SFU). DOM-free; `createMedia`
 * makes the `MediaTransport` (media-transport.js) for sessions whose `media.provider` is "janus".
 *
 * It uses the grant liveclass put in the join document's `media` (Janus URL, room, pin, and for
 * publishers a token and the feed ids to publish under) and talks to Janus through
 * janus-api.js, over WebSocket or HTTP long polling as the URL says. Chat and presence stay on
 * the classroom socket.
 *
 * - Each own stream (camera, screen) is one publisher handle; each remote feed is one
 *   subscriber handle with its own RTCPeerConnection, which keeps renegotiation trivial.
 * - Feeds are discovered by polling `listparticipants` (viewers never join as publishers,
 *   so they get no publisher events) and, for publishers, also from room events.
 * - A feed's `display` is `<kind>:<participant id>`, so the UI can put it on the right tile.
 * - If Janus goes away (restart), everything is rebuilt from a fresh grant, which also makes
 *   liveclass re-create the room.
 */

import { JanusConnection } from './janus-api.js';

/** @typedef {import('./liveclass-client.js').LiveClassClient} LiveClassClient */
/** @typedef {import('./liveclass-client.js').JoinDocument} JoinDocument */
/** @typedef {import('./liveclass-client.js').MediaGrant} MediaGrant */
/** @typedef {import('./liveclass-client.js').Welcome} Welcome */
/** @typedef {import('./liveclass-client.js').PeerInfo} PeerInfo */
/** @typedef {import('./liveclass-client.js').Permissions} Permissions */
/** @typedef {import('./media-transport.js').StreamKind} StreamKind */
/** @typedef {import('./media-transport.js').SignalMessage} SignalMessage */
/** @typedef {import('./media-transport.js').MediaTransport} MediaTransport */
/** @typedef {import('./janus-api.js').JanusHandle} JanusHandle */

/**
 * @typedef {Object} JanusGrant
 * @property {'janus'} provider
 * @property {string} client_url  ws(s):// or http(s):// URL of the Janus server
 * @property {string|null} api_secret
 * @property {number} room
 * @property {string} pin
 * @property {boolean} can_publish
 * @property {string|null} token
 * @property {number|null} feed_id
 * @property {number|null} screen_feed_id
 */

/**
 * The entry point for `media.provider == "janus"` (media-transport.js `openMedia` calls it).
 * @type {import('./media-transport.js').MediaFactory}
 */
export function createMedia(client, joined, { iceServers = [] } = {}) {
  return new JanusMedia(client, { iceServers, grant: janusGrant(joined.media) });
}

/**
 * The grant as janus-media.js needs it, or an error that says it is not one.
 * @param {MediaGrant | undefined} media @returns {JanusGrant}
 */
export function janusGrant(media) {
  if (!media || media.provider !== 'janus' || typeof media.client_url !== 'string' || !media.client_url) {
    throw new Error('the join document carries no Janus grant');
  }
  return /** @type {JanusGrant} */ (/** @type {unknown} */ (media));
}

const POLL_MS = 1500;
const MAX_REBUILDS = 20;

/** @implements {MediaTransport} */
export class JanusMedia {
  /**
   * @param {LiveClassClient} client
   * @param {{iceServers?: RTCIceServer[], grant?: JanusGrant}} [options]
   */
  constructor(client, { iceServers = [], grant } = {}) {
    this.client = client;
    this.iceServers = iceServers;
    /** @type {JanusGrant | null} */
    this.grant = null;
    /** @type {JanusGrant | null} a grant the page already has, used by the first build */
    this.pendingGrant = grant ?? null;
    /** @type {JanusHandle | undefined} lists the room's publishers */
    this.lobby = undefined;
    /** @type {Map<StreamKind, MediaStream>} */
    this.local = new Map();
    /** @type {JanusConnection | null} */
    this.janus = null;
    /** @type {Map<StreamKind, Feed>} own publisher handles */
    this.publishing = new Map();
    /** @type {Map<number, Feed>} feed id -> subscription */
    this.watching = new Map();
    this.closed = false;
    this.refreshing = false;
    /** Publishing steps run one after another: two joins under one feed id would clash. */
    this.queue = Promise.resolve();
    this.rebuilds = 0;
    /** How many times the Janus connection was (re)built; more than 1 after a Janus restart. */
    this.builds = 0;
    /** @type {ReturnType<typeof setInterval> | undefined} */
    this.poller = undefined;

    /** @type {(participantId: string, stream: MediaStream, kind: StreamKind) => void} */
    this.onRemoteStream = () => {};
    /** @type {(participantId: string, kind: StreamKind) => void} */
    this.onRemoteStreamEnded = () => {};
    /** @type {(participantId: string, state: RTCPeerConnectionState) => void} */
    this.onPeerState = () => {};
    /** @type {(error: string) => void} */
    this.onMediaError = () => {};
  }

  get selfId() { return this.client.me?.participant_id ?? ''; }

  /** Every RTCPeerConnection this page has open (for getStats). */
  peerConnections() {
    return [...this.publishing.values(), ...this.watching.values()].map((f) => f.pc);
  }

  // -- MediaTransport -------------------------------------------------------------------

  /** @param {Welcome} _welcome */
  start(_welcome) {
    this.closed = false;
    // A reconnect of the classroom socket does not disturb media that still flows.
    if (this.janus?.isOpen()) { this.refreshFeeds(); return; }
    this.rebuild().catch((e) => { this.failed(e); this.lost(); });
  }

  /** @param {PeerInfo} _peer */
  peerJoined(_peer) { this.refreshFeeds(); }

  /** @param {string} _participantId */
  peerLeft(_participantId) { this.refreshFeeds(); }

  /** @param {string} participantId @param {string} _role @param {Permissions} _permissions */
  roleChanged(participantId, _role, _permissions) {
    // Janus already enforces the new role (liveclass edited the room's tokens); we need a new
    // grant to publish after a promotion, and drop our feeds after a demotion.
    if (participantId === this.selfId) this.serial(() => this.regrant());
  }

  /** @param {SignalMessage} _message mesh signaling: not used with an SFU */
  signal(_message) {}

  /** @param {MediaStream} stream @param {StreamKind} kind */
  publish(stream, kind) {
    this.local.set(kind, stream);
    this.serial(() => this.startPublishing(kind));
  }

  /** @param {StreamKind} kind */
  unpublish(kind) {
    this.local.delete(kind);
    this.serial(async () => this.stopPublishing(kind));
  }

  /** @param {'audio'|'video'} _kind @param {boolean} _enabled */
  trackEnabled(_kind, _enabled) {
    // nothing to tell anyone: a disabled track already sends silence or black frames
  }

  close() {
    this.closed = true;
    this.teardown();
  }

  /** @param {() => Promise<void>} step */
  serial(step) {
    this.queue = this.queue.then(step).catch((e) => this.failed(e));
  }

  // -- building and tearing down --------------------------------------------------------

  async rebuild() {
    this.teardown();
    if (this.closed) return;
    // A fresh grant each time: after a Janus restart it is what makes liveclass re-create
    // the room, and it carries our current role's rights.
    const grant = this.pendingGrant ?? await this.fetchGrant();
    this.pendingGrant = null;
    this.grant = grant;
    const janus = new JanusConnection(grant.client_url, grant.api_secret);
    this.janus = janus;
    janus.onLost = () => { if (janus === this.janus) this.lost(); };
    await janus.open();
    const lobby = await janus.attach();
    this.lobby = lobby;
    this.poller = setInterval(() => this.refreshFeeds(lobby), POLL_MS);
    this.rebuilds = 0;
    this.builds += 1;
    await this.refreshFeeds(lobby);
    for (const kind of this.local.keys()) this.serial(() => this.startPublishing(kind));
  }

  teardown() {
    clearInterval(this.poller);
    this.poller = undefined;
    for (const kind of [...this.publishing.keys()]) this.stopPublishing(kind);
    for (const feed of [...this.watching.keys()]) this.stopWatching(feed);
    this.janus?.close();
    this.janus = null;
    this.lobby = undefined;
  }

  /** @returns {Promise<JanusGrant>} */
  async fetchGrant() {
    const joined = await this.client.refreshToken();
    return janusGrant(joined.media);
  }

  async regrant() {
    this.grant = await this.fetchGrant();
    if (!this.grant.can_publish) {
      for (const kind of [...this.publishing.keys()]) this.stopPublishing(kind);
      return;
    }
    for (const kind of this.local.keys()) await this.startPublishing(kind);
  }

  /** Janus went away or could not be reached: rebuild with backoff, a bounded number of times. */
  lost() {
    if (this.closed) return;
    this.teardown();
    if (++this.rebuilds > MAX_REBUILDS) { this.failed(new Error('Janus unreachable')); return; }
    const delay = Math.min(5000, 250 * this.rebuilds);
    setTimeout(() => this.rebuild().catch(() => this.lost()), delay);
  }

  /** @param {unknown} error */
  failed(error) {
    if (this.closed) return;
    console.warn('janus media:', error);
    this.onMediaError(String(error instanceof Error ? error.message : error));
  }

  // -- publishing -------------------------------------------------------------------------

  /** @param {StreamKind} kind */
  async startPublishing(kind) {
    const grant = this.grant;
    const stream = this.local.get(kind);
    if (!this.janus || !grant?.can_publish || !stream) return;
    this.stopPublishing(kind);
    try {
      await this.joinAndPublish(this.janus, grant, stream, kind);
    } catch (e) {
      this.stopPublishing(kind); // e.g. Janus refused a stale grant (433): leave nothing behind
      throw e;
    }
  }

  /**
   * @param {JanusConnection} janus @param {JanusGrant} grant
   * @param {MediaStream} stream @param {StreamKind} kind
   */
  async joinAndPublish(janus, grant, stream, kind) {
    const handle = await janus.attach();
    const feed = new Feed(handle, this.newPeerConnection(), kind, this.selfId);
    this.publishing.set(kind, feed);
    handle.onEvent = (data) => {
      // kicked (a demotion or a kick), the room destroyed, or the connection hung up
      if (data.kicked !== undefined || data.videoroom === 'destroyed' || data.leaving === 'ok'
          || data.hangup) this.stopPublishing(kind);
    };
    await handle.message({
      request: 'join', ptype: 'publisher', room: grant.room, pin: grant.pin, token: grant.token,
      id: kind === 'screen' ? grant.screen_feed_id : grant.feed_id, display: `${kind}:${this.selfId}`,
    });
    for (const track of stream.getTracks()) {
      feed.pc.addTransceiver(track, { direction: 'sendonly', streams: [stream] });
    }
    feed.trickle();
    await feed.pc.setLocalDescription();
    const reply = await handle.message({ request: 'publish' }, feed.pc.localDescription);
    if (reply.jsep) await feed.pc.setRemoteDescription(reply.jsep);
  }

  /** @param {StreamKind} kind */
  stopPublishing(kind) {
    const feed = this.publishing.get(kind);
    if (!feed) return;
    this.publishing.delete(kind);
    feed.close();
  }

  // -- subscribing ------------------------------------------------------------------------

  /** @param {JanusHandle} [lobby] */
  async refreshFeeds(lobby = this.lobby) {
    // One refresh at a time, or a slow subscribe could be started twice for one feed.
    if (this.refreshing) return;
    this.refreshing = true;
    try {
      await this.syncFeeds(lobby);
    } finally {
      this.refreshing = false;
    }
  }

  /** Subscribe to every publisher feed in the room but our own; drop feeds that left. */
  async syncFeeds(/** @type {JanusHandle | undefined} */ lobby) {
    const grant = this.grant;
    if (!lobby || !grant || this.closed) return;
    let reply;
    try {
      reply = await lobby.message({ request: 'listparticipants', room: grant.room });
    } catch {
      return; // a restart in progress: `lost` rebuilds
    }
    const own = new Set([grant.feed_id, grant.screen_feed_id]);
    /** @type {Map<number, string>} */
    const live = new Map();
    for (const p of reply.data.participants || []) {
      if (p.publisher && !own.has(p.id)) live.set(p.id, String(p.display || ''));
    }
    for (const feed of [...this.watching.keys()]) if (!live.has(feed)) this.stopWatching(feed);
    for (const [feed, display] of live) {
      if (this.watching.has(feed)) continue;
      // The feed may have left meanwhile; the next refresh tries again if it is still there.
      await this.startWatching(feed, display).catch(() => this.stopWatching(feed));
    }
  }

  /** @param {number} feedId @param {string} display */
  async startWatching(feedId, display) {
    const grant = this.grant;
    const janus = this.janus;
    if (!janus || !grant) return;
    const [kindText, participantId] = display.includes(':') ? display.split(':', 2) : ['camera', display];
    const kind = /** @type {StreamKind} */ (kindText === 'screen' ? 'screen' : 'camera');
    const handle = await janus.attach();
    const feed = new Feed(handle, this.newPeerConnection(), kind, participantId);
    this.watching.set(feedId, feed);
    feed.pc.ontrack = (event) => {
      const stream = event.streams[0] ?? new MediaStream([event.track]);
      feed.stream = stream;
      this.onRemoteStream(participantId, stream, kind);
    };
    feed.pc.onconnectionstatechange = () => this.onPeerState(participantId, feed.pc.connectionState);
    handle.onEvent = (data) => {
      if (data.videoroom === 'destroyed' || data.left === 'ok') this.stopWatching(feedId);
    };
    const reply = await handle.message({
      request: 'join', ptype: 'subscriber', room: grant.room, pin: grant.pin, streams: [{ feed: feedId }],
    });
    if (!reply.jsep) throw new Error(`Janus sent no offer for feed ${feedId}`);
    feed.trickle();
    await feed.pc.setRemoteDescription(reply.jsep);
    await feed.pc.setLocalDescription();
    await handle.message({ request: 'start' }, feed.pc.localDescription);
  }

  /** @param {number} feedId */
  stopWatching(feedId) {
    const feed = this.watching.get(feedId);
    if (!feed) return;
    this.watching.delete(feedId);
    feed.close();
    if (feed.stream) this.onRemoteStreamEnded(feed.owner, feed.kind);
  }

  newPeerConnection() {
    return new RTCPeerConnection({ iceServers: this.iceServers });
  }
}

/** One publisher or subscriber: a Janus handle and its RTCPeerConnection. */
class Feed {
  /** @param {JanusHandle} handle @param {RTCPeerConnection} pc @param {StreamKind} kind @param {string} owner */
  constructor(handle, pc, kind, owner) {
    this.handle = handle;
    this.pc = pc;
    this.kind = kind;
    this.owner = owner;
    /** @type {MediaStream | null} */
    this.stream = null;
  }

  /** Send our ICE candidates to Janus as they come (Janus's own are in its SDP). */
  trickle() {
    this.pc.onicecandidate = ({ candidate }) => {
      this.handle.trickle(candidate ? candidate.toJSON() : { completed: true });
    };
  }

  close() {
    this.pc.ontrack = null;
    this.pc.onicecandidate = null;
    this.pc.onconnectionstatechange = null;
    this.pc.close();
    this.handle.detach();
  }
}
