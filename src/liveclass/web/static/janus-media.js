// @ts-check
/**
 * Janus media: publish and subscribe through a Janus VideoRoom (an SFU). DOM-free; implements
 * `MediaTransport` from liveclass-client.js for sessions whose `media.provider` is "janus".
 *
 * It speaks the Janus API directly, with the grant liveclass put in the join document's `media`
 * (Janus URL, room, pin, and for publishers a token and the feed ids to publish under): over
 * the WebSocket transport (subprotocol `janus-protocol`) when the URL is ws(s)://, over the HTTP
 * transport with long polling when it is http(s)://. Chat and presence stay on the classroom
 * socket.
 *
 * - Each own stream (camera, screen) is one publisher handle; each remote feed is one
 *   subscriber handle with its own RTCPeerConnection, which keeps renegotiation trivial.
 * - Feeds are discovered by polling `listparticipants` (viewers never join as publishers,
 *   so they get no publisher events) and, for publishers, also from room events.
 * - A feed's `display` is `<kind>:<participant id>`, so the UI can put it on the right tile.
 * - If Janus goes away (restart), everything is rebuilt from a fresh grant, which also makes
 *   liveclass re-create the room.
 */

/** @typedef {import('./liveclass-client.js').LiveClassClient} LiveClassClient */
/** @typedef {import('./liveclass-client.js').Welcome} Welcome */
/** @typedef {import('./liveclass-client.js').PeerInfo} PeerInfo */
/** @typedef {import('./liveclass-client.js').Permissions} Permissions */
/** @typedef {'camera'|'screen'} StreamKind */

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
 * The classroom's entry point for `media.provider == "janus"` (see classroom.js `createMedia`).
 * @param {LiveClassClient} client
 * @param {{media: JanusGrant}} joined the join document, whose `media` is our grant
 * @param {{iceServers?: RTCIceServer[]}} [options]
 */
export async function createMedia(client, joined, { iceServers = [] } = {}) {
  return new JanusMedia(client, { iceServers, grant: joined.media });
}

const POLL_MS = 1500;
const KEEPALIVE_MS = 25000;
const REQUEST_TIMEOUT_MS = 10000;
const POLL_MAX_EVENTS = 10;
const POLL_RETRIES = 3;
const MAX_REBUILDS = 20;

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
    /** @type {(participantId: string, state: string) => void} */
    this.onPeerState = () => {};
    /** @type {(error: string) => void} */
    this.onMediaError = () => {};
    client.media = this;
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

  /** @param {any} _message mesh signaling: not used with an SFU */
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
    if (!joined.media || joined.media.provider !== 'janus' || !joined.media.client_url) {
      throw new Error('the join document carries no Janus grant');
    }
    return joined.media;
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

/**
 * A Janus session: requests matched to replies by transaction, pushed events routed to their
 * handle, a keepalive while open. The wire underneath is Janus's WebSocket transport for a
 * ws(s):// URL, or its HTTP transport (POST requests, long-polled events) for an http(s):// URL.
 */
class JanusConnection {
  /** @param {string} url @param {string|null} apiSecret */
  constructor(url, apiSecret) {
    this.url = url;
    this.apiSecret = apiSecret;
    this.wire = openWire(url, apiSecret);
    this.wire.onMessage = (m) => this.receive(m);
    this.wire.onClosed = () => this.hungUp();
    this.sessionId = 0;
    /** @type {Map<string, {resolve: (m: any) => void, reject: (e: Error) => void, timer: any, ackIsAnswer: boolean}>} */
    this.pending = new Map();
    /** @type {Map<number, JanusHandle>} */
    this.handles = new Map();
    /** @type {ReturnType<typeof setInterval> | undefined} */
    this.keepalive = undefined;
    this.closing = false;
    this.onLost = () => {};
  }

  async open() {
    await this.wire.open();
    const created = await this.request({ janus: 'create' });
    this.sessionId = created.data.id;
    this.wire.listen(this.sessionId);
    this.keepalive = setInterval(() => {
      this.request({ janus: 'keepalive', session_id: this.sessionId }).catch(() => {});
    }, KEEPALIVE_MS);
  }

  isOpen() { return this.wire.isOpen() && this.sessionId !== 0; }

  async attach() {
    const reply = await this.request({ janus: 'attach', session_id: this.sessionId, plugin: 'janus.plugin.videoroom' });
    const handle = new JanusHandle(this, reply.data.id);
    this.handles.set(handle.id, handle);
    return handle;
  }

