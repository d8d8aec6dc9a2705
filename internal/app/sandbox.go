package app

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"carillon/internal/audit"
	"carillon/templates"
)

// SandboxCodes gives every active template's SMS variants a template code at the
// mainland providers, as a bank does once its texts are approved — here for the
// sandboxes of the demo and the benchmarks, which accept any code. Each change is a
// new, audited template version.
func SandboxCodes(ctx context.Context, st *templates.Store, actor audit.Actor) (saved int, err error) {
	list, err := st.List(ctx)
	if err != nil {
		return 0, err
	}
	var skipped []string
	defer func() {
		if len(skipped) > 0 {
			err = errors.Join(err, fmt.Errorf("sandbox template codes refused: %s", strings.Join(skipped, "; ")))
		}
	}()
	for _, t := range list {
		v, err := st.Active(ctx, t.Key)
		if err != nil {
			return saved, err
		}
		def := v.Definition
		changed := false
		for i := range def.Variants {
			sms := def.Variants[i].SMS
			if sms == nil || len(sms.Providers) > 0 {
				continue
			}
			if sms.SignName == "" {
				sms.SignName = "Carillon银行"
			}
			code := "SMS_SANDBOX_" + strings.ToUpper(strings.NewReplacer(".", "_", "-", "_").Replace(t.Key))
			sms.Providers = map[string]templates.ProviderTemplate{
				"aliyun":  {Code: code, Params: map[string]string{"name": "{{.Contact.Name}}"}},
				"tencent": {Code: "100" + fmt.Sprint(len(t.Key)), Params: map[string]string{"1": "{{.Contact.Name}}"}},
			}
			changed = true
		}
		if !changed {
			continue
		}
		if _, _, err := st.Save(ctx, actor, def, templates.SaveOptions{Activate: true, Note: "sandbox template codes"}); err != nil {
			skipped = append(skipped, t.Key+": "+err.Error())
			continue
		}
		saved++
	}
	return saved, nil
}
