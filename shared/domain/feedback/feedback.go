// Package feedback is what customers tell the shop (フィードバック): replies,
// ratings, survey answers and their consent to publish a comment as a
// testimonial (お客様の声). Each piece is linked to the customer and to the
// message that prompted it, so the business can see what each message did.
package feedback

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/daifuku/daifuku/shared/domain/customer"
	"github.com/daifuku/daifuku/shared/domain/message"
)

// Type is what a piece of feedback is.
type Type string

// Feedback types.
const (
	Comment Type = "comment" // free text: a LINE message or an email reply
	Rating  Type = "rating"  // 1–5
	Answer  Type = "answer"  // a survey choice
	Consent Type = "consent" // yes or no to publishing comments as a testimonial
)

// Publishable is the value of Feedback.Voice for a comment the customer
// agreed to publish; the testimonials index holds only those.
const Publishable = "yes"

// Feedback is one thing a customer told us.
type Feedback struct {
	// ID is derived from the provider's event id, so a redelivered event
	// writes the same item once.
	ID         string           `dynamodbav:"feedback_id"`
	CustomerID string           `dynamodbav:"customer_id"`
	MessageKey message.Key      `dynamodbav:"message_key,omitempty"` // the message it answers
	Kind       message.Kind     `dynamodbav:"message_kind,omitempty"`
	Channel    customer.Channel `dynamodbav:"channel"`
	Type       Type             `dynamodbav:"type"`
	Text       string           `dynamodbav:"text,omitempty"`
	Rating     int              `dynamodbav:"rating,omitempty"`
	Question   string           `dynamodbav:"question,omitempty"`
	Answer     string           `dynamodbav:"answer,omitempty"`
	At         time.Time        `dynamodbav:"at"`
	// Testimonial is the customer's answer to "may we publish this?": "yes",
	// "no" or "" (not asked or not answered). Only "yes" is ever published.
	Testimonial string `dynamodbav:"testimonial,omitempty"`
	// Voice is Publishable while the comment may be published, else absent:
	// it keys the sparse index the customer-voice export reads.
	Voice string `dynamodbav:"voice,omitempty"`
}

// SetTestimonial records the customer's consent (or its withdrawal) on a comment.
func (f *Feedback) SetTestimonial(yes bool) {
	f.Testimonial, f.Voice = "no", ""
	if yes {
		f.Testimonial = "yes"
		if f.Type == Comment && strings.TrimSpace(f.Text) != "" {
			f.Voice = Publishable
		}
	}
}

// Postback is a structured answer carried in a LINE postback's data (or an
// email feedback link): a rating, a survey choice or testimonial consent,
// and the message it answers.
type Postback struct {
	Type     Type
	Value    string
	Rating   int
	Question string // Answer: the survey question's id
	Message  message.Key
}

// The postback data daifuku's buttons carry is a URL query, e.g.
// "fb=rating&v=5&m=feedback|C1|2026-11-23". LINE allows 300 characters.
const maxPostback = 300

// ErrNotOurs means postback data daifuku did not make (another tool's button,
// a rich menu): accepted and ignored.
var ErrNotOurs = errors.New("postback data is not daifuku feedback")

// ParsePostback reads the data of one of daifuku's feedback buttons.
func ParsePostback(data string) (Postback, error) {
	if len(data) > maxPostback {
		return Postback{}, fmt.Errorf("postback data has %d bytes (limit %d)", len(data), maxPostback)
	}
	q, err := url.ParseQuery(data)
	if err != nil || !q.Has("fb") {
		return Postback{}, ErrNotOurs
	}
	p := Postback{Type: Type(q.Get("fb")), Value: q.Get("v"), Message: message.Key(q.Get("m"))}
	switch p.Type {
	case Rating:
		n, err := strconv.Atoi(p.Value)
		if err != nil || n < 1 || n > 5 {
			return Postback{}, fmt.Errorf("rating %q: want 1 to 5", p.Value)
		}
		p.Rating = n
	case Consent:
		if p.Value != "yes" && p.Value != "no" {
			return Postback{}, fmt.Errorf("testimonial consent %q: want yes or no", p.Value)
		}
	case Answer:
		p.Question = q.Get("q")
		if p.Question == "" || p.Value == "" {
			return Postback{}, errors.New("survey answer: q and v are required")
		}
	default:
		return Postback{}, fmt.Errorf("feedback type %q: want rating, answer or consent", p.Type)
	}
	return p, nil
}

// Data encodes a postback as button data.
func (p Postback) Data() string {
	q := url.Values{"fb": {string(p.Type)}, "v": {p.Value}}
	if p.Question != "" {
		q.Set("q", p.Question)
	}
	if p.Message != "" {
		q.Set("m", string(p.Message))
	}
	return q.Encode()
}

// RatingPostback is the data of the button for rating n.
func RatingPostback(key message.Key, n int) Postback {
	return Postback{Type: Rating, Value: strconv.Itoa(n), Rating: n, Message: key}
}

// ConsentPostback is the data of the testimonial-consent buttons.
func ConsentPostback(key message.Key, yes bool) Postback {
	v := "no"
	if yes {
		v = "yes"
	}
	return Postback{Type: Consent, Value: v, Message: key}
}

// AnswerPostback is the data of the button for one answer to a question.
func AnswerPostback(key message.Key, question, value string) Postback {
	return Postback{Type: Answer, Question: question, Value: value, Message: key}
}

// Stars draws a rating: 4 → "★★★★☆".
func Stars(n int) string {
	n = max(0, min(5, n))
	return strings.Repeat("★", n) + strings.Repeat("☆", 5-n)
}

// Says is what a piece of feedback says, on one line of at most max
// characters, for staff lists: the comment, the stars, or question=answer.
func (f Feedback) Says(max int) string {
	says := f.Text
	switch f.Type {
	case Rating:
		says = Stars(f.Rating)
	case Answer, Consent:
		says = strings.TrimPrefix(f.Question+"="+f.Answer, "=")
	}
	// One line, and nothing a terminal would act on (escape sequences).
	says = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, says)
	r := []rune(strings.Join(strings.Fields(says), " "))
	if len(r) > max {
		return string(r[:max]) + "…"
	}
	return string(r)
}

// AsksForFewer reports whether a reply is the customer asking for fewer
// messages: the lapsed plan invites them to answer 「少なめに」. Only a short
// reply counts, so a comment that mentions the word in passing does not.
func AsksForFewer(text string) bool {
	t := strings.TrimSpace(StripQuoted(text))
	return strings.Contains(t, "少なめ") && len([]rune(t)) <= 20
}
