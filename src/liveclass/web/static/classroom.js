// @ts-check
/**
 * The classroom page: wires the DOM to `LiveClassClient` and a media transport.
 * Everything people typed (names, titles, chat) is shown with `textContent`, never as HTML.
 */
import { LiveClassClient } from './liveclass-client.js';
import { openMedia } from './media-transport.js';
import { PollsPanel } from './polls-panel.js';
import {
  LOCK_LABELS, LockMenu, TimerBadge, bindMenus, bindTimerControls, buildReactionMenu, flashReaction,
} from './teaching-tools.js';

/** @typedef {import('./liveclass-client.js').PeerInfo} PeerInfo */
/** @typedef {import('./liveclass-client.js').JoinDocument} JoinDocument */
/** @typedef {import('./liveclass-client.js').Permissions} Permissions */
/** @typedef {import('./media-transport.js').MediaTransport} MediaTransport */
/** @typedef {import('./media-transport.js').StreamKind} StreamKind */

const $ = (/** @type {string} */ id) => /** @type {HTMLElement} */ (document.getElementById(id));

const CLOSE_MESSAGES = /** @type {Record<number, string>} */ ({
  4401: 'Your classroom link is no longer valid. Ask for a new one.',
  4403: 'You were removed from this class.',
  4404: 'This class does not exist.',
  4409: 'You opened this class in another tab or window.',
  4410: 'The class has ended.',
});
const PROBLEM_MESSAGES = /** @type {Record<string, string>} */ ({
  SESSION_ENDED: 'The class has ended.',
  SESSION_CANCELLED: 'This class was cancelled.',
  SESSION_FULL: 'The class is full.',
  MESH_FULL: 'The class is full.',
  KICKED: 'You were removed from this class.',
  DENIED: 'The host did not let you in.',
  TOKEN_EXPIRED: 'Your classroom link has expired. Ask for a new one.',
  TOKEN_INVALID: 'Your classroom link is not valid.',
  NOT_IN_SESSION: 'You left this class. Join again from your course page.',
});
const ROLES = ['co_host', 'speaker', 'viewer'];
const MODERATOR_ROLES = new Set(['host', 'co_host']);

class Classroom {
  /** @param {LiveClassClient} client */
  constructor(client) {
    this.client = client;
    /** @type {MediaTransport | null} */
    this.media = null;
    /** @type {Map<string, PeerInfo>} */
    this.peers = new Map();
    /** @type {Map<string, HTMLElement>} key: participant id + ':' + kind */
    this.tiles = new Map();
    /** @type {MediaStream | null} */
    this.camera = null;
    /** @type {MediaStream | null} */
    this.screen = null;
    this.handRaised = false;
    this.ended = false;
    /** @type {Partial<Permissions>} the permissions we act with (from the join, then the socket) */
    this.permissions = {};
    this.polls = new PollsPanel(client, {
      box: $('polls-box'), list: $('polls'), scores: $('quiz-scores'),
      dialog: /** @type {HTMLDialogElement} */ ($('poll-dialog')), notify: (text) => this.notice(text),
    });
    this.timer = new TimerBadge($('timer'), $('timer-menu'));
    this.lockMenu = new LockMenu(client, $('lock-menu'));
  }

  async open() {
    // Everything that needs only the current token runs at once: the refresh, the ICE
    // servers, and the camera when the token's role will publish (the refresh confirms it).
    const iceServers = this.client.iceServers().catch(() => []);
    const camera = tokenRole(this.client.accessToken) !== 'viewer' ? requestCamera() : undefined;
    camera?.catch(() => {}); // a refusal is reported by startCamera
    let joined;
    try {
      joined = await this.client.refreshToken();
    } catch (e) {
      const err = /** @type {any} */ (e);
      return this.fatal(PROBLEM_MESSAGES[err.code] || `Cannot open the class: ${err.message}`);
    }
    document.title = 'Classroom · liveclass';
    this.applyPermissions(joined.role, joined.permissions);
    this.media = await this.createMedia(joined, await iceServers);
    this.bindClient();
    this.bindControls();
    if (joined.permissions.can_publish) await this.startCamera(camera);
    else camera?.then((stream) => stream.getTracks().forEach((t) => t.stop()), () => {});
    // Lets anyone measure join-to-first-frame from the page (bench/realtime_join.py does).
    performance.mark('liveclass:connect');
    this.client.connect();
  }

