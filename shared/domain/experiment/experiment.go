// Package experiment splits customers stably: a share held out of a
// message (so its effect can be measured against them), and variants of a
// message by weight. A customer's lot is a hash of who they are and what is
// being tested, so it is the same on every run and every machine.
package experiment

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"math"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Share is a fraction of customers, written "10%" (or 0.1).
type Share float64

// UnmarshalYAML reads "10%", "2.5%" or a fraction.
func (s *Share) UnmarshalYAML(n *yaml.Node) error {
	v, err := ParseShare(n.Value)
	if err != nil {
		return fmt.Errorf("line %d: %w", n.Line, err)
	}
	*s = v
	return nil
}

// ParseShare reads "10%" or 0.1.
func ParseShare(s string) (Share, error) {
	s = strings.TrimSpace(s)
	pct, isPct := strings.CutSuffix(s, "%")
	v, err := strconv.ParseFloat(strings.TrimSpace(pct), 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, fmt.Errorf("share %q: want a percentage such as 10%%", s)
	}
	if isPct {
		v /= 100
	}
	if v < 0 || v > 1 {
		return 0, fmt.Errorf("share %q: want between 0%% and 100%%", s)
	}
	return Share(v), nil
}

func (s Share) String() string { return strconv.FormatFloat(float64(s)*100, 'f', -1, 64) + "%" }

// Variant is one template of a test and its weight (percent of the
// customers sent the message).
type Variant struct {
	Template string  `yaml:"template" dynamodbav:"template"`
	Weight   float64 `yaml:"weight" dynamodbav:"weight"`
}

// Design is how a step, a plan version or a campaign splits its customers.
type Design struct {
	Holdout  Share     `yaml:"holdout"`
	Variants []Variant `yaml:"variants"`
}

// MaxUsefulHoldout is the share above which a holdout withholds the
// message from most customers: allowed, with a warning.
const MaxUsefulHoldout = 0.5

// Check refuses a design that cannot work, with a clear reason, and warns
// about one that works badly.
func (d Design) Check(templateExists func(string) bool) (warnings []string, err error) {
	switch {
	case d.Holdout >= 1:
		return nil, fmt.Errorf("holdout %s: nobody would get the message; measure with a smaller share", d.Holdout)
	case d.Holdout > MaxUsefulHoldout:
		warnings = append(warnings, fmt.Sprintf("holdout %s: most customers would not get the message", d.Holdout))
	}
	if len(d.Variants) == 0 {
		return warnings, nil
	}
	if len(d.Variants) == 1 {
		return nil, fmt.Errorf("variants: one variant compares nothing; name two or more, or just a template")
	}
	sum := 0.0
	seen := map[string]bool{}
	for _, v := range d.Variants {
		switch {
		case v.Template == "":
			return nil, fmt.Errorf("variants: each needs a template")
		case seen[v.Template]:
			return nil, fmt.Errorf("variants: %s is named twice", v.Template)
		case templateExists != nil && !templateExists(v.Template):
			return nil, fmt.Errorf("variants: template %s does not exist", v.Template)
		case v.Weight <= 0 || math.IsNaN(v.Weight):
			return nil, fmt.Errorf("variants: %s has weight %v; want a positive percentage", v.Template, v.Weight)
		}
		seen[v.Template] = true
		sum += v.Weight
	}
	if math.Abs(sum-100) > 1e-9 {
		return nil, fmt.Errorf("variants: weights add up to %v, want 100", sum)
	}
	return warnings, nil
}

// Lot is what a customer drew.
type Lot struct {
	HeldOut bool
	// Variant is the index of the customer's variant, -1 without variants
	// (or when held out).
	Variant  int
	Template string // the variant's template; "" without variants
}

// Draw is a customer's lot in a test: unit names what is tested (a plan
// step and version, a campaign), so the same customer may be held out of
// one message and not of another, but always of the same one.
func (d Design) Draw(customerID, unit string) Lot {
	lot := Lot{Variant: -1}
	if d.Holdout > 0 && Uniform(unit, customerID, "holdout") < float64(d.Holdout) {
		lot.HeldOut = true
		return lot
	}
	if len(d.Variants) == 0 {
		return lot
	}
	u, acc := Uniform(unit, customerID, "variant")*100, 0.0
	for i, v := range d.Variants {
		acc += v.Weight
		if u < acc || i == len(d.Variants)-1 {
			lot.Variant, lot.Template = i, v.Template
			break
		}
	}
	return lot
}

// Uniform is a number in [0, 1) fixed by its parts: the same parts always
// give the same number, and different parts look independent.
func Uniform(parts ...string) float64 {
	h := sha256.Sum256([]byte(strings.Join(parts, "\x00")))
	return float64(binary.BigEndian.Uint64(h[:8])>>11) / (1 << 53)
}
