package event

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/daifuku/daifuku/shared/domain"
	"github.com/daifuku/daifuku/shared/domain/token"
)

// Status is where a customer stands with an event.
type Status string

// RSVP statuses. Attendance is kept apart (RSVP.Attended): who came is what
// the shop records afterwards, whatever they answered.
const (
	Invited   Status = "invited"    // invited, no answer yet
	Attending Status = "attending"  // holds a seat
	Waiting   Status = "waitlisted" // said 参加 when it was full; waits in line
	Declined  Status = "declined"   // said 不参加 (or cancelled)
)

// Answer is what a customer said: 参加 (yes) or 不参加 (no).
type Answer string

// Answers.
const (
	Yes Answer = "yes"
	No  Answer = "no"
)

// ParseAnswer reads an answer as buttons and forms carry it.
func ParseAnswer(s string) (Answer, error) {
	switch Answer(s) {
	case Yes, No:
		return Answer(s), nil
	}
	return "", fmt.Errorf("answer %q: want yes or no: %w", s, domain.ErrInvalid)
}

// Change is one step of a customer's story with an event, for the timeline.
type Change struct {
	At   time.Time `dynamodbav:"at" json:"at"`
	What string    `dynamodbav:"what" json:"what"` // invited, attending, waitlisted, promoted, declined, attended
	Via  string    `dynamodbav:"via,omitempty" json:"via,omitempty"`
}

// RSVP is a customer's standing with one event.
type RSVP struct {
	EventID    string    `dynamodbav:"event_id" json:"event_id"`
	CustomerID string    `dynamodbav:"customer_id" json:"customer_id"`
	Status     Status    `dynamodbav:"status,omitempty" json:"status,omitempty"` // "" : never invited (recorded only as attending)
	InvitedAt  time.Time `dynamodbav:"invited_at,omitempty" json:"invited_at,omitzero"`
	// WaitSince orders the waitlist: the first to ask gets the first seat freed.
	WaitSince  time.Time `dynamodbav:"wait_since,omitempty" json:"wait_since,omitzero"`
	PromotedAt time.Time `dynamodbav:"promoted_at,omitempty" json:"promoted_at,omitzero"`
	Attended   bool      `dynamodbav:"attended,omitempty" json:"attended,omitempty"`
	AttendedAt time.Time `dynamodbav:"attended_at,omitempty" json:"attended_at,omitzero"`
	History    []Change  `dynamodbav:"history,omitempty" json:"history,omitempty"`
}

// The refusals of an RSVP. Each changes nothing.
var (
	ErrNotInvited = fmt.Errorf("not invited to this event: %w", domain.ErrInvalid)
	ErrStarted    = fmt.Errorf("the event has started; answers are closed: %w", domain.ErrInvalid)
)

// Outcome is what an answer did.
type Outcome struct {
	Event  string
	Title  string
	Status Status // the customer's standing after it
	// Changed is false for an answer that repeats the standing (a second 参加).
	Changed bool
	// Promoted are the customers moved from the waitlist to a seat the answer freed.
	Promoted []string
}

// postbackKey marks the data of an event's LINE buttons.
const postbackKey = "ev"

// Postback is the data of an event's 参加 / 不参加 button. It names no
// customer: LINE's signed webhook says who tapped.
func Postback(eventID string, a Answer) string {
	// By hand: url.Values.Encode sorts the keys, and the prefix marks ours.
	return postbackKey + "=" + url.QueryEscape(eventID) + "&a=" + url.QueryEscape(string(a))
}

// ErrNotOurs means postback data that is not an event's button.
var ErrNotOurs = errors.New("postback data is not an event answer")

// ParsePostback reads an event button's data.
func ParsePostback(data string) (eventID string, a Answer, err error) {
	if !strings.HasPrefix(data, postbackKey+"=") {
		return "", "", ErrNotOurs
	}
	q, err := url.ParseQuery(data)
	if err != nil || !idRE.MatchString(q.Get(postbackKey)) {
		return "", "", fmt.Errorf("event postback: malformed: %w", domain.ErrInvalid)
	}
	a, err = ParseAnswer(q.Get("a"))
	if err != nil {
		return "", "", err
	}
	return q.Get(postbackKey), a, nil
}

