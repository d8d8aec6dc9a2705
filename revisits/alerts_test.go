package revisits_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"carillon/contacts"
	"carillon/revisits"
)

func (w *digestWorld) reimport(t *testing.T, csv string) {
	t.Helper()
	rep, err := w.store.ImportContacts(w.ctx, strings.NewReader(csv), contacts.ImportOptions{Actor: tester, SourceName: "nightly.csv"})
	require.NoError(t, err)
	require.Empty(t, rep.Errors)
}

func TestAssetDropAndTierDowngradeAlertsAfterAReimport(t *testing.T) {
	t.Parallel()
	w := newDigestWorld(t)
	w.reimport(t, "external_id,assets\nCA,100000\nCB,250000\n")
	// The nightly file: CE's assets fall 32% (500000 → 340000), CA's 20%
	// (under the threshold), CB's rise; CC is downgraded C → D by the bank's
	// own tiering; CX is upgraded.
	w.reimport(t, "external_id,assets,tier\nCE,340000,D\nCA,80000,A\nCB,900000,B\nCC,,D\nCX,,A\n")

	_, by, _ := w.dryRun(t, w.day)
	alerts := map[string]revisits.Alert{}
	for _, a := range by["M002"].Alerts {
		alerts[a.ExternalID+" "+a.Rule] = a
	}
	require.Len(t, alerts, 2, "%v", alerts)
	drop := alerts["CE assets_drop"]
	var data map[string]any
	require.NoError(t, json.Unmarshal(drop.Data, &data))
	require.Equal(t, map[string]any{"attr": "assets", "from": float64(500000), "to": float64(340000), "change": -32.0}, data)
	require.Contains(t, alerts, "CC tier_downgrade")
	// Named for people, in both languages, never by the rule's key.
	require.Equal(t, []string{"资产下降", "Assets down"}, []string{drop.RuleName, drop.RuleNameEN})
	require.Equal(t, "客户等级下调", alerts["CC tier_downgrade"].RuleName)
	require.Empty(t, by["M003"].Alerts, "an upgrade is no alert")

	// The digest that carries them closes them; the next day's has none.
	_, err := w.svc.PlanDigests(w.ctx, w.day, revisits.DigestOptions{})
	require.NoError(t, err)
	require.Equal(t, 2, w.count(t, `SELECT count(*) FROM revisit_alerts WHERE closed = 'digest' AND closed_on = '2026-10-13'`))
	_, by, _ = w.dryRun(t, day(2026, time.October, 14))
	require.Empty(t, by["M002"].Alerts)

	// Rules are configurable: a 15% threshold catches CA's next 20% fall, and
	// a rise rule CB's.
	th, rise := 0.15, 1.0
	_, err = w.svc.PutAlertRule(w.ctx, tester, revisits.AlertRule{Key: "assets_drop", Kind: revisits.KindAttrDrop, Attr: "assets", Threshold: &th, Enabled: true})
	require.NoError(t, err)
	_, err = w.svc.PutAlertRule(w.ctx, tester, revisits.AlertRule{Key: "assets_doubled", Kind: revisits.KindAttrRise, Attr: "assets", Threshold: &rise, Enabled: true})
	require.NoError(t, err)
	w.reimport(t, "external_id,assets\nCA,64000\nCB,1800000\n")
	_, by, _ = w.dryRun(t, day(2026, time.October, 14))
	var rules []string
	for _, a := range by["M002"].Alerts {
		rules = append(rules, a.ExternalID+" "+a.Rule)
	}
	require.ElementsMatch(t, []string{"CA assets_drop", "CB assets_doubled"}, rules)
	for _, a := range by["M002"].Alerts {
		if a.Rule == "assets_doubled" { // no names given: made from its kind
			require.Equal(t, []string{"「assets」上升", "assets up"}, []string{a.RuleName, a.RuleNameEN})
		} else {
			require.Equal(t, "资产下降", a.RuleName, "a rule changed without names keeps them")
		}
	}

	// A switched-off rule raises nothing.
	_, err = w.svc.PutAlertRule(w.ctx, tester, revisits.AlertRule{Key: "tier_downgrade", Kind: revisits.KindTierDowngrade, Enabled: false})
	require.NoError(t, err)
	w.reimport(t, "external_id,tier\nCB,C\n")
	require.Equal(t, 0, w.count(t, `SELECT count(*) FROM revisit_alerts WHERE contact_id = $1 AND rule = 'tier_downgrade'`, w.contactID(t, "CB")))

	list, err := w.svc.AlertRules(w.ctx)
	require.NoError(t, err)
	require.Len(t, list, 3)
	require.Equal(t, 3, w.count(t, `SELECT count(*) FROM audit_log WHERE action = 'revisit.alert_rule'`))

	var ve *contacts.ValidationError
	bad := 1.5
	_, err = w.svc.PutAlertRule(w.ctx, tester, revisits.AlertRule{Key: "x", Kind: revisits.KindAttrDrop, Attr: "assets", Threshold: &bad})
	require.ErrorAs(t, err, &ve)
	_, err = w.svc.PutAlertRule(w.ctx, tester, revisits.AlertRule{Key: "Bad Key", Kind: "attr_fall"})
	require.ErrorAs(t, err, &ve)
	require.Len(t, ve.Fields, 2)
}
