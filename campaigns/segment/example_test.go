package segment_test

import (
	"fmt"
	"time"

	"carillon/campaigns/segment"
)

func ExampleCompile() {
	seg, err := segment.Compile(`tier in ["A", "B"] && "wealth" in tags && attrs.assets >= 500000 && manager.team == "east"`)
	if err != nil {
		panic(err)
	}
	sql, args := seg.SQL(1, time.Date(2026, time.November, 28, 0, 0, 0, 0, time.UTC))
	fmt.Println(sql)
	fmt.Println(args)

	_, err = segment.Compile(`teir == "A"`)
	fmt.Println(err)
	_, err = segment.Compile(`tier >= 5`)
	fmt.Println(err)
	// Output:
	// (((COALESCE(c.tier, '') = ANY($1::text[])) AND (c.tags @> ARRAY[$2::text])) AND ((carillon_jsonb_number(c.attrs -> $3::text) >= $4::numeric) AND (c.manager_id IN (SELECT m.id FROM managers m WHERE m.team = ANY($5::text[])))))
	// [[A B] wealth assets 500000 [east]]
	// segment: 1:1: unknown field "teir" (did you mean "tier"?) (known fields: age, attrs.<key>, consent.email, consent.sms, consent.wechat, external_id, gender, has_email, has_phone, has_wechat, locale, manager.code, manager.team, tags, tier, timezone)
	// segment: 1:6: >= cannot be applied to (string, int): the types do not match (known fields: age, attrs.<key>, consent.email, consent.sms, consent.wechat, external_id, gender, has_email, has_phone, has_wechat, locale, manager.code, manager.team, tags, tier, timezone)
}
