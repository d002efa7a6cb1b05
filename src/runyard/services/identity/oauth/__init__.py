"""Runyard as an OAuth 2.0 authorization server and OpenID provider, built on Authlib's
framework-neutral server: the authorization-code flow with PKCE, the device authorization grant,
client credentials, rotating refresh tokens with reuse detection, revocation, ID tokens and
userinfo; plus browser sessions (the login page) and single sign-on through an upstream provider."""
