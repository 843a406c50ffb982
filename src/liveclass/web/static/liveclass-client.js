// @ts-check
/**
 * liveclass client library: the classroom protocol, token refresh and reconnection.
 *
 * It never touches the DOM, so a platform can build its own UI on it. Media moves through a
 * pluggable transport (`MediaTransport`, media-transport.js) that the page hands over with
 * `useMedia`.
 * Every message type is described in docs/protocol.md.
 */

/** @typedef {import('./media-transport.js').MediaTransport} MediaTransport */
/** @typedef {import('./media-transport.js').SignalMessage} SignalMessage */

/**
 * What a join or a token refresh answers (the fields the browser uses).
 * @typedef {Object} JoinDocument
 * @property {string} participant_id
 * @property {string} role
 * @property {string} status
 * @property {Permissions} permissions
 * @property {string} access_token
 * @property {string} [realtime_token]
 * @property {string} expires_at
 * @property {MediaGrant} media  what the media transport needs (see media-transport.js)
 */

/**
 * The media part of a join document: `provider` names the transport, the rest is its own.
 * @typedef {{provider: string} & Record<string, unknown>} MediaGrant
 */

/**
 * @typedef {Object} PeerInfo
 * @property {string} participant_id
 * @property {string} name
 * @property {string} role
 * @property {string} instance
 * @property {string} [connection_id]  the socket this presence belongs to
 * @property {boolean} hand
 * @property {boolean} audio
 * @property {boolean} video
 * @property {boolean} screen
 */

/**
 * @typedef {Object} Permissions
 * @property {boolean} can_publish
 * @property {boolean} can_subscribe
 * @property {boolean} can_publish_data
 * @property {boolean} can_share_screen
 * @property {boolean} room_admin
 * @property {boolean} can_record
 */

/**
 * @typedef {Object} Welcome
 * @property {string} connection_id
 * @property {{id: string, title: string, status: string}} session
 * @property {{participant_id: string, user_id: string, name: string, role: string,
 *             status: string, permissions: Permissions}} you
 * @property {PeerInfo[]} peers
 * @property {{participant_id: string, name: string}[]} waiting
 * @property {string[]} [recorders]  hidden recorder peers that publishers send media to
 * @property {boolean} [recording]  the class is being recorded
 * @property {{poll: Poll, you: PollVote | null}[]} [polls]  polls this participant may see
 * @property {string[]} [hands]  raised hands in raise order
 * @property {Locks} [locks]  what students may not do
 * @property {Timer | null} [timer]  the class timer, when one was started
 */

/**
 * @typedef {Object} PollResults
 * @property {number} total_voters
 * @property {Record<string, number>} counts  option id -> votes
 */

/**
 * @typedef {Object} PollAnswer  one person's answer (moderators, named polls only)
 * @property {string} participant_id
 * @property {string} name
 * @property {string[]} options
 * @property {boolean | null} correct  null unless a quiz
 */

/**
 * @typedef {Object} Poll
 * @property {string} id
 * @property {string} question
 * @property {{id: string, text: string}[]} options
 * @property {boolean} multiple
 * @property {boolean} anonymous
 * @property {boolean} quiz
 * @property {string[] | null} [correct]  hidden from students until closed and published
 * @property {'draft'|'open'|'closed'} status
 * @property {boolean} results_visible
 * @property {PollResults | null} [results]  null for students until published
 * @property {PollAnswer[]} [answers]  moderators, named polls
 * @property {string} [created_at]
 * @property {string | null} [opened_at]
 * @property {string | null} [closed_at]
 * @property {PollVote | null} [you]  this participant's own answer
 */

/**
 * @typedef {Object} PollVote  what we answered; `options` is null for an anonymous poll once
 *   the server has forgotten the choice (it only knows that we voted)
 * @property {string[] | null} options
 */

/**
 * @typedef {Object} PollDraft  what `createPoll` sends
 * @property {string} question
 * @property {string[]} options  2-10 texts
 * @property {boolean} [multiple]
 * @property {boolean} [anonymous]
 * @property {boolean} [quiz]
 * @property {number[]} [correct]  indexes into `options` (quiz only)
 * @property {boolean} [open]  open it at once
 */

