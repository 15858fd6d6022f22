const token = new URLSearchParams(location.hash.slice(1)).get('token') ?? '';
const form = document.getElementById('setup');
const msg = document.getElementById('msg');
form.onsubmit = async (e) => {
  e.preventDefault();
  const body = JSON.stringify({ token, username: form.username.value, password: form.password.value });
  const res = await fetch('/api/auth/setup', { method: 'POST', headers: { 'content-type': 'application/json' }, body });
  if (res.ok) {
    msg.textContent = 'Administrator created. You can log in now.';
    form.hidden = true;
    setTimeout(() => (location.href = '/'), 1500);
  } else {
    msg.textContent = (await res.json()).error.message;
  }
};
