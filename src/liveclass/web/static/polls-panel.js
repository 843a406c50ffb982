// @ts-check
/**
 * The classroom's polls and quizzes: moderators create, open, close and publish them and see
 * live counts, who answered what and quiz scores; everyone else answers (and may change the
 * answer while the poll is open) and sees the results once they are published.
 * Everything people typed is set with `textContent`.
 */

/** @typedef {import('./liveclass-client.js').LiveClassClient} LiveClassClient */
/** @typedef {import('./liveclass-client.js').Poll} Poll */

const MIN_OPTIONS = 2;
const MAX_OPTIONS = 10;
const STATUS_LABELS = { draft: 'Draft', open: 'Open', closed: 'Closed' };

/** "A", "B", … for option ids "0", "1", … */
function letter(/** @type {number} */ index) { return String.fromCharCode(65 + index); }

/**
 * @param {string} tag @param {string} [className] @param {string} [text]
 * @returns {HTMLElement}
 */
function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

/** @param {string} label @param {() => void} onclick @param {string} className */
function action(label, onclick, className) {
  const b = /** @type {HTMLButtonElement} */ (el('button', className, label));
  b.type = 'button';
  b.onclick = onclick;
  return b;
}

export class PollsPanel {
  /**
   * @param {LiveClassClient} client
   * @param {{box: HTMLElement, list: HTMLElement, scores: HTMLElement, dialog: HTMLDialogElement,
   *          notify: (text: string) => void}} parts
   */
  constructor(client, { box, list, scores, dialog, notify }) {
    this.client = client;
    this.box = box;
    this.list = list;
    this.scores = scores;
    this.form = new PollForm(client, dialog);
    this.notify = notify;
    /** @type {Map<string, Set<string>>} a student's choices not sent yet, by poll */
    this.choices = new Map();
    /** @type {Map<string, string[]>} what this page sent, until the server tells us back */
    this.sent = new Map();
  }

  get moderator() { return Boolean(this.client.me?.permissions.room_admin); }

  openForm() { this.form.show(); }

  /** A `poll` from the server: its `you` is the answer it holds, which replaces what we sent. */
  update(/** @type {Poll} */ poll) {
    // An anonymous poll's `you` may say only that we answered (`options: null`): keep ours.
    if (poll.you?.options) this.sent.delete(poll.id);
    this.render();
  }

  render() {
    const polls = [...this.client.polls.values()].reverse(); // newest first
    this.list.replaceChildren(...polls.map((poll) => this.card(poll)));
    if (!polls.length) this.list.append(el('p', 'poll-empty', 'No polls yet: ask the class a question or run a quiz.'));
    this.box.hidden = !this.moderator && polls.length === 0;
    this.renderScores(polls);
  }

  /** @param {Poll} poll */
  card(poll) {
    const card = el('article', 'poll');
    card.dataset.poll = poll.id;
    card.dataset.status = poll.status;
    const head = el('header', 'poll-head');
    head.append(el('span', 'poll-status', STATUS_LABELS[poll.status] || poll.status), el('span', 'poll-tags', tags(poll)));
    card.append(head, el('p', 'poll-question', poll.question));
    if (!this.moderator && poll.status === 'open') card.append(this.answerForm(poll));
    else if (!this.moderator) card.append(this.ownAnswer(poll));
    if (poll.results) card.append(results(poll));
    else if (!this.moderator) card.append(el('p', 'poll-waiting', poll.status === 'open'
      ? 'Results are shown when the host publishes them.' : 'Closed. The host has not published the results.'));
    if (this.moderator) {
      card.append(this.actions(poll));
      if (poll.answers && poll.answers.length) card.append(answersTable(poll));
    }
    return card;
  }

  /** @param {Poll} poll */
  mine(poll) { return this.sent.get(poll.id) ?? poll.you?.options ?? null; }

  /** A student's ballot: radio buttons or checkboxes, sent with one button, sendable again. */
  answerForm(/** @type {Poll} */ poll) {
    const form = /** @type {HTMLFormElement} */ (el('form', 'poll-answer'));
    const mine = this.mine(poll);
    // An anonymous poll takes one answer each: the server cannot tell which one to replace.
    const final = poll.anonymous && Boolean(mine || poll.you);
    const chosen = this.choices.get(poll.id) ?? new Set(mine ?? []);
    poll.options.forEach((option, i) => {
      const label = el('label', 'poll-option');
      const input = /** @type {HTMLInputElement} */ (el('input'));
      input.type = poll.multiple ? 'checkbox' : 'radio';
      input.name = `poll-${poll.id}`;
      input.value = option.id;
      input.checked = chosen.has(option.id);
      input.disabled = final;
      input.onchange = () => this.choose(poll, form);
      label.append(input, el('span', 'option-letter', letter(i)), el('span', 'option-text', option.text));
      form.append(label);
    });
    const send = /** @type {HTMLButtonElement} */ (el('button', 'poll-send', mine || poll.you ? 'Change answer' : 'Send answer'));
    send.type = 'submit';
    send.disabled = chosen.size === 0;
    if (!final) form.append(send);
    if (mine || poll.you) form.append(this.ownAnswer(poll));
    form.onsubmit = (event) => {
      event.preventDefault();
      const options = [...(this.choices.get(poll.id) ?? chosen)];
      if (!options.length) return;
      this.client.answerPoll(poll.id, options);
      // The server confirms an answer only in the next `poll` it sends us; show it now.
      this.sent.set(poll.id, options);
      this.choices.delete(poll.id);
      this.render();
    };
    return form;
  }