/**
 * @typedef {Object} Locks  true = students may not
 * @property {boolean} student_unmute
 * @property {boolean} student_camera
 * @property {boolean} student_screen
 * @property {boolean} student_chat
 * @property {boolean} student_private_chat
 */

/**
 * @typedef {Object} Timer
 * @property {'running'|'paused'|'stopped'} state
 * @property {string | null} [ends_at]  ISO time, while running
 * @property {number | null} [remaining_seconds]  while paused
 * @property {string} [label]
 * @property {number} [duration_seconds]
 */

/**
 * @typedef {Object} PrivateChat
 * @property {string} id
 * @property {string} from
 * @property {string} name  the sender's
 * @property {string} to
 * @property {string} text
 * @property {string} sent_at
 */

/** The reactions the server accepts (anything else is refused). */
export const REACTIONS = ['👍', '👏', '❤️', '😂', '😮', '🎉', '🤔', '👋'];

/** Nothing locked: what a class starts with. */
export const NO_LOCKS = Object.freeze({
  student_unmute: false, student_camera: false, student_screen: false,
  student_chat: false, student_private_chat: false,
});

/** Close codes after which reconnecting cannot help (see docs/protocol.md). */
export const TERMINAL_CLOSE_CODES = new Set([4403, 4404, 4409, 4410]);
const UNAUTHORIZED = 4401;
const MAX_RECONNECT_ATTEMPTS = 40;
const MAX_BACKOFF_MS = 5000;

/** Problem codes from the token endpoint that mean "you cannot come back". */
const TERMINAL_PROBLEMS = new Set([
  'KICKED', 'DENIED', 'LEFT', 'SESSION_ENDED', 'SESSION_CANCELLED', 'INVALID_STATE',
  'NOT_FOUND', 'SESSION_NOT_FOUND', 'TOKEN_EXPIRED', 'TOKEN_INVALID', 'NOT_IN_SESSION',
]);

export class ProblemError extends Error {
  /** @param {number} status @param {any} problem */
  constructor(status, problem) {
    super((problem && (problem.detail || problem.title)) || `HTTP ${status}`);
    this.status = status;
    /** @type {string} */
    this.code = (problem && problem.code) || `HTTP_${status}`;
  }
}

