// Package edge is what every request meets before a handler: the client's
// address (read from X-Forwarded-For only when the connection comes from a
// trusted proxy), the sign-in throttle shared by the console and River UI,
// read deadlines per route class, refusal of NUL bytes, and security headers.
// It knows HTTP and nothing of Carillon's domain.
package edge
