package templates

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"carillon/calendar"
)

const migrationPath = "../migrations/004_templates.up.sql"

// The migration installs exactly what Builtins says.
func TestBuiltinMigration(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile(migrationPath)
	require.NoError(t, err)
	src := string(raw)
	const begin, end = "-- BEGIN BUILTINS\n", "-- END BUILTINS\n"
	i, j := strings.Index(src, begin), strings.Index(src, end)
	require.True(t, i >= 0 && j > i, "markers missing in %s", migrationPath)
	gen, err := BuiltinSQL()
	require.NoError(t, err)
	want := src[:i+len(begin)] + gen + src[j:]
	if *update {
		require.NoError(t, os.WriteFile(migrationPath, []byte(want), 0o644))
		return
	}
	require.Equal(t, want, src, "migration 004 is out of step with Builtins: go test ./templates -run TestBuiltinMigration -update")
}

func TestBuiltinsValidate(t *testing.T) {
	t.Parallel()
	keys := map[string]bool{}
	for _, def := range Builtins() {
		_, err := Check(t.Context(), def, BuiltinSchemas(), DefaultMaxSegments, Limits{})
		require.NoError(t, err, def.Key)
		keys[def.Key] = true
	}
	for _, k := range calendar.DefaultFestivalKeys() {
		require.True(t, keys[FestivalKey(k)], "no built-in for festival %s", k)
	}
	require.True(t, keys[KeyBirthday] && keys[KeyDepositMaturity] && keys[KeyRevisitDigest])
	// Qingming is a remembrance: nothing festive in any of its texts.
	for _, def := range Builtins() {
		if def.Key != FestivalKey(calendar.KeyQingming) {
			continue
		}
		for _, v := range def.Variants {
			for _, s := range texts(v) {
				require.NotRegexp(t, `快乐|(?i)happy|celebrat`, s)
			}
		}
	}
}

// Migrate installs the set; InstallBuiltins is then a no-op, updates a key nobody
// edited when its built-in changes, and leaves an edited key alone.
func TestInstallBuiltins(t *testing.T) {
	t.Parallel()
	b := setup(t)
	list, err := b.store.List(b.ctx)
	require.NoError(t, err)
	require.Len(t, list, len(Builtins()))
	for _, tpl := range list {
		require.Equal(t, 1, tpl.ActiveVersion)
		require.False(t, tpl.Edited)
	}
	done, err := InstallBuiltins(b.ctx, b.db.Pool)
	require.NoError(t, err)
	require.Empty(t, done)

	// An older built-in of birthday (as a previous release would have left it).
	old := Builtins()[0]
	require.Equal(t, KeyBirthday, old.Key)
	old.Description = "an older built-in"
	tx, err := b.db.Pool.Begin(b.ctx)
	require.NoError(t, err)
	_, err = insertVersion(b.ctx, tx, old, BuiltinAuthor, true, "built-in", true, b.store.cfg.Now())
	require.NoError(t, err)
	require.NoError(t, tx.Commit(b.ctx))

	// qixi edited by a person, then an older built-in lands too.
	qixi := builtinDef(t, FestivalKey(calendar.KeyQixi))
	qixi.Description = "our own words"
	_, _, err = b.store.Save(b.ctx, b.actor, qixi, SaveOptions{Activate: true})
	require.NoError(t, err)

	done, err = InstallBuiltins(b.ctx, b.db.Pool)
	require.NoError(t, err)
	require.Equal(t, []string{KeyBirthday}, done)
	v, err := b.store.Active(b.ctx, KeyBirthday)
	require.NoError(t, err)
	require.Equal(t, 3, v.Version)
	require.True(t, sameDefinition(v.Definition, Builtins()[0]))
	q, err := b.store.Get(b.ctx, qixi.Key)
	require.NoError(t, err)
	require.True(t, q.Edited)
	require.Equal(t, 2, q.ActiveVersion)
	require.Equal(t, "our own words", q.Description)

	// Versions are immutable.
	_, err = b.db.Pool.Exec(b.ctx, `UPDATE template_versions SET note = 'x' WHERE key = 'birthday'`)
	require.ErrorContains(t, err, "immutable")
}

