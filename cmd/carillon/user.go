package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"golang.org/x/term"

	"carillon/internal/identity"
)

const userUsage = `usage:
  carillon user create LOGIN --name NAME --role ROLE[,ROLE] [--manager CODE] [--password-stdin | --password-file FILE]
                       [--email ADDR] [--wecom USERID] [--notify auto|email|wecom|none]
  carillon user list [--json]
  carillon user disable LOGIN
  carillon user enable LOGIN
  carillon user set-password LOGIN [--password-file FILE]   (the password is read from stdin)
  carillon user grant LOGIN ROLE [--manager CODE]
  carillon user revoke LOGIN ROLE
  carillon user set-contact LOGIN [--email ADDR] [--wecom USERID] [--notify auto|email|wecom|none]
roles: admin, marketer, approver, manager (needs --manager), auditor
--email and --wecom are where the user is told when a campaign of theirs is approved
or rejected ("" removes one); --notify picks one (auto: WeCom when set, else email).
`

func userUsageError(e *env) error {
	fmt.Fprint(e.stderr, userUsage)
	return &exitError{code: 2, err: errUsage}
}

// openIdentity opens the database and an identity store on it.
func openIdentity(ctx context.Context, e *env) (*identity.Store, func(), error) {
	pool, _, err := e.openDB(ctx, 2)
	if err != nil {
		return nil, nil, err
	}
	store, err := identity.NewStore(pool, identity.Config{Logger: e.logger})
	if err != nil {
		pool.Close()
		return nil, nil, err
	}
	return store, pool.Close, nil
}

// identityError phrases the store's validation errors for the terminal.
func identityError(what string, err error) error {
	var ve *identity.ValidationError
	if errors.As(err, &ve) {
		parts := make([]string, len(ve.Fields))
		for i, f := range ve.Fields {
			parts[i] = f.Field + " " + f.Message
		}
		return fmt.Errorf("%s: %s", what, strings.Join(parts, "; "))
	}
	return err
}

func cmdUser(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 {
		return userUsageError(e)
	}
	sub, args := args[0], args[1:]
	fs := newFlags("user "+sub, e.stderr)
	fs.Usage = func() { fmt.Fprint(e.stderr, userUsage) }
	var (
		name, roles, manager, pwFile *string
		pwStdin, asJSON              *bool
	)
	contactFlags := func() {
		fs.String("email", "", "work email, where decisions on the user's campaigns are sent")
		fs.String("wecom", "", "WeCom user id, where decisions on the user's campaigns are sent")
		fs.String("notify", "", "auto, email, wecom or none")
	}
	switch sub {
	case "set-contact":
		contactFlags()
		asJSON = fs.Bool("json", false, "print the user as JSON")
	case "create":
		contactFlags()
		name = fs.String("name", "", "display name")
		roles = fs.String("role", "", "roles, comma-separated")
		manager = fs.String("manager", "", "manager code (for the manager role)")
		pwStdin = fs.Bool("password-stdin", false, "read a console password from stdin")
		pwFile = fs.String("password-file", "", "read a console password from the first line of FILE")
		asJSON = fs.Bool("json", false, "print the user as JSON")
	case "list":
		asJSON = fs.Bool("json", false, "print users as JSON")
	case "grant":
		manager = fs.String("manager", "", "manager code (for the manager role)")
	case "set-password":
		pwFile = fs.String("password-file", "", "read the password from the first line of FILE instead of stdin")
	case "disable", "enable", "revoke":
	case "help", "-h", "--help":
		fmt.Fprint(e.stdout, userUsage)
		return nil
	default:
		fmt.Fprintf(e.stderr, "carillon user: unknown subcommand %q\n", sub)
		return userUsageError(e)
	}
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	want := map[string]int{"create": 1, "list": 0, "disable": 1, "enable": 1, "set-password": 1, "grant": 2, "revoke": 2, "set-contact": 1}[sub]
	if len(pos) != want {
		return userUsageError(e)
	}
	// The contact flags given, even empty ("" removes an address).
	var contact identity.ContactChange
	fs.Visit(func(f *flag.Flag) {
		v := f.Value.String()
		switch f.Name {
		case "email":
			contact.WorkEmail = &v
		case "wecom":
			contact.WeComUserID = &v
		case "notify":
			n := identity.Notify(v)
			contact.Notify = &n
		}
	})
	if sub == "set-contact" && contact == (identity.ContactChange{}) {
		fmt.Fprintln(e.stderr, "carillon user set-contact: give --email, --wecom or --notify")
		return userUsageError(e)
	}
	var roleList []identity.Role
	var role identity.Role
	var password string
	switch sub {
	case "create":
		if strings.TrimSpace(*name) == "" || strings.TrimSpace(*roles) == "" || (*pwStdin && *pwFile != "") {
			return userUsageError(e)
		}
		if roleList, err = identity.ParseRoles(*roles); err != nil {
			fmt.Fprintln(e.stderr, identityError("--role", err))
			return userUsageError(e)
		}
		if *pwStdin || *pwFile != "" {
			if password, err = readPassword(e, *pwFile); err != nil {
				return err
			}
		}
	case "grant", "revoke":
		if role, err = identity.ParseRole(pos[1]); err != nil {
			fmt.Fprintln(e.stderr, identityError("role", err))
			return userUsageError(e)
		}
	case "set-password":
		if password, err = readPassword(e, *pwFile); err != nil {
			return err
		}
	}

	store, closeDB, err := openIdentity(ctx, e)
	if err != nil {
		return err
	}
	defer closeDB()
	actor := osActor()
	switch sub {
	case "create":
		u, err := store.CreateUser(ctx, actor, identity.NewUser{Login: pos[0], DisplayName: *name, Roles: roleList, ManagerCode: *manager, Password: password, Contact: contact})
		if err != nil {
			return identityError("create user", err)
		}
		if *asJSON {
			return writeJSONTo(e.stdout, u)
		}
		fmt.Fprintf(e.stdout, "created user %s (%s)\n", u.Login, joinRoles(u.Roles))
	case "list":
		users, err := store.ListUsers(ctx)
		if err != nil {
			return err
		}
		if *asJSON {
			return writeJSONTo(e.stdout, users)
		}
		printUsers(e.stdout, users)
	case "disable":
		if err := store.DisableUser(ctx, actor, pos[0]); err != nil {
			return identityError("disable user", err)
		}
		fmt.Fprintf(e.stdout, "disabled user %s; their tokens no longer work\n", pos[0])
	case "enable":
		if err := store.EnableUser(ctx, actor, pos[0]); err != nil {
			return identityError("enable user", err)
		}
		fmt.Fprintf(e.stdout, "enabled user %s\n", pos[0])
	case "set-password":
		if err := store.SetPassword(ctx, actor, pos[0], password); err != nil {
			return identityError("set password", err)
		}
		fmt.Fprintf(e.stdout, "password of %s set\n", pos[0])
	case "set-contact":
		u, err := store.SetContact(ctx, actor, pos[0], contact)
		if err != nil {
			return identityError("set contact", err)
		}
		if *asJSON {
			return writeJSONTo(e.stdout, u)
		}
		fmt.Fprintf(e.stdout, "%s is told of decisions by: %s\n", u.Login, notifyOf(u))
	case "grant":
		u, err := store.Grant(ctx, actor, pos[0], role, *manager)
		if err != nil {
			return identityError("grant", err)
		}
		fmt.Fprintf(e.stdout, "%s now has roles: %s\n", u.Login, joinRoles(u.Roles))
	case "revoke":
		u, err := store.Revoke(ctx, actor, pos[0], role)
		if err != nil {
			return identityError("revoke", err)
		}
		fmt.Fprintf(e.stdout, "%s now has roles: %s\n", u.Login, joinRoles(u.Roles))
	}
	return nil
}