  /**
   * The media transport the join document names, handed to the client.
   * @param {JoinDocument} joined @param {RTCIceServer[]} iceServers
   */
  async createMedia(joined, iceServers) {
    const media = await openMedia(this.client, joined, { iceServers });
    media.onRemoteStream = (pid, stream, kind) => this.showStream(pid, stream, kind);
    media.onRemoteStreamEnded = (pid, kind) => this.removeTile(pid, kind);
    // e.g. a LiveKit class on a server without livekit-client; never over a fatal notice
    media.onMediaError = (text) => { if (!$('notice').classList.contains('fatal')) this.notice(text); };
    this.client.useMedia(media);
    return media;
  }

  bindClient() {
    const c = this.client;
    c.onStatus = (status, detail) => this.setStatus(status, detail);
    c.onWelcome = (w) => this.welcome(w);
    c.onPeerJoined = (peer) => { this.peers.set(peer.participant_id, peer); this.renderPeople(); };
    c.onPeerLeft = (pid) => {
      this.peers.delete(pid);
      this.removeTile(pid, 'camera');
      this.removeTile(pid, 'screen');
      this.renderPeople();
    };
    c.onChat = (m) => this.addChat(m.name, m.text);
    c.onHand = (pid, raised) => this.setHand(pid, raised);
    c.onHandsCleared = () => {
      for (const peer of this.peers.values()) peer.hand = false;
      this.setHand(this.client.me?.participant_id || '', false);
    };
    c.onPoll = (poll) => this.polls.update(poll);
    c.onReaction = (m) => this.showReaction(m.participant_id, m.emoji);
    c.onLocks = () => this.renderLocks();
    c.onPrivateChat = (m) => this.addPrivateChat(m);
    c.onTimer = (timer) => this.timer.set(timer);
    c.onMediaState = (m) => {
      const peer = this.peers.get(m.participant_id);
      if (peer) Object.assign(peer, { audio: m.audio, video: m.video, screen: m.screen });
      this.renderPeople();
    };
    c.onRoleChanged = (m) => this.roleChanged(m);
    c.onMuteRequest = (m) => {
      if (m.kind === 'audio') this.setMic(false); else this.setCamera(false);
      this.notice(`${m.name} asked you to turn off your ${m.kind === 'audio' ? 'microphone' : 'camera'}.`);
    };
    c.onWaiting = (pid, name) => { this.waiting.set(pid, name); this.renderWaiting(); };
    c.onWaitingLeft = (pid) => { this.waiting.delete(pid); this.renderWaiting(); };
    c.onAdmitted = () => this.notice(this.mediaProblem);
    c.onSessionStarted = () => { this.sessionStatus = 'live'; this.renderSession(); };
    c.onRecordingState = (recording) => { $('recording').hidden = !recording; };
    c.onSessionEnded = () => { this.ended = true; };
    c.onError = (code, detail) => this.notice(`${detail} (${code})`);
    c.onClosed = (code, reason) => this.closed(code, reason);
  }

  /** @type {Map<string, string>} */
  waiting = new Map();
  /** Who the chat's "send to" list offered last time. */
  chatTargetsKey = '';
  /** Why we cannot send camera/microphone, shown until the page reloads. */
  mediaProblem = '';
  sessionStatus = '';

  welcome(/** @type {import('./liveclass-client.js').Welcome} */ w) {
    $('title').textContent = w.session.title;
    document.title = `${w.session.title} · liveclass`;
    this.sessionStatus = w.session.status;
    this.applyPermissions(w.you.role, w.you.permissions);
    this.peers = new Map(w.peers.map((p) => [p.participant_id, p]));
    this.waiting = new Map(w.waiting.map((p) => [p.participant_id, p.name]));
    for (const key of [...this.tiles.keys()]) if (!key.startsWith('local:')) this.removeTileKey(key);
    // Our preview appeared before we knew our id; reactions find our tile by it.
    for (const tile of this.tiles.values()) tile.dataset.participant = w.you.participant_id;
    this.setHand(w.you.participant_id, this.client.handQueue.includes(w.you.participant_id));
    if (w.you.status === 'waiting') this.notice('Waiting for the host to let you in…');
    else this.notice(this.mediaProblem);
    this.renderSession();
    this.renderPeople();
    this.renderWaiting();
    this.polls.render();
    this.timer.set(this.client.timer);
    this.renderLocks();
    this.announceMedia();
  }

