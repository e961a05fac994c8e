package rank

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"

	"gopkg.in/yaml.v3"
)

// Rules is the ladder, in order: the first rank whose conditions all hold wins.
type Rules struct {
	Ranks []Rule
}

// Rule defines one rank.
type Rule struct {
	ID              string
	Label           string // how marketers and templates name it, e.g. ロイヤル顧客
	When            []Condition
	LapsedAfterDays int64 // 0: never lapses
	Line            int
}

// Condition compares one fact with a number.
type Condition struct {
	Field string
	Op    string
	Value int64
}

// Get returns the rule with the given id.
func (rs *Rules) Get(id string) (Rule, bool) {
	for _, r := range rs.Ranks {
		if r.ID == id {
			return r, true
		}
	}
	return Rule{}, false
}

// Direction says whether a move between ranks goes up the ladder (1), down
// it (-1) or neither (0). Higher rungs come first in the rules; a rank's
// lapsed side sits just below its active side, above the next rung.
func (rs *Rules) Direction(from, to Rank) int {
	height := func(rk Rank) int {
		h := 2 * len(rs.Ranks) // a rank the rules no longer name sits at the bottom
		for i, r := range rs.Ranks {
			if r.ID == rk.ID {
				h = 2 * i
			}
		}
		if rk.Lapsed {
			h++
		}
		return h
	}
	switch a, b := height(from), height(to); {
	case b < a:
		return 1
	case b > a:
		return -1
	}
	return 0
}

// Label is the marketer's name for a rank, with (離脱) for its lapsed side.
func (rs *Rules) Label(rk Rank) string {
	r, ok := rs.Get(rk.ID)
	label := rk.ID
	if ok && r.Label != "" {
		label = r.Label
	}
	if rk.Lapsed {
		label += "（離脱）"
	}
	return label
}

func (r Rule) matches(f Facts) bool {
	for _, c := range r.When {
		if !c.holds(f) {
			return false
		}
	}
	return true
}

func (c Condition) holds(f Facts) bool {
	v := fields[c.Field](f)
	switch c.Op {
	case ">=":
		return v >= c.Value
	case ">":
		return v > c.Value
	case "<=":
		return v <= c.Value
	case "<":
		return v < c.Value
	case "==":
		return v == c.Value
	}
	return false
}

// fields are the facts a condition may name.
var fields = map[string]func(Facts) int64{
	"total_spend":              func(f Facts) int64 { return f.TotalSpend },
	"purchase_count":           func(f Facts) int64 { return f.PurchaseCount },
	"tenure_days":              func(f Facts) int64 { return f.TenureDays },
	"days_since_last_purchase": func(f Facts) int64 { return f.DaysSinceLastPurchase },
	"referrals":                func(f Facts) int64 { return f.Referrals },
}

// fieldNames lists the fields in a fixed order, and set writes a value to one.
var (
	fieldNames = []string{"total_spend", "purchase_count", "tenure_days", "days_since_last_purchase", "referrals"}
	setField   = map[string]func(*Facts, int64){
		"total_spend":              func(f *Facts, v int64) { f.TotalSpend = v },
		"purchase_count":           func(f *Facts, v int64) { f.PurchaseCount = v },
		"tenure_days":              func(f *Facts, v int64) { f.TenureDays = v },
		"days_since_last_purchase": func(f *Facts, v int64) { f.DaysSinceLastPurchase = v },
		"referrals":                func(f *Facts, v int64) { f.Referrals = v },
	}
)

// ValidationError points at the line of a rules file that is wrong.
type ValidationError struct {
	File string
	Line int
	Msg  string
}

func (e *ValidationError) Error() string {
	return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
}

var (
	conditionRE = regexp.MustCompile(`^\s*([a-z_]+)\s*(>=|<=|==|>|<)\s*([0-9][0-9_,]*)\s*$`)
	idRE        = regexp.MustCompile(`^[a-z][a-z0-9-]*$`)
	digitSepRE  = regexp.MustCompile(`[_,]`)
	yamlLineRE  = regexp.MustCompile(`line (\d+): (.*)`)
)

