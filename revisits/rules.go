package revisits

import "context"

// RuleReader reads the care rule the digests are planned by (revisit_digest,
// kind extension): its send time ("08:30"), its channels in order and its
// template key, each empty when the rule leaves it so; ok is false when there
// is no such rule. The rules belong to care; care's Planner implements it
// (cmd/carillon wires it as Config.Rules).
type RuleReader interface {
	ExtensionRule(ctx context.Context, key string) (sendTime string, channels []string, template string, ok bool, err error)
}