  /** @param {Poll} poll @param {HTMLFormElement} form */
  choose(poll, form) {
    const picked = [...form.querySelectorAll('input:checked')].map((i) => /** @type {HTMLInputElement} */ (i).value);
    this.choices.set(poll.id, new Set(picked));
    const send = /** @type {HTMLButtonElement} */ (form.querySelector('.poll-send'));
    send.disabled = picked.length === 0;
  }

  /** @param {Poll} poll */
  ownAnswer(poll) {
    const mine = this.mine(poll);
    const text = mine ? `Your answer: ${lettersOf(poll, mine)}`
      : poll.you ? 'You answered (anonymously: your choice is not kept).' : 'You did not answer.';
    return el('p', 'poll-you', text);
  }

  /** @param {Poll} poll */
  actions(poll) {
    const bar = el('div', 'poll-actions');
    const c = this.client;
    if (poll.status === 'draft') bar.append(action('Open', () => c.openPoll(poll.id), 'poll-open'));
    if (poll.status === 'open') bar.append(action('Close', () => c.closePoll(poll.id), 'poll-close'));
    if (poll.status !== 'draft') {
      bar.append(poll.results_visible
        ? action('Hide results', () => c.publishPoll(poll.id, false), 'poll-publish')
        : action('Publish results', () => c.publishPoll(poll.id, true), 'poll-publish'));
    }
    return bar;
  }

  /** @param {Poll[]} polls */
  renderScores(polls) {
    /** @type {Map<string, {name: string, correct: number, answered: number}>} */
    const scores = new Map();
    for (const poll of polls) {
      if (!poll.quiz || poll.anonymous) continue;
      for (const answer of poll.answers || []) {
        const score = scores.get(answer.participant_id) || { name: answer.name, correct: 0, answered: 0 };
        score.answered += 1;
        if (answer.correct) score.correct += 1;
        scores.set(answer.participant_id, score);
      }
    }
    this.scores.replaceChildren();
    this.scores.hidden = !this.moderator || scores.size === 0;
    if (this.scores.hidden) return;
    const list = el('ol', 'score-list');
    const ranked = [...scores.entries()].sort((a, b) => b[1].correct - a[1].correct);
    for (const [pid, score] of ranked) {
      const li = el('li');
      li.dataset.participant = pid;
      li.append(el('span', 'who', score.name), el('span', 'score', `${score.correct}/${score.answered}`));
      list.append(li);
    }
    this.scores.append(el('h3', undefined, 'Quiz scores'), list);
  }
}

/** @param {Poll} poll */
function tags(poll) {
  return [poll.quiz ? 'quiz' : 'poll', poll.multiple ? 'multiple choice' : 'single choice',
    poll.anonymous ? 'anonymous' : 'named'].join(' · ');
}

/** @param {Poll} poll @param {string[]} ids */
function lettersOf(poll, ids) {
  return poll.options.map((o, i) => (ids.includes(o.id) ? letter(i) : '')).filter(Boolean).join(', ');
}

/** Bars with counts; a quiz's right answers are marked once the server shows them. */
function results(/** @type {Poll} */ poll) {
  const box = el('div', 'poll-results');
  const r = /** @type {import('./liveclass-client.js').PollResults} */ (poll.results);
  const list = el('ul');
  const correct = new Set(poll.correct || []);
  poll.options.forEach((option, i) => {
    const n = r.counts[option.id] || 0;
    const share = r.total_voters ? Math.round((100 * n) / r.total_voters) : 0;
    const li = el('li', correct.has(option.id) ? 'correct' : undefined);
    li.dataset.option = option.id;
    const bar = el('span', 'bar');
    const fill = el('span', 'fill');
    fill.style.width = `${share}%`;
    bar.append(fill);
    const label = el('span', 'label');
    label.append(el('span', 'option-letter', letter(i)), el('span', 'option-text', option.text));
    if (correct.has(option.id)) label.append(el('span', 'right-mark', '✓ correct'));
    li.append(label, bar, el('span', 'count', String(n)));
    list.append(li);
  });
  const total = r.total_voters === 1 ? '1 answer' : `${r.total_voters} answers`;
  box.append(list, el('p', 'poll-total', total));
  return box;
}

