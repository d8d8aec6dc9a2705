-- Nonces of WeChat server pushes already accepted, so that a signed push replayed
-- within the freshness window is refused. A push is accepted only while its
-- timestamp is within the window of the receiving node's clock, so a row is needed
-- only until pushed_at + window; channels/wechat prunes older rows as it records
-- new ones. Owned by channels/wechat.
CREATE TABLE wechat_push_nonces (
    app       text NOT NULL,          -- "wechat_oa:<appid>"
    pushed_at timestamptz NOT NULL,   -- the push's signed timestamp
    nonce     text NOT NULL,
    seen_at   timestamptz NOT NULL,   -- when it was accepted (the node's clock)
    PRIMARY KEY (app, pushed_at, nonce)
);
CREATE INDEX wechat_push_nonces_pushed_at ON wechat_push_nonces (pushed_at);
