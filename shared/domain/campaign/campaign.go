// Package campaign defines newsletters (メールマガジン): a campaign has a send
// time, an audience (ranks, tags, or everyone who agreed to hear from us) and
// a template per rank; its state and LINE multicast batches are kept in the
// ledger while the campaigns flow sends it.
package campaign

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/daifuku/daifuku/shared/domain/experiment"
	"github.com/daifuku/daifuku/shared/domain/message"
	"github.com/daifuku/daifuku/shared/domain/rank"
	"github.com/daifuku/daifuku/shared/domain/yamlfile"
)

// Campaign is one newsletter.
type Campaign struct {
	ID        string            `yaml:"id" dynamodbav:"id"`
	Title     string            `yaml:"title" dynamodbav:"title"`
	SendAt    time.Time         `yaml:"send_at" dynamodbav:"send_at"`
	Audience  Audience          `yaml:"audience" dynamodbav:"audience"`
	Templates map[string]string `yaml:"templates" dynamodbav:"templates"`
	// Early sends the campaign to some ranks before everyone else: the
	// early notice of new items the royal and semi-royal welcomes promise.
	Early *Early `yaml:"early,omitempty" dynamodbav:"early,omitempty"`
	// Holdout keeps a stable share of the audience from the newsletter,
	// recorded held_out, to measure what it brought back.
	Holdout experiment.Share `yaml:"holdout,omitempty" dynamodbav:"holdout,omitempty"`
	// Variants name two or more templates with weights, in place of
	// Templates: each customer draws one, stably, and the report counts
	// each variant on its own.
	Variants []experiment.Variant `yaml:"variants,omitempty" dynamodbav:"variants,omitempty"`
	// Test sends the variants to a share first and the winner to the rest.
	Test *Test `yaml:"test,omitempty" dynamodbav:"test,omitempty"`
	Line int   `yaml:"-" dynamodbav:"-"`
}

// Unit names what a campaign's draws test (holdout, variant, test share):
// its plan, so they differ from campaign to campaign and never from run to run.
func (c *Campaign) Unit() string { return message.CampaignPlan(c.ID) }

// Design is how the campaign splits its audience.
func (c *Campaign) Design() experiment.Design {
	return experiment.Design{Holdout: c.Holdout, Variants: c.Variants}
}

// TemplateDirs lists every template folder the campaign may send.
func (c *Campaign) TemplateDirs() []string {
	var out []string
	for _, dir := range c.Templates {
		out = append(out, dir)
	}
	for _, v := range c.Variants {
		out = append(out, v.Template)
	}
	return out
}

// Early is early access: customers of Ranks (the active side) in the
// campaign's audience get it Hours before its send time.
type Early struct {
	Ranks []string `yaml:"ranks" dynamodbav:"ranks"`
	Hours int      `yaml:"hours" dynamodbav:"hours"`
}

// MaxEarlyHours bounds early access: a week ahead.
const MaxEarlyHours = 7 * 24

// EarlyAt is when the early wave goes; SendAt when there is none.
func (c *Campaign) EarlyAt() time.Time {
	if c.Early == nil || c.Early.Hours <= 0 || len(c.Early.Ranks) == 0 {
		return c.SendAt
	}
	return c.SendAt.Add(-time.Duration(c.Early.Hours) * time.Hour)
}

// EarlyRanks are the ranks (active side, e.g. "royal") of the early wave.
func (c *Campaign) EarlyRanks() []string {
	if c.EarlyAt().Equal(c.SendAt) {
		return nil
	}
	return c.Early.Ranks
}

// Audience says who gets a campaign: exactly one of the three.
type Audience struct {
	Ranks []string `yaml:"ranks,omitempty" dynamodbav:"ranks,omitempty"`
	Tags  []string `yaml:"tags,omitempty" dynamodbav:"tags,omitempty"`
	All   bool     `yaml:"all,omitempty" dynamodbav:"all,omitempty"`
}

// DefaultTemplate names the template of every rank a campaign does not name.
const DefaultTemplate = "default"

// TemplateFor is the template folder for a customer of a rank.
func (c *Campaign) TemplateFor(rk rank.Rank) string {
	if len(c.Templates) == 0 && len(c.Variants) > 0 {
		// Variants name every rank's template; this one stands for them
		// where no variant is drawn (a held-out customer's record).
		return c.Variants[0].Template
	}
	if t, ok := c.Templates[rk.String()]; ok {
		return t
	}
	if t, ok := c.Templates[rk.ID]; ok {
		return t
	}
	return c.Templates[DefaultTemplate]
}

// Warnings says what works badly in a valid campaign (a holdout of most
// of the audience).
func (c *Campaign) Warnings() []string {
	w, _ := c.Design().Check(nil)
	return w
}

// Known checks names against the rest of the configuration.
type Known struct {
	Rank     func(id string) bool
	Template func(dir string) bool
}

var idRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,63}$`)

// Validate reports what is wrong with a campaign.
func (c *Campaign) Validate(known Known) error {
	n := 0
	if len(c.Audience.Ranks) > 0 {
		n++
	}
	if len(c.Audience.Tags) > 0 {
		n++
	}
	if c.Audience.All {
		n++
	}
	switch {
	case !idRE.MatchString(c.ID):
		return fmt.Errorf("campaign id %q: use lower-case letters, digits and '-'", c.ID)
	case c.SendAt.IsZero():
		return fmt.Errorf("campaign %s: send_at is required (RFC 3339, e.g. 2026-12-05T10:00:00+09:00)", c.ID)
	case n != 1:
		return fmt.Errorf("campaign %s: audience: give exactly one of ranks, tags or all", c.ID)
	case len(c.Variants) > 0 && len(c.Templates) > 0:
		return fmt.Errorf("campaign %s: give templates or variants, not both (variants name the template of every rank)", c.ID)
	case len(c.Variants) == 0 && c.Templates[DefaultTemplate] == "":
		return fmt.Errorf("campaign %s: templates: a default template is required", c.ID)
	}
	if _, err := c.Design().Check(known.Template); err != nil {
		return fmt.Errorf("campaign %s: %w", c.ID, err)
	}
	if c.Test != nil {
		if err := c.Test.Check(len(c.Variants)); err != nil {
			return fmt.Errorf("campaign %s: %w", c.ID, err)
		}
	}
	for _, r := range c.Audience.Ranks {
		if known.Rank != nil && !known.Rank(rank.Parse(r).ID) {
			return fmt.Errorf("campaign %s: audience: no rank %q in ranks.yaml", c.ID, r)
		}
	}
	if e := c.Early; e != nil {
		if e.Hours < 0 || e.Hours > MaxEarlyHours || (e.Hours > 0 && len(e.Ranks) == 0) {
			return fmt.Errorf("campaign %s: early: want ranks and 1 to %d hours (0: no early access)", c.ID, MaxEarlyHours)
		}
		for _, r := range e.Ranks {
			if rk := rank.Parse(r); rk.Lapsed || (known.Rank != nil && !known.Rank(rk.ID)) {
				return fmt.Errorf("campaign %s: early: no active rank %q in ranks.yaml", c.ID, r)
			}
		}
	}
	for r, dir := range c.Templates {
		if r != DefaultTemplate && known.Rank != nil && !known.Rank(rank.Parse(r).ID) {
			return fmt.Errorf("campaign %s: templates: no rank %q in ranks.yaml", c.ID, r)
		}
		if known.Template != nil && !known.Template(dir) {
			return fmt.Errorf("campaign %s: templates: no template folder templates/%s", c.ID, dir)
		}
	}
	return nil
}

// ValidationError points at the line of campaigns.yaml that is wrong.
type ValidationError struct {
	File string
	Line int
	Msg  string
}

func (e *ValidationError) Error() string { return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg) }

var lineRE = regexp.MustCompile(`line (\d+): (.*)`)

// File is campaigns.yaml: the campaigns, and the early access every
// campaign gets unless it sets its own (campaigns created later too).
type File struct {
	EarlyAccess *Early
	Campaigns   []Campaign
}

// Parse reads campaigns.yaml.
func Parse(name string, src []byte, known Known) (*File, error) {
	var doc struct {
		// EarlyAccess is every campaign's early wave unless it sets its own.
		EarlyAccess *Early      `yaml:"early_access"`
		Campaigns   []yaml.Node `yaml:"campaigns"`
	}
	dec := yaml.NewDecoder(bytes.NewReader(src))
	dec.KnownFields(true)
	if err := dec.Decode(&doc); err != nil && !errors.Is(err, io.EOF) {
		line, msg := 1, err.Error()
		if m := lineRE.FindStringSubmatch(msg); m != nil {
			line, _ = strconv.Atoi(m[1])
			msg = m[2]
		}
		return nil, &ValidationError{File: name, Line: line, Msg: msg}
	}
	if e := doc.EarlyAccess; e != nil {
		probe := Campaign{ID: "early-access", SendAt: time.Unix(1, 0), Audience: Audience{All: true},
			Templates: map[string]string{DefaultTemplate: "x"}, Early: e}
		if err := probe.Validate(Known{Rank: known.Rank}); err != nil {
			return nil, &ValidationError{File: name, Line: 1, Msg: strings.Replace(err.Error(), "campaign early-access: ", "early_access: ", 1)}
		}
	}
	var out []Campaign
	seen := map[string]bool{}
	for _, n := range doc.Campaigns {
		var c Campaign
		if err := yamlfile.Decode(&n, &c); err != nil {
			line, msg := n.Line, err.Error()
			if m := lineRE.FindStringSubmatch(msg); m != nil {
				line, _ = strconv.Atoi(m[1])
				msg = m[2]
			}
			return nil, &ValidationError{File: name, Line: line, Msg: msg}
		}
		c.Line = n.Line
		if c.Early == nil && doc.EarlyAccess != nil {
			e := *doc.EarlyAccess
			c.Early = &e
		}
		if err := c.Validate(known); err != nil {
			return nil, &ValidationError{File: name, Line: n.Line, Msg: err.Error()}
		}
		if seen[c.ID] {
			return nil, &ValidationError{File: name, Line: n.Line, Msg: fmt.Sprintf("campaign %q is defined twice", c.ID)}
		}
		seen[c.ID] = true
		out = append(out, c)
	}
	return &File{EarlyAccess: doc.EarlyAccess, Campaigns: out}, nil
}
