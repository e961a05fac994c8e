package plan

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/daifuku/daifuku/shared/domain/experiment"
	"github.com/daifuku/daifuku/shared/domain/yamlfile"

	"github.com/daifuku/daifuku/shared/domain/customer"
	"github.com/daifuku/daifuku/shared/domain/message"
)

// ValidationError points at the line of a plans file that is wrong.
type ValidationError struct {
	File string
	Line int
	Msg  string
}

func (e *ValidationError) Error() string { return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg) }

type fileDoc struct {
	Version int `yaml:"version"`
	// Hypothesis and Started say what this version is testing, and since
	// when: the report puts versions side by side.
	Hypothesis string    `yaml:"hypothesis"`
	Started    string    `yaml:"started"`
	Birthday   yaml.Node `yaml:"birthday"`
	Surprise   yaml.Node `yaml:"surprise"`
	Plans      yaml.Node `yaml:"plans"`
}

type stepDoc struct {
	Step     string `yaml:"step"`
	Anchor   string `yaml:"anchor"`
	Days     *int   `yaml:"days"`
	Template string `yaml:"template"`
	Channel  string `yaml:"channel"`
	When     string `yaml:"when"`
	Ask      string `yaml:"ask"`
	// Holdout keeps a share of the step's customers from its message, to
	// measure it; variants split the rest between templates by weight.
	Holdout  experiment.Share     `yaml:"holdout"`
	Variants []experiment.Variant `yaml:"variants"`
}

type surpriseDoc struct {
	Ranks         []string `yaml:"ranks"`
	Share         float64  `yaml:"share"`
	DayOfMonth    int      `yaml:"day_of_month"`
	NotWithinDays int      `yaml:"not_within_days"`
	Coupon        struct {
		Code string `yaml:"code"`
		Note string `yaml:"note"`
	} `yaml:"coupon"`
}

type birthdayDoc struct {
	Enabled *bool `yaml:"enabled"`
	Coupon  struct {
		Code string `yaml:"code"`
		Note string `yaml:"note"`
	} `yaml:"coupon"`
}

var (
	idRE       = regexp.MustCompile(`^[a-z0-9][a-z0-9-]*$`)
	yamlLineRE = regexp.MustCompile(`line (\d+): (.*)`)
)

// Known says whether a rank id or template folder exists, so a plan naming
// one that does not is rejected when it loads.
type Known struct {
	Rank     func(id string) bool
	Template func(dir string) bool
	// Question says whether feedback.yaml has a question (a step's ask).
	Question func(id string) bool
}

// Parse reads a plans file. name is used in error messages.
func Parse(name string, src []byte, known Known) (*Plans, error) {
	fail := func(line int, format string, args ...any) error {
		return &ValidationError{File: name, Line: line, Msg: fmt.Sprintf(format, args...)}
	}
	var doc fileDoc
	dec := yaml.NewDecoder(bytes.NewReader(src))
	dec.KnownFields(true)
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fail(1, "empty: want version, birthday and plans")
		}
		return nil, yamlError(name, err)
	}
	if doc.Version < 1 {
		return nil, fail(1, "version: want a whole number ≥ 1 (raise it whenever you change a plan)")
	}
	ps := &Plans{Version: doc.Version, Hypothesis: strings.TrimSpace(doc.Hypothesis), plans: map[string]*Plan{}, Birthday: Birthday{Enabled: true}}
	if doc.Started != "" {
		d, err := ParseDay(doc.Started)
		if err != nil {
			return nil, fail(1, "started: %v", err)
		}
		ps.Started = d
	}
	if doc.Birthday.Kind != 0 {
		var b birthdayDoc
		if err := yamlfile.Decode(&doc.Birthday, &b); err != nil {
			return nil, yamlError(name, err)
		}
		if b.Enabled != nil {
			ps.Birthday.Enabled = *b.Enabled
		}
		ps.Birthday.CouponCode, ps.Birthday.CouponNote = b.Coupon.Code, b.Coupon.Note
	}
	if doc.Surprise.Kind != 0 {
		sp, err := parseSurprise(name, &doc.Surprise, known)
		if err != nil {
			return nil, err
		}
		ps.Surprise = sp
	}
	if doc.Plans.Kind != yaml.MappingNode || len(doc.Plans.Content) == 0 {
		return nil, fail(1, "plans: want at least one plan, keyed by rank id")
	}
	for i := 0; i < len(doc.Plans.Content); i += 2 {
		key, node := doc.Plans.Content[i], doc.Plans.Content[i+1]
		planName := key.Value
		if err := checkPlanName(planName, known); err != nil {
			return nil, fail(key.Line, "%v", err)
		}
		if _, dup := ps.plans[planName]; dup {
			return nil, fail(key.Line, "plan %q is defined twice", planName)
		}
		p := &Plan{Name: planName}
		steps := node
		if node.Kind == yaml.MappingNode {
			// A plan of its own: {holdout: 10%, steps: […]}, the holdout
			// keeping a share of the plan's customers from all of its steps.
			var pd struct {
				Holdout experiment.Share `yaml:"holdout"`
				Steps   yaml.Node        `yaml:"steps"`
			}
			if err := yamlfile.Decode(node, &pd); err != nil {
				return nil, yamlError(name, err)
			}
			w, err := (experiment.Design{Holdout: pd.Holdout}).Check(nil)
			if err != nil {
				return nil, fail(node.Line, "plan %q: %v", planName, err)
			}
			for _, m := range w {
				p.Warnings = append(p.Warnings, fmt.Sprintf("plan %q: %s", planName, m))
			}
			p.Holdout, steps = pd.Holdout, &pd.Steps
		}
		if steps.Kind != yaml.SequenceNode {
			return nil, fail(node.Line, "plan %q: want a list of steps, or {holdout: …, steps: [...]}", planName)
		}
		for _, sn := range steps.Content {
			var sd stepDoc
			if err := yamlfile.Decode(sn, &sd); err != nil {
				return nil, yamlError(name, err)
			}
			s, err := buildStep(sd, known)
			if err != nil {
				return nil, fail(sn.Line, "plan %q: %v", planName, err)
			}
			s.Line = sn.Line
			if slices.ContainsFunc(p.Steps, func(o Step) bool { return o.ID == s.ID }) {
				return nil, fail(sn.Line, "plan %q: step %q is defined twice", planName, s.ID)
			}
			p.Steps = append(p.Steps, s)
		}
		ps.plans[planName] = p
	}
	return ps, nil
}

