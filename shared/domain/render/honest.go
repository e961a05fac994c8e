package render

import (
	"bytes"
	"fmt"
	"regexp"
)

// Since October 2023, a testimonial that is invented, or that does not say
// it is the shop's own words, is stealth marketing under Japan's Act against
// Unjustifiable Premiums and Misleading Representations (景品表示法). So no
// template may write a customer's words into its own text: customers are
// quoted only through the voices variable, which holds what they agreed to
// publish, without their names.

// attributionRE matches the way a template attributes words to an anonymous
// customer: an age band with a gender ("30代・女性", "60代 男性", "女性・40代").
var attributionRE = regexp.MustCompile(`[0-9０-９]+\s*代\s*[・･/／、,，\s]?\s*(女性|男性)|(女性|男性)\s*[・･/／、,，\s]?\s*[0-9０-９]+\s*代`)

// voicesRE finds a template that quotes customer voice.
var voicesRE = regexp.MustCompile(`\bvoices\b`)

// liquidRE matches Liquid tags and output: their text is code, not words shown as written.
var liquidRE = regexp.MustCompile(`(?s)\{\{.*?\}\}|\{%.*?%\}`)

// checkHonest refuses a template whose own text attributes words to a
// customer, with the file and line of the first such attribution.
func checkHonest(file string, src []byte) error {
	// An attribution needs an age band and a gender: most templates have
	// neither, and skip the regular expressions (a third of a cold start).
	if !bytes.Contains(src, []byte("代")) || !(bytes.Contains(src, []byte("女性")) || bytes.Contains(src, []byte("男性"))) {
		return nil
	}
	text := liquidRE.ReplaceAllFunc(src, func(tag []byte) []byte {
		blank := bytes.Clone(tag) // keep offsets and line breaks, and so line numbers
		for i, b := range blank {
			if b != '\n' {
				blank[i] = ' '
			}
		}
		return blank
	})
	loc := attributionRE.FindIndex(text)
	if loc == nil {
		return nil
	}
	return &Error{File: file, Line: 1 + bytes.Count(src[:loc[0]], []byte("\n")), Msg: fmt.Sprintf(
		"%q reads as a customer's testimonial written into the template; quote customers only through "+
			"voices (what they agreed to publish, without their names): an invented or undisclosed testimonial "+
			"is stealth marketing under 景品表示法", text[loc[0]:loc[1]])}
}
