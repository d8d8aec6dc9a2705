package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"maps"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"carillon/campaigns"
	"carillon/channels"
	"carillon/contacts"
	"carillon/internal/app"
	"carillon/internal/identity"
)

// campaignConfig reads the campaigns' settings from the environment:
// CARILLON_SMS_PRICES ("ali=0.045,tx=0.04": the price of one SMS part by
// provider name), CARILLON_EMAIL_PRICE and CARILLON_WECHAT_PRICE (per message),
// CARILLON_PRICE_CURRENCY (default CNY), CARILLON_CAMPAIGN_BUDGET (what the
// campaigns approved in a month may cost together) and
// CARILLON_CAMPAIGN_SECOND_APPROVAL_ABOVE (a run with more recipients than this,
// and more than its review counted, waits for a second approval).
func campaignConfig(getenv func(string) string) (campaigns.Config, error) {
	return campaignConfigFrom(fileConfig{}, getenv)
}

// campaignConfigFrom reads the file's [campaigns] section, then the
// environment variables, which override it.
func campaignConfigFrom(fc fileConfig, getenv func(string) string) (campaigns.Config, error) {
	var cfg campaigns.Config
	p := &cfg.Pricing
	fcc := fc.Campaigns
	for name, price := range fcc.SMSPrices {
		if price < 0 {
			return cfg, fmt.Errorf("config: campaigns.sms_prices.%s is negative", name)
		}
	}
	for name, v := range map[string]float64{"email_price": fcc.EmailPrice, "wechat_price": fcc.WeChatPrice, "monthly_budget": fcc.MonthlyBudget} {
		if v < 0 {
			return cfg, fmt.Errorf("config: campaigns.%s is negative", name)
		}
	}
	if fcc.SecondApprovalAbove < 0 {
		return cfg, fmt.Errorf("config: campaigns.second_approval_above is negative")
	}
	if len(fcc.SMSPrices) > 0 {
		p.SMS = maps.Clone(fcc.SMSPrices)
	}
	p.Email, p.WeChat, p.MonthlyBudget, p.Currency = fcc.EmailPrice, fcc.WeChatPrice, fcc.MonthlyBudget, fcc.Currency
	cfg.SecondApprovalAbove = fcc.SecondApprovalAbove
	if v := strings.TrimSpace(getenv("CARILLON_SMS_PRICES")); v != "" {
		p.SMS = map[string]float64{}
		for part := range strings.SplitSeq(v, ",") {
			name, price, ok := strings.Cut(strings.TrimSpace(part), "=")
			f, err := strconv.ParseFloat(strings.TrimSpace(price), 64)
			if !ok || strings.TrimSpace(name) == "" || err != nil || f < 0 {
				return cfg, fmt.Errorf("CARILLON_SMS_PRICES: %q is not provider=price (e.g. ali=0.045)", part)
			}
			p.SMS[strings.TrimSpace(name)] = f
		}
	}
	for _, x := range []struct {
		name string
		to   *float64
	}{{"CARILLON_EMAIL_PRICE", &p.Email}, {"CARILLON_WECHAT_PRICE", &p.WeChat}, {"CARILLON_CAMPAIGN_BUDGET", &p.MonthlyBudget}} {
		if v := strings.TrimSpace(getenv(x.name)); v != "" {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil || f < 0 {
				return cfg, fmt.Errorf("%s=%q: want a non-negative number", x.name, v)
			}
			*x.to = f
		}
	}
	if v := strings.TrimSpace(getenv("CARILLON_PRICE_CURRENCY")); v != "" {
		p.Currency = v
	}
	if v := strings.TrimSpace(getenv("CARILLON_CAMPAIGN_SECOND_APPROVAL_ABOVE")); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			return cfg, fmt.Errorf("CARILLON_CAMPAIGN_SECOND_APPROVAL_ABOVE=%q: want a number of recipients", v)
		}
		cfg.SecondApprovalAbove = n
	}
	return cfg, nil
}