  applyPermissions(/** @type {string} */ role, /** @type {Permissions} */ permissions) {
    const body = document.body.classList;
    body.toggle('is-host', role === 'host');
    body.toggle('is-moderator', Boolean(permissions.room_admin));
    body.toggle('can-publish', Boolean(permissions.can_publish));
    body.toggle('can-share', Boolean(permissions.can_share_screen));
    $('role').textContent = role.replace('_', '-');
    this.permissions = permissions;
    this.renderChatLock();
  }

  async roleChanged(/** @type {any} */ m) {
    const peer = this.peers.get(m.participant_id);
    if (peer) peer.role = m.role;
    if (m.participant_id === this.client.me?.participant_id) {
      this.applyPermissions(m.role, m.permissions);
      this.notice(`You are now a ${m.role.replace('_', '-')}.`);
      if (!m.permissions.can_publish) this.stopLocalMedia();
      else if (!this.camera) await this.startCamera().then(() => this.announceMedia());
      this.polls.render();
      this.renderLocks();
    }
    this.renderPeople();
  }

  // -- local media ------------------------------------------------------------------------

  /** @param {Promise<MediaStream>} [requested] a camera already asked for */
  async startCamera(requested) {
    try {
      this.camera = await (requested || requestCamera());
    } catch (e) {
      this.mediaProblem = 'Camera or microphone blocked: you can still watch, listen and chat. '
        + 'Allow access in the browser and reload to be seen and heard.';
      this.notice(this.mediaProblem);
      return;
    }
    this.media?.publish(this.camera, 'camera');
    this.showStream(this.client.me?.participant_id || 'local', this.camera, 'camera', true);
  }

  stopLocalMedia() {
    for (const kind of /** @type {const} */ (['camera', 'screen'])) {
      const stream = kind === 'camera' ? this.camera : this.screen;
      if (!stream) continue;
      this.media?.unpublish(kind);
      stream.getTracks().forEach((t) => t.stop());
      this.removeTileKey(`local:${kind}`);
    }
    this.camera = this.screen = null;
    this.announceMedia();
  }

  announceMedia() {
    const me = this.client.me;
    // Nobody hears a waiting participant; the server would refuse the message.
    if (!me?.permissions.can_publish || me.status !== 'joined') return;
    const audio = this.camera?.getAudioTracks()[0];
    const video = this.camera?.getVideoTracks()[0];
    this.client.mediaState({
      audio: Boolean(audio && audio.enabled), video: Boolean(video && video.enabled),
      screen: Boolean(this.screen),
    });
  }

  setMic(/** @type {boolean} */ on, announce = true) {
    this.camera?.getAudioTracks().forEach((t) => { t.enabled = on; });
    this.media?.trackEnabled('audio', on);
    $('mic').setAttribute('aria-pressed', String(on));
    $('mic').textContent = on ? 'Mute' : 'Unmute';
    this.renderMediaLocks();
    if (announce) this.announceMedia();
  }

  setCamera(/** @type {boolean} */ on, announce = true) {
    this.camera?.getVideoTracks().forEach((t) => { t.enabled = on; });
    this.media?.trackEnabled('video', on);
    $('camera').setAttribute('aria-pressed', String(on));
    $('camera').textContent = on ? 'Camera off' : 'Camera on';
    this.renderMediaLocks();
    if (announce) this.announceMedia();
  }

  async toggleScreen() {
    if (this.screen) return this.stopScreen();
    try {
      this.screen = await navigator.mediaDevices.getDisplayMedia({ video: true, audio: false });
    } catch (e) {
      return this.notice('Screen sharing was not started.');
    }
    const track = this.screen.getVideoTracks()[0];
    // Text on slides must stay sharp; prefer resolution over frame rate.
    if (track) { track.contentHint = 'detail'; track.onended = () => this.stopScreen(); }
    this.media?.publish(this.screen, 'screen');
    this.showStream(this.client.me?.participant_id || 'local', this.screen, 'screen', true);
    $('screen').setAttribute('aria-pressed', 'true');
    $('screen').textContent = 'Stop sharing';
    this.renderMediaLocks();
    this.announceMedia();
  }

