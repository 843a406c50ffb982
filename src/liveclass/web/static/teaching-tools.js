// @ts-check
/**
 * Small classroom tools: the reaction menu and its overlays, the class timer (a badge for
 * everyone, controls for moderators) and the moderators' lock menu.
 */
import { REACTIONS } from './liveclass-client.js';

/** @typedef {import('./liveclass-client.js').LiveClassClient} LiveClassClient */
/** @typedef {import('./liveclass-client.js').Timer} Timer */
/** @typedef {import('./liveclass-client.js').Locks} Locks */

/** How long a reaction floats over its sender's tile. */
const REACTION_MS = 3000;

/** What each lock stops, as the lock menu and the students' note say it. */
export const LOCK_LABELS = /** @type {Record<keyof Locks, string>} */ ({
  student_unmute: 'unmute',
  student_camera: 'camera',
  student_screen: 'screen share',
  student_chat: 'chat',
  student_private_chat: 'private chat between students',
});

/**
 * The emoji buttons; a click sends the reaction and closes the menu.
 * @param {LiveClassClient} client @param {HTMLDetailsElement} menu
 */
export function buildReactionMenu(client, menu) {
  const body = /** @type {HTMLElement} */ (menu.querySelector('.menu-body'));
  body.replaceChildren(...REACTIONS.map((emoji) => {
    const b = document.createElement('button');
    b.type = 'button';
    b.className = 'reaction-button';
    b.dataset.emoji = emoji;
    b.textContent = emoji;
    b.setAttribute('aria-label', `React ${emoji}`);
    b.onclick = () => { client.react(emoji); menu.open = false; };
    return b;
  }));
}

/**
 * Float `emoji` over `target` for a few seconds.
 * @param {HTMLElement} target @param {string} emoji
 */
export function flashReaction(target, emoji) {
  const badge = document.createElement('span');
  badge.className = 'reaction';
  badge.textContent = emoji;
  target.append(badge);
  setTimeout(() => badge.remove(), REACTION_MS);
}

/** One dropdown menu open at a time; a click elsewhere closes it. */
export function bindMenus(/** @type {Document} */ doc) {
  const menus = () => /** @type {HTMLDetailsElement[]} */ ([...doc.querySelectorAll('details.menu')]);
  for (const menu of menus()) {
    menu.addEventListener('toggle', () => {
      if (menu.open) for (const other of menus()) if (other !== menu) other.open = false;
    });
  }
  doc.addEventListener('click', (event) => {
    const inside = /** @type {Element} */ (event.target).closest?.('details.menu');
    for (const menu of menus()) if (menu !== inside) menu.open = false;
  });
}

/** `m:ss`, or `h:mm:ss` from an hour up. */
export function clock(/** @type {number} */ seconds) {
  const s = Math.max(0, Math.ceil(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const rest = String(s % 60).padStart(2, '0');
  return h ? `${h}:${String(m).padStart(2, '0')}:${rest}` : `${m}:${rest}`;
}

/** The timer badge in the top bar, ticking locally towards the server's `ends_at`. */
export class TimerBadge {
  /** @param {HTMLElement} badge @param {HTMLElement | null} controls the moderators' menu */
  constructor(badge, controls) {
    this.badge = badge;
    this.controls = controls;
    /** @type {Timer | null} */
    this.timer = null;
    /** @type {ReturnType<typeof setInterval> | undefined} */
    this.ticker = undefined;
    /** When a running timer ends by this page's clock. */
    this.endsAt = 0;
  }

  /** @param {Timer | null} timer */
  set(timer) {
    this.timer = timer && timer.state !== 'stopped' ? timer : null;
    // Counting from what is left, as of when the server said it, keeps a page whose clock
    // is off showing the right time (`ends_at` is the server's clock).
    const left = timer?.remaining_seconds;
    this.endsAt = typeof left === 'number' ? Date.now() + left * 1000
      : timer?.ends_at ? Date.parse(timer.ends_at) : Date.now();
    clearInterval(this.ticker);
    if (this.timer?.state === 'running') this.ticker = setInterval(() => this.paint(), 250);
    this.paint();
    this.controls?.setAttribute('data-state', timer?.state || 'stopped');
  }

  /** Seconds left: counted down while running, as the server said while paused. */
  left() {
    const t = this.timer;
    if (!t) return 0;
    if (t.state === 'paused') return t.remaining_seconds || 0;
    return (this.endsAt - Date.now()) / 1000;
  }

  paint() {
    const t = this.timer;
    this.badge.hidden = !t;
    if (!t) return;
    const left = this.left();
    const done = t.state === 'running' && left <= 0;
    if (done) clearInterval(this.ticker);
    this.badge.dataset.state = done ? 'done' : t.state;
    /** @type {HTMLElement} */ (this.badge.querySelector('.timer-time')).textContent = done ? "Time's up" : clock(left);
    const label = /** @type {HTMLElement} */ (this.badge.querySelector('.timer-label'));
    label.textContent = t.label || '';
    label.hidden = !t.label;
    this.badge.title = t.state === 'paused' ? 'Timer paused' : 'Timer';
  }
}

/**
 * The moderators' timer menu: minutes and a label, then start, pause, resume or stop.
 * @param {LiveClassClient} client @param {HTMLElement} menu
 */
export function bindTimerControls(client, menu) {
  const q = (/** @type {string} */ s) => /** @type {HTMLInputElement} */ (menu.querySelector(s));
  /** @type {HTMLFormElement} */ (menu.querySelector('form')).onsubmit = (event) => {
    event.preventDefault();
    const minutes = Number(q('.timer-minutes').value);
    if (!(minutes > 0)) return;
    client.timerStart(Math.min(86400, Math.round(minutes * 60)), q('.timer-label-input').value.trim());
  };
  q('.timer-pause').onclick = () => client.timerPause();
  q('.timer-resume').onclick = () => client.timerResume();
  q('.timer-stop').onclick = () => client.timerStop();
}

/** The moderators' lock toggles and "mute everyone". */
export class LockMenu {
  /** @param {LiveClassClient} client @param {HTMLElement} menu */
  constructor(client, menu) {
    this.client = client;
    this.menu = menu;
    const body = /** @type {HTMLElement} */ (menu.querySelector('.lock-toggles'));
    body.replaceChildren(...Object.entries(LOCK_LABELS).map(([lock, text]) => {
      const label = document.createElement('label');
      const box = document.createElement('input');
      box.type = 'checkbox';
      box.dataset.lock = lock;
      box.onchange = () => client.setLocks({ [lock]: box.checked });
      label.append(box, document.createTextNode(` Lock ${text}`));
      return label;
    }));
    /** @type {HTMLButtonElement} */ (menu.querySelector('.mute-all')).onclick = () => client.muteAll();
  }

  /** @param {Locks} locks */
  render(locks) {
    for (const box of this.menu.querySelectorAll('input[data-lock]')) {
      const input = /** @type {HTMLInputElement} */ (box);
      input.checked = Boolean(locks[/** @type {keyof Locks} */ (input.dataset.lock)]);
    }
  }
}
