// Package content loads the marketer-owned content set (rank rules, plans,
// delivery policies, campaigns, the feedback script, shop and every
// template) and checks it as it would run: every template renders, and LINE
// messages pass the LINE SDK's own types.
package content

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"gopkg.in/yaml.v3"

	"github.com/daifuku/daifuku/shared/adapters/line"
	"github.com/daifuku/daifuku/shared/domain/campaign"
	"github.com/daifuku/daifuku/shared/domain/customer"
	"github.com/daifuku/daifuku/shared/domain/delivery"
	"github.com/daifuku/daifuku/shared/domain/event"
	"github.com/daifuku/daifuku/shared/domain/feedback"
	"github.com/daifuku/daifuku/shared/domain/message"
	"github.com/daifuku/daifuku/shared/domain/plan"
	"github.com/daifuku/daifuku/shared/domain/points"
	"github.com/daifuku/daifuku/shared/domain/rank"
	"github.com/daifuku/daifuku/shared/domain/referral"
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
	// Events are the events of events.yaml; EventsEarly the early access
	// of every event that sets none (events created with the CLI too).
	Events      []event.Event
	EventsEarly *event.Early
	// Referrals is referrals.yaml (referral.DefaultConfig without one).
	Referrals referral.Config
	// Points is the points card (points.yaml); nil: the shop has none.
	Points *points.Config
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
	if shop.LegalName == "" || shop.PostalAddress == "" || shop.Phone == "" || shop.SupportEmail == "" {
		return nil, fmt.Errorf("templates/shop.yaml: legal_name, postal_address, phone and support_email are required: " +
			"Japan's anti-spam law (特定電子メール法) asks every advertising email to name its sender, where they are, and whom to contact")
	}
	lib, err := render.Load(fsys)
	if err != nil {
		return nil, err
	}
	c := &Content{Rules: rules, Templates: lib, Shop: shop}
	if src, err = fs.ReadFile(fsys, "feedback.yaml"); err != nil {
		return nil, fmt.Errorf("read feedback script: %w", err)
	}
	if c.Feedback, err = feedback.ParseScript("templates/feedback.yaml", src); err != nil {
		return nil, err
	}
	if src, err = fs.ReadFile(fsys, "plans.yaml"); err != nil {
		return nil, fmt.Errorf("read plans: %w", err)
	}
	c.Plans, err = plan.Parse("templates/plans.yaml", src, plan.Known{
		Rank:     func(id string) bool { _, ok := rules.Get(id); return ok },
		Template: lib.HasDir,
		Question: func(id string) bool { _, ok := c.Feedback.Questions[id]; return ok },
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
	if src, err = fs.ReadFile(fsys, "events.yaml"); err != nil {
		return nil, fmt.Errorf("read events: %w", err)
	}
	ef, err := event.Parse("templates/events.yaml", src, c.Known())
	if err != nil {
		return nil, err
	}
	c.Events, c.EventsEarly = ef.Events, ef.EarlyAccess
	c.Referrals = referral.DefaultConfig
	switch src, err = fs.ReadFile(fsys, "referrals.yaml"); {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return nil, fmt.Errorf("read referrals: %w", err)
	default:
		if c.Referrals, err = referral.ParseConfig("templates/referrals.yaml", src); err != nil {
			return nil, err
		}
	}
	switch src, err = fs.ReadFile(fsys, "points.yaml"); {
	case errors.Is(err, fs.ErrNotExist):
		// No points card: orders earn nothing and may use no points.
	case err != nil:
		return nil, fmt.Errorf("read points card: %w", err)
	default:
		if c.Points, err = points.ParseConfig("templates/points.yaml", src, points.Known{
			Rank: func(id string) bool { _, ok := rules.Get(id); return ok }, Template: lib.HasDir,
		}); err != nil {
			return nil, err
		}
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

// check renders every template with sample data, for every rank (active
// and lapsed) and every kind that has words for it on a channel, with and
// without customer voice to quote, and checks LINE messages with the LINE
// SDK's own types, so a typo in a variable or a Flex message LINE would
// refuse is caught when the templates load, not when a customer is due one.
// It reports every template that fails, once.
func (c *Content) check() error {
	sample := render.Sample(c.Shop, "", "", false)
	voices := sample.Voices
	var errs []error
	seen := map[string]bool{}
	try := func(out *render.Rendered, err error, ch customer.Channel) {
		if err != nil {
			if !seen[err.Error()] {
				seen[err.Error()] = true
				errs = append(errs, err)
			}
			return
		}
		// LINE's checks, once per template and voices: a customer's name
		// changes no structure.
		key := fmt.Sprintf("%s|%d", out.Template, len(sample.Voices))
		if ch != customer.LINE || seen[key] {
			return
		}
		seen[key] = true
		if _, err := line.Message(out.LINE); err != nil && !seen[out.Template] {
			seen[out.Template] = true
			errs = append(errs, &render.Error{File: out.LINEFile(), Msg: "LINE would refuse it: " + err.Error()})
		}
	}
	for _, rk := range c.sampleRanks() {
		sample.RankID, sample.RankLabel = rk.ID, c.Rules.Label(rk)
		for _, kind := range message.Kinds {
			for _, ch := range []customer.Channel{customer.Email, customer.LINE} {
				if !c.Templates.Has(kind, rk, ch) {
					continue
				}
				dir, _ := c.Templates.Resolve(kind, rk, ch)
				for _, vs := range voiceCases(c.Templates.UsesVoices(dir), voices) {
					sample.Voices = vs
					out, err := c.Templates.Render(kind, rk, ch, sample)
					try(out, err, ch)
				}
			}
		}
	}
	// Every advertising email names its sender and offers an opt-out
	// (特定電子メール法); the thank-you answers a purchase and is exempt.
	for _, ref := range c.Templates.Refs() {
		if delivery.Transactional(ref.Kind) {
			continue
		}
		rk := c.Rules.Ranks[0].ID
		if err := c.Templates.CheckSenderFooter(string(ref.Kind)+"/"+ref.Rank, c.Shop, rk, c.Rules.Label(rank.Rank{ID: rk})); err != nil {
			errs = append(errs, err)
		}
	}
	// Folders no rank reaches by kind (plan steps, newsletters) render too.
	for _, ref := range c.Templates.Refs() {
		dir := string(ref.Kind) + "/" + ref.Rank
		for _, ch := range []customer.Channel{customer.Email, customer.LINE} {
			if c.Templates.HasIn(dir, ch) {
				sample.RankID, sample.RankLabel, sample.Voices = c.Rules.Ranks[0].ID, c.Rules.Label(rank.Rank{ID: c.Rules.Ranks[0].ID}), voices
				out, err := c.Templates.RenderIn(dir, ch, sample)
				try(out, err, ch)
			}
		}
	}
	return errors.Join(errs...)
}

// voiceCases are the voices a template is rendered with: with and without
// comments to quote, where it quotes them.
func voiceCases(uses bool, voices []render.Voice) [][]render.Voice {
	if uses {
		return [][]render.Voice{voices, nil}
	}
	return [][]render.Voice{nil}
}

// sampleRanks are every rank, active and lapsed.
func (c *Content) sampleRanks() []rank.Rank {
	var out []rank.Rank
	for _, r := range c.Rules.Ranks {
		out = append(out, rank.Rank{ID: r.ID}, rank.Rank{ID: r.ID, Lapsed: true})
	}
	return out
}

// ContentFromEnv loads the content from $TEMPLATES_DIR, or the embedded copy.
func ContentFromEnv() (*Content, error) {
	if dir := os.Getenv("TEMPLATES_DIR"); dir != "" {
		return LoadContent(os.DirFS(dir))
	}
	return LoadContent(templates.FS)
}