  stopScreen(announce = true) {
    if (!this.screen) return;
    this.media?.unpublish('screen');
    this.screen.getTracks().forEach((t) => t.stop());
    this.screen = null;
    this.removeTileKey('local:screen');
    $('screen').setAttribute('aria-pressed', 'false');
    $('screen').textContent = 'Share screen';
    this.renderMediaLocks();
    if (announce) this.announceMedia();
  }

  // -- video grid ---------------------------------------------------------------------------

  /**
   * @param {string} pid @param {MediaStream} stream @param {string} kind
   * @param {boolean} [local]
   */
  showStream(pid, stream, kind, local = false) {
    const key = local ? `local:${kind}` : `${pid}:${kind}`;
    let tile = this.tiles.get(key);
    if (!tile) {
      const template = /** @type {HTMLTemplateElement} */ ($('tile-template'));
      tile = /** @type {HTMLElement} */ (template.content.firstElementChild?.cloneNode(true));
      tile.dataset.participant = pid;
      tile.dataset.kind = kind;
      tile.classList.toggle('local', local && kind === 'camera');
      tile.classList.toggle('mine', local);
      tile.classList.toggle('screen', kind === 'screen');
      $('grid').append(tile);
      this.tiles.set(key, tile);
    }
    const video = /** @type {HTMLVideoElement} */ (tile.querySelector('video'));
    // Our own preview is muted (no echo); remote audio plays through the tile's element.
    video.muted = local;
    if (video.srcObject !== stream) video.srcObject = stream;
    video.play().catch(() => { $('sound').hidden = false; });
    this.renderTile(tile, pid);
  }

  /** @param {HTMLElement} tile @param {string} pid */
  renderTile(tile, pid) {
    const me = this.client.me;
    // Our own preview exists before the welcome says who we are.
    const isMe = Boolean(me) && (tile.classList.contains('mine') || pid === me?.participant_id);
    const peer = this.peers.get(pid);
    const name = isMe ? `${me?.name} (you)` : peer?.name || '…';
    const suffix = tile.dataset.kind === 'screen' ? ' · screen' : '';
    /** @type {HTMLElement} */ (tile.querySelector('.name')).textContent = name + suffix;
    /** @type {HTMLElement} */ (tile.querySelector('.hand-flag')).hidden = !(isMe ? this.handRaised : peer?.hand);
    /** @type {HTMLElement} */ (tile.querySelector('.muted-flag')).hidden = isMe || !peer || peer.audio;
  }

  removeTile(/** @type {string} */ pid, /** @type {string} */ kind) { this.removeTileKey(`${pid}:${kind}`); }

  removeTileKey(/** @type {string} */ key) {
    const tile = this.tiles.get(key);
    if (!tile) return;
    const video = tile.querySelector('video');
    if (video) video.srcObject = null;
    tile.remove();
    this.tiles.delete(key);
  }

  // -- people, hands, chat -----------------------------------------------------------------

  setHand(/** @type {string} */ pid, /** @type {boolean} */ raised) {
    if (pid && pid === this.client.me?.participant_id) {
      this.handRaised = raised;
      $('hand').setAttribute('aria-pressed', String(raised));
      $('hand').textContent = raised ? 'Lower hand' : 'Raise hand';
    }
    const peer = this.peers.get(pid);
    if (peer) peer.hand = raised;
    this.renderPeople();
  }

  renderPeople() {
    const list = $('participants');
    list.replaceChildren();
    const me = this.client.me;
    if (me) list.append(this.personRow(me.participant_id, `${me.name} (you)`, me.role, this.handRaised, false));
    for (const peer of this.peers.values()) {
      list.append(this.personRow(peer.participant_id, peer.name, peer.role, peer.hand, true));
    }
    for (const tile of this.tiles.values()) this.renderTile(tile, tile.dataset.participant || '');
    this.renderHandQueue();
    this.renderChatTargets();
  }

  /** @param {string} pid */
  nameOf(pid) {
    const me = this.client.me;
    if (me && pid === me.participant_id) return `${me.name} (you)`;
    return this.peers.get(pid)?.name || 'someone who left';
  }

