package main

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"text/tabwriter"

	"carillon/contacts"
	"carillon/templates"
)

const templateUsage = `usage:
  carillon template list [--json]
  carillon template show KEY [--version N] [--json]
  carillon template preview KEY [--contact EXTERNAL_ID] [--channel C] [--locale L] [--version N] [--json]
channels: sms, email, wechat, wecom
`

func cmdTemplate(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 {
		fmt.Fprint(e.stderr, templateUsage)
		return &exitError{code: 2, err: errUsage}
	}
	sub, args := args[0], args[1:]
	fs := newFlags("template "+sub, e.stderr)
	fs.Usage = func() { fmt.Fprint(e.stderr, templateUsage) }
	asJSON := fs.Bool("json", false, "print JSON")
	var contact, channel, locale *string
	var version *int
	switch sub {
	case "list":
	case "show":
		version = fs.Int("version", 0, "version (default: the active one)")
	case "preview":
		version = fs.Int("version", 0, "version (default: the active one)")
		contact = fs.String("contact", "", "the contact's external id (default: a sample contact)")
		channel = fs.String("channel", "", "one channel (default: every channel of the template)")
		locale = fs.String("locale", "", "locale (default: the contact's)")
	default:
		fmt.Fprint(e.stderr, templateUsage)
		return &exitError{code: 2, err: errUsage}
	}
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if (sub == "list") != (len(pos) == 0) || len(pos) > 1 {
		fmt.Fprint(e.stderr, templateUsage)
		return &exitError{code: 2, err: errUsage}
	}
	pool, _, err := e.openDB(ctx, 2)
	if err != nil {
		return err
	}
	defer pool.Close()
	store, err := templates.NewStore(pool, templates.Config{Logger: e.logger})
	if err != nil {
		return err
	}
	switch sub {
	case "list":
		list, err := store.List(ctx)
		if err != nil {
			return err
		}
		if *asJSON {
			for _, t := range list {
				if err := writeJSONTo(e.stdout, t); err != nil {
					return err
				}
			}
			return nil
		}
		tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "KEY\tVERSION\tPURPOSE\tSOURCE\tCHANNELS\tLOCALES\tEDITED")
		for _, t := range list {
			chans := make([]string, len(t.Channels))
			for i, c := range t.Channels {
				chans[i] = string(c)
			}
			fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s\t%t\n", t.Key, t.ActiveVersion, t.Purpose, t.Source, strings.Join(chans, ","), strings.Join(t.Locales, ","), t.Edited)
		}
		return tw.Flush()
	case "show":
		t, err := store.Get(ctx, pos[0])
		if err != nil {
			return templateCLIError(pos[0], err)
		}
		v, err := store.Version(ctx, pos[0], *version)
		if err != nil {
			return templateCLIError(pos[0], err)
		}
		if *asJSON {
			return writeJSONTo(e.stdout, map[string]any{"template": t, "version": v})
		}
		fmt.Fprintf(e.stdout, "%s v%d (active v%d) %s, source %s, default locale %s\n", t.Key, v.Version, t.ActiveVersion, v.Purpose, v.Source, v.DefaultLocale)
		if v.Description != "" {
			fmt.Fprintln(e.stdout, v.Description)
		}
		fmt.Fprintln(e.stdout, "\nversions:")
		for _, i := range t.Versions {
			mark := " "
			if i.Active {
				mark = "*"
			}
			fmt.Fprintf(e.stdout, " %s v%d  %s  %s  %s\n", mark, i.Version, i.CreatedAt.Format("2006-01-02 15:04"), i.Author, i.Note)
		}
		for _, x := range v.Variants {
			fmt.Fprintf(e.stdout, "\n--- %s %s\n", x.Channel, x.Locale)
			printVariant(e, x)
		}
		return nil
	}
	req := templates.PreviewRequest{Version: *version, Channel: templates.Channel(*channel), Locale: *locale}
	if *contact != "" {
		cs, err := contacts.NewStore(pool, contacts.Config{Logger: e.logger})
		if err != nil {
			return err
		}
		c, err := cs.GetByExternalID(ctx, *contact)
		if err != nil {
			return fmt.Errorf("contact %s: %w", *contact, err)
		}
		tc := c.ForTemplate()
		req.Contact = &tc
	}
	p, err := store.Preview(ctx, pos[0], req)
	if err != nil {
		return templateCLIError(pos[0], err)
	}
	if *asJSON {
		return writeJSONTo(e.stdout, p)
	}
	fmt.Fprintf(e.stdout, "%s v%d for %s (%s)\n", p.Key, p.Version, p.Contact, p.Locale)
	for _, r := range p.Rendered {
		fmt.Fprintf(e.stdout, "\n=== %s %s\n", r.Channel, r.Locale)
		switch {
		case r.SMS != nil:
			fmt.Fprintf(e.stdout, "%s\n[%d segment(s), %s, %d units]\n", r.SMS.Text, r.SMS.Segments.Parts, r.SMS.Segments.Encoding, r.SMS.Segments.Units)
			if r.SMS.Body != strings.TrimPrefix(r.SMS.Text, "【"+r.SMS.SignName+"】") {
				fmt.Fprintf(e.stdout, "twilio: %s\n[%d segment(s)]\n", r.SMS.Body, r.SMS.BodySegments.Parts)
			}
			for _, name := range sortedKeys(r.SMS.Providers) {
				pr := r.SMS.Providers[name]
				fmt.Fprintf(e.stdout, "%s: %s %v\n", name, pr.Code, pr.Params)
			}
		case r.Email != nil:
			fmt.Fprintf(e.stdout, "Subject: %s\n--- html\n%s\n--- text\n%s", r.Email.Subject, r.Email.HTML, r.Email.Text)
		case r.WeChat != nil:
			fmt.Fprintf(e.stdout, "template %s\n", r.WeChat.TemplateID)
			for _, k := range sortedKeys(r.WeChat.Data) {
				fmt.Fprintf(e.stdout, "%s: %s\n", k, r.WeChat.Data[k])
			}
			if r.WeChat.URL != "" {
				fmt.Fprintf(e.stdout, "url: %s\n", r.WeChat.URL)
			}
		case r.WeCom != nil:
			fmt.Fprintf(e.stdout, "(%s)\n%s\n", r.WeCom.Format, r.WeCom.Content)
		}
	}
	return nil
}

