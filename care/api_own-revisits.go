package care

import (
	"context"
	"errors"
)

// ExtensionRule returns what an extension's rule says of its messages: the
// send time, the channels in order and the template key (empty: the
// extension's default); ok is false when there is no rule key. The managers'
// revisit digest reads its settings here (revisits.RuleReader).
func (p *Planner) ExtensionRule(ctx context.Context, key string) (sendTime string, channels []string, template string, ok bool, err error) {
	r, err := p.Rule(ctx, key)
	if errors.Is(err, ErrRuleNotFound) {
		return "", nil, "", false, nil
	}
	if err != nil {
		return "", nil, "", false, err
	}
	return r.SendTime, chanStrings(r.Channels), r.Template, true, nil
}
