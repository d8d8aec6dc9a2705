-- Access tokens of WeChat Official Accounts and WeCom applications, one row per app,
-- shared by every node. A node refreshes a token under a transaction-scoped advisory
-- lock on the app, so only one node calls the provider's token API at a time.
CREATE TABLE channel_access_tokens (
    app        text PRIMARY KEY,          -- "wechat_oa:<appid>" or "wecom:<corpid>:<agentid>"
    token      text NOT NULL,
    expires_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);