func printVariant(e *env, x templates.Variant) {
	switch {
	case x.SMS != nil:
		if x.SMS.SignName != "" {
			fmt.Fprintf(e.stdout, "sign name: %s\n", x.SMS.SignName)
		}
		fmt.Fprintf(e.stdout, "text: %s\n", x.SMS.Text)
		if x.SMS.Body != "" {
			fmt.Fprintf(e.stdout, "body: %s\n", x.SMS.Body)
		}
		for _, p := range sortedKeys(x.SMS.Providers) {
			fmt.Fprintf(e.stdout, "%s: %s %v\n", p, x.SMS.Providers[p].Code, x.SMS.Providers[p].Params)
		}
	case x.Email != nil:
		fmt.Fprintf(e.stdout, "subject: %s\n%s", x.Email.Subject, x.Email.HTML)
	case x.WeChat != nil:
		fmt.Fprintf(e.stdout, "template %s\n", x.WeChat.TemplateID)
		for _, k := range sortedKeys(x.WeChat.Fields) {
			fmt.Fprintf(e.stdout, "%s: %s\n", k, x.WeChat.Fields[k])
		}
	case x.WeCom != nil:
		fmt.Fprintf(e.stdout, "(%s)\n%s\n", x.WeCom.Format, x.WeCom.Content)
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func templateCLIError(key string, err error) error {
	if errors.Is(err, templates.ErrNotFound) {
		return fmt.Errorf("template %s: no such template or version", key)
	}
	return fmt.Errorf("template %s: %w", key, err)
}
