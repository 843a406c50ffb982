// @ts-check
/**
 * Mesh media: one RTCPeerConnection per peer, negotiated over the classroom socket with the
 * "perfect negotiation" pattern and trickle ICE. DOM-free; `createMedia` makes the
 * `MediaTransport` (media-transport.js) for sessions whose `media.provider` is "mesh".
 *
 * Rules that keep both ends of every link in step:
 * - one side of a new link makes the first offer, the other waits for it: the newcomer
 *   (unless it may not publish), which avoids glare while both ends set up at once.
 *   Later renegotiations (screen share) use perfect negotiation.
 * - a welcome (first connect or reconnect) rebuilds every link; `peer_joined` rebuilds the
 *   link to that peer; `peer_left` closes it. The server orders `peer_joined` before any
 *   signal of the newcomer, so both ends always build their new link together.
 * - only participants allowed to publish make offers (the server refuses the others'), so a
 *   viewer's link receives only, and two viewers need no link at all.
 */

/** @typedef {import('./liveclass-client.js').LiveClassClient} LiveClassClient */
/** @typedef {import('./liveclass-client.js').PeerInfo} PeerInfo */
/** @typedef {import('./liveclass-client.js').Welcome} Welcome */
/** @typedef {import('./media-transport.js').StreamKind} StreamKind */
/** @typedef {import('./media-transport.js').SignalMessage} SignalMessage */
/** @typedef {import('./media-transport.js').MediaTransport} MediaTransport */

const PUBLISHING_ROLES = new Set(['host', 'co_host', 'speaker']);

/** @type {import('./media-transport.js').MediaFactory} */
export function createMedia(client, _joined, { iceServers = [] } = {}) {
  return new MeshMedia(client, { iceServers }); // a mesh grant carries nothing but its name
}

/** @implements {MediaTransport} */
export class MeshMedia {
  /**
   * @param {LiveClassClient} client
   * @param {{iceServers?: RTCIceServer[]}} [options]
   */
  constructor(client, { iceServers = [] } = {}) {
    this.client = client;
    this.iceServers = iceServers;
    /** @type {Map<string, PeerLink>} */
    this.links = new Map();
    /** @type {Map<StreamKind, MediaStream>} */
    this.local = new Map();
    /** @type {Map<string, string>} participant id -> role */
    this.roles = new Map();
    this.closed = false;

    /** @type {(participantId: string, stream: MediaStream, kind: StreamKind) => void} */
    this.onRemoteStream = () => {};
    /** @type {(participantId: string, kind: StreamKind) => void} */
    this.onRemoteStreamEnded = () => {};
    /** @type {(participantId: string, state: RTCPeerConnectionState) => void} */
    this.onPeerState = () => {};
    /** @type {(error: string) => void} nothing in a mesh fails for the whole page */
    this.onMediaError = () => {};
  }

  get selfId() { return this.client.me?.participant_id ?? ''; }
  get canPublish() { return Boolean(this.client.me?.permissions.can_publish); }

  /** @param {Welcome} welcome */
  start(welcome) {
    this.closed = false;
    for (const pid of [...this.links.keys()]) this.drop(pid);
    this.roles.clear();
    for (const peer of welcome.peers) {
      this.roles.set(peer.participant_id, peer.role);
      // We are the newcomer: we make the first offer to everyone.
      this.link(peer.participant_id, peer.role, this.canPublish);
    }
  }

  /** @param {PeerInfo} peer */
  peerJoined(peer) {
    this.roles.set(peer.participant_id, peer.role);
    this.drop(peer.participant_id);
    // The newcomer offers first, unless it may not publish.
    this.link(peer.participant_id, peer.role, this.canPublish && !PUBLISHING_ROLES.has(peer.role));
  }

  /** @param {string} participantId */
  peerLeft(participantId) {
    this.roles.delete(participantId);
    this.drop(participantId);
  }

  /** @param {string} participantId @param {string} role */
  roleChanged(participantId, role) {
    if (participantId === this.selfId) {
      // Our own grant changed: every link starts over with the new direction.
      for (const pid of [...this.links.keys()]) this.drop(pid);
      for (const [pid, peerRole] of this.roles) this.link(pid, peerRole, this.firstOfferer(pid, peerRole));
      return;
    }
    this.roles.set(participantId, role);
    this.drop(participantId);
    this.link(participantId, role, this.firstOfferer(participantId, role));
  }