func builtinDef(t *testing.T, key string) Definition {
	t.Helper()
	i := slices.IndexFunc(Builtins(), func(d Definition) bool { return d.Key == key })
	require.GreaterOrEqual(t, i, 0, key)
	return Builtins()[i]
}

// goldenContacts are the contacts the built-ins are rendered for.
func goldenContacts() []Contact {
	return []Contact{
		{ExternalID: "G1", Name: "张伟", Gender: "male", Locale: "zh-CN", Phone: "+8613800135678", Tier: "A",
			Birthday: &Birthday{Calendar: "lunar", Year: 1966, Month: 9, Day: 28, LunarMonth: 8, LunarDay: 15}},
		{ExternalID: "G2", Name: "Li Na", Gender: "female", Locale: "en", Phone: "+8613912341234", Tier: "B",
			Birthday: &Birthday{Calendar: "solar", Year: 1990, Month: 9, Day: 25}},
		{ExternalID: "G3", Name: "欧阳<script>alert(1)</script>", Locale: "zh-CN", Phone: "+8613700009999", Tier: "C"},
	}
}

// Every built-in renders for every channel it declares, in both locales, for a few
// contacts: testdata/golden/<key>.txt (go test ./templates -run TestGolden -update).
func TestGoldenBuiltins(t *testing.T) {
	t.Parallel()
	b := setup(t)
	for _, def := range Builtins() {
		v, err := b.store.Active(b.ctx, def.Key)
		require.NoError(t, err)
		var out strings.Builder
		people := goldenContacts()
		if def.Source == SourceDigest {
			people = people[:1] // a digest is about the manager
		}
		for _, c := range people {
			for _, locale := range []string{"zh-CN", "en"} {
				for _, ch := range Channels() {
					variant, err := v.Lookup(ch, locale)
					if err != nil {
						require.ErrorIs(t, err, ErrNoVariant)
						continue
					}
					require.Equal(t, locale, variant.Locale, "%s %s has no %s variant", def.Key, ch, locale)
					r, err := b.store.RenderVersion(t.Context(), v, ch, locale, SampleVars(def.Source, locale, &c))
					require.NoError(t, err, "%s %s %s %s", def.Key, c.ExternalID, ch, locale)
					fmt.Fprintf(&out, "=== %s v%d %s %s contact %s\n", def.Key, r.Version, ch, r.Locale, c.ExternalID)
					writeRendered(&out, r)
				}
			}
		}
		path := "testdata/golden/" + def.Key + ".txt"
		if *update {
			require.NoError(t, os.WriteFile(path, []byte(out.String()), 0o644))
			continue
		}
		want, err := os.ReadFile(path)
		require.NoError(t, err, "run with -update to create it")
		require.Equal(t, string(want), out.String(), path)
	}
}

func writeRendered(w *strings.Builder, r Rendered) {
	switch {
	case r.SMS != nil:
		fmt.Fprintf(w, "text: %s\nsegments: %d (%s, %d units)\n", r.SMS.Text, r.SMS.Segments.Parts, r.SMS.Segments.Encoding, r.SMS.Segments.Units)
		fmt.Fprintf(w, "body: %s\nbody segments: %d\n", r.SMS.Body, r.SMS.BodySegments.Parts)
	case r.Email != nil:
		fmt.Fprintf(w, "subject: %s\n--- html\n%s--- text\n%s", r.Email.Subject, r.Email.HTML, r.Email.Text)
	case r.WeChat != nil:
		fmt.Fprintf(w, "template_id: %s\n", r.WeChat.TemplateID)
		keys := make([]string, 0, len(r.WeChat.Data))
		for k := range r.WeChat.Data {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			fmt.Fprintf(w, "%s: %s\n", k, r.WeChat.Data[k])
		}
	case r.WeCom != nil:
		fmt.Fprintf(w, "format: %s\n%s\n", r.WeCom.Format, r.WeCom.Content)
	}
	w.WriteString("\n")
}
