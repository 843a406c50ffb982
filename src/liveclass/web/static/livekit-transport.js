// @ts-check
/**
 * LiveKit media: publish and subscribe through a LiveKit room with livekit-client. DOM-free;
 * `createMedia` makes the `MediaTransport` (media-transport.js) for sessions whose
 * `media.provider` is "livekit".
 *
 * - liveclass serves livekit-client itself (`/vendor/livekit-client.js`, copied from npm by
 *   scripts/install); it is loaded on the first `start`, so mesh and Janus pages never fetch
 *   it, and a server without it makes this page say so while chat keeps working.
 * - The join document's `media` carries the LiveKit token (`access_token`) and `server_url`;
 *   the token's grants are the role's, and LiveKit enforces them (and changes them live
 *   when liveclass updates the participant after a role change).
 * - A remote participant's tiles are keyed by the liveclass participant id liveclass put in
 *   the token's metadata; a track's LiveKit source says whether it is camera or screen.
 * - Chat, hands and moderation stay on the classroom socket; `signal` is not used.
 */

/** @typedef {typeof import('livekit-client')} LiveKitModule */
/** @typedef {import('livekit-client').Room} Room */
/** @typedef {import('livekit-client').RemoteTrack} RemoteTrack */
/** @typedef {import('livekit-client').RemoteParticipant} RemoteParticipant */
/** @typedef {import('livekit-client').LocalTrackPublication} LocalTrackPublication */
/** @typedef {import('./liveclass-client.js').LiveClassClient} LiveClassClient */
/** @typedef {import('./liveclass-client.js').MediaGrant} MediaGrant */
/** @typedef {import('./liveclass-client.js').Welcome} Welcome */
/** @typedef {import('./liveclass-client.js').PeerInfo} PeerInfo */
/** @typedef {import('./liveclass-client.js').Permissions} Permissions */
/** @typedef {import('./media-transport.js').StreamKind} StreamKind */
/** @typedef {import('./media-transport.js').SignalMessage} SignalMessage */
/** @typedef {import('./media-transport.js').MediaTransport} MediaTransport */

/**
 * What liveclass grants for LiveKit (docs/api.md, "LiveKit sessions").
 * @typedef {Object} LiveKitGrant
 * @property {'livekit'} provider
 * @property {string} server_url  LIVEKIT_URL
 * @property {string} access_token  the LiveKit token (`token` is the same)
 * @property {string} room
 * @property {string} identity
 * @property {number} expires_at
 * @property {boolean} can_publish
 * @property {string[]} can_publish_sources  LiveKit's names: camera, microphone, screen_share, ...
 */

/** Where liveclass serves livekit-client, next to this module's folder. */
export const LIVEKIT_CLIENT_URL = new URL('../vendor/livekit-client.js', import.meta.url).href;

const MAX_REBUILDS = 20;

/**
 * The entry point for `media.provider == "livekit"` (media-transport.js `openMedia` calls it).
 * @type {import('./media-transport.js').MediaFactory}
 */
export function createMedia(client, joined) {
  // liveclass's ICE servers are for peer-to-peer media: LiveKit names its own on connect
  return new LiveKitMedia(client, { grant: liveKitGrant(joined.media) });
}

/**
 * The grant with a LiveKit token, or null: a waiting or kicked person gets none.
 * @param {MediaGrant | undefined} media @returns {LiveKitGrant | null}
 */
export function liveKitGrant(media) {
  if (!media || media.provider !== 'livekit') throw new Error('the join document carries no LiveKit grant');
  if (typeof media.access_token !== 'string' || typeof media.server_url !== 'string') return null;
  return /** @type {LiveKitGrant} */ (/** @type {unknown} */ (media));
}

/** @type {Promise<LiveKitModule> | null} */
let loading = null;

/** livekit-client, loaded once from liveclass; a missing file is said in words. */
export function loadLiveKit() {
  loading ??= import(LIVEKIT_CLIENT_URL).catch(async (error) => {
    loading = null;
    throw new Error(await missingLiveKitReason(error));
  });
  return loading;
}

