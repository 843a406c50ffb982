// @ts-check
/**
 * The Janus API on the wire, for janus-media.js (as media/janus_api.py is for the server):
 * a session (`JanusConnection`) with its plugin handles (`JanusHandle`), requests matched to
 * replies by transaction, pushed events routed to their handle, and a keepalive. Two wires
 * carry it: Janus's WebSocket transport (subprotocol `janus-protocol`) for a ws(s):// URL, and
 * its HTTP transport (POSTed requests, long-polled events) for an http(s):// URL.
 * It knows nothing of liveclass or of WebRTC beyond passing JSEP through. DOM-free.
 */

const KEEPALIVE_MS = 25000;
const REQUEST_TIMEOUT_MS = 10000;
const POLL_MAX_EVENTS = 10;
const POLL_RETRIES = 3;

/**
 * A Janus session: requests matched to replies by transaction, pushed events routed to their
 * handle, a keepalive while open. The wire underneath is Janus's WebSocket transport for a
 * ws(s):// URL, or its HTTP transport (POST requests, long-polled events) for an http(s):// URL.
 */
export class JanusConnection {
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
    /** @type {Record<string, any>} */
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

export class JanusHandle {
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
