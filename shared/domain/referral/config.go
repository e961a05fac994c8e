package referral

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"

	"gopkg.in/yaml.v3"
)

// Config is templates/referrals.yaml: what a referral earns, and how a
// referral arrives over LINE.
type Config struct {
	Version int `yaml:"version"`
	// ReferrerPoints go to the customer who introduced someone; 0: none.
	ReferrerPoints int `yaml:"referrer_points"`
	// ReferredPoints go to the customer introduced; 0: none.
	ReferredPoints int `yaml:"referred_points"`
	// LINEBasicID is the shop's LINE account id (@…): with it, templates get
	// referral.line_url, which opens the shop's chat with the code typed in.
	LINEBasicID string `yaml:"line_basic_id"`
	// LINEWindowDays is how long after adding the shop as a friend a code
	// sent in the chat still counts: the introduction is what brought them.
	LINEWindowDays int `yaml:"line_window_days"`
}

// DefaultConfig holds when referrals.yaml is absent: no points, no LINE link,
// a week for the code after a follow.
var DefaultConfig = Config{LINEWindowDays: 7}

// MaxPoints bounds what one referral may earn: far above any real offer, so a
// stray digit is caught rather than paid.
const MaxPoints = 100_000

var basicIDRE = regexp.MustCompile(`^@[0-9a-z._-]{1,40}$`)

// ParseConfig reads and checks referrals.yaml. name is used in errors.
func ParseConfig(name string, src []byte) (Config, error) {
	c := DefaultConfig
	dec := yaml.NewDecoder(bytes.NewReader(src))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil && !errors.Is(err, io.EOF) {
		return Config{}, fmt.Errorf("%s: %w", name, err)
	}
	switch {
	case c.ReferrerPoints < 0 || c.ReferrerPoints > MaxPoints:
		return Config{}, fmt.Errorf("%s: referrer_points %d: want 0 to %d", name, c.ReferrerPoints, MaxPoints)
	case c.ReferredPoints < 0 || c.ReferredPoints > MaxPoints:
		return Config{}, fmt.Errorf("%s: referred_points %d: want 0 to %d", name, c.ReferredPoints, MaxPoints)
	case c.LINEBasicID != "" && !basicIDRE.MatchString(c.LINEBasicID):
		return Config{}, fmt.Errorf("%s: line_basic_id %q: want the account's id as LINE shows it, e.g. \"@123abcde\"", name, c.LINEBasicID)
	case c.LINEWindowDays < 1 || c.LINEWindowDays > 90:
		return Config{}, fmt.Errorf("%s: line_window_days %d: want 1 to 90", name, c.LINEWindowDays)
	}
	return c, nil
}