func checkPlanName(n string, known Known) error {
	if n == LapsedPlan {
		return nil
	}
	id, _ := strings.CutSuffix(n, ":lapsed")
	if known.Rank != nil && !known.Rank(id) {
		return fmt.Errorf("plan %q: no rank %q in ranks.yaml (plans are keyed by rank id, \"<rank>:lapsed\" or \"lapsed\")", n, id)
	}
	return nil
}

func buildStep(d stepDoc, known Known) (Step, error) {
	s := Step{ID: d.Step, Anchor: Anchor(d.Anchor), Template: d.Template, Channel: customer.Channel(d.Channel), When: Condition(d.When),
		Ask: d.Ask}
	switch {
	case !idRE.MatchString(s.ID):
		return s, fmt.Errorf("step %q: give it an id of lower-case letters, digits and '-'", d.Step)
	case !slices.Contains(anchors, s.Anchor):
		return s, fmt.Errorf("step %q: anchor %q: want one of signup, friend_added, first_purchase, last_purchase, rank_entered", s.ID, d.Anchor)
	case d.Days == nil || *d.Days < 0:
		return s, fmt.Errorf("step %q: days: want a whole number of days after the anchor (0: the same day)", s.ID)
	case s.Channel != "" && s.Channel != customer.LINE && s.Channel != customer.Email:
		return s, fmt.Errorf("step %q: channel %q: want line, email, or leave it out", s.ID, d.Channel)
	case s.When != Always && s.When != NoPurchaseSinceAnchor:
		return s, fmt.Errorf("step %q: when %q: want no_purchase_since_anchor, or leave it out", s.ID, d.When)
	case s.Ask != "" && known.Question != nil && !known.Question(s.Ask):
		return s, fmt.Errorf("step %q: ask %q: no such question in feedback.yaml (questions:)", s.ID, s.Ask)
	}
	s.Days = *d.Days
	s.Design = experiment.Design{Holdout: d.Holdout, Variants: d.Variants}
	warnings, err := s.Design.Check(known.Template)
	if err != nil {
		return s, fmt.Errorf("step %q: %w", s.ID, err)
	}
	s.Warnings = warnings
	kind, _, ok := strings.Cut(s.Template, "/")
	s.Kind = message.Kind(kind)
	switch {
	case !ok || !s.Kind.Valid():
		return s, fmt.Errorf("step %q: template %q: want <kind>/<name>, e.g. step/new-arrival", s.ID, s.Template)
	case s.Kind == message.ThankYou || s.Kind == message.Newsletter:
		return s, fmt.Errorf("step %q: template %q: %s messages are not plan steps", s.ID, s.Template, s.Kind)
	case known.Template != nil && !known.Template(s.Template):
		return s, fmt.Errorf("step %q: no template folder templates/%s", s.ID, s.Template)
	}
	for _, v := range s.Design.Variants {
		if !strings.HasPrefix(v.Template, string(s.Kind)+"/") {
			return s, fmt.Errorf("step %q: variant %s is not a %s template like %s", s.ID, v.Template, s.Kind, s.Template)
		}
	}
	return s, nil
}

func yamlError(name string, err error) error {
	var te *yaml.TypeError
	msg := err.Error()
	if errors.As(err, &te) && len(te.Errors) > 0 {
		msg = te.Errors[0]
	}
	if m := yamlLineRE.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		return &ValidationError{File: name, Line: line, Msg: m[2]}
	}
	return &ValidationError{File: name, Line: 1, Msg: strings.TrimPrefix(msg, "yaml: ")}
}

func parseSurprise(name string, n *yaml.Node, known Known) (Surprise, error) {
	fail := func(format string, args ...any) error {
		return &ValidationError{File: name, Line: n.Line, Msg: fmt.Sprintf(format, args...)}
	}
	var sd surpriseDoc
	if err := yamlfile.Decode(n, &sd); err != nil {
		return Surprise{}, yamlError(name, err)
	}
	switch {
	case sd.Share < 0 || sd.Share > 1:
		return Surprise{}, fail("surprise.share: want a fraction from 0 to 1 (0.05 is 5%%)")
	case sd.DayOfMonth < 1 || sd.DayOfMonth > 28:
		return Surprise{}, fail("surprise.day_of_month: want 1 to 28 (every month has it)")
	case sd.NotWithinDays < 0:
		return Surprise{}, fail("surprise.not_within_days: want a whole number of days ≥ 0")
	}
	for _, id := range sd.Ranks {
		if known.Rank != nil && !known.Rank(id) {
			return Surprise{}, fail("surprise.ranks: no rank %q in ranks.yaml", id)
		}
	}
	return Surprise{Ranks: sd.Ranks, Share: sd.Share, DayOfMonth: sd.DayOfMonth, NotWithinDays: sd.NotWithinDays,
		CouponCode: sd.Coupon.Code, CouponNote: sd.Coupon.Note}, nil
}
