const rows = new Map();
  const tbody = document.getElementById('rows');
  const statusEl = document.getElementById('status');
  let backoff = 500;
  async function subscribeAll(ws) {
    const res = await fetch('/api/assets?kind=substation');
    const ws2 = await fetch('/api/assets?kind=weather_station');
    const ids = [];
    for (const r of [res, ws2]) if (r.ok) for (const a of (await r.json()).assets) ids.push(a.id);
    ws.send(JSON.stringify({ type: 'subscribe', assets: ids }));
    const b = await fetch('/api/assets?kind=building');
    if (b.ok) for (const a of (await b.json()).assets.slice(0, 2)) ws.send(JSON.stringify({ type: 'subscribe', under: a.id, kind: 'apartment' }));
  }
  function show(assets) {
    for (const [asset, fields] of Object.entries(assets)) {
      for (const [field, [value, ts, quality]] of Object.entries(fields)) {
        const key = asset + '/' + field;
        let tr = rows.get(key);
        if (!tr) {
          tr = document.createElement('tr');
          tr.innerHTML = '<td></td><td></td><td></td><td></td><td></td>';
          tr.children[0].textContent = asset; tr.children[1].textContent = field;
          rows.set(key, tr);
          const after = [...rows.keys()].sort().indexOf(key);
          tbody.insertBefore(tr, tbody.children[after] ?? null);
        }
        tr.children[2].textContent = typeof value === 'number' ? value.toFixed(2) : String(value);
        tr.children[3].textContent = new Date(ts).toLocaleTimeString();
        tr.children[4].textContent = quality;
        tr.children[4].className = 'q-' + quality;
        tr.classList.add('flash'); setTimeout(() => tr.classList.remove('flash'), 300);
      }
    }
    document.getElementById('count').textContent = rows.size;
  }
  function connect() {
    const ws = new WebSocket((location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/api/live');
    ws.onopen = () => { statusEl.textContent = 'connected'; statusEl.className = 'ok'; backoff = 500; subscribeAll(ws); };
    ws.onmessage = (ev) => { const m = JSON.parse(ev.data); if (m.type === 'snapshot' || m.type === 'update') show(m.assets); };
    ws.onclose = () => { statusEl.textContent = 'reconnecting…'; statusEl.className = 'bad'; setTimeout(connect, backoff); backoff = Math.min(backoff * 2, 10000); };
  }
  async function boot() {
    const me = await fetch('/api/auth/me');
    if (me.ok) { document.getElementById('live').hidden = false; connect(); return; }
    const form = document.getElementById('login');
    form.hidden = false;
    form.onsubmit = async (e) => {
      e.preventDefault();
      const body = JSON.stringify({ username: form.username.value, password: form.password.value });
      const res = await fetch('/api/auth/login', { method: 'POST', headers: { 'content-type': 'application/json' }, body });
      if (res.ok) { form.hidden = true; document.getElementById('live').hidden = false; connect(); }
      else document.getElementById('login-error').textContent = (await res.json()).error.message;
    };
  }
  boot();
