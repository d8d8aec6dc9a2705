package main

import (
	"context"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"carillon/internal/identity"
)

const tokenUsage = `usage:
  carillon token create --user LOGIN [--name N] [--expires 30d|2027-01-31]
  carillon token create --role ROLE [--manager CODE]     creates a service user of that role
  carillon token list --user LOGIN [--json]
  carillon token revoke ID
The token is printed once, alone on stdout; only its SHA-256 is kept.
`

func tokenUsageError(e *env) error {
	fmt.Fprint(e.stderr, tokenUsage)
	return &exitError{code: 2, err: errUsage}
}

func cmdToken(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 {
		return tokenUsageError(e)
	}
	sub, args := args[0], args[1:]
	fs := newFlags("token "+sub, e.stderr)
	fs.Usage = func() { fmt.Fprint(e.stderr, tokenUsage) }
	var (
		login, name, expires, role, manager *string
		asJSON                              *bool
	)
	switch sub {
	case "create":
		login = fs.String("user", "", "the user the token acts for")
		name = fs.String("name", "", "a name to recognise the token by")
		expires = fs.String("expires", "", "lifetime (30d, 12h) or last day (2027-01-31); default never")
		role = fs.String("role", "", "create a service user of this role instead")
		manager = fs.String("manager", "", "manager code of a service user with the manager role")
	case "list":
		login = fs.String("user", "", "whose tokens")
		asJSON = fs.Bool("json", false, "print tokens as JSON")
	case "revoke":
	case "help", "-h", "--help":
		fmt.Fprint(e.stdout, tokenUsage)
		return nil
	default:
		fmt.Fprintf(e.stderr, "carillon token: unknown subcommand %q\n", sub)
		return tokenUsageError(e)
	}
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	actor := osActor()
	switch sub {
	case "create":
		if len(pos) != 0 || (*login == "") == (*role == "") {
			return tokenUsageError(e)
		}
		if *role != "" {
			if *name != "" || *expires != "" {
				fmt.Fprintln(e.stderr, "carillon token: --name and --expires go with --user")
				return tokenUsageError(e)
			}
			r, err := identity.ParseRole(*role)
			if err != nil {
				fmt.Fprintln(e.stderr, identityError("--role", err))
				return tokenUsageError(e)
			}
			store, closeDB, err := openIdentity(ctx, e)
			if err != nil {
				return err
			}
			defer closeDB()
			secret, tok, u, err := store.CreateServiceToken(ctx, actor, r, *manager)
			if err != nil {
				return identityError("create token", err)
			}
			fmt.Fprintln(e.stdout, secret)
			fmt.Fprintf(e.stderr, "token %d for service user %s (%s); shown once, store it now\n", tok.ID, u.Login, joinRoles(u.Roles))
			return nil
		}
		if *manager != "" {
			fmt.Fprintln(e.stderr, "carillon token: --manager goes with --role")
			return tokenUsageError(e)
		}
		var exp *time.Time
		if *expires != "" {
			t, err := parseExpires(*expires, time.Now())
			if err != nil {
				fmt.Fprintln(e.stderr, "carillon token:", err)
				return tokenUsageError(e)
			}
			exp = &t
		}
		store, closeDB, err := openIdentity(ctx, e)
		if err != nil {
			return err
		}
		defer closeDB()
		secret, tok, err := store.CreateToken(ctx, actor, *login, *name, exp)
		if err != nil {
			return identityError("create token", err)
		}
		fmt.Fprintln(e.stdout, secret)
		until := "never expires"
		if tok.ExpiresAt != nil {
			until = "expires " + tok.ExpiresAt.Local().Format(time.RFC3339)
		}
		fmt.Fprintf(e.stderr, "token %d for %s, %s; shown once, store it now\n", tok.ID, tok.Login, until)
		return nil
	case "list":
		if len(pos) != 0 || *login == "" {
			return tokenUsageError(e)
		}
		store, closeDB, err := openIdentity(ctx, e)
		if err != nil {
			return err
		}
		defer closeDB()
		toks, err := store.ListTokens(ctx, *login)
		if err != nil {
			return fmt.Errorf("list tokens of %s: %w", *login, err)
		}
		if *asJSON {
			return writeJSONTo(e.stdout, toks)
		}
		printTokens(e.stdout, toks, time.Now())
		return nil
	default: // revoke
		if len(pos) != 1 {
			return tokenUsageError(e)
		}
		id, err := strconv.ParseInt(pos[0], 10, 64)
		if err != nil || id <= 0 {
			fmt.Fprintf(e.stderr, "carillon token: %q is not a token id\n", pos[0])
			return tokenUsageError(e)
		}
		store, closeDB, err := openIdentity(ctx, e)
		if err != nil {
			return err
		}
		defer closeDB()
		if err := store.RevokeToken(ctx, actor, id); err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "revoked token %d\n", id)
		return nil
	}
}

var lifetimeRe = regexp.MustCompile(`^([0-9]{1,5})d$`)

// parseExpires reads a lifetime (30d, or a Go duration such as 12h), a last valid
// day (2027-01-31: the token works through that day, local time) or an RFC 3339
// instant.
func parseExpires(s string, now time.Time) (time.Time, error) {
	s = strings.TrimSpace(s)
	if m := lifetimeRe.FindStringSubmatch(s); m != nil {
		n, _ := strconv.Atoi(m[1])
		if n > 0 {
			return now.AddDate(0, 0, n), nil
		}
	}
	if d, err := time.ParseDuration(s); err == nil && d > 0 {
		return now.Add(d), nil
	}
	if t, err := time.ParseInLocation(time.DateOnly, s, time.Local); err == nil {
		return t.AddDate(0, 0, 1), nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("--expires %q: want a lifetime (30d, 12h), a date (2027-01-31) or an RFC 3339 time", s)
}

func printTokens(w io.Writer, toks []identity.Token, now time.Time) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tNAME\tCREATED\tEXPIRES\tLAST USED\tSTATUS")
	for _, t := range toks {
		status := "active"
		switch {
		case t.RevokedAt != nil:
			status = "revoked"
		case !t.Active(now):
			status = "expired"
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\n", t.ID, or(t.Name, "-"), fmtTime(&t.CreatedAt), fmtTime(t.ExpiresAt), fmtTime(t.LastUsedAt), status)
	}
	tw.Flush()
}