/** @param {unknown} error @returns {Promise<string>} */
async function missingLiveKitReason(error) {
  try {
    const response = await fetch(LIVEKIT_CLIENT_URL, { method: 'GET' });
    const body = response.ok ? null : await response.json();
    if (body?.code === 'LIVEKIT_CLIENT_MISSING') return `Video is unavailable: ${body.detail}`;
  } catch { /* the reason below is all we know */ }
  return `Video is unavailable: livekit-client did not load (${error instanceof Error ? error.message : error})`;
}

/** The liveclass participant id of a LiveKit participant (metadata), else its identity. */
export function participantIdOf(/** @type {{identity: string, metadata?: string}} */ participant) {
  try {
    const meta = JSON.parse(participant.metadata || '{}');
    if (typeof meta.participant_id === 'string') return meta.participant_id;
  } catch { /* not liveclass's metadata */ }
  return participant.identity;
}

/** @implements {MediaTransport} */
export class LiveKitMedia {
  /**
   * @param {LiveClassClient} client
   * @param {{grant?: LiveKitGrant | null}} [options]
   */
  constructor(client, { grant = null } = {}) {
    this.client = client;
    /** @type {LiveKitGrant | null} a grant the page already has, used by the first connect */
    this.pendingGrant = grant;
    /** @type {LiveKitGrant | null} */
    this.grant = null;
    /** @type {LiveKitModule | null} */
    this.lk = null;
    /** @type {Room | null} */
    this.room = null;
    /** @type {Map<StreamKind, MediaStream>} what the page asked us to send */
    this.local = new Map();
    /** @type {Map<string, MediaStream>} `<participant id>:<kind>` -> what we show of them */
    this.remote = new Map();
    this.closed = false;
    this.rebuilds = 0;
    /** How many times the room was (re)connected. */
    this.builds = 0;
    /** Publishing steps run one after another, as the room's own state changes. */
    this.queue = Promise.resolve();

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

  /**
   * livekit-client's publisher and subscriber connections (for getStats). It keeps them to
   * itself; the pinned version holds each in its transports' `_pc`.
   * @returns {RTCPeerConnection[]}
   */
  peerConnections() {
    const manager = /** @type {any} */ (this.room)?.engine?.pcManager;
    return [manager?.publisher?._pc, manager?.subscriber?._pc]
      .filter((pc) => pc instanceof RTCPeerConnection);
  }

  // -- MediaTransport -------------------------------------------------------------------

  /** @param {Welcome} welcome */
  start(welcome) {
    this.closed = false;
    // nobody in the waiting room gets a LiveKit token; the welcome after admission connects
    if (welcome.you.status !== 'joined') return;
    // a reconnect of the classroom socket does not disturb a room that is still connected
    if (this.room) return;
    this.serial(() => this.connect());
  }

  /** @param {PeerInfo} _peer LiveKit tells us about participants itself */
  peerJoined(_peer) {}

  /** @param {string} participantId */
  peerLeft(participantId) {
    // gone from the class (left, kicked): whatever LiveKit still shows of them goes too
    for (const kind of /** @type {const} */ (['camera', 'screen'])) this.dropRemote(participantId, kind);
  }

  /** @param {string} participantId @param {string} _role @param {Permissions} permissions */
  roleChanged(participantId, _role, permissions) {
    if (participantId !== this.selfId) return;
    // LiveKit already applies the new grants to our connection (UpdateParticipant); the
    // fresh grant is for the next connect, and a demotion takes our tracks down at once.
    this.serial(async () => {
      if (!permissions.can_publish) await this.unpublishAll();
      this.grant = await this.fetchGrant();
      for (const kind of this.local.keys()) await this.publishKind(kind);
    });
  }

  /** @param {SignalMessage} _message mesh signaling: not used with an SFU */
  signal(_message) {}

  /** @param {MediaStream} stream @param {StreamKind} kind */
  publish(stream, kind) {
    this.local.set(kind, stream);
    this.serial(() => this.publishKind(kind));
  }

  /** @param {StreamKind} kind */
  unpublish(kind) {
    const stream = this.local.get(kind);
    this.local.delete(kind);
    if (stream) this.serial(() => this.unpublishStream(stream));
  }

  /** @param {'audio'|'video'} kind @param {boolean} enabled */
  trackEnabled(kind, enabled) {
    // a muted LiveKit publication stops sending and shows as muted to everyone
    this.serial(async () => {
      for (const publication of this.ownPublications(kind)) {
        await (enabled ? publication.unmute() : publication.mute());
      }
    });
  }

  close() {
    this.closed = true;
    this.teardown();
  }

  /** @param {() => Promise<void>} step */
  serial(step) {
    this.queue = this.queue.then(step).catch((e) => this.failed(e));
  }

  // -- the room -------------------------------------------------------------------------

  async connect() {
    if (this.closed || this.room) return;
    const lk = this.lk ?? await loadLiveKit();
    this.lk = lk;
    const grant = this.pendingGrant ?? await this.fetchGrant();
    this.pendingGrant = null;
    this.grant = grant;
    if (!grant || this.closed) return;
    const room = new lk.Room({ adaptiveStream: true, dynacast: true });
    this.room = room;
    this.listen(lk, room);
    try {
      await room.connect(grant.server_url, grant.access_token, { autoSubscribe: true });
    } catch (e) {
      if (this.room === room) this.room = null;
      room.removeAllListeners();
      await room.disconnect();
      this.lost();
      throw new Error(`Video could not connect to LiveKit: ${e instanceof Error ? e.message : e}`);
    }
    this.whenDisconnected(lk, room);
    this.rebuilds = 0;
    this.builds += 1;
    for (const kind of this.local.keys()) await this.publishKind(kind);
  }

  /** @param {LiveKitModule} lk @param {Room} room */
  listen(lk, room) {
    const { RoomEvent } = lk;
    room.on(RoomEvent.TrackSubscribed, (track, _publication, participant) => {
      this.addRemote(lk, participant, track);
    });
    room.on(RoomEvent.TrackUnsubscribed, (track, _publication, participant) => {
      this.removeRemote(lk, participant, track);
    });
    room.on(RoomEvent.ParticipantDisconnected, (participant) => this.peerLeft(participantIdOf(participant)));
    room.on(RoomEvent.ConnectionStateChanged, (state) => {
      const shown = peerState(lk, state);
      for (const key of this.remote.keys()) this.onPeerState(key.split(':')[0], shown);
    });
  }

  /** After the connect: a failed connect is handled where it is awaited. @param {LiveKitModule} lk @param {Room} room */
  whenDisconnected(lk, room) {
    room.on(lk.RoomEvent.Disconnected, (reason) => {
      if (room !== this.room) return;
      this.teardown();
      // kicked, the class over, or this person in another tab: the classroom socket says
      // so; anything else (LiveKit restarted, the network) connects again with a new token
      const final = [lk.DisconnectReason.CLIENT_INITIATED, lk.DisconnectReason.PARTICIPANT_REMOVED,
        lk.DisconnectReason.ROOM_DELETED, lk.DisconnectReason.DUPLICATE_IDENTITY];
      if (reason === undefined || !final.includes(reason)) this.lost();
    });
  }

  teardown() {
    const room = this.room;
    this.room = null;
    for (const key of [...this.remote.keys()]) {
      const [pid, kind] = key.split(':');
      this.dropRemote(pid, /** @type {StreamKind} */ (kind));
    }
    if (room) { room.removeAllListeners(); room.disconnect().catch(() => {}); }
  }

  /** @returns {Promise<LiveKitGrant | null>} */
  async fetchGrant() {
    const joined = await this.client.refreshToken();
    return liveKitGrant(joined.media);
  }

  /** LiveKit went away or refused us: connect again with backoff, a bounded number of times. */
  lost() {
    if (this.closed) return;
    if (++this.rebuilds > MAX_REBUILDS) { this.failed(new Error('LiveKit unreachable')); return; }
    const delay = Math.min(5000, 250 * this.rebuilds);
    setTimeout(() => this.serial(() => this.connect()), delay);
  }

  /** @param {unknown} error */
  failed(error) {
    if (this.closed) return;
    console.warn('livekit media:', error);
    this.onMediaError(String(error instanceof Error ? error.message : error));
  }

  // -- publishing -------------------------------------------------------------------------

  /** @param {StreamKind} kind */
  async publishKind(kind) {
    const stream = this.local.get(kind);
    const room = this.room;
    const lk = this.lk;
    if (!stream || !room || !lk || !this.grant?.can_publish) return;
    const allowed = new Set(this.grant.can_publish_sources);
    const published = new Set(this.ownPublications().map((p) => p.track?.mediaStreamTrack));
    for (const track of stream.getTracks()) {
      const source = sourceOf(lk, kind, track);
      // LiveKit would refuse a source the token does not grant (an empty list allows all)
      if (published.has(track) || (allowed.size && !allowed.has(source))) continue;
      const publication = await room.localParticipant.publishTrack(track, { source, name: `${kind}:${this.selfId}` });
      // turned off before it went out: others see it muted, as after a toggle
      if (!track.enabled) await publication.mute();
    }
  }

  /** @param {MediaStream} stream */
  async unpublishStream(stream) {
    const participant = this.room?.localParticipant;
    if (!participant) return;
    // the page owns the tracks: it stops them itself
    for (const track of stream.getTracks()) await participant.unpublishTrack(track, false);
  }

  async unpublishAll() {
    for (const stream of this.local.values()) await this.unpublishStream(stream);
  }

  /** @param {'audio'|'video'} [kind] @returns {LocalTrackPublication[]} */
  ownPublications(kind) {
    const camera = this.local.get('camera');
    const participant = this.room?.localParticipant;
    if (!participant) return [];
    const all = [...participant.trackPublications.values()];
    if (!kind) return all;
    // mute and camera toggles cover the camera stream, not a shared screen
    const mine = new Set(kind === 'audio' ? camera?.getAudioTracks() : camera?.getVideoTracks());
    return all.filter((p) => p.track && mine.has(p.track.mediaStreamTrack));
  }

  // -- what others send -------------------------------------------------------------------

  /** @param {LiveKitModule} lk @param {RemoteParticipant} participant @param {RemoteTrack} track */
  addRemote(lk, participant, track) {
    const pid = participantIdOf(participant);
    const kind = kindOf(lk, track.source);
    const key = `${pid}:${kind}`;
    const tracks = [...(this.remote.get(key)?.getTracks() ?? []), track.mediaStreamTrack];
    // a new stream each time: a video element shows what its stream had when it was set
    const stream = new MediaStream([...new Set(tracks)]);
    this.remote.set(key, stream);
    this.onRemoteStream(pid, stream, kind);
    this.onPeerState(pid, 'connected');
  }

  /** @param {LiveKitModule} lk @param {RemoteParticipant} participant @param {RemoteTrack} track */
  removeRemote(lk, participant, track) {
    const pid = participantIdOf(participant);
    const kind = kindOf(lk, track.source);
    const key = `${pid}:${kind}`;
    const rest = (this.remote.get(key)?.getTracks() ?? []).filter((t) => t !== track.mediaStreamTrack);
    if (!rest.length) { this.dropRemote(pid, kind); return; }
    const stream = new MediaStream(rest);
    this.remote.set(key, stream);
    this.onRemoteStream(pid, stream, kind);
  }

  /** @param {string} pid @param {StreamKind} kind */
  dropRemote(pid, kind) {
    if (this.remote.delete(`${pid}:${kind}`)) this.onRemoteStreamEnded(pid, kind);
  }
}

/**
 * The LiveKit source a track of one of our streams goes out as.
 * @param {LiveKitModule} lk @param {StreamKind} kind @param {MediaStreamTrack} track
 */
function sourceOf(lk, kind, track) {
  const { Source } = lk.Track;
  if (kind === 'screen') return track.kind === 'audio' ? Source.ScreenShareAudio : Source.ScreenShare;
  return track.kind === 'audio' ? Source.Microphone : Source.Camera;
}

/** @param {LiveKitModule} lk @param {string} source @returns {StreamKind} */
function kindOf(lk, source) {
  const { Source } = lk.Track;
  return source === Source.ScreenShare || source === Source.ScreenShareAudio ? 'screen' : 'camera';
}

/**
 * The room's connection as the state of the connection carrying each peer's media.
 * @param {LiveKitModule} lk @param {string} state @returns {RTCPeerConnectionState}
 */
function peerState(lk, state) {
  const { ConnectionState } = lk;
  if (state === ConnectionState.Connected) return 'connected';
  if (state === ConnectionState.Connecting) return 'connecting';
  if (state === ConnectionState.Disconnected) return 'closed';
  return 'disconnected'; // reconnecting: media is paused, not gone
}