func joinRoles(rs []identity.Role) string {
	if len(rs) == 0 {
		return "none"
	}
	parts := make([]string, len(rs))
	for i, r := range rs {
		parts[i] = string(r)
	}
	return strings.Join(parts, ",")
}

func printUsers(w io.Writer, users []identity.User) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "LOGIN\tNAME\tROLES\tMANAGER\tSTATUS\tNOTIFY\tLAST SEEN")
	for _, u := range users {
		status := "active"
		if u.Disabled {
			status = "disabled"
		}
		if u.Service {
			status += ",service"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", u.Login, u.DisplayName, joinRoles(u.Roles), or(u.ManagerCode, "-"), status, notifyOf(u), fmtTime(u.LastSeenAt))
	}
	tw.Flush()
}

// notifyOf says where u is told of decisions, the address masked: "wecom
// li****ang", "email a***@bank.example", or "console only".
func notifyOf(u identity.User) string {
	if a, ok := u.NotifyAddress(); ok {
		return string(a.Channel) + " " + a.String()
	}
	return "console only"
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func fmtTime(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return t.Local().Format("2006-01-02 15:04")
}

// readPassword reads a password from the first line of file, or of stdin when file
// is "" or "-". On a terminal it prompts twice without echo. A password never comes
// from the command line.
func readPassword(e *env, file string) (string, error) {
	if file != "" && file != "-" {
		f, err := os.Open(file)
		if err != nil {
			return "", fmt.Errorf("read password: %w", err)
		}
		defer f.Close()
		return firstLine(f)
	}
	if fd := int(os.Stdin.Fd()); term.IsTerminal(fd) {
		fmt.Fprint(e.stderr, "Password: ")
		p1, err := term.ReadPassword(fd)
		fmt.Fprintln(e.stderr)
		if err != nil {
			return "", fmt.Errorf("read password: %w", err)
		}
		fmt.Fprint(e.stderr, "Repeat password: ")
		p2, err := term.ReadPassword(fd)
		fmt.Fprintln(e.stderr)
		if err != nil {
			return "", fmt.Errorf("read password: %w", err)
		}
		if string(p1) != string(p2) {
			return "", errors.New("the passwords differ")
		}
		return string(p1), nil
	}
	return firstLine(os.Stdin)
}

// firstLine returns the first line of r without its line ending.
func firstLine(r io.Reader) (string, error) {
	sc := bufio.NewScanner(io.LimitReader(r, identity.MaxPasswordLength+2))
	sc.Buffer(make([]byte, 0, 256), identity.MaxPasswordLength+2)
	if !sc.Scan() {
		if err := sc.Err(); err != nil {
			return "", fmt.Errorf("read password: %w", err)
		}
		return "", errors.New("read password: no password given")
	}
	return strings.TrimRight(sc.Text(), "\r"), nil
}