// smsProviders lists the configured SMS providers that carry marketing, in the
// order delivery tries them (the estimate prices the first).
func smsProviders(cc channels.Config) []campaigns.SMSProvider {
	ps := append([]channels.ProviderConfig(nil), cc.Providers...)
	sort.SliceStable(ps, func(i, j int) bool { return ps[i].Priority < ps[j].Priority })
	var out []campaigns.SMSProvider
	for _, p := range ps {
		if channels.ChannelOf(p.Provider) != channels.SMS {
			continue
		}
		if len(p.Purposes) > 0 && !contains(p.Purposes, channels.PurposeMarketing) {
			continue
		}
		out = append(out, campaigns.SMSProvider{Name: p.Name, Kind: p.Provider})
	}
	return out
}

func contains[T comparable](xs []T, x T) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

const campaignUsage = `usage:
  carillon campaign create --name NAME (--segment SAVED | --expression FILTER) --template KEY --channels sms,email
                           [--vars JSON] [--at TIME | --cron SPEC] [--window HH:MM-HH:MM] [--throttle N] [--ends-at TIME] [--notes TEXT]
  carillon campaign list [--status S]
  carillon campaign show ID
  carillon campaign submit|approve|start|pause|resume ID      (approve: [--version N])
  carillon campaign reject ID --reason TEXT
  carillon campaign cancel ID [--reason TEXT]
  carillon campaign stats ID [--csv]
  carillon campaign history ID
  carillon campaign test-send ID --contact EXTERNAL_ID [--channel C]
Every command takes --json (one document; list: one object per line) and --config FILE.
Writes act for a user, who proves it: CARILLON_TOKEN=<their token>, --token-file FILE,
or --login LOGIN on a terminal (the password is asked for). Maker-checker compares
users: the approver is not the author. The audit log names how the user signed in.
TIME is RFC 3339 (2027-01-05T10:00:00+08:00); SPEC a cron spec such as "CRON_TZ=Asia/Shanghai 0 10 * * 1".
`