  /** @param {Record<string, any>} body @returns {Promise<any>} */
  request(body) {
    const transaction = Math.random().toString(36).slice(2, 14);
    const message = { ...body, transaction };
    if (this.apiSecret) message.apisecret = this.apiSecret;
    return new Promise((resolve, reject) => {
      if (!this.wire.isOpen()) { reject(new Error('Janus not connected')); return; }
      const timer = setTimeout(() => {
        this.pending.delete(transaction);
        reject(new Error(`Janus did not answer ${body.janus}`));
      }, REQUEST_TIMEOUT_MS);
      // Janus answers trickle and keepalive with an ack only; messages get an ack first.
      const ackIsAnswer = body.janus === 'trickle' || body.janus === 'keepalive';
      this.pending.set(transaction, { resolve, reject, timer, ackIsAnswer });
      this.wire.send(message).catch((/** @type {Error} */ e) => {
        if (!this.pending.delete(transaction)) return;
        clearTimeout(timer);
        reject(e);
      });
    });
  }

  /** @param {any} m */
  receive(m) {
    const waiter = m.transaction ? this.pending.get(m.transaction) : undefined;
    if (waiter && (m.janus !== 'ack' || waiter.ackIsAnswer)) {
      this.pending.delete(m.transaction);
      clearTimeout(waiter.timer);
      const data = m.plugindata?.data;
      if (m.janus === 'error') waiter.reject(new Error(`Janus error ${m.error?.code}: ${m.error?.reason}`));
      else if (data && data.error_code) waiter.reject(new JanusRefusal(data.error_code, data.error));
      else waiter.resolve(m);
      return;
    }
    if (waiter) return; // an ack: the answer comes later as an event with this transaction
    const handle = this.handles.get(m.sender);
    if (!handle) return;
    if (m.janus === 'event' && m.plugindata) handle.onEvent(m.plugindata.data, m.jsep);
    else if (m.janus === 'hangup' || m.janus === 'detached') handle.onEvent({ hangup: m.reason ?? m.janus });
  }

  /** The wire is gone (Janus stopped, or we closed it): nothing pending will be answered. */
  hungUp() {
    for (const { reject, timer } of this.pending.values()) { clearTimeout(timer); reject(new Error('Janus closed')); }
    this.pending.clear();
    clearInterval(this.keepalive);
    if (!this.closing) { this.closing = true; this.onLost(); }
  }

  close() {
    if (this.closing) return;
    this.closing = true;
    if (this.wire.isOpen() && this.sessionId) {
      this.wire.send({ janus: 'destroy', session_id: this.sessionId, transaction: 'bye', apisecret: this.apiSecret ?? undefined })
        .catch(() => {});
    }
    this.wire.close();
    this.hungUp();
  }
}

/**
 * How messages travel to and from Janus. `onMessage` gets every message Janus sends;
 * `onClosed` is called once when Janus went away (not after `close`).
 * @typedef {Object} JanusWire
 * @property {() => Promise<void>} open
 * @property {(sessionId: number) => void} listen  start receiving the session's events
 * @property {(message: Record<string, any>) => Promise<void>} send
 * @property {() => boolean} isOpen
 * @property {() => void} close
 * @property {(m: any) => void} onMessage
 * @property {() => void} onClosed
 */

/** @param {string} url @param {string|null} apiSecret @returns {JanusWire} */
function openWire(url, apiSecret) {
  const scheme = new URL(url).protocol;
  if (scheme === 'ws:' || scheme === 'wss:') return new WebSocketWire(url);
  if (scheme === 'http:' || scheme === 'https:') return new LongPollWire(url, apiSecret);
  throw new Error(`cannot talk to Janus at ${url}: not a ws(s) or http(s) URL`);
}

/** Janus's WebSocket transport (subprotocol `janus-protocol`): one socket for everything. */
class WebSocketWire {
  /** @param {string} url */
  constructor(url) {
    this.url = url;
    /** @type {WebSocket | null} */
    this.ws = null;
    /** @type {(m: any) => void} */
    this.onMessage = () => {};
    this.onClosed = () => {};
  }

  async open() {
    const ws = new WebSocket(this.url, 'janus-protocol');
    this.ws = ws;
    await new Promise((resolve, reject) => {
      ws.onopen = resolve;
      ws.onerror = () => reject(new Error(`cannot reach Janus at ${this.url}`));
    });
    ws.onmessage = (event) => this.onMessage(JSON.parse(String(event.data)));
    ws.onclose = () => this.onClosed();
  }

  /** @param {number} _sessionId events arrive on the socket anyway */
  listen(_sessionId) {}

  /** @param {Record<string, any>} message */
  async send(message) {
    if (!this.ws) throw new Error('Janus not connected');
    this.ws.send(JSON.stringify(message));
  }

