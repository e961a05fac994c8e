// Package points is the points card (ポイントカード): how an order earns
// points (templates/points.yaml), the lots points are kept in, redemption and
// expiry oldest first, and the entries that make the card's history. It is
// pure: the flows store what it decides.
package points

import (
	"bytes"
	"fmt"
	"math/big"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/daifuku/daifuku/shared/domain/rank"
)

// Rounding is how a fractional number of points becomes whole.
type Rounding string

// The roundings points.yaml may name.
const (
	Floor Rounding = "floor"
	Round Rounding = "round" // half up
	Ceil  Rounding = "ceil"
)

// Config is templates/points.yaml.
type Config struct {
	// Yen and PerYen: PerYen points for every Yen yen paid, before the rank's multiplier.
	Yen, PerYen int64
	// Multipliers by rank ("royal", or "royal:lapsed" for the lapsed side,
	// which otherwise earns as its rank); a rank left out earns ×1.
	Multipliers map[string]*big.Rat
	Rounding    Rounding
	// ExpiryMonths or ExpiryDays: how long after the day they were earned
	// points can be used (one of the two).
	ExpiryMonths, ExpiryDays int
	// RemindDaysBefore: the reminder goes this many days before the last
	// day points can be used; 0: no reminder.
	RemindDaysBefore int
	// ReminderTemplate is the reminder's template folder.
	ReminderTemplate string
}

// DefaultReminderTemplate is where the expiry reminder's words live.
const DefaultReminderTemplate = "points/expiry-reminder"

type configDoc struct {
	Earn struct {
		Yen      int64  `yaml:"yen"`
		Points   int64  `yaml:"points"`
		Rounding string `yaml:"rounding"`
	} `yaml:"earn"`
	Ranks  map[string]string `yaml:"ranks"`
	Expiry struct {
		Months int `yaml:"months"`
		Days   int `yaml:"days"`
	} `yaml:"expiry"`
	Reminder struct {
		DaysBefore int    `yaml:"days_before"`
		Template   string `yaml:"template"`
	} `yaml:"reminder"`
}

// Bounds that catch slips of the pen.
const (
	maxMultiplier = 100
	maxExpiryDays = 10 * 366
)

// Known checks what points.yaml names against the rest of the content.
type Known struct {
	Rank     func(id string) bool
	Template func(dir string) bool
}

// ParseConfig reads points.yaml. Every error names the file and the field.
func ParseConfig(name string, src []byte, known Known) (*Config, error) {
	var doc configDoc
	dec := yaml.NewDecoder(bytes.NewReader(src))
	dec.KnownFields(true)
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	bad := func(field, format string, args ...any) error {
		return fmt.Errorf("%s: %s: %s", name, field, fmt.Sprintf(format, args...))
	}
	c := &Config{Yen: doc.Earn.Yen, PerYen: doc.Earn.Points, Rounding: Rounding(doc.Earn.Rounding),
		ExpiryMonths: doc.Expiry.Months, ExpiryDays: doc.Expiry.Days,
		RemindDaysBefore: doc.Reminder.DaysBefore, ReminderTemplate: doc.Reminder.Template, Multipliers: map[string]*big.Rat{}}
	switch {
	case c.Yen <= 0:
		return nil, bad("earn.yen", "%d; want the yen (1 or more) that earn earn.points, e.g. 100", c.Yen)
	case c.PerYen < 0:
		return nil, bad("earn.points", "%d; want 0 or more points per earn.yen yen", c.PerYen)
	case !slices.Contains([]Rounding{Floor, Round, Ceil}, c.Rounding):
		return nil, bad("earn.rounding", "%q; want floor, round or ceil", c.Rounding)
	}
	for id, s := range doc.Ranks {
		rk := rank.Parse(id)
		if known.Rank != nil && !known.Rank(rk.ID) {
			return nil, bad("ranks."+id, "unknown rank %q (ranks.yaml names the ranks; add :lapsed for the lapsed side)", rk.ID)
		}
		m, ok := new(big.Rat).SetString(strings.TrimSpace(s))
		if !ok || m.Sign() < 0 || m.Cmp(big.NewRat(maxMultiplier, 1)) > 0 {
			return nil, bad("ranks."+id, "multiplier %q; want a number from 0 to %d, e.g. 1.5", s, maxMultiplier)
		}
		c.Multipliers[id] = m
	}
	switch {
	case (c.ExpiryMonths > 0) == (c.ExpiryDays > 0), c.ExpiryMonths < 0, c.ExpiryDays < 0:
		return nil, bad("expiry", "want one of months (e.g. 12) or days, above 0")
	case c.ExpiryMonths*31+c.ExpiryDays > maxExpiryDays:
		return nil, bad("expiry", "longer than ten years")
	case c.RemindDaysBefore < 0:
		return nil, bad("reminder.days_before", "%d; want 0 (no reminder) or more days", c.RemindDaysBefore)
	case c.RemindDaysBefore > 0 && c.RemindDaysBefore >= c.ExpiryMonths*28+c.ExpiryDays:
		return nil, bad("reminder.days_before", "%d days is as long as points last; the reminder would come before they are earned", c.RemindDaysBefore)
	}
	if c.ReminderTemplate == "" {
		c.ReminderTemplate = DefaultReminderTemplate
	}
	if c.RemindDaysBefore > 0 && known.Template != nil && !known.Template(c.ReminderTemplate) {
		return nil, bad("reminder.template", "no template folder %q", c.ReminderTemplate)
	}
	return c, nil
}

// Multiplier is what a rank's points are multiplied by: the rank's own
// side's ("royal:lapsed"), else the rank's, else 1.
func (c *Config) Multiplier(r rank.Rank) *big.Rat {
	if m, ok := c.Multipliers[r.String()]; ok {
		return m
	}
	if m, ok := c.Multipliers[r.ID]; ok {
		return m
	}
	return big.NewRat(1, 1)
}

// Earned is what paying paid yen earns a customer of rank r.
func (c *Config) Earned(r rank.Rank, paid int64) int64 {
	if paid <= 0 {
		return 0
	}
	v := new(big.Rat).SetFrac(new(big.Int).Mul(big.NewInt(paid), big.NewInt(c.PerYen)), big.NewInt(c.Yen))
	v.Mul(v, c.Multiplier(r))
	q, m := new(big.Int).QuoRem(v.Num(), v.Denom(), new(big.Int)) // positive: truncation is floor
	switch {
	case m.Sign() == 0, c.Rounding == Floor:
	case c.Rounding == Ceil:
		q.Add(q, big.NewInt(1))
	case new(big.Int).Mul(m, big.NewInt(2)).Cmp(v.Denom()) >= 0: // Round, half up
		q.Add(q, big.NewInt(1))
	}
	return q.Int64()
}