func cmdCampaign(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 {
		fmt.Fprint(e.stderr, campaignUsage)
		return &exitError{code: 2, err: errUsage}
	}
	sub, args := args[0], args[1:]
	fs := newFlags("campaign "+sub, e.stderr)
	fs.Usage = func() { fmt.Fprint(e.stderr, campaignUsage) }
	asJSON := fs.Bool("json", false, "print JSON")
	cfgPath := fs.String("config", e.getenv("CARILLON_CONFIG"), "configuration file (TOML): the SMS providers the estimate prices")
	var cred credentialFlags
	cred.register(fs)
	var in campaigns.Input
	var f campaignFlags
	switch sub {
	case "create":
		f.register(fs)
	case "list":
		f.status = fs.String("status", "", "only campaigns in this status")
	case "approve":
		f.version = fs.Int("version", 0, "the version reviewed (refused if the campaign changed since)")
	case "reject", "cancel":
		f.reason = fs.String("reason", "", "why")
	case "stats":
		f.csv = fs.Bool("csv", false, "print CSV")
	case "test-send":
		f.contact = fs.String("contact", "", "the contact's external id")
		f.channel = fs.String("channel", "", "only this channel")
	case "show", "history", "submit", "start", "pause", "resume":
	default:
		fmt.Fprint(e.stderr, campaignUsage)
		return &exitError{code: 2, err: errUsage}
	}
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	var id int64
	switch sub {
	case "create", "list":
		if len(pos) != 0 {
			fmt.Fprint(e.stderr, campaignUsage)
			return &exitError{code: 2, err: errUsage}
		}
	default:
		if len(pos) != 1 {
			fmt.Fprint(e.stderr, campaignUsage)
			return &exitError{code: 2, err: errUsage}
		}
		if id, err = strconv.ParseInt(pos[0], 10, 64); err != nil || id <= 0 {
			return &exitError{code: 2, err: fmt.Errorf("campaign %s: %q is not a campaign id", sub, pos[0])}
		}
	}
	if sub == "create" {
		if in, err = f.input(); err != nil {
			return &exitError{code: 2, err: err}
		}
	}
	if sub == "test-send" && *f.contact == "" {
		return &exitError{code: 2, err: errors.New("campaign test-send: --contact EXTERNAL_ID is required")}
	}
	writes := !contains([]string{"list", "show", "history", "stats"}, sub)
	fc, err := loadConfig(*cfgPath)
	if err != nil {
		return err
	}
	pool, _, err := e.openDB(ctx, 4)
	if err != nil {
		return err
	}
	defer pool.Close()
	svc, ids, err := newCampaignService(pool, e, fc)
	if err != nil {
		return err
	}
	var by campaigns.By
	if writes {
		p, actor, err := cred.principal(ctx, e, ids)
		if err != nil {
			var ee *exitError
			if errors.As(err, &ee) {
				return &exitError{code: ee.code, err: fmt.Errorf("campaign %s: %w", sub, ee.err)}
			}
			return fmt.Errorf("campaign %s: %w", sub, err)
		}
		by = campaigns.By{Actor: actor, Roles: p.User.Roles}
	}
	var out any
	switch sub {
	case "create":
		out, err = svc.Create(ctx, by, in)
	case "list":
		var list []campaigns.Campaign
		list, err = listAll(ctx, svc, campaigns.Status(*f.status))
		if err == nil {
			return printCampaigns(e, list, *asJSON)
		}
	case "show":
		out, err = svc.Get(ctx, id)
	case "history":
		var h []campaigns.Event
		if h, err = svc.History(ctx, id); err == nil {
			if *asJSON {
				return writeJSONTo(e.stdout, h)
			}
			tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "AT\tACTOR\tACTION\tFROM\tTO\tREASON")
			for _, ev := range h {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", ev.At.Format(time.RFC3339), ev.Actor, ev.Action, ev.From, ev.To, ev.Reason)
			}
			return tw.Flush()
		}
	case "test-send":
		out, err = svc.TestSend(ctx, by, id, *f.contact, *f.channel)
	case "submit":
		out, err = svc.Submit(ctx, by, id)
	case "approve":
		out, err = svc.Approve(ctx, by, id, *f.version)
	case "reject":
		out, err = svc.Reject(ctx, by, id, *f.reason)
	case "start":
		out, err = svc.Start(ctx, by, id)
	case "pause":
		out, err = svc.Pause(ctx, by, id)
	case "resume":
		out, err = svc.Resume(ctx, by, id)
	case "cancel":
		out, err = svc.Cancel(ctx, by, id, *f.reason)
	case "stats":
		var st campaigns.Stats
		if st, err = svc.Stats(ctx, id); err == nil {
			if *f.csv {
				return st.WriteCSV(e.stdout)
			}
			out = st
		}
	}
	if err != nil {
		return campaignCLIErr(sub, err)
	}
	if *asJSON {
		return writeJSONTo(e.stdout, out)
	}
	return printCampaignResult(e, out)
}

// campaignCLIErr says what went wrong in one line; a refusal of bad input exits 1
// like any failure, with the fields named.
func campaignCLIErr(sub string, err error) error {
	var ve *contacts.ValidationError
	if errors.As(err, &ve) {
		var parts []string
		for _, f := range ve.Fields {
			parts = append(parts, f.Field+": "+f.Message)
		}
		return fmt.Errorf("campaign %s refused: %s", sub, strings.Join(parts, "; "))
	}
	return fmt.Errorf("campaign %s: %w", sub, err)
}

type campaignFlags struct {
	name, segment, expression, template, channels, vars, at, cron, window, endsAt, notes *string
	throttle                                                                             *int
	status, reason, contact, channel                                                     *string
	version                                                                              *int
	csv                                                                                  *bool
}

