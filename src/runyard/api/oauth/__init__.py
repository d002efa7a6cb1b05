"""The OAuth 2.0 / OpenID Connect endpoints and the browser pages (login, device approval) at the
server root: `/.well-known/*`, `/oauth/*`, `/login`, `/logout`, `/device`. Each route is public in
the route table and authenticates what it needs itself (client credentials, the session cookie)."""
