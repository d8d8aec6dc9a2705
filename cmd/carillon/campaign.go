package main

import (
	"fmt"
	"strconv"
	"strings"

	"carillon/campaigns"
)

// campaignConfig reads the campaigns' settings from the environment:
// CARILLON_SMS_PRICES ("ali=0.045,tx=0.04": the price of one SMS part by
// provider name), CARILLON_EMAIL_PRICE and CARILLON_WECHAT_PRICE (per message),
// CARILLON_PRICE_CURRENCY (default CNY) and CARILLON_CAMPAIGN_BUDGET (what the
// campaigns approved in a month may cost together).
func campaignConfig(getenv func(string) string) (campaigns.Config, error) {
	var cfg campaigns.Config
	p := &cfg.Pricing
	if v := strings.TrimSpace(getenv("CARILLON_SMS_PRICES")); v != "" {
		p.SMS = map[string]float64{}
		for part := range strings.SplitSeq(v, ",") {
			name, price, ok := strings.Cut(strings.TrimSpace(part), "=")
			f, err := strconv.ParseFloat(strings.TrimSpace(price), 64)
			if !ok || strings.TrimSpace(name) == "" || err != nil || f < 0 {
				return cfg, fmt.Errorf("CARILLON_SMS_PRICES: %q is not provider=price (e.g. ali=0.045)", part)
			}
			p.SMS[strings.TrimSpace(name)] = f
		}
	}
	for _, x := range []struct {
		name string
		to   *float64
	}{{"CARILLON_EMAIL_PRICE", &p.Email}, {"CARILLON_WECHAT_PRICE", &p.WeChat}, {"CARILLON_CAMPAIGN_BUDGET", &p.MonthlyBudget}} {
		if v := strings.TrimSpace(getenv(x.name)); v != "" {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil || f < 0 {
				return cfg, fmt.Errorf("%s=%q: want a non-negative number", x.name, v)
			}
			*x.to = f
		}
	}
	p.Currency = strings.TrimSpace(getenv("CARILLON_PRICE_CURRENCY"))
	return cfg, nil
}