export class LiveClassClient {
  /**
   * @param {{sessionId: string, accessToken: string, baseUrl: string, instance?: string}} options
   */
  constructor({ sessionId, accessToken, baseUrl, instance }) {
    this.sessionId = sessionId;
    this.accessToken = accessToken;
    this.baseUrl = baseUrl.replace(/\/$/, '');
    /** Identifies this page, so peers can tell a reload from a reconnect. */
    this.instance = instance || Math.random().toString(36).slice(2, 12);
    /** @type {MediaTransport | null} */
    this.media = null;
    /** @type {WebSocket | null} */
    this.ws = null;
    /** @type {Welcome | null} */
    this.welcome = null;
    /** @type {Map<string, string | undefined>} participant id -> the socket we know them by */
    this.sockets = new Map();
    /** @type {Set<string>} hidden recorders our media transport sends to */
    this.recorders = new Set();
    /** @type {'idle'|'connecting'|'connected'|'reconnecting'|'closed'} */
    this.status = 'idle';
    this.attempts = 0;
    this.closedByUs = false;
    /** @type {ReturnType<typeof setTimeout> | undefined} */
    this.refreshTimer = undefined;
    /** @type {Map<string, Poll>} the polls we know, each with our own answer in `you` */
    this.polls = new Map();
    /** @type {string[]} participant ids with a raised hand, in raise order */
    this.handQueue = [];
    /** @type {Locks} */
    this.locks = { ...NO_LOCKS };
    /** @type {Timer | null} */
    this.timer = null;

    // Callbacks: assign the ones you need.
    /** @type {(status: string, detail?: string) => void} */ this.onStatus = () => {};
    /** @type {(welcome: Welcome) => void} */ this.onWelcome = () => {};
    /** @type {(peer: PeerInfo) => void} */ this.onPeerJoined = () => {};
    /** @type {(participantId: string) => void} */ this.onPeerLeft = () => {};
    /** @type {(message: any) => void} */ this.onChat = () => {};
    /** @type {(participantId: string, raised: boolean, queue: string[]) => void} */ this.onHand = () => {};
    /** @type {(queue: string[]) => void} */ this.onHandsCleared = () => {};
    /** @type {(message: any) => void} */ this.onMediaState = () => {};
    /** @type {(message: any) => void} */ this.onRoleChanged = () => {};
    /** @type {(message: any) => void} */ this.onMuteRequest = () => {};
    /** @type {(participantId: string, name: string) => void} */ this.onWaiting = () => {};
    /** @type {(participantId: string) => void} */ this.onWaitingLeft = () => {};
    /** @type {() => void} */ this.onAdmitted = () => {};
    /** @type {() => void} */ this.onSessionStarted = () => {};
    /** @type {(reason: string) => void} */ this.onSessionEnded = () => {};
    /** @type {(code: string, detail: string, about?: string) => void} */ this.onError = () => {};
    /** @type {(code: number, reason: string) => void} */ this.onClosed = () => {};
    /** @type {() => void} */ this.onTokenChanged = () => {};
    /** @type {(recording: boolean, state: string) => void} */ this.onRecordingState = () => {};
    /** @type {(poll: Poll) => void} a poll was created, opened, closed, published or answered */
    this.onPoll = () => {};
    /** @type {(reaction: {participant_id: string, emoji: string, sent_at: string}) => void} */
    this.onReaction = () => {};
    /** @type {(locks: Locks) => void} */ this.onLocks = () => {};
    /** @type {(message: PrivateChat) => void} */ this.onPrivateChat = () => {};
    /** @type {(timer: Timer) => void} */ this.onTimer = () => {};
  }

  // -- HTTP -------------------------------------------------------------------------------

  /** @param {string} path @param {RequestInit} [init] */
  async api(path, init = {}) {
    const headers = { Authorization: `Bearer ${this.accessToken}`, ...(init.headers || {}) };
    const response = await fetch(this.baseUrl + path, { ...init, headers });
    const body = await response.json().catch(() => null);
    if (!response.ok) throw new ProblemError(response.status, body);
    return body;
  }

  /**
   * Exchange the current access token for a fresh one; returns the join document.
   * @returns {Promise<JoinDocument>}
   */
  async refreshToken() {
    /** @type {JoinDocument} */
    const joined = await this.api(`/api/v1/sessions/${this.sessionId}/token`, { method: 'POST' });
    // the classroom channel's own token (on LiveKit, access_token is LiveKit's)
    this.setToken(joined.realtime_token ?? joined.access_token, joined.expires_at);
    return joined;
  }

  /** @param {string} token @param {string} [expiresAt] */
  setToken(token, expiresAt) {
    this.accessToken = token;
    this.onTokenChanged();
    clearTimeout(this.refreshTimer);
    if (!expiresAt) return;
    // Refresh a minute early (or at half-life for short tokens), so a reconnect always
    // has a token that still works.
    const left = new Date(expiresAt).getTime() - Date.now();
    const delay = Math.max(5000, Math.min(left - 60000, left / 2));
    this.refreshTimer = setTimeout(() => {
      this.refreshToken().catch((e) => this.onError(e.code || 'REFRESH_FAILED', String(e.message)));
    }, delay);
  }

  /** ICE servers for RTCPeerConnection (STUN, TURN with ephemeral credentials). */
  async iceServers() {
    const config = await this.api('/api/v1/rtc/config');
    return config.ice_servers.map((/** @type {any} */ s) => {
      /** @type {RTCIceServer} */
      const server = { urls: s.urls };
      if (s.username) server.username = s.username;
      if (s.credential) server.credential = s.credential;
      return server;
    });
  }

