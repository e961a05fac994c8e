// Package referral is word of mouth (口コミ): each customer's referral code
// and link, the record of one customer introducing another, and the rules
// that refuse a referral (self-referral, a second credit, an unknown code).
package referral

import (
	"crypto/rand"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/daifuku/daifuku/shared/domain/customer"
)

// Alphabet is what codes are made of: upper-case letters and digits without
// the ones people mistake for each other (0/O, 1/I/L), so a code read aloud
// or copied from paper is typed right.
const Alphabet = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"

// CodeLength is how long a code is: 31^6 ≈ 887 million codes, so a code is
// short to type and a guess rarely lands on a real one.
const CodeLength = 6

// NewCode draws a random code. Codes are random rather than derived from the
// customer id, so nobody can work out another customer's code; the store
// keeps the code → customer mapping and refuses a code drawn twice.
func NewCode() (string, error) {
	b := make([]byte, 0, CodeLength)
	buf := make([]byte, 16)
	for len(b) < CodeLength {
		if _, err := rand.Read(buf); err != nil {
			return "", fmt.Errorf("draw a referral code: %w", err)
		}
		for _, x := range buf {
			// 248 = 8 × 31: bytes above it would favour the first letters.
			if x < 248 && len(b) < CodeLength {
				b = append(b, Alphabet[int(x)%len(Alphabet)])
			}
		}
	}
	return string(b), nil
}

// Normalize reads a code as a person typed it: full-width characters
// (ＫＡ７…), lower case and spaces are forgiven. It reports whether the
// result can be a code at all.
func Normalize(s string) (string, bool) {
	var b strings.Builder
	for _, r := range s {
		if r >= 0xFF01 && r <= 0xFF5E { // full-width ASCII, as Japanese keyboards type it
			r -= 0xFEE0
		}
		switch {
		case r == ' ' || r == '\u3000' || r == '-':
			continue
		case r >= 'a' && r <= 'z':
			r -= 'a' - 'A'
		}
		b.WriteRune(r)
	}
	code := b.String()
	if len(code) != CodeLength {
		return code, false
	}
	for _, r := range code {
		if !strings.ContainsRune(Alphabet, r) {
			return code, false
		}
	}
	return code, true
}

// MessagePrefix starts the message a referral link types into the shop's
// LINE chat: 「紹介コード: K7Q2MX」.
const MessagePrefix = "紹介コード"

var messageRE = regexp.MustCompile(`紹介コード\s*[:：]?\s*([0-9A-Za-z０-９Ａ-Ｚａ-ｚ][0-9A-Za-z０-９Ａ-Ｚａ-ｚ -]{0,19})`)

// FromMessage finds a referral code in a LINE message: the message is one
// (ok) when it says 紹介コード followed by something, whether or not that
// is a code that exists. Such a message is not feedback.
func FromMessage(text string) (code string, ok bool) {
	m := messageRE.FindStringSubmatch(text)
	if m == nil {
		return "", false
	}
	code, _ = Normalize(strings.TrimSpace(m[1]))
	return code, true
}

// Link is the customer's referral link: the shop's site with ?ref=CODE. The
// shop's checkout keeps the code and sends it as the order's referral_code.
func Link(shopURL, code string) string {
	if code == "" || shopURL == "" {
		return ""
	}
	u, err := url.Parse(shopURL)
	if err != nil {
		return ""
	}
	q := u.Query()
	q.Set("ref", code)
	u.RawQuery = q.Encode()
	return u.String()
}

// LINELink opens the shop's LINE chat with 「紹介コード: CODE」 typed in
// (LINE's URL scheme https://line.me/R/oaMessage/{basic id}/?{text}): the
// friend adds the shop and sends it, and that message credits the referrer.
// "" without a basic id.
func LINELink(basicID, code string) string {
	if basicID == "" || code == "" {
		return ""
	}
	// LINE asks for the id percent-encoded, "@" included (PathEscape keeps it).
	id := strings.ReplaceAll(url.PathEscape(basicID), "@", "%40")
	return "https://line.me/R/oaMessage/" + id + "/?" + url.QueryEscape(MessagePrefix+": "+code)
}

// Status is what became of a referral.
type Status string

// Statuses.
const (
	Credited Status = "credited"
	Refused  Status = "refused"
)

// Via is how a referral arrived.
type Via string

// Ways in.
const (
	ViaOrder Via = "order"
	ViaLINE  Via = "line"
)

// Reasons a referral is refused.
const (
	SelfReferral    = "self-referral"
	AlreadyReferred = "already referred"
	UnknownCode     = "unknown code"
	TooLate         = "code sent too long after the LINE follow"
)

// Referral is one customer introducing another, or an attempt refused.
type Referral struct {
	// ID is CreditID(referred) for a credit: a customer is referred once,
	// ever. A refusal is RefusalID(via, source): recorded once per attempt.
	ID         string    `dynamodbav:"referral_id" json:"id"`
	Status     Status    `dynamodbav:"status" json:"status"`
	Reason     string    `dynamodbav:"reason,omitempty" json:"reason,omitempty"`
	Code       string    `dynamodbav:"code" json:"code"`
	ReferrerID string    `dynamodbav:"referrer_id,omitempty" json:"referrer_id,omitempty"`
	ReferredID string    `dynamodbav:"referred_id" json:"referred_id"`
	Via        Via       `dynamodbav:"via" json:"via"`
	OrderID    string    `dynamodbav:"order_id,omitempty" json:"order_id,omitempty"`
	EventID    string    `dynamodbav:"event_id,omitempty" json:"event_id,omitempty"` // the LINE webhook event
	At         time.Time `dynamodbav:"at" json:"at"`
}

// CreditID is the id of the one credit a referred customer can bring.
func CreditID(referredID string) string { return "referred|" + referredID }

// RefusalID is the id of a refused attempt, by what carried it.
func RefusalID(via Via, source string) string { return "refused|" + string(via) + "|" + source }

// Source is what carried the referral: the order id or the LINE event id.
func (r Referral) Source() string {
	if r.Via == ViaOrder {
		return r.OrderID
	}
	return r.EventID
}

// SameAttempt reports whether o is this referral arriving again (a retried
// order, a redelivered event).
func (r Referral) SameAttempt(o Referral) bool {
	return r.Via == o.Via && r.Source() == o.Source() && r.ReferredID == o.ReferredID
}

// SamePerson reports whether two ledger entries are one person: the same
// customer, or the same email address or LINE account under two ids.
func SamePerson(a, b *customer.Customer) bool {
	switch {
	case a.ID == b.ID:
		return true
	case a.Email != "" && strings.EqualFold(strings.TrimSpace(a.Email), strings.TrimSpace(b.Email)):
		return true
	case a.LINEUserID != "" && a.LINEUserID == b.LINEUserID:
		return true
	}
	return false
}

// ErrCodeTaken means a drawn code belongs to someone else already: draw again.
var ErrCodeTaken = errors.New("referral code taken")