/** Who answered what (named polls, moderators only). */
function answersTable(/** @type {Poll} */ poll) {
  const table = el('table', 'poll-answers');
  for (const answer of poll.answers || []) {
    const row = el('tr');
    row.dataset.participant = answer.participant_id;
    const mark = answer.correct === null || answer.correct === undefined ? '' : answer.correct ? '✓' : '✗';
    const markCell = el('td', 'mark', mark);
    if (mark) markCell.dataset.correct = String(answer.correct);
    row.append(el('td', 'who', answer.name), el('td', 'choice', lettersOf(poll, answer.options)), markCell);
    table.append(row);
  }
  return table;
}

/** The moderator's "New poll" dialog. */
class PollForm {
  /** @param {LiveClassClient} client @param {HTMLDialogElement} dialog */
  constructor(client, dialog) {
    this.client = client;
    this.dialog = dialog;
    this.form = /** @type {HTMLFormElement} */ (dialog.querySelector('form'));
    this.rows = /** @type {HTMLElement} */ (dialog.querySelector('.poll-option-rows'));
    this.error = /** @type {HTMLElement} */ (dialog.querySelector('.form-error'));
    this.addButton = /** @type {HTMLButtonElement} */ (dialog.querySelector('.poll-add-option'));
    this.addButton.onclick = () => this.addRow();
    this.field('poll-quiz').onchange = () => this.syncQuiz();
    this.field('poll-multiple').onchange = () => this.syncQuiz();
    /** @type {HTMLButtonElement} */ (dialog.querySelector('.poll-cancel')).onclick = () => dialog.close();
    this.form.onsubmit = (event) => { event.preventDefault(); this.submit(); };
  }

  /** @param {string} id */
  field(id) { return /** @type {HTMLInputElement} */ (this.dialog.querySelector(`#${id}`)); }

  show() {
    this.form.reset();
    this.rows.replaceChildren();
    for (let i = 0; i < MIN_OPTIONS; i += 1) this.addRow();
    this.error.textContent = '';
    this.syncQuiz();
    this.dialog.showModal();
    this.field('poll-question').focus();
  }

  addRow() {
    if (this.rows.children.length >= MAX_OPTIONS) return;
    const row = el('div', 'poll-option-row');
    const text = /** @type {HTMLInputElement} */ (el('input', 'poll-option-text'));
    text.maxLength = 200;
    text.setAttribute('aria-label', 'Option');
    const correctLabel = el('label', 'correct-toggle');
    const correct = /** @type {HTMLInputElement} */ (el('input', 'poll-option-correct'));
    correct.type = 'checkbox';
    correct.onchange = () => this.onlyOneCorrect(correct);
    correctLabel.append(correct, document.createTextNode(' correct'));
    const remove = action('×', () => { row.remove(); this.renumber(); }, 'poll-remove-option');
    remove.setAttribute('aria-label', 'Remove option');
    row.append(el('span', 'option-letter'), text, correctLabel, remove);
    this.rows.append(row);
    this.renumber();
  }

  renumber() {
    [...this.rows.children].forEach((row, i) => {
      /** @type {HTMLElement} */ (row.querySelector('.option-letter')).textContent = letter(i);
      /** @type {HTMLInputElement} */ (row.querySelector('.poll-option-text')).placeholder = `Option ${letter(i)}`;
    });
    const n = this.rows.children.length;
    this.addButton.disabled = n >= MAX_OPTIONS;
    for (const b of this.rows.querySelectorAll('.poll-remove-option')) /** @type {HTMLButtonElement} */ (b).disabled = n <= MIN_OPTIONS;
  }

  syncQuiz() {
    this.dialog.classList.toggle('is-quiz', this.field('poll-quiz').checked);
    if (!this.field('poll-multiple').checked) {
      const marked = [...this.rows.querySelectorAll('.poll-option-correct:checked')];
      marked.slice(1).forEach((c) => { /** @type {HTMLInputElement} */ (c).checked = false; });
    }
  }

  /** A single-choice quiz has exactly one right answer. @param {HTMLInputElement} changed */
  onlyOneCorrect(changed) {
    if (this.field('poll-multiple').checked || !changed.checked) return;
    for (const c of this.rows.querySelectorAll('.poll-option-correct')) {
      if (c !== changed) /** @type {HTMLInputElement} */ (c).checked = false;
    }
  }

  submit() {
    const question = this.field('poll-question').value.trim();
    const rows = [...this.rows.children];
    const options = rows.map((r) => /** @type {HTMLInputElement} */ (r.querySelector('.poll-option-text')).value.trim());
    const quiz = this.field('poll-quiz').checked;
    const multiple = this.field('poll-multiple').checked;
    const correct = rows.flatMap((r, i) => (/** @type {HTMLInputElement} */ (r.querySelector('.poll-option-correct')).checked ? [i] : []));
    const problem = !question ? 'Write a question.'
      : options.some((o) => !o) ? 'Fill in every option (or remove the empty ones).'
        : quiz && !correct.length ? 'Mark the correct answer.'
          : '';
    if (problem) { this.error.textContent = problem; return; }
    this.client.createPoll({
      question, options, multiple, quiz, correct: quiz ? correct : [],
      anonymous: this.field('poll-anonymous').checked, open: this.field('poll-open-now').checked,
    });
    this.dialog.close();
  }
}
