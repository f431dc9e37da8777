"""The browser's sign-in page: a key, or a name and password, becomes a same-site session cookie, which the Temporal
UI's calls to the codec endpoint carry (the operator's console will sign in here too)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

router = APIRouter(tags=["auth"])

PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sign in · YTEMPIRE Pipeline</title>
<style>
  body { font: 16px/1.5 system-ui, sans-serif; max-width: 26rem; margin: 3rem auto; padding: 0 1rem; }
  label { display: block; margin-top: .8rem; }
  input { width: 100%; box-sizing: border-box; padding: .4rem; font: inherit; }
  button { margin-top: 1rem; padding: .5rem 1.2rem; font: inherit; }
  #outcome { margin-top: 1rem; min-height: 3rem; }
</style>
</head>
<body>
<main>
<h1>Sign in</h1>
<p>With an API key, or a user's name and password. The session lasts as long as an access token; the Temporal UI
decodes payloads through it once its codec setting includes cross-origin credentials.</p>
<form id="sign-in">
  <label for="api-key">API key</label>
  <input id="api-key" name="api-key" type="password" autocomplete="off">
  <label for="username">or user name</label>
  <input id="username" name="username" autocomplete="username">
  <label for="password">and password</label>
  <input id="password" name="password" type="password" autocomplete="current-password">
  <button type="submit">Sign in</button>
</form>
<p id="outcome" role="status" aria-live="polite"></p>
</main>
<script>
const form = document.getElementById("sign-in");
const outcome = document.getElementById("outcome");
async function detail(response) {
  try { return (await response.json()).detail; } catch { return response.statusText; }
}
form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const key = form["api-key"].value.trim();
  const headers = {};
  if (key) {
    headers["X-API-Key"] = key;
  } else {
    const body = new URLSearchParams({grant_type: "password", username: form.username.value,
                                      password: form.password.value});
    const token = await fetch("/auth/token", {method: "POST", body});
    if (!token.ok) { outcome.textContent = "Not signed in: " + await detail(token); return; }
    headers["Authorization"] = "Bearer " + (await token.json()).access_token;
  }
  const session = await fetch("/auth/session", {method: "POST", headers});
  if (!session.ok) { outcome.textContent = "Not signed in: " + await detail(session); return; }
  const who = (await session.json()).who;
  form.reset();
  outcome.textContent = `Signed in as ${who.name} (${who.role}).`;
});
</script>
</body>
</html>
"""


@router.get("/auth/sign-in", response_class=HTMLResponse)
async def sign_in_page() -> HTMLResponse:
    """The sign-in page (open: it holds no data)."""
    return HTMLResponse(PAGE, headers={"Cache-Control": "no-store", "X-Frame-Options": "DENY"})
