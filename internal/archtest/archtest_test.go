package archtest

import (
	"bufio"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
)

const module = "carillon"

// root is the repository's root, two levels up from this package.
func root(t *testing.T) string {
	t.Helper()
	r, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	return r
}

type goFile struct {
	pkg  string // the package's path inside the module: "delivery", "server/console"
	path string // relative to the root
	file *ast.File
	fset *token.FileSet
}

// sources parses every non-test Go file of the module.
func sources(t *testing.T) []goFile {
	t.Helper()
	r := root(t)
	var out []goFile
	err := filepath.WalkDir(r, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			name := d.Name()
			if p != r && (strings.HasPrefix(name, ".") || name == "testdata" || name == "node_modules") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") {
			return nil
		}
		fset := token.NewFileSet()
		f, err := parser.ParseFile(fset, p, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(r, p)
		out = append(out, goFile{pkg: filepath.ToSlash(filepath.Dir(rel)), path: filepath.ToSlash(rel), file: f, fset: fset})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// known reads a list of accepted violations (one per line, # comments): the
// debt still to pay. A listed violation that no longer exists fails too, so the
// list only shrinks.
func known(t *testing.T, name string) map[string]bool {
	t.Helper()
	f, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	m := map[string]bool{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		m[line] = true
	}
	return m
}

func compare(t *testing.T, what, list string, found map[string]bool) {
	t.Helper()
	k := known(t, list)
	var added, gone []string
	for v := range found {
		if !k[v] {
			added = append(added, v)
		}
	}
	for v := range k {
		if !found[v] {
			gone = append(gone, v)
		}
	}
	sort.Strings(added)
	sort.Strings(gone)
	for _, v := range added {
		t.Errorf("%s: %s (not in %s; call the owner's API instead)", what, v, list)
	}
	for _, v := range gone {
		t.Errorf("%s: %s is fixed: remove it from %s", what, v, list)
	}
}

func layerOf(pkg string) (int, bool) {
	for i, l := range Layers {
		if slices.Contains(l, pkg) {
			return i, true
		}
	}
	return 0, false
}

// family: a package and its own parent or sub-packages.
func family(a, b string) bool {
	return strings.HasPrefix(a, b+"/") || strings.HasPrefix(b, a+"/")
}

func TestImportsFollowTheLayers(t *testing.T) {
	found := map[string]bool{}
	seen := map[string]bool{}
	for _, f := range sources(t) {
		from, ok := layerOf(f.pkg)
		if !ok {
			if !seen[f.pkg] {
				t.Errorf("package %s has no layer in archtest.Layers", f.pkg)
				seen[f.pkg] = true
			}
			continue
		}
		for _, imp := range f.file.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			if !strings.HasPrefix(p, module+"/") {
				continue
			}
			p = strings.TrimPrefix(p, module+"/")
			if family(f.pkg, p) {
				continue
			}
			to, ok := layerOf(p)
			if !ok || to >= from {
				found[fmt.Sprintf("%s imports %s", f.pkg, p)] = true
			}
		}
	}
	compare(t, "layers", "known_imports.txt", found)
}

// sqlTable finds the tables a SQL text names.
var (
	sqlWords = regexp.MustCompile(`(?i)\b(SELECT|INSERT|UPDATE|DELETE|CREATE|ALTER|DROP|TRUNCATE|COPY)\b`)
	sqlTable = regexp.MustCompile(`(?i)\b(?:FROM|JOIN|INTO|UPDATE|TABLE|TRUNCATE|COPY)\s+(?:ONLY\s+|IF\s+(?:NOT\s+)?EXISTS\s+)?([a-z_][a-z0-9_]*)`)
)

func TestOnlyOwnersNameTheirTablesInSQL(t *testing.T) {
	found := map[string]bool{}
	for _, f := range sources(t) {
		ast.Inspect(f.file, func(n ast.Node) bool {
			lit, ok := n.(*ast.BasicLit)
			if !ok || lit.Kind != token.STRING {
				return true
			}
			s, err := strconv.Unquote(lit.Value)
			if err != nil || !sqlWords.MatchString(s) {
				return true
			}
			for _, m := range sqlTable.FindAllStringSubmatch(s, -1) {
				table := strings.ToLower(m[1])
				owner, ok := Owners[table]
				if !ok || owner == f.pkg {
					continue
				}
				found[fmt.Sprintf("%s names %s (owner %s)", f.path, table, owner)] = true
			}
			return true
		})
	}
	compare(t, "tables", "known_tables.txt", found)
}

func TestSQLTablesAreFound(t *testing.T) {
	s := `INSERT INTO messages (a) SELECT c.id FROM contacts c JOIN managers m ON m.id = c.manager_id
		WHERE NOT EXISTS (SELECT 1 FROM ONLY suppressions) ON CONFLICT DO NOTHING; UPDATE receipts SET x = 1; TRUNCATE imports`
	var got []string
	for _, m := range sqlTable.FindAllStringSubmatch(s, -1) {
		got = append(got, m[1])
	}
	if want := []string{"messages", "contacts", "managers", "suppressions", "receipts", "imports"}; !slices.Equal(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
}

// docs/architecture.md lists every owned table with its owner.
func TestArchitectureDocListsTheOwners(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(root(t), "docs", "architecture.md"))
	if err != nil {
		t.Fatal(err)
	}
	rows := map[string]string{}
	for _, line := range strings.Split(string(b), "\n") {
		cells := strings.Split(line, "|")
		if len(cells) < 4 {
			continue
		}
		owner := strings.Trim(strings.TrimSpace(cells[1]), "`")
		for _, tb := range strings.Split(cells[2], ",") {
			rows[strings.Trim(strings.TrimSpace(tb), "`")] = owner
		}
	}
	for table, owner := range Owners {
		want := owner
		if owner == "river" {
			want = "River"
		}
		if rows[table] != want {
			t.Errorf("docs/architecture.md: table %s should be listed under %s (found %q)", table, want, rows[table])
		}
	}
}
