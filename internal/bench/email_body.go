package bench

// benchEmailHTML is the bench campaign's email body: a bank's product mail of
// about 4.5 KB of HTML with nine links (tracked per message when sent).
const benchEmailHTML = `<table role="presentation" width="100%" cellpadding="0" cellspacing="0" style="background:#f4f5f7;font-family:'PingFang SC','Microsoft YaHei',Arial,sans-serif;color:#1f2933">
<tr><td align="center" style="padding:24px 12px">
<table role="presentation" width="600" cellpadding="0" cellspacing="0" style="background:#ffffff;border-radius:6px;border:1px solid #e1e4e8">
<tr><td style="padding:20px 32px;border-bottom:3px solid #b5121b">
<a href="https://bank.example.com/?utm_source=email&amp;utm_campaign=wealth2027" style="color:#b5121b;font-size:20px;font-weight:bold;text-decoration:none">{{.Bank.Name}}</a>
<span style="float:right;font-size:12px;color:#6b7280">财富管理 Wealth Management</span>
</td></tr>
<tr><td style="padding:28px 32px 8px 32px">
<h1 style="margin:0 0 12px 0;font-size:22px;line-height:30px;color:#111827">{{.Campaign.product}} 正式发售</h1>
<p style="margin:0 0 14px 0;font-size:15px;line-height:24px">{{.Contact.Salutation}}，您好！</p>
<p style="margin:0 0 14px 0;font-size:15px;line-height:24px">感谢您一直以来对我行的信任与支持。为满足您稳健增值的理财需求，我行现推出{{.Campaign.product}}，产品风险等级为 R2（中低风险），业绩比较基准为年化 2.80%–3.20%，投资期限 365 天，起购金额 1 万元，可通过手机银行、网上银行及全国各网点购买。</p>
<p style="margin:0 0 14px 0;font-size:15px;line-height:24px">Dear customer, thank you for banking with us. {{.Campaign.product}} is a low-to-medium risk (R2) wealth product with a performance benchmark of 2.80%–3.20% a year over 365 days, from CNY 10,000, available in the mobile app, online banking and at every branch.</p>
</td></tr>
<tr><td style="padding:8px 32px">
<table role="presentation" width="100%" cellpadding="8" cellspacing="0" style="border-collapse:collapse;font-size:14px;line-height:20px">
<tr style="background:#f9fafb"><td style="border:1px solid #e5e7eb;width:40%">产品名称 Product</td><td style="border:1px solid #e5e7eb">{{.Campaign.product}}</td></tr>
<tr><td style="border:1px solid #e5e7eb">风险等级 Risk rating</td><td style="border:1px solid #e5e7eb">R2 中低风险 / low to medium</td></tr>
<tr style="background:#f9fafb"><td style="border:1px solid #e5e7eb">业绩比较基准 Benchmark</td><td style="border:1px solid #e5e7eb">年化 2.80%–3.20% a year</td></tr>
<tr><td style="border:1px solid #e5e7eb">募集期 Subscription</td><td style="border:1px solid #e5e7eb">2027-01-04 至 2027-01-15</td></tr>
<tr style="background:#f9fafb"><td style="border:1px solid #e5e7eb">起购金额 Minimum</td><td style="border:1px solid #e5e7eb">10,000 元 CNY</td></tr>
</table>
</td></tr>
<tr><td align="center" style="padding:20px 32px">
<a href="https://bank.example.com/wealth/products/2027-steady?utm_source=email&amp;utm_medium=button" style="display:inline-block;background:#b5121b;color:#ffffff;font-size:16px;font-weight:bold;padding:12px 36px;border-radius:4px;text-decoration:none">立即了解 Learn more</a>
</td></tr>
<tr><td style="padding:0 32px 20px 32px;font-size:14px;line-height:22px">
<p style="margin:0 0 10px 0">您还可以：<a href="https://bank.example.com/wealth/rates" style="color:#b5121b">查看最新利率 Latest rates</a> · <a href="https://bank.example.com/branches?near=me" style="color:#b5121b">预约网点 Book a branch visit</a> · <a href="https://bank.example.com/app/download" style="color:#b5121b">下载手机银行 Get the app</a></p>
<p style="margin:0;color:#6b7280;font-size:12px;line-height:18px">理财非存款，产品有风险，投资须谨慎。过往业绩不代表未来表现，请仔细阅读<a href="https://bank.example.com/wealth/products/2027-steady/prospectus.pdf" style="color:#6b7280">产品说明书</a>及<a href="https://bank.example.com/wealth/risk-disclosure" style="color:#6b7280">风险揭示书</a>。Wealth products are not deposits and carry risk; past performance does not guarantee future results.</p>
</td></tr>
<tr><td style="padding:16px 32px;background:#f9fafb;border-top:1px solid #e5e7eb;font-size:12px;line-height:18px;color:#6b7280">
客服热线 Hotline {{.Bank.Hotline}} · <a href="https://bank.example.com/privacy" style="color:#6b7280">隐私政策 Privacy</a> · <a href="https://bank.example.com/security/phishing" style="color:#6b7280">防范诈骗 Fraud warning</a><br>
本邮件由系统自动发送，请勿直接回复。This message was sent automatically; please do not reply.
</td></tr>
</table>
</td></tr>
</table>
`
