// Package server is Carillon's HTTP side: the JSON API, health and readiness,
// Prometheus metrics and the embedded River UI. Domain packages never see HTTP;
// this package maps their errors to status codes and a stable error body:
//
//	{"error": {"code": "not_found", "message": "contact 42 not found"}}
//
// JSON request bodies are capped (Config.MaxBodyBytes, 413 beyond); CSV imports
// stream with a cap of their own (Config.MaxImportBytes).
package server
