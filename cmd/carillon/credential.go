package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/term"

	"carillon/internal/audit"
	"carillon/internal/identity"
)

// A CLI command that acts for a user (a campaign's author, its approver) proves
// who the user is as the API does: their token (CARILLON_TOKEN, or a file named by
// --token-file, "-" for standard input), or, on a terminal, their login and
// password typed when asked. The operating system's user is not enough: one host
// account would otherwise be maker and checker. A token on the command line is
// refused, since every user of the host can read it in the process list.

// credentialFlags are the flags a command that acts for a user takes.
type credentialFlags struct {
	login, tokenFile, token *string
}

func (c *credentialFlags) register(fs interface {
	String(name, value, usage string) *string
}) {
	c.login = fs.String("login", "", "the user acting: their password is asked for on the terminal")
	c.tokenFile = fs.String("token-file", "", "a file holding the acting user's API token (- for standard input); or set CARILLON_TOKEN")
	c.token = fs.String("token", "", "refused: use CARILLON_TOKEN or --token-file")
}

// errNoCredential says how a user is named on the CLI.
var errNoCredential = errors.New("the acting user's credential is required: CARILLON_TOKEN=<token>, --token-file FILE, or --login LOGIN on a terminal (the password is asked for) / 需要操作人的凭据：CARILLON_TOKEN、--token-file 或在终端使用 --login 输入密码")

// principal authenticates the acting user and returns them with the audit actor
// that names how they did.
func (c *credentialFlags) principal(ctx context.Context, e *env, ids *identity.Store) (identity.Principal, audit.Actor, error) {
	if *c.token != "" {
		return identity.Principal{}, audit.Actor{}, &exitError{code: 2, err: errors.New("--token: a token on the command line is visible to every user of this host; use CARILLON_TOKEN or --token-file / 命令行中的令牌对本机所有用户可见，请改用 CARILLON_TOKEN 或 --token-file")}
	}
	bearer := e.getenv("CARILLON_TOKEN")
	if *c.tokenFile != "" {
		b, err := readSecretFile(*c.tokenFile)
		if err != nil {
			return identity.Principal{}, audit.Actor{}, fmt.Errorf("--token-file: %w", err)
		}
		bearer = b
	}
	if bearer != "" {
		if *c.login != "" {
			return identity.Principal{}, audit.Actor{}, &exitError{code: 2, err: errors.New("--login and a token name the user twice: give one / --login 与令牌只能给一个")}
		}
		p, err := ids.Authenticate(ctx, strings.TrimSpace(bearer))
		if errors.Is(err, identity.ErrUnauthenticated) {
			return identity.Principal{}, audit.Actor{}, errors.New("the token is unknown, revoked or expired, or its user is disabled / 令牌无效、已撤销或已过期，或其用户已停用")
		}
		if err != nil {
			return identity.Principal{}, audit.Actor{}, err
		}
		return p, cliUserActor(p, audit.AuthToken), nil
	}
	if *c.login == "" {
		return identity.Principal{}, audit.Actor{}, &exitError{code: 2, err: errNoCredential}
	}
	if e.readPassword == nil {
		return identity.Principal{}, audit.Actor{}, &exitError{code: 2, err: fmt.Errorf("--login %s: the password can only be typed on a terminal; use CARILLON_TOKEN or --token-file in scripts / 只能在终端输入密码，脚本请使用令牌", *c.login)}
	}
	pw, err := e.readPassword(fmt.Sprintf("Password for %s / %s 的密码: ", *c.login, *c.login))
	if err != nil {
		return identity.Principal{}, audit.Actor{}, fmt.Errorf("read password: %w", err)
	}
	p, err := ids.CheckPassword(ctx, *c.login, pw)
	if errors.Is(err, identity.ErrUnauthenticated) {
		return identity.Principal{}, audit.Actor{}, fmt.Errorf("--login %s: wrong login or password, or the user is disabled / 登录名或密码错误，或用户已停用", *c.login)
	}
	if err != nil {
		return identity.Principal{}, audit.Actor{}, err
	}
	return p, cliUserActor(p, audit.AuthPassword), nil
}

// cliUserActor is "cli:<os user> as <login>", with the user and how they
// authenticated.
func cliUserActor(p identity.Principal, auth string) audit.Actor {
	id := p.User.ID
	return audit.Actor{Name: cliActor() + " as " + p.User.Login, UserID: &id, Auth: auth}
}

func readSecretFile(path string) (string, error) {
	var b []byte
	var err error
	if path == "-" {
		b, err = io.ReadAll(io.LimitReader(os.Stdin, 4096))
	} else {
		b, err = os.ReadFile(path)
	}
	if err != nil {
		return "", err
	}
	s := strings.TrimSpace(string(b))
	if s == "" {
		return "", errors.New("empty")
	}
	return s, nil
}

// terminalPassword reads a password from the controlling terminal without echo;
// nil when standard input is not a terminal.
func terminalPassword(stderr *os.File) func(prompt string) (string, error) {
	if !term.IsTerminal(int(os.Stdin.Fd())) {
		return nil
	}
	return func(prompt string) (string, error) {
		fmt.Fprint(stderr, prompt)
		b, err := term.ReadPassword(int(os.Stdin.Fd()))
		fmt.Fprintln(stderr)
		return string(b), err
	}
}