  isOpen() { return this.ws?.readyState === WebSocket.OPEN; }

  close() {
    if (this.ws) this.ws.onclose = null;
    this.ws?.close();
  }
}

/**
 * Janus's HTTP transport, on the same URL liveclass uses for its API: each request is a POST to
 * the server, session or handle URL and its reply is the response; pushed events come from a
 * long-polled GET on the session URL. The Janus server must allow this page's origin (CORS).
 */
class LongPollWire {
  /** @param {string} url @param {string|null} apiSecret */
  constructor(url, apiSecret) {
    this.url = url.replace(/\/+$/, '');
    this.apiSecret = apiSecret;
    this.closed = false;
    this.stop = new AbortController();
    /** @type {(m: any) => void} */
    this.onMessage = () => {};
    this.onClosed = () => {};
  }

  async open() {} // nothing to connect: the first request (create) shows whether Janus is there

  /** @param {Record<string, any>} message */
  async send(message) {
    // The HTTP transport takes the session and handle from the path, as janus.js sends them.
    const { session_id: session, handle_id: handle, ...body } = message;
    const url = [this.url, session, handle].filter((part) => part).join('/');
    let response;
    try {
      response = await fetch(url, {
        method: 'POST', body: JSON.stringify(body), cache: 'no-store',
        headers: { 'Content-Type': 'application/json' },
      });
    } catch {
      throw new Error(`cannot reach Janus at ${this.url}`);
    }
    if (!response.ok) throw new Error(`Janus answered HTTP ${response.status}`);
    this.onMessage(await response.json());
  }

  /** @param {number} sessionId */
  listen(sessionId) {
    const query = new URLSearchParams({ maxev: String(POLL_MAX_EVENTS) });
    if (this.apiSecret) query.set('apisecret', this.apiSecret);
    this.poll(`${this.url}/${sessionId}?${query}`).catch((e) => console.warn('janus poll:', e)).finally(() => {
      if (this.closed) return;
      this.closed = true;
      this.onClosed();
    });
  }

  /** Hand every pushed event to `onMessage` until Janus is gone or we close. @param {string} url */
  async poll(url) {
    let failures = 0;
    while (!this.closed) {
      let response;
      try {
        // Janus holds the request until it has events, or answers a keepalive after ~30 s.
        response = await fetch(url, { cache: 'no-store', signal: this.stop.signal });
      } catch {
        // Janus may be restarting: a few quick retries before we call it gone.
        if (this.closed || ++failures > POLL_RETRIES) return;
        await new Promise((resolve) => setTimeout(resolve, 200 * failures));
        continue;
      }
      if (!response.ok) return; // 404: Janus has no such session any more (it restarted)
      failures = 0;
      const events = await response.json();
      for (const m of Array.isArray(events) ? events : [events]) this.onMessage(m);
    }
  }

  isOpen() { return !this.closed; }

  close() {
    this.closed = true;
    this.stop.abort();
  }
}

class JanusHandle {
  /** @param {JanusConnection} janus @param {number} id */
  constructor(janus, id) {
    this.janus = janus;
    this.id = id;
    /** @type {(data: any, jsep?: RTCSessionDescriptionInit) => void} */
    this.onEvent = () => {};
  }

  /**
   * A plugin request; resolves with the plugin data and JSEP of Janus's answer.
   * @param {Record<string, any>} body @param {RTCSessionDescription | null} [jsep]
   * @returns {Promise<{data: any, jsep?: RTCSessionDescriptionInit}>}
   */
  async message(body, jsep) {
    /** @type {Record<string, any>} */
    const request = { janus: 'message', session_id: this.janus.sessionId, handle_id: this.id, body };
    if (jsep) request.jsep = { type: jsep.type, sdp: jsep.sdp };
    const reply = await this.janus.request(request);
    return { data: reply.plugindata?.data ?? {}, jsep: reply.jsep };
  }

  /** @param {RTCIceCandidateInit | {completed: true}} candidate */
  trickle(candidate) {
    this.janus.request({ janus: 'trickle', session_id: this.janus.sessionId, handle_id: this.id, candidate }).catch(() => {});
  }

  detach() {
    this.janus.handles.delete(this.id);
    this.janus.request({ janus: 'detach', session_id: this.janus.sessionId, handle_id: this.id }).catch(() => {});
  }
}

/** Janus refused a request (e.g. 433: not allowed to publish in this room). */
export class JanusRefusal extends Error {
  /** @param {number} code @param {string} message */
  constructor(code, message) {
    super(`Janus VideoRoom error ${code}: ${message}`);
    this.code = code;
  }
}
