// @ts-check
/** The create page: drives the REST API with a platform token the visitor pastes. */

const $ = (/** @type {string} */ id) => /** @type {any} */ (document.getElementById(id));

/** @param {string} path @param {any} body */
async function call(path, body) {
  const response = await fetch(path, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${$('token').value.trim()}` },
    body: JSON.stringify(body),
  });
  const json = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(`${json.code || response.status}: ${json.detail || json.title || ''}`);
  return json;
}

/** @param {string} sessionId */
async function joinAndLink(sessionId) {
  const joined = await call(`/api/v1/sessions/${sessionId}/join`, {});
  const link = $('open-link');
  link.href = joined.classroom_url;
  link.hidden = false;
  $('result').textContent = `You are in class ${sessionId} as ${joined.role}.`;
}

$('create-form').onsubmit = async (/** @type {Event} */ event) => {
  event.preventDefault();
  try {
    const session = await call('/api/v1/sessions', {
      title: $('title').value,
      scheduled_at: new Date().toISOString(),
      duration: Number($('duration').value),
      default_role: $('default-role').value,
      is_public: $('is-public').checked,
    });
    await call(`/api/v1/sessions/${session.id}/start`, {});
    $('join-id').value = session.id;
    await joinAndLink(session.id);
  } catch (e) {
    $('result').textContent = String(/** @type {Error} */ (e).message);
  }
};

$('join-form').onsubmit = async (/** @type {Event} */ event) => {
  event.preventDefault();
  try {
    await joinAndLink($('join-id').value.trim());
  } catch (e) {
    $('result').textContent = String(/** @type {Error} */ (e).message);
  }
};