  /**
   * The media transport to drive from the socket from now on (see media-transport.js).
   * @param {MediaTransport} transport
   */
  useMedia(transport) {
    this.media = transport;
  }

  // -- the socket --------------------------------------------------------------------------

  connect() {
    this.closedByUs = false;
    this.setStatus(this.attempts ? 'reconnecting' : 'connecting');
    const url = new URL(`${this.baseUrl}/api/v1/sessions/${this.sessionId}/ws`);
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    url.searchParams.set('access_token', this.accessToken);
    url.searchParams.set('instance', this.instance);
    const ws = new WebSocket(url);
    this.ws = ws;
    ws.onmessage = (event) => this.receive(String(event.data));
    ws.onclose = (event) => {
      if (this.ws === ws) this.closed(event.code, event.reason);
    };
  }

  /** @param {string} status @param {string} [detail] */
  setStatus(status, detail) {
    this.status = /** @type {any} */ (status);
    this.onStatus(status, detail);
  }

  /** @param {number} code @param {string} reason */
  closed(code, reason) {
    this.ws = null;
    if (this.closedByUs) return;
    if (TERMINAL_CLOSE_CODES.has(code) || this.attempts >= MAX_RECONNECT_ATTEMPTS) {
      this.finish(code, reason);
      return;
    }
    this.attempts += 1;
    const backoff = Math.min(MAX_BACKOFF_MS, 200 * 2 ** Math.min(this.attempts, 6));
    const delay = backoff / 2 + Math.random() * (backoff / 2);
    this.setStatus('reconnecting', reason || `connection lost (${code})`);
    setTimeout(() => this.reconnect(code), this.attempts === 1 ? 100 : delay);
  }

  /** @param {number} code */
  async reconnect(code) {
    if (this.closedByUs) return;
    try {
      await this.refreshToken();
    } catch (e) {
      const err = /** @type {ProblemError} */ (e);
      if (err.status && TERMINAL_PROBLEMS.has(err.code)) {
        this.finish(code === UNAUTHORIZED ? 4403 : code, `${err.code}: ${err.message}`);
        return;
      }
      // The server may be restarting: try again with the token we have.
      if (!err.status) return this.closed(1006, 'server unreachable');
    }
    this.connect();
  }

  /** @param {number} code @param {string} reason */
  finish(code, reason) {
    clearTimeout(this.refreshTimer);
    this.media?.close();
    this.setStatus('closed', reason);
    this.onClosed(code, reason);
  }

  /** Leave the class: tells the server (which then closes the socket) and stops media. */
  async leave() {
    this.closedByUs = true;
    clearTimeout(this.refreshTimer);
    this.media?.close();
    const ws = this.ws;
    this.send({ type: 'leave' });
    // The server closes the socket once it has recorded the leave; don't wait forever.
    setTimeout(() => ws?.close(1000, 'left'), 2000);
    this.setStatus('closed', 'left');
  }

