"""A minimal HTTP driver for the simulator's own tests and for benches.

It keeps the cookie jar by hand (like the integration does with a DummyCookieJar) and adds
the headers each Enlighten service expects. It is deliberately independent of the
integration's API client.
"""

from __future__ import annotations

import base64
import json as jsonlib
import uuid
from dataclasses import dataclass
from http.cookies import SimpleCookie
from typing import Any

import aiohttp
from multidict import CIMultiDictProxy


@dataclass
class Reply:
    """Status, headers and body of one response."""

    status: int
    headers: CIMultiDictProxy[str]
    text: str
    content_type: str

    @property
    def json(self) -> Any:
        """Body parsed as JSON."""
        return jsonlib.loads(self.text)

    @property
    def is_login_page(self) -> bool:
        """Whether this is the HTML login wall."""
        return self.content_type == "text/html" and 'action="/login/login"' in self.text


class SimDriver:
    """Talks to a running simulator like a logged-in browser/app would."""

    def __init__(self, session: aiohttp.ClientSession, base_url: str) -> None:
        self.session = session
        self.base_url = base_url
        self.cookies: dict[str, str] = {}
        self.session_id: str | None = None
        self.token: str | None = None
        self.user_id: str | None = None

    def absorb(self, headers: CIMultiDictProxy[str]) -> None:
        """Apply Set-Cookie headers to the jar."""
        for raw in headers.getall("Set-Cookie", []):
            jar: SimpleCookie = SimpleCookie()
            jar.load(raw)
            for name, morsel in jar.items():
                self.cookies[name] = morsel.value

    def auth_headers(self) -> dict[str, str]:
        """Every header any Enlighten service might want."""
        headers = {
            "Accept": "application/json, text/javascript, */*; q=0.01",
            "X-Requested-With": "XMLHttpRequest",
            "requestid": str(uuid.uuid4()),
        }
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if self.session_id:
            headers["e-auth-token"] = self.session_id
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        if self.user_id:
            headers["Username"] = self.user_id
        if "BP-XSRF-Token" in self.cookies:
            headers["X-XSRF-Token"] = self.cookies["BP-XSRF-Token"]
        if "XSRF-TOKEN" in self.cookies:
            headers["X-CSRF-Token"] = self.cookies["XSRF-TOKEN"]
        return headers

    async def call(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        data: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
        omit: tuple[str, ...] = (),
    ) -> Reply:
        """Send one request with the auth headers (minus ``omit``, plus ``headers``)."""
        merged = {k: v for k, v in self.auth_headers().items() if k not in omit}
        merged.update(headers or {})
        kwargs: dict[str, Any] = {"headers": merged}
        if json is not None:
            kwargs["json"] = json
        if data is not None:
            kwargs["data"] = data
        async with self.session.request(method, self.base_url + path, **kwargs) as resp:
            text = await resp.text()
            self.absorb(resp.headers)
            return Reply(resp.status, resp.headers, text, resp.content_type)

    async def get(self, path: str, **kwargs: Any) -> Reply:
        """GET shortcut."""
        return await self.call("GET", path, **kwargs)

    def _take_login(self, reply: Reply) -> None:
        body = reply.json
        if reply.status == 200 and isinstance(body, dict) and "session_id" in body:
            self.session_id = body["session_id"]
            self.token = body["manager_token"]
            claims = self.token.split(".")[1] if self.token else ""
            payload = jsonlib.loads(base64.urlsafe_b64decode(claims + "=" * (-len(claims) % 4)))
            self.user_id = str(payload["user_id"])

    async def login(self, email: str, password: str) -> Reply:
        """6.1 login; on success the driver is authenticated."""
        reply = await self.call(
            "POST",
            "/login/login.json",
            data={"user[email]": email, "user[password]": password},
        )
        self._take_login(reply)
        return reply

    async def validate_otp(self, email: str, otp: str) -> Reply:
        """6.2 OTP validation with base64 fields."""
        reply = await self.call(
            "POST",
            "/app-api/validate_login_otp",
            data={
                "email": base64.b64encode(email.encode()).decode(),
                "otp": base64.b64encode(otp.encode()).decode(),
                "xhrFields[withCredentials]": "true",
            },
        )
        self._take_login(reply)
        return reply

    async def resend_otp(self) -> Reply:
        """6.3 resend the login OTP."""
        return await self.call("POST", "/app-api/generate_mfa_login_otp", data={"locale": "en"})
