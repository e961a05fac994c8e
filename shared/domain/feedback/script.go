package feedback

import (
	"bytes"
	"fmt"
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
		if n := utf8.RuneCountInString(l); n == 0 || n > 20 {
			return nil, fmt.Errorf("%s: label %q must have 1 to 20 characters (LINE's limit)", name, l)
		}
	}
	return &s, nil
}