  /** Raised hands in the order they went up, numbered, with lower buttons. */
  renderHandQueue() {
    const me = this.client.me;
    const queue = this.client.handQueue.filter((pid) => pid === me?.participant_id || this.peers.has(pid));
    const list = $('hand-queue');
    list.replaceChildren(...queue.map((pid, i) => {
      const li = document.createElement('li');
      li.dataset.participant = pid;
      const position = document.createElement('span');
      position.className = 'position';
      position.textContent = String(i + 1);
      const who = document.createElement('span');
      who.className = 'who';
      who.textContent = this.nameOf(pid);
      li.append(position, who);
      const own = pid === me?.participant_id;
      if (own || this.permissions.room_admin) {
        const lower = button('Lower', () => this.client.hand(false, own ? undefined : pid));
        lower.className = 'lower-hand';
        li.append(lower);
      }
      return li;
    }));
    $('hand-queue-box').hidden = queue.length === 0;
  }

  /**
   * @param {string} pid @param {string} name @param {string} role @param {boolean} hand
   * @param {boolean} other
   */
  personRow(pid, name, role, hand, other) {
    const li = document.createElement('li');
    li.dataset.participant = pid;
    const who = document.createElement('span');
    who.className = 'who';
    who.textContent = name;
    const roleTag = document.createElement('span');
    roleTag.className = 'role';
    roleTag.textContent = role.replace('_', '-');
    li.append(who, roleTag);
    if (hand) {
      const flag = document.createElement('span');
      flag.className = 'hand-flag';
      const place = this.client.handQueue.indexOf(pid) + 1;
      flag.textContent = place ? `hand #${place}` : 'hand up';
      flag.title = 'Hand raised';
      li.append(flag);
    }
    const me = this.client.me;
    if (other && me?.permissions.room_admin && role !== 'host') li.append(...this.moderatorControls(pid, role, hand));
    return li;
  }

  /** @param {string} pid @param {string} role @param {boolean} hand */
  moderatorControls(pid, role, hand) {
    const controls = [];
    const mute = button('Mute', () => this.client.muteRequest(pid, 'audio'));
    mute.className = 'mute-request';
    controls.push(mute);
    if (hand) controls.push(button('Lower hand', () => this.client.hand(false, pid)));
    const select = document.createElement('select');
    select.className = 'role-select';
    select.setAttribute('aria-label', 'Role');
    for (const r of ROLES) {
      const option = document.createElement('option');
      option.value = r;
      option.textContent = r.replace('_', '-');
      option.selected = r === role;
      select.append(option);
    }
    select.onchange = () => this.client.changeRole(pid, select.value);
    controls.push(select);
    const kick = button('Remove', () => this.client.kick(pid));
    kick.className = 'kick danger';
    controls.push(kick);
    return controls;
  }

  renderWaiting() {
    const list = $('waiting');
    list.replaceChildren();
    for (const [pid, name] of this.waiting) {
      const li = document.createElement('li');
      li.dataset.participant = pid;
      const who = document.createElement('span');
      who.className = 'who';
      who.textContent = name;
      li.append(who, button('Admit', () => this.client.admit(pid, true)),
        button('Deny', () => this.client.admit(pid, false)));
      list.append(li);
    }
    $('waiting-box').hidden = this.waiting.size === 0;
  }

  renderSession() {
    $('start').hidden = this.sessionStatus !== 'scheduled';
    $('end').hidden = this.sessionStatus === 'ended';
  }

  /** @param {string} name @param {string} text @param {string} [privately] who else sees it */
  addChat(name, text, privately) {
    const li = document.createElement('li');
    const from = document.createElement('span');
    from.className = 'from';
    from.textContent = name;
    const body = document.createElement('span');
    body.className = 'text';
    body.textContent = text;
    if (privately) {
      li.classList.add('private');
      const tag = document.createElement('span');
      tag.className = 'private-tag';
      tag.textContent = privately;
      li.append(tag);
    }
    li.prepend(from);
    li.append(body);
    const list = $('messages');
    list.append(li);
    list.scrollTop = list.scrollHeight;
    return li;
  }

  /** @param {import('./liveclass-client.js').PrivateChat} m */
  addPrivateChat(m) {
    const outgoing = m.from === this.client.me?.participant_id;
    const li = outgoing
      ? this.addChat('You', m.text, `private to ${this.nameOf(m.to)}`)
      : this.addChat(m.name, m.text, 'private to you');
    li.dataset.from = m.from;
    li.dataset.to = m.to;
  }

