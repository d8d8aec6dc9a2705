// Package app builds Carillon's world in one place: the stores and services on
// a pool, wired to each other (NewServices), and for serve the providers,
// River's client with its workers and periodic jobs, and the HTTP server
// (Build, Run). serve, demo, plan, the drills and the benchmarks all build
// through it, so they run the same wiring. cmd/carillon layers the file, the
// environment and the flags into the typed Config; this package reads no
// file and no flag.
package app
