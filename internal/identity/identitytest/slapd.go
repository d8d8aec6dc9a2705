// Package identitytest starts real identity servers for tests: an OpenID Connect
// provider written with httptest that signs RS256 ID tokens with go-jose, and
// Debian's slapd on a free loopback port with a temporary configuration.
package identitytest

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Directory is a slapd started for one test.
type Directory struct {
	URL          string
	BaseDN       string
	BindDN       string // the service account that searches
	BindPassword string
	UsersDN      string
	GroupsDN     string
}

// Base DNs of the directory StartSlapd serves.
const (
	BaseDN       = "dc=bank,dc=example"
	ServiceDN    = "cn=carillon-svc,ou=services,dc=bank,dc=example"
	ServicePass  = "svc-secret-for-tests"
	usersDN      = "ou=people,dc=bank,dc=example"
	groupsDN     = "ou=groups,dc=bank,dc=example"
	startTimeout = 20 * time.Second
)

// baseLDIF is the tree every directory starts with: the organisation, the
// service account, and the people and groups branches.
const baseLDIF = `dn: dc=bank,dc=example
objectClass: top
objectClass: dcObject
objectClass: organization
o: Example Bank
dc: bank

dn: ou=services,dc=bank,dc=example
objectClass: organizationalUnit
ou: services

dn: cn=carillon-svc,ou=services,dc=bank,dc=example
objectClass: organizationalRole
objectClass: simpleSecurityObject
cn: carillon-svc
userPassword: svc-secret-for-tests

dn: ou=people,dc=bank,dc=example
objectClass: organizationalUnit
ou: people

dn: ou=groups,dc=bank,dc=example
objectClass: organizationalUnit
ou: groups
`

// slapdConf: only the service account reads the tree; a user reads their own
// entry; anonymous may only bind (authenticate).
const slapdConf = `include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
include /etc/ldap/schema/nis.schema
pidfile {dir}/slapd.pid
argsfile {dir}/slapd.args
modulepath /usr/lib/ldap
moduleload back_mdb
database mdb
maxsize 33554432
suffix "dc=bank,dc=example"
rootdn "cn=root,dc=bank,dc=example"
directory {dir}/data
access to attrs=userPassword
  by anonymous auth
  by * none
access to *
  by dn.exact="cn=carillon-svc,ou=services,dc=bank,dc=example" read
  by self read
  by * none
`

// StartSlapd starts slapd with ldif (users and groups, added after the base
// tree) and stops it when the test ends. Where slapd is not installed or will
// not start, the test is skipped — except in CI (CI set), where it fails.
func StartSlapd(t *testing.T, ldif string) *Directory {
	t.Helper()
	unavailable := func(format string, args ...any) {
		t.Helper()
		if os.Getenv("CI") != "" {
			t.Fatalf("slapd: "+format, args...)
		}
		t.Skipf("slapd unavailable (CI unset, so skipped): "+format, args...)
	}
	slapd, err := exec.LookPath("slapd")
	if err != nil {
		slapd = "/usr/sbin/slapd"
	}
	slapadd, err := exec.LookPath("slapadd")
	if err != nil {
		slapadd = "/usr/sbin/slapadd"
	}
	if _, err := os.Stat(slapd); err != nil {
		unavailable("not installed (apt-get install slapd): %v", err)
		return nil
	}
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "data"), 0o700); err != nil {
		t.Fatal(err)
	}
	conf := filepath.Join(dir, "slapd.conf")
	if err := os.WriteFile(conf, []byte(strings.ReplaceAll(slapdConf, "{dir}", dir)), 0o600); err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(dir, "data.ldif")
	if err := os.WriteFile(data, []byte(baseLDIF+"\n"+ldif), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(slapadd, "-f", conf, "-l", data).CombinedOutput(); err != nil {
		unavailable("slapadd: %v: %s", err, out)
		return nil
	}
	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	url := fmt.Sprintf("ldap://127.0.0.1:%d", port)
	var logs bytes.Buffer
	cmd := exec.Command(slapd, "-f", conf, "-h", url+"/", "-d", "0")
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		unavailable("start: %v", err)
		return nil
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-done
	})
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	for {
		c, err := (&net.Dialer{Timeout: time.Second}).DialContext(ctx, "tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err == nil {
			c.Close()
			break
		}
		select {
		case err := <-done:
			unavailable("exited: %v: %s", err, logs.String())
			return nil
		case <-ctx.Done():
			unavailable("did not listen on %s: %s", url, logs.String())
			return nil
		case <-time.After(50 * time.Millisecond):
		}
	}
	return &Directory{URL: url, BaseDN: BaseDN, BindDN: ServiceDN, BindPassword: ServicePass, UsersDN: usersDN, GroupsDN: groupsDN}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// Person is an LDIF entry for a person under ou=people with a password, a
// display name and, when code is not empty, an employeeNumber (the manager code).
func Person(uid, name, password, code string) string {
	s := fmt.Sprintf("dn: uid=%s,%s\nobjectClass: inetOrgPerson\nuid: %s\ncn: %s\nsn: %s\nuserPassword: %s\n",
		uid, usersDN, uid, name, name, password)
	if code != "" {
		s += "employeeNumber: " + code + "\n"
	}
	return s + "\n"
}

// Group is an LDIF groupOfNames under ou=groups with the given member uids.
func Group(cn string, uids ...string) string {
	s := fmt.Sprintf("dn: cn=%s,%s\nobjectClass: groupOfNames\ncn: %s\n", cn, groupsDN, cn)
	for _, u := range uids {
		s += fmt.Sprintf("member: uid=%s,%s\n", u, usersDN)
	}
	return s + "\n"
}

// GroupDN is the DN of group cn.
func GroupDN(cn string) string { return "cn=" + cn + "," + groupsDN }
