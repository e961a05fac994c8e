// Package content loads the marketer-owned content set (rank rules, plans,
// delivery policies, campaigns, the feedback script, shop and every
// template) and checks it as it would run: every template renders, and LINE
// messages pass the LINE SDK's own types.
package content

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/daifuku/daifuku/shared/adapters/line"
	"github.com/daifuku/daifuku/shared/domain/campaign"
	"github.com/daifuku/daifuku/shared/domain/customer"
	"github.com/daifuku/daifuku/shared/domain/delivery"
	"github.com/daifuku/daifuku/shared/domain/feedback"
	"github.com/daifuku/daifuku/shared/domain/plan"
	"github.com/daifuku/daifuku/shared/domain/rank"
	"github.com/daifuku/daifuku/shared/domain/render"
	"github.com/daifuku/daifuku/templates"
)

// Content is the marketer-owned configuration.
type Content struct {
	Rules     *rank.Rules
	Templates *render.Library
	Shop      render.Shop
	Plans     *plan.Plans
	Policy    delivery.Policy
	Campaigns []campaign.Campaign
	// EarlyAccess is the early wave of every campaign that sets none (campaigns.yaml).
	EarlyAccess *campaign.Early
	Feedback    *feedback.Script
}

// LoadContent reads and validates ranks.yaml, shop.yaml, plans.yaml,
// delivery.yaml and every template in fsys.
func LoadContent(fsys fs.FS) (*Content, error) {
	src, err := fs.ReadFile(fsys, "ranks.yaml")
	if err != nil {
		return nil, fmt.Errorf("read rank rules: %w", err)
	}
	rules, err := rank.ParseRules("templates/ranks.yaml", src)
	if err != nil {
		return nil, err
	}
	var shop render.Shop
	src, err = fs.ReadFile(fsys, "shop.yaml")
	if err != nil {
		return nil, fmt.Errorf("read shop: %w", err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(src))
	dec.KnownFields(true)
	if err := dec.Decode(&shop); err != nil {
		return nil, fmt.Errorf("templates/shop.yaml: %w", err)
	}
	if shop.Name == "" || shop.FromEmail == "" {
		return nil, fmt.Errorf("templates/shop.yaml: name and from_email are required")
	}
	lib, err := render.Load(fsys)
	if err != nil {
		return nil, err
	}
	c := &Content{Rules: rules, Templates: lib, Shop: shop}
	if src, err = fs.ReadFile(fsys, "plans.yaml"); err != nil {
		return nil, fmt.Errorf("read plans: %w", err)
	}
	c.Plans, err = plan.Parse("templates/plans.yaml", src, plan.Known{
		Rank:     func(id string) bool { _, ok := rules.Get(id); return ok },
		Template: lib.HasDir,
	})
	if err != nil {
		return nil, err
	}
	if src, err = fs.ReadFile(fsys, "delivery.yaml"); err != nil {
		return nil, fmt.Errorf("read delivery policies: %w", err)
	}
	if c.Policy, err = delivery.ParsePolicy("templates/delivery.yaml", src); err != nil {
		return nil, err
	}
	if src, err = fs.ReadFile(fsys, "campaigns.yaml"); err != nil {
		return nil, fmt.Errorf("read campaigns: %w", err)
	}
	cf, err := campaign.Parse("templates/campaigns.yaml", src, c.Known())
	if err != nil {
		return nil, err
	}
	c.Campaigns, c.EarlyAccess = cf.Campaigns, cf.EarlyAccess
	if src, err = fs.ReadFile(fsys, "feedback.yaml"); err != nil {
		return nil, fmt.Errorf("read feedback script: %w", err)
	}
	if c.Feedback, err = feedback.ParseScript("templates/feedback.yaml", src); err != nil {
		return nil, err
	}
	if err := c.check(); err != nil {
		return nil, err
	}
	return c, nil
}

// Known checks rank ids and template folders against the loaded content.
func (c *Content) Known() campaign.Known {
	return campaign.Known{
		Rank:     func(id string) bool { _, ok := c.Rules.Get(id); return ok },
		Template: c.Templates.HasDir,
	}
}

// check renders every template with sample data, with and without customer
// voice to quote, and checks LINE messages with the LINE SDK's own types, so
// a typo in a variable or a Flex message LINE would refuse is caught when the
// templates load, not when a customer is due one.
func (c *Content) check() error {
	sample := render.Data{
		Customer: &customer.Customer{ID: "C0", Name: `見本 "花子" <b>&</b>`},
		Order: &customer.Order{ID: "O-0", Total: 12800, OrderedAt: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
			Items: []customer.Item{{Name: "見本の品", Quantity: 1, Price: 12800}}},
		Shop: c.Shop,
	}
	voices := []render.Voice{
		{Text: "見本のお声 <b>\"&\"</b>", Profile: "30代・女性・リピーター", Rating: 5, Date: "2026年1月"},
		{Text: "二件目の見本", Profile: "お客様", Date: "2025年12月"},
	}
	for _, ref := range c.Templates.Refs() {
		rk := rank.Parse(ref.Rank)
		if ref.Rank == render.LapsedRank {
			rk = rank.Rank{ID: c.Rules.Ranks[0].ID, Lapsed: true}
		}
		sample.RankID, sample.RankLabel = rk.ID, c.Rules.Label(rk)
		for _, ch := range []customer.Channel{customer.Email, customer.LINE} {
			if !c.Templates.Has(ref.Kind, rk, ch) {
				continue
			}
			for _, vs := range [][]render.Voice{voices, nil} {
				sample.Voices = vs
				out, err := c.Templates.Render(ref.Kind, rk, ch, sample)
				if err != nil {
					return err
				}
				if ch != customer.LINE {
					continue
				}
				if _, err := line.Message(out.LINE); err != nil {
					return fmt.Errorf("%s: %w", out.Template, err)
				}
			}
		}
	}
	return nil
}

// ContentFromEnv loads the content from $TEMPLATES_DIR, or the embedded copy.
func ContentFromEnv() (*Content, error) {
	if dir := os.Getenv("TEMPLATES_DIR"); dir != "" {
		return LoadContent(os.DirFS(dir))
	}
	return LoadContent(templates.FS)
}
