// Package templates owns Carillon's message templates: a key (birthday,
// festival.mid_autumn, deposit_maturity, revisit_digest, campaign.wealth_2027q1)
// with immutable versions, one of them active, each holding variants per channel
// (sms, email, wechat, wecom) and locale; validation at save; rendering;
// preview; and the built-in care set.
//
// # Variables
//
// The source that sends a template (a care rule, a campaign, a digest, a notice)
// declares its variables in a Schema, by dotted path ("Contact.Name": String); a
// template names its source and may use only those. The built-in sources are
// care.birthday, care.festival, notice.deposit_maturity, revisit.digest and
// campaign (BuiltinSchemas); later packages add theirs through Config.Schemas.
// Helpers build the values: ContactVars (name, Salutation 张先生 / Ms Li Na,
// Honorific 先生/女士/客户 or Mr/Ms/"", tier, tags, attrs, PhoneTail — never the full
// phone or email), ManagerVars, Occasion.Vars (festival name in the locale, the
// lunar date as 农历八月十五, age when the birth year is known), Bank.Vars.
//
// # Rendering
//
// SMS, subjects, WeChat fields and WeCom content use text/template; email HTML
// uses html/template, so contact data is escaped. Contact data is always data:
// only a saved, validated definition is ever parsed as a template. Helpers:
// money (¥1,234.56 in Chinese locales, CNY 1,234.56 otherwise — amounts are in
// yuan), amount (1234.56元, for WeChat amount fields), date (2026年11月28日 /
// 28 Nov 2026), mask (尾号5678 / ending 5678), honorific, default, join, truncate.
// Every declared variable the caller leaves out renders as its zero value; a
// key missing from a Map (attrs, campaign variables) renders as "".
//
// Version.Lookup picks the variant: the requested locale, then its language,
// then the template's default locale. A channel with no variant at all gives a
// *NoVariantError, matching ErrNoVariant: the delivery policy then tries the
// next channel.
//
// SMS: mainland providers (aliyun, tencent) send only approved text: a variant
// keeps the approved text (Text, in template syntax, for preview and segment
// counting; rendered with 【SignName】 before it) and per provider the template
// code and parameter expressions. Twilio sends Body (or Text): for marketing the
// opt-out line (拒收请回复R / Reply STOP to unsubscribe) is appended unless the
// body already has one. CountSegments follows GSM 03.38: 160 septets in one part,
// 153 per part beyond; any other character makes the text UCS-2, 70 UTF-16 units
// in one part, 67 per part beyond (an emoji counts 2).
//
// Limits: every render (the trial render at save, previews, a campaign's
// review, delivery) runs under Config.Limits: a deadline (2 s, or the
// context's when sooner), 100,000 range iterations, and each channel's output
// cap (SMS parts, email bytes, WeChat fields, WeCom's 2,048/4,096 bytes). Each
// range body is compiled with a step action that counts iterations and checks
// the deadline; each field is written through a writer that fails past its
// cap. A render over a limit returns a *LimitError (ErrRenderLimit) naming
// the template, version, channel, locale and field. See docs/templates.md.
//
// WeChat: fields are typed (thing1, time2, amount3, …) with WeChat's limits
// (thing 20, phrase 5, name 10 or 20 in Latin letters, character_string,
// number, letter, amount 32, …). At render, thing and name values that are too
// long are cut with …; other types over their limit are an error.
//
// # Validation
//
// Check (and Store.Save) refuse a definition with a *ValidationError listing
// every Problem with its field (sms.zh-CN.text) and, inside a template, line and
// column: parse errors, every one of a text (text/template stops at its
// first, so each action is parsed again on its own, control actions with a
// closing {{end}}, blocks matched on a stack; see parseAll), each at its
// action's {{ and in plain words ("unclosed action: this {{ has no }} to close
// it", "{{end}} without an {{if}} …"), unknown variables and functions — found by walking
// the parse tree against the source's schema, with range/with/variables
// followed —, WeChat fields the mapping lacks or whose constant text is too
// long, marketing by WeChat, a marketing SMS without a sign name or without an
// opt-out line in its approved text, and a trial render with sample variables
// whose SMS takes more than Config.MaxSegments parts, or that passes a render
// limit; a range over a number whose nested counts multiply past
// Limits.MaxSteps is refused before any render.
//
// # Built-ins
//
// Builtins() is the care set in zh-CN and en: birthday (solar and lunar
// wording), each default festival of package calendar (Qingming as a quiet
// remembrance), the deposit maturity notice and the managers' daily revisit
// digest (WeCom markdown and email). Migration 004_templates installs them as
// version 1 (its INSERTs are generated from Builtins and kept in step by
// TestBuiltinMigration), so `carillon migrate up` and every test database have
// them. InstallBuiltins brings later changes of the built-ins to a database,
// skipping any key someone has edited. Provider template codes and WeChat
// template ids exist only once a bank has its texts approved: the built-in SMS
// variants carry the text to submit, the WeChat ones a placeholder id; saving a
// version with the real ones marks the key edited.
package templates