  /** @param {SignalMessage} message an offer, answer or candidate from a peer */
  signal(message) {
    let link = this.links.get(message.from);
    if (!link && message.type === 'offer') {
      link = this.link(message.from, this.roles.get(message.from) || 'speaker', false, true);
    }
    link?.enqueue(message);
  }

  /** @param {MediaStream} stream @param {StreamKind} kind */
  publish(stream, kind) {
    this.unpublish(kind);
    this.local.set(kind, stream);
    for (const link of this.links.values()) link.addStream(stream);
  }

  /** @param {StreamKind} kind */
  unpublish(kind) {
    const stream = this.local.get(kind);
    if (!stream) return;
    this.local.delete(kind);
    for (const link of this.links.values()) link.removeStream(stream);
  }

  /** @param {'audio'|'video'} _kind @param {boolean} _enabled */
  trackEnabled(_kind, _enabled) {
    // nothing to tell anyone: a disabled track already sends silence or black frames
  }

  close() {
    this.closed = true;
    for (const pid of [...this.links.keys()]) this.drop(pid);
  }

  peerConnections() {
    return [...this.links.values()].map((link) => link.pc);
  }

  /** stream id -> kind, sent with offers so receivers can tell a screen from a camera. */
  streamKinds() {
    /** @type {Record<string, StreamKind>} */
    const kinds = {};
    for (const [kind, stream] of this.local) kinds[stream.id] = kind;
    return kinds;
  }

  /** Both ends rebuild at once (a role change): the publisher with the lower id offers. */
  firstOfferer(/** @type {string} */ pid, /** @type {string} */ role) {
    return this.canPublish && (!PUBLISHING_ROLES.has(role) || this.selfId < pid);
  }

  /**
   * @param {string} pid @param {string} role
   * @param {boolean} [offerFirst] we make the first offer on this link
   * @param {boolean} [force] the peer offered to us
   * @returns {PeerLink | undefined}
   */
  link(pid, role, offerFirst = false, force = false) {
    if (this.closed || pid === this.selfId) return undefined;
    if (!force && !this.canPublish && !PUBLISHING_ROLES.has(role)) return undefined;
    const link = new PeerLink(this, pid, role, offerFirst);
    this.links.set(pid, link);
    if (this.canPublish) for (const stream of this.local.values()) link.addStream(stream);
    return link;
  }

  /** @param {string} pid */
  drop(pid) {
    const link = this.links.get(pid);
    if (!link) return;
    this.links.delete(pid);
    link.close();
  }
}

/** One RTCPeerConnection to one peer, negotiated the "perfect negotiation" way. */
class PeerLink {
  /** @param {MeshMedia} media @param {string} pid @param {string} role @param {boolean} offerFirst */
  constructor(media, pid, role, offerFirst) {
    this.media = media;
    this.pid = pid;
    this.role = role;
    // Exactly one side of each pair is polite: it yields when both offer at once.
    this.polite = media.selfId < pid;
    // Until the first exchange completes, only the first offerer may offer.
    this.negotiated = offerFirst;
    this.makingOffer = false;
    this.ignoreOffer = false;
    this.settingRemoteAnswer = false;
    /** @type {(RTCIceCandidateInit | null)[]} */
    this.pendingCandidates = [];
    /** @type {Promise<void>} */
    this.queue = Promise.resolve();
    /** @type {Map<string, StreamKind>} */
    this.remoteKinds = new Map();
    /** @type {Map<string, RTCRtpSender[]>} */
    this.senders = new Map();
    /** @type {Set<string>} */
    this.announced = new Set();
    const pc = new RTCPeerConnection({ iceServers: media.iceServers });
    this.pc = pc;
    pc.onnegotiationneeded = () => this.offer();
    pc.onicecandidate = ({ candidate }) => {
      media.client.send({ type: 'candidate', to: pid, candidate: candidate ? candidate.toJSON() : null });
    };
    pc.ontrack = (event) => this.track(event);
    pc.onconnectionstatechange = () => {
      media.onPeerState(pid, pc.connectionState);
      // Publishers own the negotiation, so they are the ones who restart a failed path.
      if (pc.connectionState === 'failed' && media.canPublish) pc.restartIce();
    };
  }