// ParseRules reads a rank rules file. name is used in error messages.
func ParseRules(name string, src []byte) (*Rules, error) {
	fail := func(line int, format string, args ...any) error {
		return &ValidationError{File: name, Line: line, Msg: fmt.Sprintf(format, args...)}
	}
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(src))
	if err := dec.Decode(&doc); err != nil && !errors.Is(err, io.EOF) {
		return nil, yamlError(name, err)
	}
	if len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, fail(1, "want a mapping with a `ranks:` list")
	}
	root := doc.Content[0]
	var list *yaml.Node
	for i := 0; i < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		switch k.Value {
		case "ranks":
			list = v
		case "version":
		default:
			return nil, fail(k.Line, "unknown key %q (want ranks)", k.Value)
		}
	}
	if list == nil || list.Kind != yaml.SequenceNode || len(list.Content) == 0 {
		return nil, fail(root.Line, "`ranks:` must be a non-empty list")
	}
	rules := &Rules{}
	seen := map[string]int{}
	for i, n := range list.Content {
		if n.Kind != yaml.MappingNode {
			return nil, fail(n.Line, "rank %d: want a mapping with id, label, when, lapsed_after_days", i+1)
		}
		r := Rule{Line: n.Line}
		for j := 0; j < len(n.Content); j += 2 {
			k, v := n.Content[j], n.Content[j+1]
			switch k.Value {
			case "id":
				r.ID = v.Value
				if !idRE.MatchString(r.ID) {
					return nil, fail(v.Line, "rank id %q: use lower-case letters, digits and '-'", r.ID)
				}
			case "label":
				r.Label = v.Value
			case "lapsed_after_days":
				d, err := strconv.ParseInt(v.Value, 10, 64)
				if err != nil || d < 0 {
					return nil, fail(v.Line, "lapsed_after_days %q: want a whole number of days (0: never lapses)", v.Value)
				}
				r.LapsedAfterDays = d
			case "when":
				if v.Kind != yaml.SequenceNode {
					return nil, fail(v.Line, "when: want a list of conditions such as `total_spend >= 50000`")
				}
				for _, cn := range v.Content {
					c, err := parseCondition(cn.Value)
					if err != nil {
						return nil, fail(cn.Line, "%v", err)
					}
					r.When = append(r.When, c)
				}
			default:
				return nil, fail(k.Line, "unknown key %q (want id, label, when, lapsed_after_days)", k.Value)
			}
		}
		if r.ID == "" {
			return nil, fail(n.Line, "rank %d has no id", i+1)
		}
		if prev, dup := seen[r.ID]; dup {
			return nil, fail(n.Line, "rank %q is defined twice (first on line %d)", r.ID, prev)
		}
		seen[r.ID] = n.Line
		if len(rules.Ranks) > 0 && len(rules.Ranks[len(rules.Ranks)-1].When) == 0 {
			prev := rules.Ranks[len(rules.Ranks)-1]
			return nil, fail(n.Line, "rank %q can never match: rank %q above it (line %d) has no conditions and takes everyone", r.ID, prev.ID, prev.Line)
		}
		rules.Ranks = append(rules.Ranks, r)
	}
	if last := rules.Ranks[len(rules.Ranks)-1]; len(last.When) > 0 {
		return nil, fail(last.Line, "customers matching no rank would be left without one: the last rank (%q) must have no `when` conditions", last.ID)
	}
	if r, by, ok := rules.unreachable(); ok {
		return nil, fail(r.Line, "rank %q can never match: every customer it describes matches rank %q above it (line %d) first", r.ID, by.ID, by.Line)
	}
	return rules, nil
}

// unreachable finds a rank no customer can reach, and the rank above that
// takes its customers. Each field's thresholds cut it into intervals that
// every condition treats alike; a value from each interval (a threshold,
// and one either side) tries every case exactly.
func (rs *Rules) unreachable() (Rule, Rule, bool) {
	names := fieldNames
	cands := make([][]int64, len(names))
	size := 1
	for i, name := range names {
		set := map[int64]bool{0: true}
		for _, r := range rs.Ranks {
			for _, c := range r.When {
				if c.Field == name {
					for _, v := range []int64{c.Value - 1, c.Value, c.Value + 1} {
						set[max(v, 0)] = true
					}
				}
			}
		}
		for v := range set {
			cands[i] = append(cands[i], v)
		}
		size *= len(cands[i])
	}
	if size > 1_000_000 {
		return Rule{}, Rule{}, false // too many thresholds to try them all; nothing claimed
	}
	reached := make([]bool, len(rs.Ranks))
	shadow := make([]int, len(rs.Ranks)) // the first rank that took a customer of this one
	for i := range shadow {
		shadow[i] = -1
	}
	// Every combination of candidates, one field's index per digit of an odometer.
	idx := make([]int, len(names))
	for done := false; !done; {
		var f Facts
		for i, name := range names {
			setField[name](&f, cands[i][idx[i]])
		}
		first := -1
		for i, r := range rs.Ranks {
			if !r.matches(f) {
				continue
			}
			if first < 0 {
				first, reached[i] = i, true
			} else if shadow[i] < 0 {
				shadow[i] = first
			}
		}
		done = true
		for i := range idx {
			if idx[i]++; idx[i] < len(cands[i]) {
				done = false
				break
			}
			idx[i] = 0
		}
	}
	for i, ok := range reached {
		if !ok {
			by := Rule{ID: "?"}
			if shadow[i] >= 0 {
				by = rs.Ranks[shadow[i]]
			}
			return rs.Ranks[i], by, true
		}
	}
	return Rule{}, Rule{}, false
}

func parseCondition(s string) (Condition, error) {
	m := conditionRE.FindStringSubmatch(s)
	if m == nil {
		return Condition{}, fmt.Errorf("condition %q: want `<field> <op> <number>`, e.g. `total_spend >= 50000` (ops: >= > <= < ==)", s)
	}
	if _, ok := fields[m[1]]; !ok {
		return Condition{}, fmt.Errorf("condition %q: unknown field %q (want total_spend, purchase_count, tenure_days, days_since_last_purchase or referrals)", s, m[1])
	}
	n, err := strconv.ParseInt(digitSepRE.ReplaceAllString(m[3], ""), 10, 64)
	if err != nil {
		return Condition{}, fmt.Errorf("condition %q: %v", s, err)
	}
	return Condition{Field: m[1], Op: m[2], Value: n}, nil
}

// yamlError turns a yaml.v3 syntax error ("yaml: line 3: …") into a ValidationError.
func yamlError(name string, err error) error {
	var line int
	msg := err.Error()
	if m := yamlLineRE.FindStringSubmatch(msg); m != nil {
		line, _ = strconv.Atoi(m[1])
		msg = m[2]
	}
	return &ValidationError{File: name, Line: line, Msg: "not valid YAML: " + msg}
}
