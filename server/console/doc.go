// Package console is Carillon's web console: server-rendered pages for
// marketing, approvers, customer managers, auditors and administrators.
//
// Pages are html/template files embedded in the binary with their stylesheet;
// nothing is fetched from elsewhere, so the console works offline. Charts are
// SVG drawn on the server. Every page is in Chinese and English: the
// language follows the browser's Accept-Language until the user picks one,
// which a cookie remembers.
//
// Users sign in with their login and password (internal/identity). A session
// is a random token in an HttpOnly, SameSite=Lax cookie (Secure when the
// request came over TLS); Postgres keeps only its SHA-256 (console_sessions,
// migration 014). A session ends at sign-out, after its idle or absolute
// timeout, and as soon as its user is disabled: the user is read on every
// request. Every form carries the session's CSRF token, checked on every POST
// in constant time; a POST whose Origin names another host is refused too.
//
// What a page shows and what a form may do follow the user's roles, checked
// on the server for every request: a button hidden from a role is also
// refused to it when posted directly. Phone numbers, emails and openids are
// masked for marketers, approvers and auditors, as in the JSON API.
package console