func (f *campaignFlags) register(fs *flag.FlagSet) {
	f.name = fs.String("name", "", "the campaign's name")
	f.segment = fs.String("segment", "", "a saved segment's name")
	f.expression = fs.String("expression", "", "a filter, e.g. tier in [\"A\",\"B\"] && \"wealth\" in tags")
	f.template = fs.String("template", "", "the marketing template's key")
	f.channels = fs.String("channels", "", "channels in order of preference, e.g. sms,email")
	f.vars = fs.String("vars", "", "the campaign's template variables as a JSON object")
	f.at = fs.String("at", "", "start at this time (RFC 3339)")
	f.cron = fs.String("cron", "", "recurring: a cron spec, CRON_TZ= allowed")
	f.window = fs.String("window", "", "send window in each recipient's time zone, HH:MM-HH:MM")
	f.throttle = fs.Int("throttle", 0, "messages per second overall (0: no limit)")
	f.endsAt = fs.String("ends-at", "", "end date (RFC 3339)")
	f.notes = fs.String("notes", "", "notes for the approver")
}

func (f *campaignFlags) input() (campaigns.Input, error) {
	in := campaigns.Input{Name: f.name, Template: f.template, Throttle: f.throttle, Notes: f.notes}
	if *f.segment != "" {
		in.Segment = f.segment
	}
	if *f.expression != "" {
		in.Expression = f.expression
	}
	if *f.channels != "" {
		cs := strings.Split(*f.channels, ",")
		in.Channels = &cs
	}
	if *f.vars != "" {
		if err := json.Unmarshal([]byte(*f.vars), &in.Vars); err != nil {
			return in, fmt.Errorf("--vars: not a JSON object: %w", err)
		}
	}
	if *f.window != "" {
		in.Window = f.window
	}
	switch {
	case *f.at != "" && *f.cron != "":
		return in, errors.New("--at and --cron: give one")
	case *f.at != "":
		t, err := time.Parse(time.RFC3339, *f.at)
		if err != nil {
			return in, fmt.Errorf("--at: %w", err)
		}
		in.Schedule = &campaigns.Schedule{Kind: "at", At: &t}
	case *f.cron != "":
		in.Schedule = &campaigns.Schedule{Kind: "cron", Cron: *f.cron}
	}
	if *f.endsAt != "" {
		t, err := time.Parse(time.RFC3339, *f.endsAt)
		if err != nil {
			return in, fmt.Errorf("--ends-at: %w", err)
		}
		in.EndsAt = &t
	}
	return in, nil
}

// newCampaignService builds the campaigns service the CLI runs (the fan-out
// itself runs in carillon serve's workers).
func newCampaignService(pool *pgxpool.Pool, e *env, fc fileConfig) (*campaigns.Service, *identity.Store, error) {
	cfg, err := campaignConfig(e.getenv)
	if err != nil {
		return nil, nil, err
	}
	cfg.Bank, cfg.SMSProviders = fc.bank(), smsProviders(fc.Channels)
	svc, err := app.NewServices(pool, app.ServicesConfig{Logger: e.logger, Campaigns: cfg, Bank: fc.bank()})
	if err != nil {
		return nil, nil, err
	}
	return svc.Campaigns, svc.Identity, nil
}

func listAll(ctx context.Context, svc *campaigns.Service, status campaigns.Status) ([]campaigns.Campaign, error) {
	var out []campaigns.Campaign
	var after int64
	for {
		page, next, err := svc.List(ctx, campaigns.ListFilter{Status: status, After: after, Limit: 500})
		if err != nil {
			return nil, err
		}
		out = append(out, page...)
		if next == 0 {
			return out, nil
		}
		after = next
	}
}