  /** @param {Record<string, unknown>} message */
  send(message) {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(message));
  }

  /** @param {string} raw */
  receive(raw) {
    /** @type {any} */
    const m = JSON.parse(raw);
    switch (m.type) {
      case 'welcome':
        this.attempts = 0;
        this.welcome = m;
        this.sockets = new Map(m.peers.map((/** @type {PeerInfo} */ p) => [p.participant_id, p.connection_id]));
        this.teachingState(m);
        this.setStatus('connected');
        this.onWelcome(m);
        this.recorders.clear();
        if (m.you.status === 'joined') {
          this.media?.start(m);
          for (const pid of m.recorders || []) this.recorderJoined(pid);
        }
        this.onRecordingState(Boolean(m.recording), m.recording ? 'recording' : 'off');
        break;
      case 'recorder_joined': this.recorderJoined(m.participant_id); break;
      case 'recorder_left':
        this.recorders.delete(m.participant_id);
        this.media?.peerLeft(m.participant_id);
        break;
      case 'recording_state': this.onRecordingState(m.recording, m.state); break;
      case 'peer_joined': this.peerJoined(m.peer); break;
      case 'peer_left':
        this.sockets.delete(m.participant_id);
        this.media?.peerLeft(m.participant_id);
        this.onPeerLeft(m.participant_id);
        break;
      case 'offer': case 'answer': case 'candidate': this.media?.signal(m); break;
      case 'chat': this.onChat(m); break;
      case 'hand': this.handChanged(m); break;
      case 'hands_cleared':
        this.handQueue = m.queue || [];
        this.onHandsCleared(this.handQueue);
        break;
      case 'poll': this.pollChanged(m.poll, m.you); break;
      case 'reaction': this.onReaction(m); break;
      case 'locks':
        this.locks = { ...NO_LOCKS, ...m.locks };
        this.onLocks(this.locks);
        break;
      case 'private_chat': this.onPrivateChat(m); break;
      case 'timer':
        this.timer = m;
        this.onTimer(m);
        break;
      case 'media_state': this.onMediaState(m); break;
      case 'role_changed': this.roleChanged(m); break;
      case 'mute_request': this.onMuteRequest(m); break;
      case 'waiting': this.onWaiting(m.participant_id, m.name); break;
      case 'waiting_left': this.onWaitingLeft(m.participant_id); break;
      case 'admitted': this.onAdmitted(); break;
      case 'session_started': this.onSessionStarted(); break;
      case 'session_ended': this.onSessionEnded(m.reason); break;
      case 'error': this.onError(m.code, m.detail, m.about); break;
      default: break; // newer servers may add types; ignoring them keeps old clients working
    }
  }

  /**
   * Polls, hands, locks and the timer as a welcome tells them (a reconnect or a late join).
   * @param {Welcome} w
   */
  teachingState(w) {
    this.polls = new Map((w.polls || []).map(({ poll, you }) => [poll.id, { ...poll, you: you ?? null }]));
    this.handQueue = w.hands || w.peers.filter((p) => p.hand).map((p) => p.participant_id);
    this.locks = { ...NO_LOCKS, ...(w.locks || {}) };
    this.timer = w.timer || null;
  }

  /** @param {any} m */
  handChanged(m) {
    if (Array.isArray(m.queue)) this.handQueue = m.queue;
    else if (m.raised && !this.handQueue.includes(m.participant_id)) this.handQueue.push(m.participant_id);
    else if (!m.raised) this.handQueue = this.handQueue.filter((pid) => pid !== m.participant_id);
    this.onHand(m.participant_id, m.raised, this.handQueue);
  }

  /** @param {Poll} poll @param {PollVote | null | undefined} you */
  pollChanged(poll, you) {
    // A `poll` without `you` (a moderator's live count) keeps the answer we knew.
    const known = this.polls.get(poll.id);
    const merged = { ...poll, you: you !== undefined ? you : poll.you ?? known?.you ?? null };
    this.polls.set(poll.id, merged);
    this.onPoll(merged);
  }

  /** True when a moderator outranks us, so the class's locks apply to us. */
  get isStudent() {
    const role = this.me?.role;
    return role === 'speaker' || role === 'viewer';
  }

  /** @param {keyof Locks} lock */
  lockedForMe(lock) { return this.isStudent && Boolean(this.locks[lock]); }

  /** @param {PeerInfo} peer */
  peerJoined(peer) {
    // A peer who connected while we did can be both in our welcome and in a `peer_joined`
    // queued behind it. Rebuilding the media link then would leave both ends waiting for
    // the other's first offer; the same socket means nothing changed.
    const known = this.sockets.get(peer.participant_id);
    const repeat = Boolean(peer.connection_id) && known === peer.connection_id;
    this.sockets.set(peer.participant_id, peer.connection_id);
    if (!repeat) this.media?.peerJoined(peer);
    this.onPeerJoined(peer);
  }

  /** @param {any} m */
  roleChanged(m) {
    const me = this.welcome?.you;
    if (me && m.participant_id === me.participant_id) {
      me.role = m.role;
      me.permissions = m.permissions;
      if (m.access_token) this.setToken(m.access_token, m.expires_at);
    }
    this.media?.roleChanged(m.participant_id, m.role, m.permissions);
    this.onRoleChanged(m);
  }

  get me() { return this.welcome?.you ?? null; }

  /**
   * The recorder is a peer only to the media transport: publishers send it their tracks like
   * to anyone else (it never sends), and it never shows up among the people.
   * @param {string} participantId
   */
  recorderJoined(participantId) {
    // Like a peer's, a recorder's arrival can repeat what the welcome said (see peerJoined);
    // a recorder that only reconnected its socket keeps its media connections, so ours stay.
    if (this.me?.status !== 'joined' || this.recorders.has(participantId)) return;
    this.recorders.add(participantId);
    this.media?.peerJoined({
      participant_id: participantId, name: 'Recorder', role: 'recorder', instance: '',
      hand: false, audio: false, video: false, screen: false,
    });
  }

  // -- what a participant can do -------------------------------------------------------------

  /** @param {string} text */
  chat(text) { this.send({ type: 'chat', text }); }
  /** @param {boolean} raised @param {string} [participantId] someone else's (moderators) */
  hand(raised, participantId) { this.send({ type: 'hand', raised, participant_id: participantId ?? null }); }
  /** @param {{audio: boolean, video: boolean, screen: boolean}} state */
  mediaState(state) { this.send({ type: 'media_state', ...state }); }
  /** @param {string} participantId */
  kick(participantId) { this.send({ type: 'kick', participant_id: participantId }); }
  /** @param {string} participantId @param {string} role */
  changeRole(participantId, role) { this.send({ type: 'change_role', participant_id: participantId, role }); }
  /** @param {string} participantId @param {'audio'|'video'} kind */
  muteRequest(participantId, kind = 'audio') { this.send({ type: 'mute_request', participant_id: participantId, kind }); }
  /** @param {string} participantId @param {boolean} admit */
  admit(participantId, admit = true) { this.send({ type: 'admit', participant_id: participantId, admit }); }
  startSession() { this.send({ type: 'start_session' }); }
  endSession() { this.send({ type: 'end_session' }); }

  // -- teaching tools ------------------------------------------------------------------------

  /** @param {PollDraft} draft a draft (moderators), or an open poll with `open: true` */
  createPoll({ question, options, multiple = false, anonymous = false, quiz = false, correct = [], open = false }) {
    this.send({ type: 'poll_create', question, options, multiple, anonymous, quiz, correct, open });
  }
  /** @param {string} pollId */
  openPoll(pollId) { this.send({ type: 'poll_open', poll_id: pollId }); }
  /** @param {string} pollId */
  closePoll(pollId) { this.send({ type: 'poll_close', poll_id: pollId }); }
  /** @param {string} pollId @param {boolean} visible show the results (and a quiz's answer) to everyone */
  publishPoll(pollId, visible = true) { this.send({ type: 'poll_publish', poll_id: pollId, visible }); }
  /** @param {string} pollId @param {string[]} options option ids; answering again replaces the answer */
  answerPoll(pollId, options) { this.send({ type: 'poll_answer', poll_id: pollId, options }); }
  /** @param {string} emoji one of `REACTIONS` */
  react(emoji) { this.send({ type: 'reaction', emoji }); }
  lowerAllHands() { this.send({ type: 'lower_all_hands' }); }
  /** @param {Partial<Locks>} locks only the ones to change */
  setLocks(locks) { this.send({ type: 'set_locks', locks }); }
  muteAll() { this.send({ type: 'mute_all' }); }
  /** @param {string} participantId @param {string} text */
  privateChat(participantId, text) { this.send({ type: 'private_chat', to: participantId, text }); }
  /** @param {number} seconds @param {string} [label] */
  timerStart(seconds, label = '') { this.send({ type: 'timer_start', seconds, label }); }
  timerPause() { this.send({ type: 'timer_pause' }); }
  timerResume() { this.send({ type: 'timer_resume' }); }
  timerStop() { this.send({ type: 'timer_stop' }); }
}