  async offer() {
    if (!this.media.canPublish || !this.negotiated) return;
    try {
      this.makingOffer = true;
      await this.pc.setLocalDescription();
      this.sendDescription();
    } catch (e) {
      console.warn('offer to', this.pid, 'failed:', e);
    } finally {
      this.makingOffer = false;
    }
  }

  /** Send what setLocalDescription() produced: an offer, or an answer if an offer came in. */
  sendDescription() {
    const description = this.pc.localDescription;
    if (!description) return;
    const message = { type: description.type, to: this.pid, sdp: description.sdp };
    if (description.type === 'offer') Object.assign(message, { streams: this.media.streamKinds() });
    this.media.client.send(message);
  }

  /** Signals are handled one at a time, in arrival order: each step awaits the browser. */
  enqueue(/** @type {SignalMessage} */ message) {
    this.queue = this.queue
      .then(() => this.handle(message))
      .catch((e) => console.warn('signaling with', this.pid, 'failed:', e));
  }

  /** @param {SignalMessage} m */
  async handle(m) {
    const pc = this.pc;
    if (m.type === 'candidate') {
      // Candidates can arrive before any description we accepted (we ignored a colliding
      // offer, and its answer is still to come): keep them for when it does.
      if (!pc.remoteDescription) this.pendingCandidates.push(m.candidate);
      else await this.addCandidate(m.candidate);
      return;
    }
    // An answer being applied leaves "stable" only briefly: an offer then is no collision.
    const readyForOffer = !this.makingOffer
      && (pc.signalingState === 'stable' || this.settingRemoteAnswer);
    const collision = m.type === 'offer' && !readyForOffer;
    this.ignoreOffer = !this.polite && collision;
    if (this.ignoreOffer) return;
    if (m.type === 'offer') for (const [id, kind] of Object.entries(m.streams || {})) this.remoteKinds.set(id, kind);
    this.settingRemoteAnswer = m.type === 'answer';
    try {
      await pc.setRemoteDescription({ type: m.type, sdp: m.sdp });
    } finally {
      this.settingRemoteAnswer = false;
    }
    for (const candidate of this.pendingCandidates.splice(0)) await this.addCandidate(candidate);
    if (m.type === 'offer') {
      await pc.setLocalDescription();
      this.sendDescription();
      // From now on either side may renegotiate; the browser asks again if it still needs to.
      this.negotiated = true;
    }
  }

  /** @param {RTCIceCandidateInit | null} candidate */
  async addCandidate(candidate) {
    try {
      await this.pc.addIceCandidate(candidate ?? undefined);
    } catch (e) {
      // A candidate of a description we ignored or replaced no longer applies.
      if (!this.ignoreOffer) console.debug('candidate from', this.pid, 'not applicable:', e);
    }
  }

  /** @param {RTCTrackEvent} event */
  track(event) {
    const stream = event.streams[0];
    if (!stream) return;
    const kind = this.remoteKinds.get(stream.id) || 'camera';
    // Fires once per track; the UI attaches the same stream again, which is harmless.
    this.announced.add(stream.id);
    this.media.onRemoteStream(this.pid, stream, kind);
    stream.onremovetrack = () => {
      if (stream.getTracks().length === 0) {
        this.announced.delete(stream.id);
        this.media.onRemoteStreamEnded(this.pid, kind);
      }
    };
  }

  /** @param {MediaStream} stream */
  addStream(stream) {
    const senders = stream.getTracks().map((track) => this.pc.addTrack(track, stream));
    this.senders.set(stream.id, senders);
  }

  /** @param {MediaStream} stream */
  removeStream(stream) {
    for (const sender of this.senders.get(stream.id) || []) {
      if (this.pc.signalingState !== 'closed') this.pc.removeTrack(sender);
    }
    this.senders.delete(stream.id);
  }

  close() {
    this.pc.onnegotiationneeded = null;
    this.pc.onicecandidate = null;
    this.pc.ontrack = null;
    this.pc.onconnectionstatechange = null;
    this.pc.close();
    for (const id of this.announced) this.media.onRemoteStreamEnded(this.pid, this.remoteKinds.get(id) || 'camera');
  }
}