  /** Everyone, or one person: students reach moderators always, each other unless locked. */
  renderChatTargets() {
    const select = /** @type {HTMLSelectElement} */ ($('chat-to'));
    const current = select.value;
    const studentsLocked = this.client.lockedForMe('student_private_chat');
    const everyone = document.createElement('option');
    everyone.value = '';
    everyone.textContent = 'Everyone';
    const people = [...this.peers.values()].filter((p) => !studentsLocked || MODERATOR_ROLES.has(p.role));
    // Rebuilt only when the choice changes, so a list someone has open is not yanked away.
    const key = people.map((p) => `${p.participant_id}\n${p.name}`).join('\n');
    if (key === this.chatTargetsKey) return this.renderChatLock();
    this.chatTargetsKey = key;
    select.replaceChildren(everyone, ...people.map((peer) => {
      const option = document.createElement('option');
      option.value = peer.participant_id;
      option.textContent = `${peer.name} (private)`;
      return option;
    }));
    select.value = people.some((p) => p.participant_id === current) ? current : '';
    this.renderChatLock();
  }

  /** Public chat can be locked for students; a private message to a moderator never is. */
  renderChatLock() {
    const input = /** @type {HTMLInputElement} */ ($('chat-input'));
    const target = /** @type {HTMLSelectElement} */ ($('chat-to')).value;
    const locked = !target && this.client.lockedForMe('student_chat');
    input.disabled = !this.permissions.can_publish_data || locked;
    const send = /** @type {HTMLButtonElement} */ ($('chat-form').querySelector('button[type="submit"]'));
    send.disabled = input.disabled;
    input.placeholder = target ? `Private message to ${this.nameOf(target)}`
      : locked ? 'The host has locked the chat' : 'Message everyone';
  }

  // -- locks, reactions -------------------------------------------------------------------------

  renderLocks() {
    const locks = this.client.locks;
    this.lockMenu.render(locks);
    const student = this.client.isStudent;
    const locked = Object.entries(LOCK_LABELS)
      .filter(([lock]) => student && locks[/** @type {keyof typeof locks} */ (lock)])
      .map(([, label]) => label);
    const note = $('lock-note');
    note.textContent = locked.length ? `The host has locked: ${locked.join(', ')}.` : '';
    note.hidden = !locked.length;
    this.enforceMediaLocks();
    this.renderMediaLocks();
    this.renderChatTargets();
  }

  /**
   * A lock turns off what it covers: the server refuses every media state that says a locked
   * thing is on, so keeping it on would leave peers with a stale picture of us.
   */
  enforceMediaLocks() {
    const c = this.client;
    const on = (/** @type {string} */ id) => $(id).getAttribute('aria-pressed') === 'true';
    const off = [];
    if (c.lockedForMe('student_unmute') && this.camera && on('mic')) { this.setMic(false, false); off.push('microphone'); }
    if (c.lockedForMe('student_camera') && this.camera && on('camera')) { this.setCamera(false, false); off.push('camera'); }
    if (c.lockedForMe('student_screen') && this.screen) { this.stopScreen(false); off.push('screen share'); }
    if (!off.length) return;
    this.notice(`The host locked your ${off.join(', ')}: it is off now.`);
    this.announceMedia();
  }

  /** A locked student may still turn things off, but not on again. */
  renderMediaLocks() {
    const c = this.client;
    const on = (/** @type {string} */ id) => $(id).getAttribute('aria-pressed') === 'true';
    const rules = /** @type {[string, boolean][]} */ ([
      ['mic', c.lockedForMe('student_unmute') && !on('mic')],
      ['camera', c.lockedForMe('student_camera') && !on('camera')],
      ['screen', c.lockedForMe('student_screen') && !this.screen],
    ]);
    for (const [id, locked] of rules) {
      const b = /** @type {HTMLButtonElement} */ ($(id));
      b.disabled = locked;
      b.title = locked ? 'Locked by the host' : '';
    }
  }

  /** @param {string} pid @param {string} emoji */
  showReaction(pid, emoji) {
    const own = pid === this.client.me?.participant_id;
    const tile = this.tiles.get(own ? 'local:camera' : `${pid}:camera`);
    if (tile) flashReaction(tile, emoji);
    const row = $('participants').querySelector(`li[data-participant="${CSS.escape(pid)}"]`);
    if (row) flashReaction(/** @type {HTMLElement} */ (row), emoji);
  }

  // -- status and endings ---------------------------------------------------------------------

  /** @param {string} status @param {string} [detail] */
  setStatus(status, detail) {
    const el = $('status');
    el.dataset.state = status;
    el.textContent = status === 'reconnecting' ? 'reconnecting…' : status;
    if (detail && status === 'reconnecting') el.title = detail;
  }