// LinkSigner makes and checks the tokens of the RSVP links in event
// emails: the token names the event and the customer, the signature proves
// daifuku made it.
type LinkSigner struct{ Secret []byte }

// linkLabel keeps RSVP tokens apart from daifuku's other links signed with the same secret.
const linkLabel = "daifuku-event-rsvp-v1"

// ErrInvalidLink means an RSVP link was not made with this secret, or was changed.
var ErrInvalidLink = errors.New("invalid event link")

// Token is the token of a customer's RSVP link to an event.
func (s LinkSigner) Token(eventID, customerID string) string {
	return token.Sign(s.Secret, linkLabel, []byte(eventID+"\x00"+customerID))
}

// Check returns the event and customer a token names.
func (s LinkSigner) Check(tok string) (eventID, customerID string, err error) {
	if len(s.Secret) == 0 {
		return "", "", errors.New("event links: no secret configured")
	}
	raw, err := token.Open(s.Secret, linkLabel, tok)
	if err != nil {
		return "", "", ErrInvalidLink
	}
	ev, c, ok := strings.Cut(string(raw), "\x00")
	if !ok || !idRE.MatchString(ev) || c == "" {
		return "", "", ErrInvalidLink
	}
	return ev, c, nil
}

// Counts are an event's numbers.
type Counts struct {
	Invited    int `json:"invited"` // every customer invited, whatever they answered
	Attending  int `json:"attending"`
	Waitlisted int `json:"waitlisted"`
	Declined   int `json:"declined"`
	Attended   int `json:"attended"`
}

// Count tallies the RSVPs of an event.
func Count(rs []RSVP) Counts {
	var c Counts
	for _, r := range rs {
		if !r.InvitedAt.IsZero() {
			c.Invited++
		}
		switch r.Status {
		case Attending:
			c.Attending++
		case Waiting:
			c.Waitlisted++
		case Declined:
			c.Declined++
		}
		if r.Attended {
			c.Attended++
		}
	}
	return c
}

// State is what the ledger keeps on an event's header: the seats taken
// (the capacity's conditional writes count on it) and the invitation
// waves done.
type State struct {
	Seats int `dynamodbav:"seats"`
	// EarlyInvited and Invited: when every customer of the early wave, and
	// of the whole audience, was decided (zero: not yet).
	EarlyInvited time.Time `dynamodbav:"early_invited_at,omitempty"`
	Invited      time.Time `dynamodbav:"invited_at,omitempty"`
}

// The invitation waves, as State marks them done.
const (
	WaveEarly = "early_invited_at"
	WaveAll   = "invited_at"
)

// The words a LINE tap is answered with (a reply, at once) and the email
// link's page says: what happened, honestly, and nothing more.
const (
	ReplyNotInvited = "申し訳ありません。このイベントへのお返事は承ることができませんでした。ご不明な点は、お気軽にお問い合わせください。"
	ReplyStarted    = "このイベントの受付は終了しました。お返事をいただき、ありがとうございます。"
)

// Reply is what a customer is told of their answer.
func Reply(o Outcome) string {
	name := "イベント"
	if o.Title != "" {
		name = "「" + o.Title + "」"
	}
	switch o.Status {
	case Attending:
		return name + "へのご参加のお返事をありがとうございます。お席をご用意しました。前日にあらためてご案内をお送りします。当日お会いできるのを楽しみにしております。"
	case Waiting:
		return name + "は満席のため、キャンセル待ちとして承りました。お席が空きしだい、お申し込みの順にご連絡いたします。"
	case Declined:
		return name + "へのお返事をありがとうございます。今回は不参加として承りました。またの機会にお会いできれば嬉しいです。"
	}
	return ReplyNotInvited
}
