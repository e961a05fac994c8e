package feedback

import (
	"bytes"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// Script is what daifuku says around a request for feedback, after the
// customer's first answer (templates/feedback.yaml). The request itself is a
// plan step's template (kind "feedback").
type Script struct {
	Version int `yaml:"version"`
	// RatingLabels are the five quick-reply buttons under a LINE request, for 1 to 5.
	RatingLabels []string `yaml:"rating_labels"`
	// AskComment follows a rating: the question that invites a comment.
	AskComment string `yaml:"ask_comment"`
	// AskTestimonial follows a comment: may the shop publish it, without the customer's name?
	AskTestimonial string `yaml:"ask_testimonial"`
	YesLabel       string `yaml:"yes_label"`
	NoLabel        string `yaml:"no_label"`
	ThanksYes      string `yaml:"thanks_yes"`
	ThanksNo       string `yaml:"thanks_no"`
	// Questions are the one-tap questions a plan step may ask (its `ask`),
	// by id: on LINE their choices are quick-reply buttons, in email links.
	Questions map[string]Question `yaml:"questions"`
}

// Question is a one-tap survey question, e.g. why a customer stopped buying.
type Question struct {
	Ask     string   `yaml:"ask"`
	Choices []Choice `yaml:"choices"`
	// Thanks answers the tap.
	Thanks string `yaml:"thanks"`
}

// Choice is one answer to a question: Value is what is recorded, Label what
// the customer sees.
type Choice struct {
	Value string `yaml:"value"`
	Label string `yaml:"label"`
}

// Choice returns the choice of a question with a value.
func (q Question) Choice(value string) (Choice, bool) {
	for _, c := range q.Choices {
		if c.Value == value {
			return c, true
		}
	}
	return Choice{}, false
}

// LINE shows at most 13 quick-reply buttons.
const maxChoices = 13

var choiceRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]*$`)

func (q Question) check(id string) error {
	switch {
	case !choiceRE.MatchString(id):
		return fmt.Errorf("question %q: give it an id of lower-case letters, digits and '-'", id)
	case strings.TrimSpace(q.Ask) == "" || strings.TrimSpace(q.Thanks) == "":
		return fmt.Errorf("question %q: ask and thanks are required", id)
	case len(q.Choices) < 2 || len(q.Choices) > maxChoices:
		return fmt.Errorf("question %q: has %d choices: want 2 to %d (LINE shows at most %d buttons)", id, len(q.Choices), maxChoices, maxChoices)
	}
	seen := map[string]bool{}
	for _, c := range q.Choices {
		switch {
		case !choiceRE.MatchString(c.Value):
			return fmt.Errorf("question %q: choice value %q: want lower-case letters, digits and '-'", id, c.Value)
		case seen[c.Value]:
			return fmt.Errorf("question %q: choice value %q given twice", id, c.Value)
		}
		seen[c.Value] = true
		if err := checkLabel(c.Label); err != nil {
			return fmt.Errorf("question %q: %w", id, err)
		}
	}
	return nil
}

// checkLabel holds a button label to LINE's quick-reply limit.
func checkLabel(l string) error {
	if n := utf8.RuneCountInString(l); n == 0 || n > 20 {
		return fmt.Errorf("label %q must have 1 to 20 characters (LINE's limit)", l)
	}
	return nil
}

// ParseScript reads and checks templates/feedback.yaml.
func ParseScript(name string, src []byte) (*Script, error) {
	var s Script
	dec := yaml.NewDecoder(bytes.NewReader(src))
	dec.KnownFields(true)
	if err := dec.Decode(&s); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	var missing []string
	for _, f := range []struct{ key, v string }{
		{"ask_comment", s.AskComment}, {"ask_testimonial", s.AskTestimonial}, {"yes_label", s.YesLabel},
		{"no_label", s.NoLabel}, {"thanks_yes", s.ThanksYes}, {"thanks_no", s.ThanksNo},
	} {
		if strings.TrimSpace(f.v) == "" {
			missing = append(missing, f.key)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("%s: %s required", name, strings.Join(missing, ", "))
	}
	if len(s.RatingLabels) != 5 {
		return nil, fmt.Errorf("%s: rating_labels needs 5 labels (for 1 to 5), has %d", name, len(s.RatingLabels))
	}
	// LINE's quick reply labels hold 20 characters.
	for _, l := range append([]string{s.YesLabel, s.NoLabel}, s.RatingLabels...) {
		if err := checkLabel(l); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
	}
	for _, id := range slices.Sorted(maps.Keys(s.Questions)) {
		if err := s.Questions[id].check(id); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
	}
	return &s, nil
}