  notice(/** @type {string} */ text, fatal = false) {
    const el = $('notice');
    el.textContent = text;
    el.hidden = !text;
    el.classList.toggle('fatal', fatal);
  }

  /** @param {number} code @param {string} reason */
  closed(code, reason) {
    const message = this.ended ? CLOSE_MESSAGES[4410] : CLOSE_MESSAGES[code] || `Disconnected: ${reason}`;
    this.fatal(message);
  }

  fatal(/** @type {string} */ message) {
    this.stopLocalMedia();
    this.media?.close();
    for (const key of [...this.tiles.keys()]) this.removeTileKey(key);
    document.body.classList.add('over');
    document.body.dataset.over = 'true';
    this.notice(message, true);
    this.setStatus('closed');
  }

  bindControls() {
    $('mic').onclick = () => this.setMic($('mic').getAttribute('aria-pressed') !== 'true');
    $('camera').onclick = () => this.setCamera($('camera').getAttribute('aria-pressed') !== 'true');
    $('screen').onclick = () => this.toggleScreen();
    $('hand').onclick = () => this.client.hand(!this.handRaised);
    $('fullscreen').onclick = () => {
      if (document.fullscreenElement) document.exitFullscreen(); else $('grid').requestFullscreen();
    };
    $('sound').onclick = () => {
      for (const v of document.querySelectorAll('video')) v.play().catch(() => {});
      $('sound').hidden = true;
    };
    $('leave').onclick = async () => {
      await this.client.leave();
      this.fatal('You left the class.');
    };
    $('start').onclick = () => this.client.startSession();
    $('end').onclick = () => { if (confirm('End the class for everyone?')) this.client.endSession(); };
    /** @type {HTMLFormElement} */ ($('chat-form')).onsubmit = (event) => {
      event.preventDefault();
      const input = /** @type {HTMLInputElement} */ ($('chat-input'));
      const text = input.value.trim();
      const target = /** @type {HTMLSelectElement} */ ($('chat-to')).value;
      if (text && target) this.client.privateChat(target, text);
      else if (text) this.client.chat(text);
      input.value = '';
    };
    $('chat-to').onchange = () => this.renderChatLock();
    $('lower-all').onclick = () => this.client.lowerAllHands();
    $('new-poll').onclick = () => this.polls.openForm();
    buildReactionMenu(this.client, /** @type {HTMLDetailsElement} */ ($('react-menu')));
    bindTimerControls(this.client, $('timer-menu'));
    bindMenus(document);
  }
}

function requestCamera() {
  return navigator.mediaDevices.getUserMedia({ audio: true, video: { width: 640, height: 480 } });
}

/** The role an access token was issued for (unverified: only a hint to start early). */
function tokenRole(/** @type {string} */ token) {
  try {
    const payload = token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
    return JSON.parse(atob(payload + '='.repeat((4 - (payload.length % 4)) % 4))).role || '';
  } catch (e) {
    return '';
  }
}

/** @param {string} label @param {() => void} onclick */
function button(label, onclick) {
  const b = document.createElement('button');
  b.type = 'button';
  b.textContent = label;
  b.onclick = onclick;
  return b;
}

/** The token arrives in the URL fragment; keep it for reloads, then take it out of the URL. */
function takeToken(/** @type {string} */ sessionId) {
  const key = `liveclass:${sessionId}`;
  const fromHash = new URLSearchParams(location.hash.slice(1)).get('token');
  if (fromHash) {
    sessionStorage.setItem(key, fromHash);
    history.replaceState(null, '', location.pathname);
  }
  return fromHash || sessionStorage.getItem(key) || '';
}

function main() {
  const sessionId = location.pathname.split('/').filter(Boolean).pop() || '';
  const token = takeToken(sessionId);
  const client = new LiveClassClient({ sessionId, accessToken: token, baseUrl: location.origin });
  const room = new Classroom(client);
  // Exposed for people debugging a call from the console (and for the browser tests).
  /** @type {any} */ (window).liveclass = room;
  client.onTokenChanged = () => sessionStorage.setItem(`liveclass:${sessionId}`, client.accessToken);
  if (!token) {
    room.fatal('This classroom link has no access token. Open the link your course page gave you.');
    return;
  }
  room.open();
}

main();
