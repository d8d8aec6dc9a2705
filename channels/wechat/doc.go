// Package wechat sends WeChat Official Account template messages to customers (by
// openid) and WeCom application messages to customer managers (by WeCom user id)
// with github.com/silenceper/wechat/v2, without importing its root package (whose
// init makes logrus log request bodies).
//
// Access tokens live in Postgres (TokenStore), one row per app, refreshed under an
// advisory lock and invalidated on errcode 40001/42001, so every node shares one
// token. silenceper calls through the global util.DefaultHTTPClient and takes no
// context: InstallHTTPClient sets it once per process to a client with timeouts whose
// transport routes each request to the endpoint of the app that owns its
// access_token (the real API or a sandbox), so adapters for different endpoints run
// side by side, in parallel tests too.
package wechat