func printCampaigns(e *env, list []campaigns.Campaign, asJSON bool) error {
	if asJSON {
		for _, c := range list {
			if err := writeJSONTo(e.stdout, c); err != nil {
				return err
			}
		}
		return nil
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSTATUS\tNAME\tTEMPLATE\tCHANNELS\tSCHEDULE")
	for _, c := range list {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\n", c.ID, c.Status, c.Name, c.Template, strings.Join(c.Channels, ","), schedule(c.Schedule))
	}
	return tw.Flush()
}

func schedule(s campaigns.Schedule) string {
	switch s.Kind {
	case "at":
		return "at " + s.At.Format(time.RFC3339)
	case "cron":
		return "cron " + s.Cron
	}
	return "now"
}

func printCampaignResult(e *env, out any) error {
	w := e.stdout
	switch v := out.(type) {
	case campaigns.Campaign:
		printCampaign(e, v)
	case campaigns.TestSendResult:
		fmt.Fprintf(w, "test message %d to %s by %s\n", v.MessageID, v.Contact, strings.Join(v.Channels, ", "))
	case campaigns.PauseResult:
		printCampaign(e, v.Campaign)
		fmt.Fprintf(w, "held: %d message(s) not yet handed to a provider\n", v.Held)
		if v.InFlight > 0 {
			fmt.Fprintf(w, "in flight: %d message(s) were being handed to a provider and may still go out\n", v.InFlight)
		}
	case campaigns.Stats:
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "RUN\tCHANNEL\tTARGETED\tSENT\tDELIVERED\tFAILED\tSUPPRESSED\tQUEUED\tOPENED\tCLICKED\tUNSUBSCRIBED\tDELIVERY")
		line := func(run string, targeted int64, f campaigns.ChannelFunnel) {
			fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%.1f%%\n", run, f.Channel, targeted, f.Sent, f.Delivered, f.Failed, f.Suppressed,
				f.Queued+f.Held, f.Opened, f.Clicked, f.Unsubscribed, f.Rates.Delivery*100)
		}
		for _, r := range v.Runs {
			line(strconv.FormatInt(r.RunID, 10), r.Targeted, r.All)
			for _, f := range r.ByChannel {
				line("", 0, f)
			}
		}
		line("total", v.Total.Targeted, v.Total.All)
		return tw.Flush()
	default:
		return writeJSONTo(w, out)
	}
	return nil
}

func printCampaign(e *env, c campaigns.Campaign) {
	w := e.stdout
	fmt.Fprintf(w, "campaign %d %q: %s (version %d)\n", c.ID, c.Name, c.Status, c.Version)
	seg := c.Segment
	if c.SegmentName != "" {
		seg = c.SegmentName + ": " + seg
	}
	fmt.Fprintf(w, "  segment:  %s\n  template: %s by %s\n  schedule: %s\n", seg, c.Template, strings.Join(c.Channels, ", "), schedule(c.Schedule))
	if c.Review != nil {
		r := c.Review
		fmt.Fprintf(w, "  review:   %d contacts, %d recipients (%d with no address), cost %.2f %s\n", r.Audience, r.Recipients, r.NoAddress, r.Cost.Total, r.Cost.Currency)
		for _, s := range r.Samples {
			fmt.Fprintf(w, "    [%s] %s: %s\n", s.Channel, s.Contact, sampleLine(s.Subject+" "+s.Text))
		}
		for _, warn := range r.Warnings {
			fmt.Fprintf(w, "    warning: %s\n", warn)
		}
	}
	if c.ApprovedBy != "" {
		fmt.Fprintf(w, "  approved by %s\n", c.ApprovedBy)
	}
	if c.RejectedReason != "" {
		fmt.Fprintf(w, "  rejected: %s\n", c.RejectedReason)
	}
	if c.NextRunAt != nil {
		fmt.Fprintf(w, "  next run: %s\n", c.NextRunAt.Format(time.RFC3339))
	}
}

func sampleLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i] + " …"
	}
	return s
}
